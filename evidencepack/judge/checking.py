"""Checking a case against its checklist: each item's status (met, weak, missing,
not applicable) with the reasons and the exhibits that met it, and completeness."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from evidencepack.judge.checklist import (RANK, CaseField, Captured, ChatTag, ChatTagAbsent,
                                    Checklist, Condition, EvidenceCount, FailStatus,
                                    ImageQuality, Level, ListingShows, Status, TrackingRule)
from evidencepack.inputs.documents import doc_type_name
from evidencepack.errors import ChecklistError
from evidencepack.models import (ChatMessage, EvidenceItem, EvidenceKind, TrackingFacts,
                                 TrackingTimeline)
from evidencepack.inputs.screenshots import fact_name, listing_facts
from evidencepack.judge.tagging import tag_name
from evidencepack.inputs.textio import load_toml
from evidencepack.resources import DATA

# Two images whose 256-bit average hashes differ in at most this many bits are
# the same picture (a resend, a re-save, a resize): counted once. Measured on
# the samples: a re-saved, resized copy differs by 1 bit; distinct photos of
# one parcel on one table by 41 or more.
NEAR_DUPLICATE_BITS = 12


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


REASONS_FILE = DATA / "check_reasons.toml"


@lru_cache(maxsize=1)
def _reasons() -> dict[str, dict[str, str]]:
    return load_toml(REASONS_FILE, error=ChecklistError)


def _names(ids, lang: str, sep: str = "/") -> str:
    """Ids (kinds, case times, signer kinds, statuses) as the reader's language names them."""
    ids = [getattr(i, "value", i) for i in ([ids] if isinstance(ids, str) else ids)]
    if lang != "zh":
        return sep.join(ids)
    names = _reasons()["zh_names"]
    return "、".join(names.get(i, i) for i in ids)


def _time_source(item: EvidenceItem, lang: str) -> str:
    # English keeps the short source names scripts match; Chinese reads the labels'.
    if lang != "zh":
        return item.time_source.value
    from evidencepack.pack.labels import load_labels

    return load_labels(lang)["src_" + item.time_source.name]


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
        msg = t["count"].format(min=rule.min, have=len(kept), kinds=_names(rule.evidence, lang))
        if dupes:
            msg += t["dupes"].format(n=len(dupes))
        return False, [msg, *reasons], [e.label for e in kept]
    if isinstance(rule, Captured):
        event_at = ctx.events.get(rule.event)
        found, _ = _usable(_of_kinds(ctx, rule.evidence))
        if not found:
            return True, [], []
        if event_at is None:
            return False, [t["no_event"].format(event=_names(rule.event, lang))], []
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
                                             event=_names(rule.event, lang),
                                             event_at=_fmt(event_at))
                               + t["time_source"].format(source=_time_source(e, lang)))
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
                    statuses=_names(rule.status_any, lang, ", ")))
        if rule.signer_any and ctx.facts.signer_kind not in rule.signer_any:
            reasons.append(t["signer"].format(have=_names(ctx.facts.signer_kind or "unknown", lang),
                                              want=_names(rule.signer_any, lang, " / ")))
        if rule.min_gap_hours is not None and (ctx.facts.longest_gap_hours or 0) < rule.min_gap_hours:
            reasons.append(t["gap"].format(hours=rule.min_gap_hours))
        return not reasons, reasons, labels if not reasons else []
    if isinstance(rule, ChatTag):
        return _eval_chat_tag(rule, ctx, t, lang)
    if isinstance(rule, ChatTagAbsent):
        tagged = [m for m in ctx.messages if rule.tag in m.tags]
        if not tagged:
            return True, [], []
        where = ", ".join(f"{_fmt(m.at)} {m.sender}" for m in tagged[:3])
        return False, [t["chat_tag_present"].format(tag=tag_name(rule.tag, "zh") if lang == "zh"
                                                    else rule.tag, have=len(tagged),
                                                    where=where)], []
    if isinstance(rule, ListingShows):
        return _eval_listing_shows(rule, ctx, lang, t)
    if isinstance(rule, CaseField):
        value = ctx.events.get(rule.field, ctx.fields.get(rule.field))
        if value in (None, "", []):
            return False, [t["field"].format(field=_names(rule.field, lang))], []
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


