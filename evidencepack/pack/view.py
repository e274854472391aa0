"""The pack's view model: what each page shows, in the pack's language, built from the
analysis and the prepared (page-sized) files; the template only lays it out."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from markupsafe import Markup

from evidencepack import __version__
from evidencepack.inputs.evidence import KIND_ORDER, SCREENSHOT_KINDS
from evidencepack.inputs.images import Recipe, prepare
from evidencepack.pack.labels import money, zone_text
from evidencepack.judge.claims import Argument
from evidencepack.judge.tagging import tag_name
from evidencepack.options import BuildOptions
from evidencepack.models import EvidenceItem, EvidenceKind, OcrText, TimeSource, TrackingStatus
from evidencepack.pipeline import Analysis
from evidencepack.workers import workers
from evidencepack.inputs.carriers import carrier_name
from evidencepack.pack import appended

FETCH_PREFIX = "evidencepack:/prepared/"

# The seller's own risks (rude wording, off-platform contact) are for the agent's
# worksheet: the submission never points at them (the transcript still holds
# every message). Agreements are what the arbitrator must not miss, so each one is
# in the timeline; other tags are frequent (a long chat has hundreds of complaints
# and promises): the timeline shows the first and last.
RISK_TAGS = {"seller_rude", "off_platform"}
ALWAYS_IN_TIMELINE = {"buyer_agrees", "buyer_consents_proxy_signing",
                      "buyer_objects_proxy_signing"}

# WeasyPrint lays out one huge message super-linearly (1 MB of CJK took ten
# minutes); a message longer than this is cut in the pack, saying so, and the
# whole text stays in the exhibit's original file, whose hash the pack carries.
MAX_MESSAGE_CHARS = 4000

def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _page_label_css(template: str) -> Markup:
    # "第 {page} 页 / 共 {pages} 页" -> "第 " counter(page) " 页 / 共 " counter(pages) " 页"
    parts = []
    rest = template
    while rest:
        i = rest.find("{")
        if i < 0:
            parts.append(_css_string(rest))
            break
        if i:
            parts.append(_css_string(rest[:i]))
        j = rest.index("}", i)
        name = rest[i + 1:j]
        parts.append(f"counter({'pages' if name == 'pages' else 'page'})")
        rest = rest[j + 1:]
    return Markup(" ".join(parts))


def _fmt(at: datetime | None, L: dict) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S") if at else L["unknown"]


def human_size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


@dataclass
class Prepared:
    urls: dict[str, Path] = field(default_factory=dict)  # fetch URL -> prepared file
    src: dict[str, str] = field(default_factory=dict)  # evidence path -> fetch URL
    pdf_pages: dict[str, int] = field(default_factory=dict)  # evidence path -> page count
    problems: dict[str, str] = field(default_factory=dict)
    documents: list[appended.Document] = field(default_factory=list)  # PDFs to append


def prepare_all(analysis: Analysis, recipe: Recipe, cache_dir: Path, jobs: int | None) -> Prepared:
    out = Prepared()
    images = [e for e in analysis.evidence if e.image is not None]

    def one(item: EvidenceItem) -> tuple[EvidenceItem, Path | None, str | None]:
        try:
            path = prepare(item.source(analysis.case_dir), item.sha256,
                           screenshot=item.kind in SCREENSHOT_KINDS, recipe=recipe,
                           cache_dir=cache_dir)
            return item, path, None
        except Exception as exc:  # noqa: BLE001 - a bad image is a note, not a crash
            return item, None, f"image could not be prepared ({exc})"

    with ThreadPoolExecutor(max_workers=workers(jobs)) as pool:
        for item, path, problem in pool.map(one, images):
            if path is None:
                out.problems[item.path] = problem
                continue
            url = FETCH_PREFIX + path.name
            out.urls[url] = path
            out.src[item.path] = url
    for item in analysis.evidence:
        if item.media_type == "application/pdf":
            try:
                doc = appended.read_document(item, analysis.case_dir)
            except appended.DocumentProblem as exc:
                out.problems[item.path] = str(exc)
                continue
            out.documents.append(doc)
            out.pdf_pages[item.path] = doc.pages
    return out


def _shown_text(text: str, label: str, L: dict) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return text[:MAX_MESSAGE_CHARS] + "\n" + L["message_cut"].format(
        n=len(text) - MAX_MESSAGE_CHARS, label=label)


# The largest a screenshot is shown (pack.css: .screenshot img within the frame of
# A4's text width, 190 mm tall) and CSS's 96 px to the inch: the text layer's
# font size follows the picture's scale.
_SHOT_MAX_MM = (174.0, 190.0)
_MM_PER_PX = 25.4 / 96


def _text_layer(ocr: OcrText | None) -> list[dict]:
    """Invisible text over a screenshot, line by line where OCR found it, so a PDF
    reader can search and copy the Chinese in the picture."""
    if ocr is None or not ocr.width or not ocr.height:
        return []
    scale = min(_MM_PER_PX, _SHOT_MAX_MM[0] / ocr.width, _SHOT_MAX_MM[1] / ocr.height)
    return [{"text": ln.text, "left": round(100 * ln.box[0] / ocr.width, 2),
             "top": round(100 * ln.box[1] / ocr.height, 2),
             "size": round(max(0.8, (ln.box[3] - ln.box[1]) * scale * 0.8), 2)}
            for ln in ocr.lines if ln.text.strip()]


def _exhibit_groups(analysis: Analysis, prepared: Prepared, L: dict,
                    linked: set[str]) -> list[dict]:
    """``linked``: the anchors the timeline points to; only those messages get an id."""
    role_text = {r: L[f"role_{r}"] for r in ("buyer", "seller", "platform", "system", "unknown")}
    messages_by_source: dict[str, list] = {}
    for m in analysis.chat.messages:
        messages_by_source.setdefault(m.source, []).append(m)
    events_by_source: dict[str, list] = {}
    for ev in analysis.tracking.events:
        events_by_source.setdefault(ev.source, []).append(ev)
    gap_after = {g.start for g in analysis.tracking_facts.gaps_over_72h}

    groups: dict[str, dict] = {}
    for item in sorted(analysis.evidence, key=lambda e: KIND_ORDER.index(e.kind)):
        prefix = item.label.rstrip("0123456789")
        group = groups.setdefault(prefix, {
            "anchor": f"group-{prefix}", "title": L["group_" + prefix],
            "exhibits": []})
        # The arbitrator learns that a file could not be shown, not our diagnosis
        # of it (that is in the agent's worksheet).
        unreadable = bool(item.problems) or item.path in prepared.problems
        ex = {
            "label": item.label, "path": item.path, "caption": item.caption,
            "captured": _fmt(item.captured_at, L),
            "time_source": L["src_" + item.time_source.name],
            "dimensions": f"{item.image.width}×{item.image.height}" if item.image else None,
            "size": human_size(item.size),
            "short_hash": item.short_hash, "unreadable": unreadable,
            "src": prepared.src.get(item.path),
            "layout": "screenshot" if item.kind in SCREENSHOT_KINDS else
                      "photo" if item.image else "data",
            "chat": None, "events": None, "note": None, "pdf_pages": [],
            "text_layer": _text_layer(item.ocr) if item.kind in SCREENSHOT_KINDS else [],
            "recognised": None,
        }
        if item.kind in (EvidenceKind.chat_log, EvidenceKind.tracking_export):
            # A log's file time says nothing about the dispute; the span of its
            # entries does, and it comes from the entries themselves.
            times = [x.at for x in (messages_by_source if item.kind == EvidenceKind.chat_log
                                    else events_by_source).get(item.path, [])]
            if times:
                ex["captured"] = f"{_fmt(min(times), L)} – {_fmt(max(times), L)}"
                ex["time_source"] = L["entries"]
        if item.kind in (EvidenceKind.chat_log, EvidenceKind.chat_screenshot):
            ex["chat"] = [{
                "at": m.at.strftime("%Y-%m-%d %H:%M:%S" if m.read_from == "export"
                                    else "%Y-%m-%d %H:%M"),
                "sender": m.sender,
                "role": m.role.value, "role_text": role_text.get(m.role.value, m.role.value)
                + ("" if m.confidence is None else
                   " · " + L["ocr_confidence"].format(p=round(100 * m.confidence))),
                "kind": m.kind, "text": _shown_text(m.text, item.label, L),
                "anchor": anchor if (anchor := f"msg-{item.label}-{m.line}") in linked else None}
                for m in messages_by_source.get(item.path, [])]
            if item.kind == EvidenceKind.chat_screenshot:
                # The screenshot is the evidence; its text is for search and copying.
                ex["recognised"] = L["ocr_recognised"] if ex["chat"] else None
                ex["chat"] = ex["chat"] or None
        if item.kind == EvidenceKind.tracking_export or (
                item.kind == EvidenceKind.tracking_screenshot and events_by_source.get(item.path)):
            rows = []
            for ev in events_by_source.get(item.path, []):
                anomaly = ""
                cls = ""
                if ev.status in (TrackingStatus.signed_by_third_party, TrackingStatus.returned,
                                 TrackingStatus.returning, TrackingStatus.refused,
                                 TrackingStatus.problem, TrackingStatus.held,
                                 TrackingStatus.mis_sorted):
                    anomaly, cls = L["status_" + ev.status.value], "anomaly"
                if ev.at in gap_after:
                    anomaly = (anomaly + "；" if anomaly else "") + L["gap"].format(hours=72)
                    cls = "anomaly"
                rows.append({"at": ev.at.strftime("%Y-%m-%d %H:%M"), "status":
                             L["status_" + ev.status.value], "text": ev.text,
                             "location": ev.location, "anomaly": anomaly, "cls": cls,
                             "anchor": f"trk-{item.label}-{ev.line}"})
            ex["events"] = rows
        elif item.kind == EvidenceKind.preship_video:
            ex["note"] = L["video_note"]
        if item.path in prepared.pdf_pages:
            n = prepared.pdf_pages[item.path]
            ex["note"] = L["document_pages"].format(n=n)
            ex["pdf_pages"] = [f"docpage-{item.label}-{i + 1}" for i in range(n)]
            ex["layout"] = "data"
        elif item.media_type == "application/pdf" and item.path in prepared.problems:
            ex["note"] = L["document_unreadable"].format(problem=prepared.problems[item.path])
        group["exhibits"].append(ex)
    return list(groups.values())


def _timeline(analysis: Analysis, L: dict) -> list[dict]:
    rows: list[tuple[datetime, int, dict]] = []

    def add(at, text, ref, anchor=None, cls=""):
        if at is not None:
            rows.append((at, len(rows), {"at": at.strftime("%Y-%m-%d %H:%M"), "text": text,
                                         "ref": ref, "anchor": anchor, "cls": cls}))

    for name, key in (("ordered_at", "ev_order"), ("opened_at", "ev_opened"),
                      ("intervention_at", "ev_intervention"),
                      ("return_delivered_at", "ev_return")):
        fact = analysis.times.get(name)
        if fact is not None and fact.kind != "tracking":
            add(fact.value, L[key], L["src_" + fact.kind], cls="key")
    labels = {e.path: e.label for e in analysis.evidence}
    key_statuses = {TrackingStatus.picked_up, TrackingStatus.signed,
                    TrackingStatus.signed_by_third_party, TrackingStatus.locker_or_station,
                    TrackingStatus.returned, TrackingStatus.returning, TrackingStatus.refused,
                    TrackingStatus.problem, TrackingStatus.held, TrackingStatus.mis_sorted}
    for ev in analysis.tracking.events:
        if ev.status in key_statuses:
            label = labels.get(ev.source, ev.source)
            add(ev.at, L["status_" + ev.status.value] + L["colon"] + ev.text, label,
                f"trk-{label}-{ev.line}",
                "anomaly" if ev.status not in (TrackingStatus.picked_up, TrackingStatus.signed) else "")
    for gap in analysis.tracking_facts.gaps_over_72h:
        add(gap.start, L["gap"].format(hours=72) + f" ({gap.hours:.0f} {L['hours']})",
            labels.get(analysis.tracking.events[0].source, "") if analysis.tracking.events else "",
            None, "anomaly")
    shown: set[int] = set()
    by_tag: dict[str, list[int]] = {}
    for index, m in enumerate(analysis.chat.messages):
        for tag in m.tags:
            if tag not in RISK_TAGS:
                by_tag.setdefault(tag, []).append(index)
    for tag, indexes in by_tag.items():
        shown.update(indexes if tag in ALWAYS_IN_TIMELINE else {indexes[0], indexes[-1]})
    for index in sorted(shown):
        m = analysis.chat.messages[index]
        label = labels.get(m.source, m.source)
        text = m.text if len(m.text) <= 80 else m.text[:79] + "…"
        names = "、".join(tag_name(t, analysis.lang) for t in m.tags if t not in RISK_TAGS)
        add(m.at, f"〔{names}〕{m.sender}{L['colon']}{text}", label, f"msg-{label}-{m.line}")
    for tag, indexes in sorted(by_tag.items()):
        if len(indexes) > 2 and tag not in ALWAYS_IN_TIMELINE:
            first = analysis.chat.messages[indexes[0]]
            label = labels.get(first.source, first.source)
            add(first.at, L["more_tagged"].format(n=len(indexes), tag=tag_name(tag, analysis.lang)), label,
                f"msg-{label}-{first.line}", "summary")
    for e in analysis.evidence:
        # A file's modified time (a copy, a checkout) says nothing about the case:
        # the timeline shows only capture times the evidence itself carries.
        if (e.image is not None and e.captured_at and e.kind != EvidenceKind.chat_screenshot
                and e.time_source != TimeSource.mtime):
            add(e.captured_at, L["ev_captured"].format(label=e.label) +
                f"（{L['src_' + e.time_source.name]}）", e.label, f"ex-{e.label}")
    rows.sort(key=lambda r: (r[0], r[1]))
    return [r[2] for r in rows]


def _source_text(fact, exhibit: dict[str, str], L: dict) -> str:
    """Where a case time came from, in the reader's words (物流记录 T1, 卖家填写)."""
    text = L["src_" + fact.kind]
    if fact.files:
        text += " " + "、".join(exhibit.get(f, f) for f in fact.files)
    return text


