"""The agent's worksheet: everything the submission leaves out on purpose (the
checklist's gaps and why, countdowns, the seller's own risks in the chat, the
statement's problems, processing notes), as one self-contained HTML file."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from evidencepack.atomic import write_atomic
from evidencepack.judge.claims import Argument, argue
from evidencepack.judge.deadlines import time_left_text
from evidencepack.inputs.evidence import folders_for
from evidencepack.pack.labels import BUILTIN_TEMPLATES, load_labels, zone_text
from evidencepack.pipeline import Analysis
from evidencepack.judge.statement import Draft, StatementProblem, draft, review
from evidencepack.judge.tagging import tag_name

# Messages the agent must read before the buyer's side quotes them.
RISK_TAGS = ("seller_rude", "off_platform", "seller_promise")
class WorkItem(BaseModel):
    title: str
    status: str  # met / weak / missing / covered / not_applicable
    status_text: str
    level_text: str
    evidence: list[str]
    reasons: list[str]
    why: str
    put_in: list[str]  # folders where the evidence that would satisfy it goes


class WorkDeadline(BaseModel):
    label: str
    at: str
    status: str
    status_text: str
    left: str
    assumed: bool
    source: str


class RiskMessage(BaseModel):
    tag: str
    tag_text: str
    at: str
    sender: str
    text: str
    ref: str  # exhibit label and line


class Worksheet(BaseModel):
    lang: str
    case_id: str
    dispute_name: str
    platform_name: str
    now: str
    complete: bool
    score_text: str
    next_action: str
    items: list[WorkItem]
    deadlines: list[WorkDeadline]
    argument: Argument
    risks: list[RiskMessage]
    statement: str
    statement_problems: list[StatementProblem]
    draft: Draft
    warnings: list[str]


def make(analysis: Analysis, argument: Argument | None = None) -> Worksheet:
    lang = analysis.lang
    L = load_labels(lang)
    argument = argument or argue(analysis, L)
    rules = {item.id: item.rules for item in analysis.checklist.items}
    items = []
    for i in analysis.report.items:
        status = "covered" if i.status == "missing" and i.group_met else i.status
        items.append(WorkItem(
            title=i.title, status=status, status_text=L["ws_" + status],
            level_text=L[i.level], evidence=i.evidence, reasons=i.reasons, why=i.why,
            put_in=folders_for(rules.get(i.id, [])) if status in ("missing", "weak") else []))
    tz = analysis.case.tz
    deadlines = [WorkDeadline(
        label=d.label, at=d.at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if d.at else "",
        status=d.status, status_text=L[d.status], left=time_left_text(d.hours_left, lang == "zh"),
        assumed=d.assumed, source=d.source) for d in analysis.deadlines]
    labels = {e.path: e.label for e in analysis.evidence}
    risks = [RiskMessage(tag=tag, tag_text=tag_name(tag, lang),
                         at=m.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), sender=m.sender,
                         text=m.text, ref=f"{labels.get(m.source, m.source)}:{m.line}")
             for m in analysis.chat.messages for tag in RISK_TAGS if tag in m.tags]
    now = analysis.now
    r = analysis.report
    return Worksheet(
        lang=lang, case_id=analysis.case.case_id, dispute_name=r.name,
        platform_name=analysis.profile.name(lang),
        now=f"{now:%Y-%m-%d %H:%M} " + zone_text(analysis.case.timezone,
                                                 now.utcoffset().total_seconds() / 3600, L),
        complete=r.complete, score_text=f"{r.satisfied_units}/{r.required_units}",
        next_action=analysis.next_action(), items=items, deadlines=deadlines,
        argument=argument, risks=risks, statement=(analysis.case.statement or "").strip(),
        statement_problems=review(analysis, argument), draft=draft(analysis, argument),
        warnings=[str(w) for w in analysis.warnings])


def write_html(sheet: Worksheet, path: Path, template_dirs: tuple[Path, ...] = ()) -> Path:
    """Render the worksheet to one self-contained HTML file (no network, no files)."""
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    env = SandboxedEnvironment(
        loader=FileSystemLoader([str(d) for d in (*template_dirs, BUILTIN_TEMPLATES)]),
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    html = env.get_template("worksheet.html.j2").render(
        w=sheet, L=load_labels(sheet.lang, template_dirs))
    write_atomic(path, html.encode("utf-8"))
    return path