def _eval_listing_shows(rule: ListingShows, ctx: CheckContext, lang: str, t: dict
                        ) -> tuple[bool | FailStatus, list[str], list[str]]:
    # Not collapsed as near-duplicates: two screens of one page look alike in a
    # thumbnail and differ in just the text this rule reads.
    found = [e for e in _of_kinds(ctx, [EvidenceKind.listing_screenshot]) if e.image is not None]
    wanted = set(rule.shows)
    showing = [e for e in found if e.ocr is not None and wanted & set(listing_facts(e.ocr))]
    if len(showing) >= rule.min:
        return True, [], [e.label for e in showing]
    what = ("、" if lang == "zh" else " / ").join(fact_name(f, lang) for f in rule.shows)
    reasons = [t["listing_shows"].format(what=what, min=rule.min, have=len(showing))]
    unread = [e for e in found if e.ocr is None]
    if unread:
        reasons.append(t["listing_unread"].format(labels=", ".join(e.label for e in unread)))
        return "weak", reasons, [e.label for e in showing + unread]
    return False, reasons, []


def _eval_chat_tag(rule: ChatTag, ctx: CheckContext, t: dict, lang: str
                   ) -> tuple[bool | FailStatus, list[str], list[str]]:
    tags = set(rule.tag)
    tagged = [m for m in ctx.messages if tags & set(m.tags)]
    against = [m for m in ctx.messages if set(rule.against) & set(m.tags)]
    # English keeps the ids a lead writes in a checklist; Chinese gets the names.
    name = "、".join(tag_name(t, "zh") for t in rule.tag) if lang == "zh" else "/".join(rule.tag)

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
            return "weak", [t["no_event_counted"].format(event=_names(rule.before_event, lang))], \
                refs(tagged)
        return False, [t["no_event"].format(event=_names(rule.before_event, lang))], []
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
    reasons += [t["too_late"].format(at=_fmt(m.at), event=_names(rule.before_event, lang),
                                     event_at=_fmt(event_at), text=_quote(m.text))
                for m in late[:1]]
    return False, reasons + notes, []


def _applies(cond: Condition, ctx: CheckContext) -> bool:
    """Any one clause of the condition holds."""
    signer = ctx.facts.signer_kind
    return bool(
        (cond.signer_kind and (signer in (None, "unknown") or signer in cond.signer_kind))
        or any(ctx.events.get(name) is not None for name in cond.events)
        or any(e.kind in cond.evidence for e in ctx.evidence)
        or any(getattr(ctx.facts, name) for name in cond.facts)
        or {ev.status for ev in ctx.tracking.events} & set(cond.tracking_status_any))


def _chat_ref(message: ChatMessage, ctx: CheckContext) -> str:
    for e in ctx.evidence:
        if e.path == message.source:
            return e.label or e.path
    return message.source


def evaluate(checklist: Checklist, ctx: CheckContext, lang: str = "zh") -> CheckReport:
    t = _reasons()["zh" if lang == "zh" else "en"]
    results: list[ItemResult] = []
    for item in checklist.items:
        base = dict(id=item.id, title=item.title(lang), level=item.level, group=item.group,
                    why=item.why(lang), guards=item.guards)
        cond = item.applies_when
        if cond is not None and not _applies(cond, ctx):
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
            if RANK[outcome] < RANK[status]:
                status = outcome
        results.append(ItemResult(**base, status=status, reasons=reasons,
                                  evidence=labels if status != "missing" else []))
    units: dict[str, Status] = {}
    for r in results:
        if r.level == "recommended" or r.status == "not_applicable":
            continue
        key = f"group:{r.group}" if r.level in ("one_or_more", "alternatives") else f"item:{r.id}"
        best = units.get(key, "missing")
        units[key] = r.status if RANK[r.status] > RANK[best] else best
    for r in results:
        if r.level in ("one_or_more", "alternatives") and f"group:{r.group}" in units:
            r.group_met = units[f"group:{r.group}"] != "missing"
    satisfied = sum(1 for s in units.values() if s != "missing")
    total = len(units)
    return CheckReport(dispute_type=checklist.id, name=checklist.name(lang),
                       name_zh=checklist.name_zh, name_en=checklist.name_en,
                       complete=satisfied == total, score=round(satisfied / total, 3) if total else 1.0,
                       required_units=total, satisfied_units=satisfied, items=results)


UNFILLED_ID = "case_facts"


def with_unfilled(report: CheckReport, unfilled: list[str], lang: str) -> CheckReport:
    """``report`` with a first, required item for case.toml's placeholders: the case is
    not complete while the order number or the amount is still init's stand-in."""
    if not unfilled:
        return report
    t = _reasons()["zh" if lang == "zh" else "en"]
    item = ItemResult(id=UNFILLED_ID, title=t["unfilled_title"], level="required",
                      status="missing", why=t["unfilled_why"],
                      reasons=[t["unfilled"].format(fields=_names(unfilled, lang, sep=", "))])
    total = report.required_units + 1
    return report.model_copy(update={
        "items": [item, *report.items], "complete": False, "required_units": total,
        "score": round(report.satisfied_units / total, 3)})
