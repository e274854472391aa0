"""The job as it reads: load case -> gather evidence -> parse -> check.

``analyse`` is what `check`, `build`, `queue`, `audit` and `batch` share; it
returns one pydantic model holding every fact the pack or a report shows.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from evidencepack.inputs import chat as chat_mod
from evidencepack.inputs import screenshots
from evidencepack.inputs import tracking as tracking_mod
from evidencepack.inputs.carriers import normalise_carrier
from evidencepack.judge.tracking_facts import derive_facts
from evidencepack.inputs.case import TIME_FIELDS, Case, read_case
from evidencepack.judge.checking import CheckContext, CheckReport, evaluate, with_unfilled
from evidencepack.judge.checklist import Checklist, load_checklists
from evidencepack.judge.deadlines import Deadline, compute
from evidencepack.errors import CaseFileError, InputError, ParseError, UnsafePathError
from evidencepack.inputs.evidence import case_relative, folders_for, gather, inside
from evidencepack.inputs.images import default_cache_dir
from evidencepack.models import (ChatLog, ChatMessage, EvidenceItem, EvidenceKind,
                                 TrackingFacts, TrackingTimeline, Warning_, capped_warnings)
from evidencepack.names import checklist_names, profile_names, require
from evidencepack.options import CheckOptions
from evidencepack.judge.profiles import Profile, load_profiles
from evidencepack.inputs.redact import Redactor, redact_all
from evidencepack.resources import DATA
from evidencepack.inputs.safeio import LIMITS, read_verified
from evidencepack.judge.tagging import chat_facts, tag_messages

# A case time and the tracking's may differ by rounding; beyond this, we say so.
_DISAGREE = timedelta(hours=1)


class Fact(BaseModel):
    value: Any
    # Where the fact came from: the seller's case.toml, the tracking files, or the
    # platform's refund export; ``files`` names the tracking files it was read from.
    kind: Literal["case", "tracking", "export"]
    files: list[str] = Field(default_factory=list)

    @property
    def source(self) -> str:
        """The source as scripts read it (`check --json`)."""
        if self.kind == "tracking":
            return "tracking (" + ", ".join(self.files) + ")"
        return "case.toml" if self.kind == "case" else "refund export"


class Analysis(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    case_dir: Path
    case: Case
    profile: Profile
    lang: str
    now: AwareDatetime
    evidence: list[EvidenceItem]
    chat: ChatLog
    tracking: TrackingTimeline
    tracking_facts: TrackingFacts
    chat_counts: dict[str, int]
    times: dict[str, Fact]  # the case's event times, each with its source
    checklist: Checklist  # the dispute type's list as layered for this case
    report: CheckReport
    deadlines: list[Deadline]
    warnings: list[Warning_]
    # Facts case.toml lacked, filled from `defaults` (batch: the refund export).
    filled: dict[str, str] = Field(default_factory=dict)
    differs: list[tuple[str, str, str]] = Field(default_factory=list)  # key, default, kept
    # Everything above that came from the case's files is masked (redact.py):
    # a pack built from this analysis shows and attaches nothing unmasked.
    redacted: bool = False

    def facts(self) -> dict[str, Any]:
        """The derived facts scripts read (`check --json` -> facts)."""
        f = self.tracking_facts
        out: dict[str, Any] = {
            "shipped_at": _iso(self.times.get("shipped_at")),
            "shipped_at_source": _src(self.times.get("shipped_at")),
            "delivered_at": _iso(self.times.get("delivered_at")),
            "delivered_at_source": _src(self.times.get("delivered_at")),
            "signer_kind": f.signer_kind,
            "third_party_signed": f.third_party_signed,
            "longest_gap_hours": f.longest_gap_hours,
            "gaps_over_72h": [g.model_dump(mode="json") for g in f.gaps_over_72h],
            "over_7_days_without_update": f.over_7_days_without_update,
            "returned": f.returned,
            "refused": f.refused,
            "transit_days": f.transit_days,
            "tracking_events": len(self.tracking.events),
        }
        out.update(self.chat_counts)
        return out

    def next_action(self) -> str:
        """One step an agent can take now: for a missing item, the folder its evidence
        goes in and what would satisfy it; for a weak one, which file is weak and why."""
        from evidencepack.messages import words

        W = words(self.lang)
        missing = self.report.missing
        weak = [i for i in self.report.items if i.status == "weak" and i.level != "recommended"]
        if not missing and not weak:
            return W["next_build"]
        item = missing[0] if missing else weak[0]
        text = (W["next_add"] if missing else W["next_fix"]).format(title=item.title)
        rules = next((i.rules for i in self.checklist.items if i.id == item.id), [])
        folders = folders_for(rules)
        if missing and folders:
            text += W["next_put"].format(folders=W["or"].join(folders))
        reasons = self._with_files(item.reasons)
        if reasons:
            text += W["next_because"] + W["join"].join(reasons)
        return text

    def _with_files(self, reasons: list[str]) -> list[str]:
        """Reasons naming exhibit labels (P3), each label's file named where it first
        appears: the agent sees which file to retake."""
        import re

        from evidencepack.messages import words

        W = words(self.lang)
        paths = {e.label: e.path for e in self.evidence}
        seen: set[str] = set()

        def name(m: re.Match) -> str:
            if m[1] not in paths or m[1] in seen:
                return m[1]
            seen.add(m[1])
            return m[1] + W["paren"].format(paths[m[1]])

        return [re.sub(r"\b([A-Z]\d+)\b", name, r) for r in reasons]


def _iso(fact: Fact | None) -> str | None:
    return fact.value.isoformat() if fact and fact.value else None


def _src(fact: Fact | None) -> str | None:
    return fact.source if fact and fact.value else None


def _read(case_dir: Path, item: EvidenceItem) -> bytes:
    """An export's bytes, read once: they must be those its manifest hash names."""
    return read_verified(item.source(case_dir), item.sha256, display=item.path,
                         limit=LIMITS["files"]["max_text_bytes"], what="text file")


