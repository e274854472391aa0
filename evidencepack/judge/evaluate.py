"""Measure the checker's judgement on the labelled corpus: one section per kind of judgement.

A section is a function ``(corpus_dir, part) -> EvalSection``; ``SECTIONS`` lists
them in the order they are printed, so another measurement (checklist verdicts,
OCR characters) is one more function appended there.  The corpus is split into
a dev part (rules are tuned on it) and a test part (only its figures are read)
by a hash of each record's id, so a record's part never depends on what else
is in the corpus.  See corpus/README.md.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evidencepack.errors import InputError
from evidencepack.models import ChatMessage, ChatRole
from evidencepack.judge.tagging import TAGS, tag_messages, tag_name
from evidencepack.inputs.textio import load_toml
from evidencepack.resources import DATA, CORPUS

__all__ = ["part_of", "load_messages", "evaluate", "SECTIONS", "EvalSection", "Evaluation",
           "floor_failures", "FloorMiss", "DEV_SHARE", "PARTS"]

PARTS = ("dev", "test")
# About 60 % dev, 40 % test (corpus/README.md).
DEV_SHARE = 60
_REPO_CORPUS = CORPUS
_FLOORS_FILE = DATA / "eval_floors.toml"


def part_of(record_id: str) -> Literal["dev", "test"]:
    """The part a corpus record belongs to, from its id alone."""
    digest = hashlib.sha256(record_id.encode("utf-8")).digest()
    return "dev" if int.from_bytes(digest[:4], "big") % 100 < DEV_SHARE else "test"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContextLine(_Strict):
    role: Literal["buyer", "seller"]
    text: str


class CorpusMessage(_Strict):
    id: str = Field(min_length=1)
    writer: str = Field(min_length=1)
    role: Literal["buyer", "seller"]
    text: str
    context: list[ContextLine] = Field(default_factory=list)
    tags: list[str]


def default_corpus() -> Path:
    return _REPO_CORPUS


def load_messages(path: Path, display: str | None = None) -> list[CorpusMessage]:
    """Read one JSON Lines file of labelled messages; a bad line is an InputError
    naming the file, the line and the field."""
    display = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read the corpus file ({exc.strerror or exc})", path=display) from exc
    known = set(TAGS)
    out: list[CorpusMessage] = []
    for number, raw in enumerate(text.split("\n"), 1):
        if not raw.strip():
            continue
        try:
            record = CorpusMessage.model_validate(json.loads(raw))
        except ValueError as exc:
            if isinstance(exc, ValidationError):
                err = exc.errors()[0]
                raise InputError(err["msg"], path=display, line=number,
                                 field=".".join(str(p) for p in err["loc"]) or None) from None
            raise InputError(f"not valid JSON ({exc})", path=display, line=number) from None
        unknown = [t for t in record.tags if t not in known]
        if unknown:
            raise InputError(f"unknown tag {unknown[0]!r}", path=display, line=number, field="tags",
                             remedy="tags are listed in evidencepack/data/chat_tags.toml")
        out.append(record)
    return out


def _part_file(corpus: Path, part: str) -> Path:
    return corpus / "messages" / f"{part}.jsonl"


# --- chat tags ------------------------------------------------------------------------

_T0 = datetime(2024, 1, 1, 9, 0, tzinfo=timezone.utc)


def predict(record: CorpusMessage) -> list[str]:
    """The tags the tagger gives the record's message, read after its context."""
    lines = [*record.context, record]
    messages = [ChatMessage(at=_T0 + timedelta(minutes=i), sender=line.role,
                            role=ChatRole(line.role), text=line.text, source="corpus", line=i + 1)
                for i, line in enumerate(lines)]
    return tag_messages(messages)[-1].tags


class Column(BaseModel):
    id: str
    zh: str
    en: str


class EvalSection(BaseModel):
    """One table of figures for one part of the corpus."""

    id: str
    title_zh: str
    title_en: str
    part: str
    size: int  # records measured
    columns: list[Column]
    rows: list[dict[str, str | int | float | None]]


class Evaluation(BaseModel):
    schema_: str = Field("evidencepack.evaluate/1", alias="schema")
    corpus: str
    sections: list[EvalSection]

    model_config = ConfigDict(populate_by_name=True)


_FIGURES = [
    Column(id="precision", zh="精确率", en="Precision"),
    Column(id="recall", zh="召回率", en="Recall"),
    Column(id="support", zh="样本数", en="Support"),
    Column(id="predicted", zh="判出数", en="Predicted"),
]
_TAG_COLUMNS = [Column(id="name", zh="标签", en="Tag"), *_FIGURES]


