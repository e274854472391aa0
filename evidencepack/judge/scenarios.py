"""Labelled case scenarios: load one into the real check context (no files), run
the real checklist, and measure how often each item's verdict is the expected one.

A scenario (``corpus/scenarios/{dev,test}/*.toml``) describes a case compactly:
its facts, its evidence (kind, capture time, document type or file name, image
measurements), chat messages as typed (tagged by the real tagger), tracking
events as a courier writes them (classified by the real tracking rules), and the
expected verdict of every item of its dispute type's checklist.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evidencepack.inputs.carriers import classify
from evidencepack.judge.tracking_facts import derive_facts
from evidencepack.inputs.case import parse_case
from evidencepack.inputs.chat import tag_messages
from evidencepack.judge.checking import CheckReport, evaluate
from evidencepack.judge.checklist import Checklist, load_checklists
from evidencepack.inputs.documents import doc_type_from_name
from evidencepack.errors import InputError, describe_validation
from evidencepack.inputs.evidence import order_and_label
from evidencepack.models import (ChatMessage, ChatRole, DocType, EvidenceItem, EvidenceKind,
                                 ImageInfo, OcrLine, OcrText, TimeSource, TrackingEvent,
                                 TrackingTimeline)
from evidencepack.pipeline import check_context
from evidencepack.inputs.textio import load_toml
from evidencepack.resources import CORPUS

CORPUS_DIR = CORPUS / "scenarios"
Verdict = Literal["met", "weak", "missing", "not_applicable"]
VERDICTS: tuple[Verdict, ...] = ("met", "weak", "missing", "not_applicable")
_IMAGE_KINDS = {EvidenceKind.listing_screenshot, EvidenceKind.preship_photo,
                EvidenceKind.chat_screenshot, EvidenceKind.tracking_screenshot,
                EvidenceKind.return_photo}
_FOLDER = {EvidenceKind.listing_screenshot: "listing", EvidenceKind.preship_photo: "preship",
           EvidenceKind.preship_video: "preship", EvidenceKind.chat_log: "chat",
           EvidenceKind.chat_screenshot: "chat", EvidenceKind.tracking_export: "tracking",
           EvidenceKind.tracking_screenshot: "tracking", EvidenceKind.return_photo: "returns",
           EvidenceKind.document: "reports", EvidenceKind.other: "other"}


_LISTING_TEXT = "颜色分类 雾霾蓝 规格参数 7天无理由退货"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScenarioFile(_Strict):
    """One file of the case. Images default to a sharp, bright 1600x1200 photo."""

    kind: EvidenceKind
    captured_at: datetime | None = None
    name: str | None = None  # the file name, which may say its document type
    doc_type: DocType | None = None  # as case.toml would give it
    content: str | None = None  # same content, same SHA-256: a file saved twice
    width: int = 1600
    height: int = 1200
    sharpness: float = 150.0
    brightness: float = 120.0
    ahash: str | None = None  # equal hashes: near-duplicate pictures
    # What a screenshot's text reads (as OCR gives it). A listing screenshot shows by
    # default the attribute, specs and policy its checklist asks for; "" shows nothing.
    text: str | None = None


class ScenarioMessage(_Strict):
    role: ChatRole
    at: datetime
    text: str
    sender: str | None = None


class ScenarioEvent(_Strict):
    at: datetime
    text: str


class Scenario(_Strict):
    id: str
    note: str = ""  # what the case is about and what it tests
    # The case.toml facts: dispute_type, platform, opened_at and any time field.
    case: dict[str, object]
    now: datetime | None = None  # default: a day after opened_at
    evidence: list[ScenarioFile] = Field(default_factory=list)
    chat: list[ScenarioMessage] = Field(default_factory=list)
    tracking: list[ScenarioEvent] = Field(default_factory=list)
    expect: dict[str, Verdict]


class Mismatch(BaseModel):
    scenario: str
    item: str
    expected: Verdict
    got: Verdict
    reasons: list[str] = Field(default_factory=list)


class VerdictMetrics(BaseModel):
    precision: float | None  # None: never predicted
    recall: float | None  # None: never expected
    expected: int
    predicted: int


class ScenarioMetrics(BaseModel):
    part: str
    scenarios: int
    items: int
    accuracy: float  # share of item verdicts equal to the expected one
    per_verdict: dict[str, VerdictMetrics]
    mismatches: list[Mismatch]


def load_scenario(path: Path) -> Scenario:
    data = load_toml(path)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        field, message = describe_validation(exc.errors())
        raise InputError(message, path=path, field=field) from None


def _case_data(s: Scenario) -> dict:
    return {"case_id": s.id, "order_id": "0", "amount": "1.00", "seller": {"shop": "店铺"},
            "item": {"title": s.id}, "platform": "taobao", **s.case}


def _evidence(s: Scenario, tz) -> list[EvidenceItem]:
    files = list(s.evidence)
    if s.chat and not any(f.kind == EvidenceKind.chat_log for f in files):
        files.append(ScenarioFile(kind=EvidenceKind.chat_log, name="chat.txt"))
    if s.tracking and not any(f.kind == EvidenceKind.tracking_export for f in files):
        files.append(ScenarioFile(kind=EvidenceKind.tracking_export, name="tracking.json"))
    items = []
    for n, f in enumerate(files, 1):
        name = f.name or f"{f.kind.value}_{n}{'.jpg' if f.kind in _IMAGE_KINDS else '.pdf'}"
        at = f.captured_at
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=tz)
        item = EvidenceItem(
            path=f"{_FOLDER[f.kind]}/{name}", kind=f.kind, size=1,
            sha256=hashlib.sha256((f.content or f"{s.id}/{n}").encode()).hexdigest(),
            media_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
            captured_at=at, time_source=TimeSource.override if at else TimeSource.none)
        if f.kind in _IMAGE_KINDS:
            item.image = ImageInfo(width=f.width, height=f.height, sharpness=f.sharpness,
                                   brightness=f.brightness,
                                   ahash=f.ahash or hashlib.sha256(item.sha256.encode())
                                   .hexdigest())
        text = f.text if f.text is not None else (
            _LISTING_TEXT if f.kind == EvidenceKind.listing_screenshot else None)
        if text is not None:
            item.ocr = OcrText(engine="scenario", width=f.width, height=f.height, lines=[
                OcrLine(text=text, box=(0, 0, f.width, 40), confidence=1.0)] if text else [])
        if f.doc_type is not None:
            item.doc_type, item.doc_type_source = f.doc_type, "case.toml"
        elif f.kind in (EvidenceKind.document, EvidenceKind.other):
            found = doc_type_from_name(name)
            item.doc_type = found or DocType.other
            item.doc_type_source = "file name" if found else None
        items.append(item)
    order_and_label(items)
    return items


def run_scenario(s: Scenario, checklists: dict[str, Checklist] | None = None,
                 lang: str = "zh") -> CheckReport:
    """The real checklist's report on the scenario's case."""
    case = parse_case(_case_data(s), path=f"scenario {s.id}")
    tz = case.tz

    def aware(at: datetime) -> datetime:
        return at if at.tzinfo else at.replace(tzinfo=tz)

    messages = tag_messages([
        ChatMessage(at=aware(m.at), sender=m.sender or m.role.value, role=m.role, text=m.text,
                    source="chat/chat.txt", line=i)
        for i, m in enumerate(s.chat, 1)])
    timeline = TrackingTimeline(events=sorted((
        TrackingEvent(at=aware(e.at), status=classify(e.text), text=e.text,
                      source="tracking/tracking.json", line=i)
        for i, e in enumerate(s.tracking, 1)), key=lambda e: e.at))
    now = aware(s.now) if s.now else case.opened_at + timedelta(days=1)
    facts = derive_facts(timeline, now=now)
    evidence = _evidence(s, tz)
    _, ctx = check_context(case, evidence, messages, timeline, facts, [])
    checklists = checklists or load_checklists()
    return evaluate(checklists[case.dispute_type], ctx, lang)


def _parts_dir(part: str, root: Path | None) -> Path:
    folder = (root or CORPUS_DIR) / part
    if not folder.is_dir():
        raise InputError("no such scenario part", path=folder)
    return folder


def score(part: str, root: Path | None = None) -> ScenarioMetrics:
    """Item-verdict accuracy, per-verdict precision and recall, and every mismatch,
    over the scenarios of one part (``dev`` or ``test``)."""
    checklists = load_checklists()
    pairs: list[tuple[Verdict, Verdict]] = []
    mismatches: list[Mismatch] = []
    paths = sorted(_parts_dir(part, root).glob("*.toml"))
    for path in paths:
        s = load_scenario(path)
        report = run_scenario(s, checklists)
        got = {i.id: i for i in report.items}
        if set(s.expect) != set(got):
            raise InputError(f"expect must name every item of {report.dispute_type}: "
                             f"missing {sorted(set(got) - set(s.expect))}, "
                             f"unknown {sorted(set(s.expect) - set(got))}", path=path,
                             field="expect")
        for item_id, expected in s.expect.items():
            verdict = got[item_id].status
            pairs.append((expected, verdict))
            if verdict != expected:
                mismatches.append(Mismatch(scenario=s.id, item=item_id, expected=expected,
                                           got=verdict, reasons=got[item_id].reasons))
    expected_n = Counter(e for e, _ in pairs)
    predicted_n = Counter(g for _, g in pairs)
    right = Counter(e for e, g in pairs if e == g)
    per_verdict = {v: VerdictMetrics(
        precision=round(right[v] / predicted_n[v], 3) if predicted_n[v] else None,
        recall=round(right[v] / expected_n[v], 3) if expected_n[v] else None,
        expected=expected_n[v], predicted=predicted_n[v]) for v in VERDICTS}
    return ScenarioMetrics(part=part, scenarios=len(paths), items=len(pairs),
                           accuracy=round(sum(right.values()) / len(pairs), 4) if pairs else 0.0,
                           per_verdict=per_verdict, mismatches=mismatches)


__all__ = ["Scenario", "ScenarioMetrics", "Mismatch", "load_scenario", "run_scenario", "score"]