def _parse_chat(case_dir: Path, case: Case, items: list[EvidenceItem]) -> ChatLog:
    log = ChatLog()
    for item in items:
        if item.kind != EvidenceKind.chat_log or item.size == 0:
            continue
        parsed = chat_mod.parse_chat_file(
            item.source(case_dir), item.path, tz=case.tz, seller_nicks=case.seller.nicks,
            shop=case.seller.shop, buyer_nick=case.buyer.nick,
            header_pattern=case.chat.header_pattern, data=_read(case_dir, item),
            max_messages=LIMITS["chat"]["max_messages_read"] - len(log.messages))
        log.messages.extend(parsed.messages)
        log.warnings.extend(parsed.warnings)
    read = _screenshot_chat(case, items, log.messages)
    log.messages.extend(read)
    log.warnings.extend(Warning_(path=m.source, message=(
        f"message {m.line} read at {m.confidence:.0%} confidence; check it against the "
        f"screenshot: {m.text[:40]!r}")) for m in screenshots.doubtful(read))
    log.messages.sort(key=lambda m: m.at)
    return log


def _screenshot_chat(case: Case, items: list[EvidenceItem],
                     exported: list[ChatMessage]) -> list[ChatMessage]:
    """The messages of the chat screenshots, in screenshot order, tagged in one run as
    an export is (an agreement answers the offer on the screen before), less those
    an export already holds."""
    ctx = screenshots.ChatContext(
        tz=case.tz, roles=chat_mod.RoleContext.make(case.seller.nicks, case.seller.shop,
                                                   case.buyer.nick),
        buyer_nick=case.buyer.nick, seller_name=(case.seller.nicks or [case.seller.shop])[0],
        seller_side=case.chat.screenshot_seller_side)
    read: list[ChatMessage] = []
    at = None
    for item in items:
        if item.kind != EvidenceKind.chat_screenshot or item.ocr is None:
            continue
        messages, at = screenshots.chat_messages(item, ctx, at or item.captured_at
                                                 or datetime.now(case.tz))
        read.extend(messages)
    tag_messages(read)
    return screenshots.new_messages(read, exported)