def tag_section(corpus: Path, part: str) -> EvalSection:
    """Precision, recall and support per chat tag on one part of the message corpus."""
    path = _part_file(corpus, part)
    records = load_messages(path, display=str(path))
    tp = dict.fromkeys(TAGS, 0)
    fp = dict.fromkeys(TAGS, 0)
    fn = dict.fromkeys(TAGS, 0)
    for record in records:
        got, want = set(predict(record)), set(record.tags)
        for tag in got & want:
            tp[tag] += 1
        for tag in got - want:
            fp[tag] += 1
        for tag in want - got:
            fn[tag] += 1
    rows = []
    for tag in TAGS:
        support, predicted = tp[tag] + fn[tag], tp[tag] + fp[tag]
        rows.append({
            "id": tag, "name_zh": tag_name(tag, "zh"), "name_en": tag_name(tag, "en"),
            # An empty denominator has no figure rather than a flattering 1.0.
            "precision": round(tp[tag] / predicted, 3) if predicted else None,
            "recall": round(tp[tag] / support, 3) if support else None,
            "support": support, "predicted": predicted,
        })
    return EvalSection(id="chat_tags", title_zh="聊天标签", title_en="Chat tags", part=part,
                       size=len(records), columns=_TAG_COLUMNS, rows=rows)


_VERDICT_COLUMNS = [Column(id="name", zh="判定", en="Verdict"), *_FIGURES]
_VERDICT_NAMES = {"met": ("已具备", "met"), "weak": ("较弱", "weak"),
                  "missing": ("缺失", "missing"), "not_applicable": ("不适用", "not applicable")}


def verdict_section(corpus: Path, part: str) -> EvalSection:
    """Item-verdict accuracy of the checklist on the labelled case scenarios."""
    from evidencepack.judge.scenarios import score

    metrics = score(part, corpus / "scenarios")
    rows: list[dict[str, str | int | float | None]] = [{
        "id": "accuracy", "name_zh": "全部判定（准确率）", "name_en": "all verdicts (accuracy)",
        "precision": metrics.accuracy, "recall": metrics.accuracy,
        "support": metrics.items, "predicted": metrics.items}]
    for verdict, m in metrics.per_verdict.items():
        zh, en = _VERDICT_NAMES[verdict]
        rows.append({"id": verdict, "name_zh": zh, "name_en": en, "precision": m.precision,
                     "recall": m.recall, "support": m.expected, "predicted": m.predicted})
    return EvalSection(id="item_verdicts", title_zh="证据项判定", title_en="Checklist item verdicts",
                       part=part, size=metrics.scenarios, columns=_VERDICT_COLUMNS, rows=rows)


