"""The audit as one self-contained HTML dashboard (`audit --html`): no network, no external
assets; the data is embedded as JSON and drawn with ``textContent``, the per-agent table
and the trend of past audits drawn on the server."""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from evidencepack.atomic import write_atomic
from evidencepack.inputs.textio import load_toml
from evidencepack.resources import builtin_templates
from evidencepack.judge.deadlines import time_left_text
from evidencepack.team.agents import reply_targets
from evidencepack.team.audit import SCHEMA, Audit, audit_json
from evidencepack.team.history import HistoryPoint

TEMPLATES = builtin_templates()
TEMPLATE = "audit.html.j2"


@lru_cache(maxsize=None)
def _labels(lang: str) -> dict[str, str]:
    """The dashboard's words (templates/audit_labels.toml)."""
    data = load_toml(builtin_templates() / "audit_labels.toml",
                     display="templates/audit_labels.toml")
    return data["zh" if lang == "zh" else "en"]


def _at_text(at: datetime | None) -> str:
    # No %Z: "CST" is China, Cuba or US Central. The page names the zone once.
    return at.strftime("%Y-%m-%d %H:%M") if at else ""


def _now_text(audit: Audit) -> str:
    from evidencepack.pack.labels import load_labels, zone_text

    offset = audit.now.utcoffset()
    hours = offset.total_seconds() / 3600 if offset is not None else 0
    name = getattr(audit.now.tzinfo, "key", None) or ("Asia/Shanghai" if hours == 8 else "UTC")
    return f"{audit.now:%Y-%m-%d %H:%M} " + zone_text(name, hours, load_labels(audit.lang))


def html_data(audit: Audit) -> dict[str, Any]:
    """What the page's script draws: plain values, times already formatted in each
    case's zone (a browser would show its own zone)."""
    zh = audit.lang == "zh"
    cases = []
    for row in audit.rows:
        data = row.model_dump(mode="json")
        data["name"] = Path(row.case_dir).name
        data["next_deadline_text"] = _at_text(row.next_deadline_at)
        data["next_deadline_label"] = next(
            (d.label for d in row.deadlines if d.name == row.next_deadline), "")
        data["left_text"] = time_left_text(row.hours_left, zh)
        for d, out in zip(row.deadlines, data["deadlines"]):
            out["at_text"] = _at_text(d.at)
            # "May intervene from" once past has started, not been missed.
            out["left_text"] = (_labels(audit.lang)["passed"] if d.status == "passed"
                                else time_left_text(d.hours_left, zh))
        for item, out in zip(row.items, data["items"]):
            out["cell"] = item.cell
        cases.append(data)
    return {"schema": SCHEMA, "lang": audit.lang, "now": audit.now.isoformat(),
            "types": audit.type_names, "cases": cases,
            "summary": [s.model_dump(mode="json") for s in audit.summary]}


def _minutes(minutes: float | None, L: dict[str, str]) -> str:
    if minutes is None:
        return "—"
    if minutes < 90:
        return f"{minutes:.0f} {L['minutes']}"
    return f"{round(minutes / 60, 1):g} {L['hours']}"


def agents_view(audit: Audit) -> list[dict[str, Any]]:
    """The per-agent table as the page shows it; reply cells graded against the targets."""
    L = _labels(audit.lang)

    return [{**a.model_dump(mode="json"), "name": a.agent or L["unassigned"],
             "first_text": _minutes(a.first_reply_minutes, L),
             "median_text": _minutes(a.median_reply_minutes, L),
             "first_grade": a.grade(a.first_reply_minutes),
             "median_grade": a.grade(a.median_reply_minutes)} for a in audit.agents]


def trend_view(audit: Audit, width: int = 640, height: int = 160) -> dict[str, Any]:
    """The history as two polylines (share of complete cases, overdue cases) in an SVG
    box, oldest left; drawn on the server so the page needs no charting code."""
    points = audit.history
    pad = 28
    if len(points) < 2:
        return {"points": len(points), "width": width, "height": height}
    first, last = points[0].at, points[-1].at
    span = (last - first).total_seconds() or 1
    most_overdue = max(max(p.overdue for p in points), 1)

    def x(p: HistoryPoint) -> float:
        return round(pad + (width - 2 * pad) * (p.at - first).total_seconds() / span, 1)

    def y(value: float) -> float:
        return round(height - pad - (height - 2 * pad) * value, 1)

    complete = [(x(p), y(p.complete / p.cases if p.cases else 0)) for p in points]
    overdue = [(x(p), y(p.overdue / most_overdue)) for p in points]
    return {"points": len(points), "width": width, "height": height, "pad": pad,
            "complete": " ".join(f"{a},{b}" for a, b in complete),
            "overdue": " ".join(f"{a},{b}" for a, b in overdue),
            "dots": [{"x": cx, "yc": cy, "yo": oy, "at": p.at.strftime("%m-%d %H:%M"),
                      "share": f"{p.complete / p.cases:.0%}" if p.cases else "—",
                      "overdue": p.overdue}
                     for (cx, cy), (_, oy), p in zip(complete, overdue, points)],
            "first": first.strftime("%Y-%m-%d"), "last": last.strftime("%Y-%m-%d"),
            "most_overdue": most_overdue}


def script_json(data: Any) -> str:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' survive
    literally, so case text cannot close the element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def html_text(audit: Audit) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined
    from markupsafe import Markup

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                      undefined=StrictUndefined)
    totals = audit_json(audit)["totals"]
    targets = reply_targets()
    return env.get_template(TEMPLATE).render(
        agents=agents_view(audit), trend=trend_view(audit),
        targets_text=_labels(audit.lang)["targets"].format(
            target=targets["target_hours"], platform=targets["platform_hours"],
            source=targets["source"]),
        L=_labels(audit.lang), lang=audit.lang, root=audit.root,
        now=_now_text(audit), totals=totals,
        data_json=Markup(script_json(html_data(audit))),
        labels_json=Markup(script_json(_labels(audit.lang))))


def write_html(audit: Audit, path: Path) -> None:
    write_atomic(path, html_text(audit).encode("utf-8"))