def _parse_tracking(case_dir: Path, case: Case, items: list[EvidenceItem]) -> TrackingTimeline:
    timelines = []
    limits = LIMITS["tracking"]
    for item in items:
        if item.kind != EvidenceKind.tracking_export or item.size == 0:
            continue
        timeline = tracking_mod.parse_tracking_file(
            item.source(case_dir), item.path, tz=case.tz, carrier=case.tracking.carrier or None,
            number=case.tracking.number or None, data=_read(case_dir, item))
        if len(timeline.events) > limits["max_events"]:
            raise ParseError(f"{len(timeline.events):,} tracking events, over the limit of "
                             f"{limits['max_events']:,} for one parcel", path=item.path,
                             remedy="check that the file is one parcel's tracking")
        for ev in timeline.events:
            for name in ("text", "location"):
                value = getattr(ev, name)
                if value and len(value) > limits["max_event_chars"]:
                    setattr(ev, name, value[:limits["max_event_chars"]] + "…")
                    timeline.warnings.append(Warning_(path=item.path, line=ev.line, message=(
                        f"event {name} of {len(value):,} characters cut at "
                        f"{limits['max_event_chars']:,} (marked …)")))
        timeline.warnings = capped_warnings(timeline.warnings, item.path,
                                            LIMITS["files"]["max_warnings"])
        timelines.append(timeline)
    if not timelines:
        # No export: the events the tracking screenshots show, if any.
        events = [ev for item in items if item.kind == EvidenceKind.tracking_screenshot
                  and item.ocr is not None for ev in screenshots.tracking_events(item, case.tz)]
        if not events:
            return TrackingTimeline(carrier=case.tracking.carrier or None,
                                    number=case.tracking.number or None)
        timelines = [TrackingTimeline(carrier=normalise_carrier(
            case.tracking.carrier) if case.tracking.carrier else None,
            number=case.tracking.number or None, events=events)]
    return tracking_mod.merge_timelines(timelines)


def _event_times(case: Case, facts: TrackingFacts, tracking: TrackingTimeline,
                 warnings: list[Warning_]) -> dict[str, Fact]:
    tracking_files = sorted({e.source for e in tracking.events})
    times: dict[str, Fact] = {}
    for name in TIME_FIELDS:
        value = getattr(case, name)
        if value is not None:
            times[name] = Fact(value=value, kind="case")
    for name, derived in (("shipped_at", facts.shipped_at), ("delivered_at", facts.delivered_at)):
        if derived is None:
            continue
        explicit = times.get(name)
        if explicit is None:
            times[name] = Fact(value=derived, kind="tracking", files=tracking_files)
        elif abs(explicit.value - derived) > _DISAGREE:
            warnings.append(Warning_(
                path="case.toml",
                message=f"{name} {explicit.value:%Y-%m-%d %H:%M} differs from the tracking's "
                        f"{derived:%Y-%m-%d %H:%M}; the pack uses case.toml"))
    return times


PLAUSIBILITY_FILE = DATA / "plausibility.toml"


def _date_warnings(case: Case, now: datetime, chat: ChatLog, tracking: TrackingTimeline,
                   evidence: list[EvidenceItem]) -> list[Warning_]:
    """Files whose times fall outside the order's dates: a chat from 2024 in a case
    ordered in 2026 is most likely another case's file."""
    from evidencepack.inputs.textio import load_toml

    margins = load_toml(PLAUSIBILITY_FILE, error=InputError)
    ordered = case.ordered_at
    out: list[Warning_] = []

    def fmt(at: datetime) -> str:
        return at.astimezone(case.tz).strftime("%Y-%m-%d %H:%M")

    def check(path: str, what: tuple[str, str], first: datetime | None,
              last: datetime | None, days_before: int | None) -> None:
        # ``last`` is None for a photo: its time may be the copy's mtime, later than a
        # --now fixed in the past, and that says nothing about the case.
        if ordered is not None and first is not None and days_before is not None \
                and first < ordered - timedelta(days=days_before):
            out.append(Warning_(path=path, message=(
                f"{what[0]} {fmt(first)} is {(ordered - first).days} days before the order was "
                f"placed ({fmt(ordered)}): is it this case's file?")))
        elif last is not None and last > now + _DISAGREE:
            out.append(Warning_(path=path, message=(
                f"{what[1]} ({fmt(last)}) is later than now ({fmt(now)}): check the time "
                "and the time zone")))

    by_file: dict[str, list[datetime]] = {}
    for m in chat.messages:
        by_file.setdefault(m.source, []).append(m.at)
    for path, times in by_file.items():
        check(path, ("the chat starts", "the chat's last message"), min(times),
              max(times), margins["chat_days_before_order"])
    events: dict[str, list[datetime]] = {}
    for e in tracking.events:
        events.setdefault(e.source, []).append(e.at)
    for path, times in events.items():
        check(path, ("the tracking starts", "the tracking's last event"), min(times),
              max(times), 0)
    for item in evidence:
        if item.kind in (EvidenceKind.preship_photo, EvidenceKind.preship_video) and item.captured_at:
            check(item.path, (f"{item.label} was captured", ""), item.captured_at, None,
                  margins["photo_days_before_order"])
    return out