def _distance(a: str, b: str) -> int:
    """Edits (insert, delete, replace) turning ``a`` into ``b``."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def _squeeze(text: str) -> str:
    return "".join(text.split())


_SHOT_COLUMNS = [Column(id="name", zh="测量", en="Measure"),
                 Column(id="accuracy", zh="准确率", en="Accuracy"),
                 Column(id="support", zh="样本数", en="Support")]


def screenshot_section(corpus: Path, part: str) -> EvalSection:
    """OCR and layout on the labelled screenshots (corpus/screenshots): character
    accuracy (1 - edit distance / characters labelled) of what the tool takes from
    each kind of screen, message-split accuracy of chat screens (a labelled message
    counts when the next message read has its side and 80 % of its characters;
    the denominator is the larger count, so a split or a merge costs), and
    listing-fact accuracy (each screen's answer for each fact)."""
    from zoneinfo import ZoneInfo

    from evidencepack.inputs import ocr, screenshots
    from evidencepack.inputs.chat import RoleContext
    from evidencepack.inputs.images import default_cache_dir
    from evidencepack.models import EvidenceItem, EvidenceKind

    folder = corpus / "screenshots"
    try:
        labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the screenshot labels ({exc})",
                         path=str(folder / "labels.json")) from None
    labels = [x for x in labels if part_of(x["id"]) == part]
    tz = ZoneInfo("Asia/Shanghai")
    chars = {"chat": [0, 0], "listing": [0, 0], "tracking": [0, 0]}  # errors, characters
    split = [0, 0]
    facts = [0, 0]
    unread = 0
    names = screenshots.fact_ids()
    for label in labels:
        data = (folder / label["file"]).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        text, _ = ocr.read_cached(data, digest, default_cache_dir())
        if text is None:
            unread += 1
            continue
        captured = datetime.fromisoformat(label["captured"])
        item = EvidenceItem(path=label["file"], kind=EvidenceKind(f"{label['kind']}_screenshot"),
                            size=len(data), sha256=digest, media_type="image/png",
                            captured_at=captured, ocr=text)
        if label["kind"] == "chat":
            ctx = screenshots.ChatContext(
                tz=tz, roles=RoleContext.make([label["seller"]], None, label["buyer"]),
                buyer_nick=label["buyer"], seller_name=label["seller"])
            got, _ = screenshots.chat_messages(item, ctx, captured)
            want = label["messages"]
            # Characters of what was typed: a picture's placeholder is no character read.
            hyp = _squeeze("".join(m.text for m in got if m.kind != "image"))
            ref = _squeeze("".join(m["text"] for m in want if m["kind"] != "image"))
            at = 0  # in order: a message not read does not shift the rest
            for m in want:
                r = _squeeze(m["text"])
                for n in range(at, min(at + 2, len(got))):
                    h = _squeeze(got[n].text)
                    if got[n].role.value == m["role"] and (
                            got[n].kind == "image" if m["kind"] == "image"
                            else bool(r) and _distance(r, h) <= 0.2 * len(r)):
                        split[0] += 1
                        at = n + 1
                        break
            split[1] += max(len(want), len(got))
        elif label["kind"] == "tracking":
            events = screenshots.tracking_events(item, tz)
            hyp = _squeeze("".join(e.text for e in sorted(events, key=lambda e: e.at)))
            ref = _squeeze("".join(e["text"] for e in sorted(label["events"], key=lambda e: e["at"])))
        else:
            hyp, ref = _squeeze("".join(ln.text for ln in text.lines)), _squeeze("".join(label["lines"]))
            shown = set(screenshots.listing_facts(text))
            facts[0] += sum((f in shown) == (f in label["facts"]) for f in names)
            facts[1] += len(names)
        chars[label["kind"]][0] += min(_distance(ref, hyp), len(ref))
        chars[label["kind"]][1] += len(ref)

    def share(good: int, total: int) -> float | None:
        return round(good / total, 3) if total else None

    rows: list[dict[str, str | int | float | None]] = [
        {"id": f"{kind}_chars", "name_zh": f"{zh}字符准确率", "name_en": f"{en} characters",
         "accuracy": share(total - errors, total), "support": total}
        for kind, zh, en in (("chat", "聊天截图", "chat screenshot"),
                             ("listing", "商品页截图", "listing screenshot"),
                             ("tracking", "物流截图", "tracking screenshot"))
        for errors, total in [chars[kind]]]
    rows.append({"id": "message_split", "name_zh": "消息切分准确率", "name_en": "message split",
                 "accuracy": share(*split), "support": split[1]})
    rows.append({"id": "listing_facts", "name_zh": "商品页事实判断准确率", "name_en": "listing facts",
                 "accuracy": share(*facts), "support": facts[1]})
    if unread:
        rows.append({"id": "unread", "name_zh": f"未能识别（未安装 OCR：{ocr.INSTALL_HINT}）",
                     "name_en": f"not read (no OCR engine: {ocr.INSTALL_HINT})",
                     "accuracy": None, "support": unread})
    return EvalSection(id="screenshots", title_zh="截图文字识别", title_en="Screenshot OCR",
                       part=part, size=len(labels), columns=_SHOT_COLUMNS, rows=rows)


SECTIONS: list[Callable[[Path, str], EvalSection]] = [tag_section, verdict_section,
                                                      screenshot_section]


def evaluate(corpus: Path | None = None, parts: tuple[str, ...] = PARTS) -> Evaluation:
    corpus = corpus or default_corpus()
    if not corpus.is_dir():
        raise InputError("no corpus folder here", path=str(corpus),
                         remedy="run from a clone of the repository or give --corpus DIR")
    return Evaluation(corpus=str(corpus),
                      sections=[section(corpus, part) for section in SECTIONS for part in parts])


class FloorMiss(BaseModel):
    """One figure below its floor."""

    part: str
    section: str
    row: str
    name_zh: str
    name_en: str
    measure: Literal["precision", "recall"]
    value: float
    floor: float


def floor_failures(evaluation: Evaluation) -> list[FloorMiss]:
    """Every figure of the floors' part below its floor in evidencepack/data/eval_floors.toml."""
    floors = load_toml(_FLOORS_FILE, display="evidencepack/data/eval_floors.toml")
    out = []
    for section in evaluation.sections:
        if section.part != floors.get("part", "test"):
            continue
        table = floors.get(section.id, {})
        for row in section.rows:
            for measure in ("precision", "recall"):
                floor = table.get(str(row["id"]), {}).get(measure, table.get(measure))
                value = row.get(measure)
                if floor is not None and value is not None and value < floor:
                    out.append(FloorMiss(
                        part=section.part, section=section.id, row=str(row["id"]),
                        name_zh=str(row.get("name_zh", row["id"])), name_en=str(row.get("name_en", row["id"])),
                        measure=measure, value=float(value), floor=float(floor)))
    return out
