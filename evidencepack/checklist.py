"""Per-dispute-type evidence checklists (data files) and the engine that checks a
case against them.

A checklist item is met, weak (present, but an arbitrator could discount it,
with the reason), missing, or not applicable (its ``applies_when`` condition does
not hold: no consent to third-party signing is needed when the buyer signed).
Items are required, recommended, or members of a group (``one_or_more`` /
``alternatives``) that any one member satisfies.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evidencepack.documents import doc_type_name
from evidencepack.errors import ChecklistError, describe_validation
from evidencepack.models import (ChatMessage, DocType, EvidenceItem, EvidenceKind,
                                 TrackingFacts, TrackingStatus, TrackingTimeline)
from evidencepack.textio import load_toml

BUILTIN_DIR = Path(__file__).parent / "data" / "checklists"
LOSS_REASONS_FILE = Path(__file__).parent / "data" / "loss_reasons.toml"

Level = Literal["required", "one_or_more", "alternatives", "recommended"]
Status = Literal["met", "weak", "missing", "not_applicable"]
FailStatus = Literal["weak", "missing"]
_RANK = {"missing": 0, "weak": 1, "met": 2}
SignerKind = Literal["self", "third_party", "locker_or_station", "unknown"]

# Two images whose 256-bit average hashes differ in at most this many bits are
# the same picture (a resend, a re-save, a resize): counted once. Measured on
# the samples: a re-saved, resized copy differs by 1 bit; distinct photos of
# one parcel on one table by 41 or more.
NEAR_DUPLICATE_BITS = 12


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _listed(value):
    # `evidence = "preship_photo"` reads better in a data file than a 1-list.
    return [value] if isinstance(value, str) else value


class _EvidenceRule(_Strict):
    evidence: list[EvidenceKind]

    _one_or_many = field_validator("evidence", mode="before")(_listed)


class EvidenceCount(_EvidenceRule):
    """At least ``min`` distinct files of the kinds (and, if given, document types)."""

    kind: Literal["evidence_count"]
    min: int = 1
    doc_types: list[DocType] = Field(default_factory=list)
    on_fail: FailStatus = "missing"

    _doc_types_listed = field_validator("doc_types", mode="before")(_listed)


class Captured(_EvidenceRule):
    """Evidence captured before/after a case event (a case time or a derived fact)."""

    kind: Literal["captured_before", "captured_after"]
    event: str
    on_fail: FailStatus = "weak"
    note_zh: str | None = None
    note_en: str | None = None


class ImageQuality(_EvidenceRule):
    kind: Literal["image_quality"]
    min_short_side: int = 600
    min_sharpness: float = 40.0
    min_brightness: float = 25.0
    on_fail: FailStatus = "weak"


class TrackingRule(_Strict):
    kind: Literal["tracking"]
    status_any: list[TrackingStatus] = Field(default_factory=list)
    signer_any: list[str] = Field(default_factory=list)
    min_gap_hours: float | None = None
    on_fail: FailStatus = "missing"


class ChatTag(_Strict):
    """At least ``min`` messages carrying any of the tags.

    With ``before_event`` only messages sent before that case event (plus
    ``slack_hours``: a courier's scan lags the phone call) count, and a later
    one is named as too late. A message tagged ``against`` (an objection) that
    is the buyer's last word before the event fails the rule, quoted.
    """

    kind: Literal["chat_tag"]
    tag: list[str]
    min: int = 1
    before_event: str | None = None
    slack_hours: float = 0
    against: list[str] = Field(default_factory=list)
    on_fail: FailStatus = "missing"

    _tags_listed = field_validator("tag", "against", mode="before")(_listed)


class ChatTagAbsent(_Strict):
    kind: Literal["chat_tag_absent"]
    tag: str
    on_fail: FailStatus = "weak"


class CaseField(_Strict):
    kind: Literal["case_field"]
    field: str
    on_fail: FailStatus = "missing"


class Condition(_Strict):
    """When an item applies: any one of the clauses given holds.

    ``signer_kind``: who signed is one of these, or is not known (an item that
    may be needed is asked for). ``events``: one of these case times is known.
    ``evidence``: a file of one of these kinds is there. ``facts``: one of these
    tracking facts is true (returned, refused, third_party_signed,
    over_7_days_without_update). ``tracking_status_any``: the tracking shows one.
    The reason is what `check` says when the item does not apply.
    """

    signer_kind: list[SignerKind] = Field(default_factory=list)
    events: list[str] = Field(default_factory=list)
    evidence: list[EvidenceKind] = Field(default_factory=list)
    facts: list[Literal["returned", "refused", "third_party_signed",
                        "over_7_days_without_update"]] = Field(default_factory=list)
    tracking_status_any: list[TrackingStatus] = Field(default_factory=list)
    reason_zh: str
    reason_en: str

    _clauses_listed = field_validator("signer_kind", "events", "evidence", "facts",
                                      "tracking_status_any", mode="before")(_listed)

    def holds(self, ctx: "CheckContext") -> bool:
        signer = ctx.facts.signer_kind
        return bool(
            (self.signer_kind and (signer in (None, "unknown") or signer in self.signer_kind))
            or any(ctx.events.get(name) is not None for name in self.events)
            or any(e.kind in self.evidence for e in ctx.evidence)
            or any(getattr(ctx.facts, name) for name in self.facts)
            or {ev.status for ev in ctx.tracking.events} & set(self.tracking_status_any))


Rule = Annotated[Union[EvidenceCount, Captured, ImageQuality, TrackingRule, ChatTag,
                       ChatTagAbsent, CaseField], Field(discriminator="kind")]


class Item(_Strict):
    id: str
    title_zh: str
    title_en: str
    why_zh: str
    why_en: str
    guards: list[int] = Field(default_factory=list)  # loss reasons 1-8 it defends against
    level: Level = "required"
    group: str | None = None
    applies_when: Condition | None = None
    rules: list[Rule] = Field(default_factory=list)

    def title(self, lang: str) -> str:
        return self.title_zh if lang == "zh" else self.title_en

    def why(self, lang: str) -> str:
        return self.why_zh if lang == "zh" else self.why_en


class Checklist(_Strict):
    id: str
    name_zh: str
    name_en: str
    items: list[Item]
    # In a lead's file: replace the built-in list instead of layering over it,
    # and item ids to drop from it.
    replace: bool = False
    remove: list[str] = Field(default_factory=list)

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en


class _Layer(Checklist):
    """A lead's file that adjusts a built-in list: names may be inherited."""

    name_zh: str = ""
    name_en: str = ""
    items: list[Item] = Field(default_factory=list)


def _load_file(path: Path, model: type[Checklist]) -> Checklist:
    data = load_toml(path, error=ChecklistError)
    try:
        checklist = model.model_validate(data)
    except ValidationError as exc:
        key, message = describe_validation(exc.errors())
        raise ChecklistError(message, path=path, field=key) from None
    if checklist.id != path.stem:
        raise ChecklistError(f"id {checklist.id!r} must match the file name", path=path,
                             field="id")
    _check_groups(checklist, path)
    return checklist


def _check_groups(checklist: Checklist, path: Path) -> None:
    seen = set()
    for index, item in enumerate(checklist.items):
        if item.id in seen:
            raise ChecklistError(f"duplicate item id {item.id!r}", path=path,
                                 field=f"items.{index}.id")
        seen.add(item.id)
        if item.level in ("one_or_more", "alternatives") and not item.group:
            raise ChecklistError(f"level {item.level!r} needs a group name", path=path,
                                 field=f"items.{index}.group")


def load_checklists(extra_dirs: list[Path] | None = None) -> dict[str, Checklist]:
    """Built-in checklists, with each extra folder's files layered over them in turn."""
    result = {p.stem: _load_file(p, Checklist) for p in sorted(BUILTIN_DIR.glob("*.toml"))}
    for folder in extra_dirs or []:
        if not folder.is_dir():
            raise ChecklistError("checklist folder does not exist", path=folder)
        for path in sorted(folder.glob("*.toml")):
            layer = _load_file(path, _Layer)
            base = result.get(layer.id)
            if base is None or layer.replace:
                if not layer.name_zh or not layer.name_en or not layer.items:
                    raise ChecklistError("a new or replacing checklist needs name_zh, "
                                         "name_en and items", path=path)
                result[layer.id] = Checklist(**layer.model_dump(exclude={"replace", "remove"}))
                continue
            unknown = set(layer.remove) - {i.id for i in base.items}
            if unknown:
                raise ChecklistError(f"cannot remove unknown item(s) {sorted(unknown)}",
                                     path=path, field="remove")
            layered = {i.id: i for i in base.items if i.id not in layer.remove}
            layered.update({i.id: i for i in layer.items})
            merged = base.model_copy(update={
                "items": list(layered.values()),
                "name_zh": layer.name_zh or base.name_zh,
                "name_en": layer.name_en or base.name_en})
            _check_groups(merged, path)
            result[layer.id] = merged
    return result


def loss_reasons() -> dict[int, dict[str, str]]:
    data = load_toml(LOSS_REASONS_FILE, error=ChecklistError)
    return {int(r["n"]): r for r in data["reasons"]}


# --- evaluation ----------------------------------------------------------------

class CheckContext(BaseModel):
    """What the rules look at: the case's times, evidence, chat and tracking."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    events: dict[str, datetime | None]
    fields: dict[str, object]
    evidence: list[EvidenceItem]
    messages: list[ChatMessage]
    tracking: TrackingTimeline
    facts: TrackingFacts


class ItemResult(BaseModel):
    id: str
    title: str
    level: Level
    group: str | None = None
    status: Status
    reasons: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)  # exhibit labels that met it
    why: str
    guards: list[int] = Field(default_factory=list)
    # For a group member: whether the group is satisfied (by this or another member).
    group_met: bool | None = None


class CheckReport(BaseModel):
    dispute_type: str
    name: str
    name_zh: str
    name_en: str
    complete: bool
    score: float  # satisfied required units / required units
    required_units: int
    satisfied_units: int
    items: list[ItemResult]

    @property
    def missing(self) -> list[ItemResult]:
        # not_applicable is never missing: it asks for nothing.
        return [i for i in self.items if i.status == "missing" and i.level != "recommended"
                and not i.group_met]


_TEXT = {
    "zh": {
        "count": "需要至少 {min} 份{kinds}，现有 {have} 份",
        "dupes": "（{n} 份与其他图片近似重复，只计一次）",
        "unreadable": "{label} 无法读取：{problem}",
        "no_time": "{label} 拍摄时间未知",
        "no_event": "无法核对：{event} 未知",
        "not_before": "{label} 拍摄于 {at}，晚于{event}（{event_at}）",
        "not_after": "{label} 拍摄于 {at}，早于{event}（{event_at}）",
        "small": "{label} 分辨率 {w}×{h}，短边低于 {min}px",
        "blurry": "{label} 可能模糊（清晰度 {v}，低于 {min}）",
        "dark": "{label} 几乎全黑（亮度 {v}）",
        "tracking_status": "物流记录中没有以下状态：{statuses}",
        "signer": "签收人类型为 {have}，不是 {want}",
        "gap": "物流记录中没有超过 {hours} 小时的停滞",
        "chat_tag": "聊天记录中没有“{tag}”类消息（需要 {min} 条，现有 {have} 条）",
        "chat_tag_present": "聊天记录中有 {have} 条“{tag}”类消息：{where}",
        "field": "案件信息缺少 {field}",
        "doc_count": "需要至少 {min} 份{types}，现有 {have} 份",
        "doc_others": "（另有：{others}）",
        "too_late": "{at} 的消息晚于{event}（{event_at}），不能证明事先同意：“{text}”",
        "objection": "买家表示反对（{at}）：“{text}”",
        "objection_later": "买家事后表示反对（{at}）：“{text}”",
        "no_event_counted": "{event} 未知，无法核对消息是否在其之前",
    },
    "en": {
        "count": "needs at least {min} {kinds}, has {have}",
        "dupes": " ({n} near-duplicate image(s) counted once)",
        "unreadable": "{label} cannot be read: {problem}",
        "no_time": "{label} has no known capture time",
        "no_event": "cannot check: {event} is unknown",
        "not_before": "{label} captured {at}, after {event} ({event_at})",
        "not_after": "{label} captured {at}, before {event} ({event_at})",
        "small": "{label} is {w}×{h}, short side below {min} px",
        "blurry": "{label} looks blurry (sharpness {v}, below {min})",
        "dark": "{label} is nearly black (brightness {v})",
        "tracking_status": "tracking shows none of: {statuses}",
        "signer": "signer kind is {have}, not {want}",
        "gap": "tracking shows no gap longer than {hours} h",
        "chat_tag": "chat has no '{tag}' message (needs {min}, has {have})",
        "chat_tag_present": "chat has {have} '{tag}' message(s): {where}",
        "field": "case is missing {field}",
        "doc_count": "needs at least {min} {types}, has {have}",
        "doc_others": " (also present: {others})",
        "too_late": "the message of {at} came after {event} ({event_at}), so it proves no "
                    "consent beforehand: \u201c{text}\u201d",
        "objection": "the buyer objected ({at}): \u201c{text}\u201d",
        "objection_later": "the buyer objected afterwards ({at}): \u201c{text}\u201d",
        "no_event_counted": "{event} is unknown, so the messages' timing cannot be checked",
    },
}


def _fmt(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M")


def _of_kinds(ctx: CheckContext, kinds: list[EvidenceKind]) -> list[EvidenceItem]:
    return [e for e in ctx.evidence if e.kind in kinds]


def _quote(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _distinct(items: list[EvidenceItem]) -> list[EvidenceItem]:
    """One per content: the same file saved twice is one document."""
    seen: set[str] = set()
    return [e for e in items if not (e.sha256 in seen or seen.add(e.sha256))]


def _usable(items: list[EvidenceItem]) -> tuple[list[EvidenceItem], list[EvidenceItem]]:
    """Readable items, near-duplicate images collapsed; and the duplicates dropped."""
    kept: list[EvidenceItem] = []
    dupes: list[EvidenceItem] = []
    for item in items:
        if item.problems and (item.image is None or item.size == 0):
            continue
        if item.image and item.image.ahash:
            h = int(item.image.ahash, 16)
            if any(k.image and k.image.ahash and
                   bin(h ^ int(k.image.ahash, 16)).count("1") <= NEAR_DUPLICATE_BITS
                   for k in kept):
                dupes.append(item)
                continue
        kept.append(item)
    return kept, dupes


def _eval_rule(rule, ctx: CheckContext, lang: str, t: dict
               ) -> tuple[bool | FailStatus, list[str], list[str]]:
    """Returns (passed: True, False for the rule's on_fail, or a status of its
    own; reasons; exhibit labels that satisfied it)."""
    if isinstance(rule, EvidenceCount):
        found = _of_kinds(ctx, rule.evidence)
        if rule.doc_types:
            return _eval_doc_count(rule, found, lang, t)
        kept, dupes = _usable(found)
        reasons = [t["unreadable"].format(label=e.label, problem=e.problems[0])
                   for e in found if e not in kept and e not in dupes and e.problems]
        if len(kept) >= rule.min:
            return True, reasons, [e.label for e in kept]
        msg = t["count"].format(min=rule.min, have=len(kept),
                                kinds="/".join(k.value for k in rule.evidence))
        if dupes:
            msg += t["dupes"].format(n=len(dupes))
        return False, [msg, *reasons], [e.label for e in kept]
    if isinstance(rule, Captured):
        event_at = ctx.events.get(rule.event)
        found, _ = _usable(_of_kinds(ctx, rule.evidence))
        if not found:
            return True, [], []
        if event_at is None:
            return False, [t["no_event"].format(event=rule.event)], []
        reasons = []
        for e in found:
            if e.captured_at is None:
                reasons.append(t["no_time"].format(label=e.label))
                continue
            bad = (e.captured_at >= event_at if rule.kind == "captured_before"
                   else e.captured_at <= event_at)
            if bad:
                key = "not_before" if rule.kind == "captured_before" else "not_after"
                reasons.append(t[key].format(label=e.label, at=_fmt(e.captured_at),
                                             event=rule.event, event_at=_fmt(event_at))
                               + f" [{e.time_source.value}]")
        note = rule.note_zh if lang == "zh" else rule.note_en
        if reasons and note:
            reasons.append(note)
        return not reasons, reasons, []
    if isinstance(rule, ImageQuality):
        reasons = []
        for e in _of_kinds(ctx, rule.evidence):
            if e.image is None:
                continue
            w, h = e.image.width, e.image.height
            if min(w, h) < rule.min_short_side:
                reasons.append(t["small"].format(label=e.label, w=w, h=h, min=rule.min_short_side))
            if e.image.sharpness is not None and e.image.sharpness < rule.min_sharpness:
                reasons.append(t["blurry"].format(label=e.label, v=e.image.sharpness,
                                                  min=rule.min_sharpness))
            if e.image.brightness is not None and e.image.brightness < rule.min_brightness:
                reasons.append(t["dark"].format(label=e.label, v=e.image.brightness))
        return not reasons, reasons, []
    if isinstance(rule, TrackingRule):
        reasons = []
        labels = [e.label for e in ctx.evidence if e.kind == EvidenceKind.tracking_export]
        if rule.status_any:
            statuses = {ev.status for ev in ctx.tracking.events}
            if not statuses & set(rule.status_any):
                reasons.append(t["tracking_status"].format(
                    statuses=", ".join(s.value for s in rule.status_any)))
        if rule.signer_any and ctx.facts.signer_kind not in rule.signer_any:
            reasons.append(t["signer"].format(have=ctx.facts.signer_kind or "-",
                                              want=" / ".join(rule.signer_any)))
        if rule.min_gap_hours is not None and (ctx.facts.longest_gap_hours or 0) < rule.min_gap_hours:
            reasons.append(t["gap"].format(hours=rule.min_gap_hours))
        return not reasons, reasons, labels if not reasons else []
    if isinstance(rule, ChatTag):
        return _eval_chat_tag(rule, ctx, t)
    if isinstance(rule, ChatTagAbsent):
        tagged = [m for m in ctx.messages if rule.tag in m.tags]
        if not tagged:
            return True, [], []
        where = ", ".join(f"{_fmt(m.at)} {m.sender}" for m in tagged[:3])
        return False, [t["chat_tag_present"].format(tag=rule.tag, have=len(tagged),
                                                    where=where)], []
    if isinstance(rule, CaseField):
        value = ctx.events.get(rule.field, ctx.fields.get(rule.field))
        if value in (None, "", []):
            return False, [t["field"].format(field=rule.field)], []
        return True, [], []
    raise AssertionError(f"unhandled rule {rule!r}")  # pragma: no cover


def _eval_doc_count(rule: EvidenceCount, found: list[EvidenceItem], lang: str,
                    t: dict) -> tuple[bool, list[str], list[str]]:
    readable, _ = _usable(found)
    kept = _distinct([e for e in readable if e.doc_type in rule.doc_types])
    if len(kept) >= rule.min:
        return True, [], [e.label for e in kept]
    msg = t["doc_count"].format(min=rule.min, have=len(kept), types="/".join(
        doc_type_name(d, lang) for d in rule.doc_types))
    others = [e for e in readable if e not in kept and e.doc_type is not None]
    if others:
        msg += t["doc_others"].format(others=", ".join(
            f"{e.label} {doc_type_name(e.doc_type, lang)}" for e in others))
    return False, [msg], [e.label for e in kept]


def _eval_chat_tag(rule: ChatTag, ctx: CheckContext, t: dict
                   ) -> tuple[bool | FailStatus, list[str], list[str]]:
    tags = set(rule.tag)
    tagged = [m for m in ctx.messages if tags & set(m.tags)]
    against = [m for m in ctx.messages if set(rule.against) & set(m.tags)]
    name = "/".join(rule.tag)

    def refs(messages: list[ChatMessage]) -> list[str]:
        return sorted({_chat_ref(m, ctx) for m in messages})

    if rule.before_event is None:
        if against:
            m = against[-1]
            return False, [t["objection"].format(at=_fmt(m.at), text=_quote(m.text))], []
        if len(tagged) >= rule.min:
            return True, [], refs(tagged)
        return False, [t["chat_tag"].format(tag=name, min=rule.min, have=len(tagged))], []
    event_at = ctx.events.get(rule.before_event)
    if event_at is None:
        # Without the event an agreement may still be there: present, but the
        # arbitrator cannot see that it came first.
        if tagged and not against:
            return "weak", [t["no_event_counted"].format(event=rule.before_event)], refs(tagged)
        return False, [t["no_event"].format(event=rule.before_event)], []
    cutoff = event_at + timedelta(hours=rule.slack_hours)
    in_time = [m for m in tagged if m.at <= cutoff]
    late = [m for m in tagged if m.at > cutoff]
    objected = [m for m in against if m.at <= cutoff]
    objected_later = [m for m in against if m.at > cutoff]
    if objected and (not in_time or objected[-1].at >= in_time[-1].at):
        m = objected[-1]
        return False, [t["objection"].format(at=_fmt(m.at), text=_quote(m.text))], []
    notes = [t["objection_later"].format(at=_fmt(m.at), text=_quote(m.text))
             for m in objected_later[:1]]
    if len(in_time) >= rule.min:
        return True, notes, refs(in_time)
    reasons = [t["chat_tag"].format(tag=name, min=rule.min, have=len(in_time))]
    reasons += [t["too_late"].format(at=_fmt(m.at), event=rule.before_event,
                                     event_at=_fmt(event_at), text=_quote(m.text))
                for m in late[:1]]
    return False, reasons + notes, []


def _chat_ref(message: ChatMessage, ctx: CheckContext) -> str:
    for e in ctx.evidence:
        if e.path == message.source:
            return e.label or e.path
    return message.source


def evaluate(checklist: Checklist, ctx: CheckContext, lang: str = "zh") -> CheckReport:
    t = _TEXT["zh" if lang == "zh" else "en"]
    results: list[ItemResult] = []
    for item in checklist.items:
        base = dict(id=item.id, title=item.title(lang), level=item.level, group=item.group,
                    why=item.why(lang), guards=item.guards)
        cond = item.applies_when
        if cond is not None and not cond.holds(ctx):
            results.append(ItemResult(**base, status="not_applicable", reasons=[
                cond.reason_zh if lang == "zh" else cond.reason_en]))
            continue
        status: Status = "met"
        reasons: list[str] = []
        labels: list[str] = []
        for rule in item.rules:
            passed, why, got = _eval_rule(rule, ctx, lang, t)
            reasons.extend(why)
            labels.extend(label for label in got if label not in labels)
            if passed is True:
                continue
            outcome = rule.on_fail if passed is False else passed
            if _RANK[outcome] < _RANK[status]:
                status = outcome
        results.append(ItemResult(**base, status=status, reasons=reasons,
                                  evidence=labels if status != "missing" else []))
    units: dict[str, Status] = {}
    for r in results:
        if r.level == "recommended" or r.status == "not_applicable":
            continue
        key = f"group:{r.group}" if r.level in ("one_or_more", "alternatives") else f"item:{r.id}"
        best = units.get(key, "missing")
        units[key] = r.status if _RANK[r.status] > _RANK[best] else best
    for r in results:
        if r.level in ("one_or_more", "alternatives") and f"group:{r.group}" in units:
            r.group_met = units[f"group:{r.group}"] != "missing"
    satisfied = sum(1 for s in units.values() if s != "missing")
    total = len(units)
    return CheckReport(dispute_type=checklist.id, name=checklist.name(lang),
                       name_zh=checklist.name_zh, name_en=checklist.name_en,
                       complete=satisfied == total, score=round(satisfied / total, 3) if total else 1.0,
                       required_units=total, satisfied_units=satisfied, items=results)