def _without_start(deadlines: list[Deadline]) -> list[Deadline]:
    """Deadlines when opened_at is still init's placeholder: none is known yet."""
    return [d.model_copy(update={"at": None, "status": "unknown", "hours_left": None,
                                 "everyday_at": None, "assumed": False,
                                 "source": "opened_at is not filled in yet"})
            for d in deadlines]


def check_context(case: Case, evidence: list[EvidenceItem], messages: list[ChatMessage],
                  tracking: TrackingTimeline, facts: TrackingFacts,
                  warnings: list[Warning_]) -> tuple[dict[str, Fact], CheckContext]:
    """The case's event times (case.toml, else the tracking) and what the checklist
    rules look at; ``warnings`` gets any disagreement between the two."""
    times = _event_times(case, facts, tracking, warnings)
    ctx = CheckContext(
        events={name: fact.value for name, fact in times.items()},
        fields={"item_title": case.item.title, "statement": case.statement,
                "buyer_nick": case.buyer.nick, "tracking_number": case.tracking.number},
        evidence=evidence, messages=messages, tracking=tracking, facts=facts)
    return times, ctx


def analyse(case_dir: Path, options: CheckOptions | None = None, *,
            checklists: dict | None = None, profiles: dict[str, Profile] | None = None,
            defaults: dict[str, str] | None = None) -> Analysis:
    """``defaults`` (dotted case keys -> text) fill facts case.toml lacks; case.toml wins."""
    options = options or CheckOptions()
    case, filled, differs, unfilled = read_case(case_dir, defaults)
    # 圆通 in case.toml and yuantong in an export are the same carrier.
    differs = [d for d in differs if not (
        d[0] == "tracking.carrier" and normalise_carrier(d[1]) is not None
        and normalise_carrier(d[1]) == normalise_carrier(d[2]))]
    case_file = case_dir / "case.toml"
    profiles = profiles if profiles is not None else load_profiles()
    case.platform = require(case.platform, profile_names(profiles), "platform",
                            remedy="one of: " + ", ".join(sorted(profiles)),
                            error=CaseFileError, path=case_file, field="platform")
    profile = profiles[case.platform].with_overrides(case.profile, source=case_file)
    if inside(case_dir, default_cache_dir()):
        raise UnsafePathError("the image cache (EVIDENCEPACK_CACHE) lies inside the case "
                              "folder, which is never written to", path=default_cache_dir(),
                              remedy="point EVIDENCEPACK_CACHE outside the case folder")
    dirs = list(options.checklist_dirs)
    if case.checklists:
        dirs.append(case_dir / case_relative(case_dir, case.checklists, field="checklists",
                                             what="the checklists folder"))
    if checklists is None or dirs:
        checklists = load_checklists(dirs)
    case.dispute_type = require(case.dispute_type, checklist_names(checklists), "dispute type",
                                remedy="see `evidencepack checklists`", error=CaseFileError,
                                path=case_file, field="dispute_type")
    lang = options.lang or profile.lang
    now = (options.now or datetime.now(case.tz)).astimezone(case.tz)

    evidence, warnings = gather(case_dir, case, jobs=options.jobs)
    chat = _parse_chat(case_dir, case, evidence)
    tracking = _parse_tracking(case_dir, case, evidence)
    facts = derive_facts(tracking, now=now)
    warnings = [*warnings, *chat.warnings, *tracking.warnings]
    for item in evidence:
        warnings.extend(Warning_(path=item.path, message=p) for p in item.problems)
        if item.ocr_problem:
            warnings.append(Warning_(path=item.path, message=item.ocr_problem))
    for key, given, kept in differs:
        warnings.append(Warning_(path="case.toml", message=f"{key} is {kept} here but {given} "
                                 "in the refund export; the pack uses case.toml"))
    if filled:
        warnings.append(Warning_(path="case.toml", message="not in case.toml, taken from the "
                                 "refund export: " + ", ".join(sorted(filled))))
    times, ctx = check_context(case, evidence, chat.messages, tracking, facts, warnings)
    for name in filled:
        if name in times:
            times[name].kind = "export"
    warnings.extend(_date_warnings(case, now, chat, tracking, evidence))
    report = with_unfilled(evaluate(checklists[case.dispute_type], ctx, lang), unfilled, lang)
    if options.redact:
        # Last, over everything built from the files, so nothing shown escapes it;
        # the checklist was evaluated on the text as written.
        redact_all(Redactor(), messages=chat.messages, events=tracking.events,
                   warnings=warnings, case=case, evidence=evidence)
    deadlines = compute(case, profile, now, lang, tracking=tracking, facts=facts)
    if "opened_at" in unfilled:
        deadlines = _without_start(deadlines)
    return Analysis(case_dir=case_dir, case=case, profile=profile, lang=lang, now=now,
                    evidence=evidence, chat=chat, tracking=tracking, tracking_facts=facts,
                    chat_counts=chat_facts(chat.messages), times=times,
                    checklist=checklists[case.dispute_type], report=report,
                    deadlines=deadlines,
                    warnings=warnings, filled=filled,
                    differs=differs, redacted=options.redact)