def build_context(analysis: Analysis, prepared: Prepared, opts: BuildOptions,
                  L: dict, digest: str, redacted: bool, argument: Argument) -> dict:
    """The submission's view model: the seller's case as the arbitrator reads it.

    Nothing here is for the seller's side only (completeness, gaps, countdowns,
    risks, diagnostics): those are in the worksheet (worksheet.py).
    """
    lang = analysis.lang
    r = analysis.report
    timeline = _timeline(analysis, L)
    cited = {ref.anchor for claim in argument.claims for ref in claim.refs}
    groups = _exhibit_groups(analysis, prepared, L, {row["anchor"] for row in timeline} | cited)
    toc = [{"level": 1, "anchor": "points", "title": L["points"]},
           {"level": 1, "anchor": "statement", "title": L["statement"]},
           {"level": 1, "anchor": "timeline", "title": L["timeline"]}]
    for g in groups:
        toc.append({"level": 1, "anchor": g["anchor"], "title": g["title"]})
        toc.extend({"level": 2, "anchor": f"ex-{ex['label']}", "title": f"{ex['label']} {ex['path']}"}
                   for ex in g["exhibits"])
    toc.append({"level": 1, "anchor": "manifest", "title": L["manifest"]})
    exhibit = {e.path: e.label for e in analysis.evidence}
    cover_times = [{"label": L[name], "at": _fmt(analysis.times[name].value, L),
                    "source": _source_text(analysis.times[name], exhibit, L)}
                   for name in ("ordered_at", "opened_at", "shipped_at", "delivered_at")
                   if name in analysis.times]
    stamp = opts.generated_at.astimezone(analysis.case.tz)
    zone = zone_text(analysis.case.timezone, stamp.utcoffset().total_seconds() / 3600, L)
    return {
        "L": L, "lang": lang, "case": analysis.case, "version": __version__,
        "dispute_name": r.name,
        "platform_name": analysis.profile.name(lang),
        "amount": money(analysis.case.amount, analysis.case.currency, L),
        "carrier_name": carrier_name(analysis.tracking.carrier or
                                                  analysis.case.tracking.carrier, lang),
        "cover_times": cover_times, "argument": argument,
        "generated_at": f"{stamp:%Y-%m-%d %H:%M:%S} {zone}", "zone": zone,
        "generated_at_iso": stamp.isoformat(),
        "input_digest": digest, "redacted": redacted,
        "toc": toc, "groups": groups, "timeline": timeline,
        "manifest_rows": [{"label": e.label, "path": e.path, "kind": L["kind_" + e.kind.value],
                           "size": human_size(e.size), "sha256": e.sha256,
                           "captured": _fmt(e.captured_at, L),
                           "time_source": L["src_" + e.time_source.name]}
                          for e in analysis.evidence],
        "page_label_css": _page_label_css(L["page"]),
        "page_ref": L["page_ref"].split("{page}", 1),
        "toc_pages": None,  # filled when the pack is laid out in pieces (parallel.py)
    }