def printable(analysis: Analysis) -> tuple[Analysis, list[str]]:
    """The analysis as a pack prints it, and what was cut: at most ``max_messages``
    messages (check and the checklist count them all; the originals hold the rest)."""
    limit = LIMITS["chat"]["max_messages"]
    messages = analysis.chat.messages
    if len(messages) <= limit:
        return analysis, []
    chat = analysis.chat.model_copy(update={"messages": messages[:limit]})
    return analysis.model_copy(update={"chat": chat}), [
        f"chat: {len(messages):,} messages, over the limit of {limit:,} a pack prints: it "
        f"shows the first {limit:,}; all are in the original files, whose hashes it carries"]


def check_json(analysis: Analysis) -> dict[str, Any]:
    """The documented, stable `check --json` schema."""
    r = analysis.report
    return {
        "schema": "evidencepack.check/1",
        "case_id": analysis.case.case_id,
        "case_dir": str(analysis.case_dir),
        "platform": analysis.case.platform,
        "dispute_type": r.dispute_type,
        "dispute_type_name": r.name,
        "complete": r.complete,
        "score": r.score,
        "items": [{"id": i.id, "title": i.title, "level": i.level, "group": i.group,
                   "status": i.status, "group_met": i.group_met, "reasons": i.reasons,
                   "evidence": i.evidence} for i in r.items],
        "deadlines": [{"name": d.name, "at": d.at.isoformat() if d.at else None,
                       "status": d.status, "hours_left": d.hours_left, "source": d.source,
                       "assumed": d.assumed,
                       "everyday_at": d.everyday_at.isoformat() if d.everyday_at else None}
                      for d in analysis.deadlines],
        "facts": analysis.facts(),
        "next_action": analysis.next_action(),
        "warnings": [str(w) for w in analysis.warnings],
        "evidence": [{"label": e.label, "path": e.path, "kind": e.kind.value,
                      "doc_type": e.doc_type.value if e.doc_type else None,
                      "sha256": e.sha256, "captured_at": e.captured_at.isoformat()
                      if e.captured_at else None, "time_source": e.time_source.value,
                      "problems": e.problems} for e in analysis.evidence],
        "now": analysis.now.isoformat(),
    }


__all__ = ["Analysis", "analyse", "check_json", "InputError"]
