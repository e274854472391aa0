"""The seller's case for the arbitrator: which claims the evidence supports, each
with the exhibits (and pack anchors) that prove it.

A claim is made only when the facts behind it hold; the wording is data
(``data/claims/*.toml``, zh and en), the facts are computed here from the
analysis and never go beyond what the evidence holds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evidencepack.errors import ChecklistError, describe_validation
from evidencepack.pack.labels import load_labels
from evidencepack.models import (ChatMessage, ChatRole, EvidenceItem, EvidenceKind, TimeSource,
                                 TrackingEvent, TrackingStatus)
from evidencepack.pipeline import Analysis
from evidencepack.inputs.textio import load_toml
from evidencepack.resources import DATA

CLAIMS_DIR = DATA / "claims"

# Capture-time sources an arbitrator can check on the file itself; a file's
# modification time changes with every copy and proves nothing.
_TRUSTED_TIMES = {TimeSource.exif, TimeSource.filename, TimeSource.override}
_SIGNED = {TrackingStatus.signed, TrackingStatus.signed_by_third_party,
           TrackingStatus.locker_or_station}


class Ref(BaseModel):
    """Exhibits cited together: ``labels`` as shown, ``anchor`` where the first one is."""

    labels: list[str]
    anchor: str

    def text(self) -> str:
        return label_range(self.labels)


class Claim(BaseModel):
    id: str
    text: str
    refs: list[Ref] = Field(default_factory=list)


class Unsupported(BaseModel):
    """A claim of the dispute type that the facts do not support: for the worksheet."""

    id: str
    reason: str


class Argument(BaseModel):
    points: str  # the point in dispute, one sentence
    claims: list[Claim]
    unsupported: list[Unsupported]


def label_range(labels: list[str]) -> str:
    """P1, P2, P3, T1 -> "P1–P3、T1" style runs (ASCII comma for en is the caller's)."""
    runs: list[list[tuple[str, int]]] = []
    for label in labels:
        prefix, number = label.rstrip("0123456789"), label[len(label.rstrip("0123456789")):]
        n = int(number) if number else 0
        if runs and runs[-1][-1][0] == prefix and runs[-1][-1][1] == n - 1:
            runs[-1].append((prefix, n))
        else:
            runs.append([(prefix, n)])
    parts = [f"{r[0][0]}{r[0][1]}" + (f"–{r[-1][0]}{r[-1][1]}" if len(r) > 1 else "")
             for r in runs]
    return "、".join(parts)


# --- facts ---------------------------------------------------------------------------
# Each fact returns (values for the wording, refs) when it holds, or a reason
# string (in the pack's language) when it does not.

FACTS: dict[str, Callable] = {}


def _fact(method: Callable) -> Callable:
    FACTS[method.__name__] = method
    return method


class _Facts:
    def __init__(self, analysis: Analysis, words: dict[str, str], labels: dict[str, str]):
        self.a = analysis
        self.w = words
        self.L = labels
        self.labels = {e.path: e.label or e.path for e in analysis.evidence}

    def fmt(self, at: datetime | None) -> str:
        return at.astimezone(self.a.case.tz).strftime("%Y-%m-%d %H:%M") if at else ""

    def of(self, *kinds: EvidenceKind) -> list[EvidenceItem]:
        return [e for e in self.a.evidence if e.kind in kinds and not
                (e.problems and (e.image is None or e.size == 0))]

    def exhibit_ref(self, items: list[EvidenceItem]) -> Ref:
        return Ref(labels=[e.label for e in items], anchor=f"ex-{items[0].label}")

    def message_ref(self, m: ChatMessage) -> Ref:
        label = self.labels.get(m.source, m.source)
        return Ref(labels=[label], anchor=f"msg-{label}-{m.line}")

    def event_ref(self, ev: TrackingEvent) -> Ref:
        label = self.labels.get(ev.source, ev.source)
        return Ref(labels=[label], anchor=f"trk-{label}-{ev.line}")

    def time_source(self, items: list[EvidenceItem]) -> str:
        sources = sorted({e.time_source for e in items}, key=lambda s: s.value)
        return "、".join(self.L["src_" + s.name] for s in sources)

    def when(self, name: str) -> datetime | None:
        fact = self.a.times.get(name)
        return fact.value if fact else None

    def quote(self, text: str, limit: int = 60) -> str:
        text = " ".join(text.split())
        return text if len(text) <= limit else text[:limit - 1] + "…"

    def signing_event(self) -> TrackingEvent | None:
        return next((e for e in reversed(self.a.tracking.events) if e.status in _SIGNED), None)

    def tagged(self, tag: str) -> list[ChatMessage]:
        return [m for m in self.a.chat.messages if tag in m.tags]

    # -- the facts themselves --------------------------------------------------------

    @_fact
    def listing_before_order(self):
        items = self.of(EvidenceKind.listing_screenshot)
        ordered = self.when("ordered_at")
        if not items:
            return self.w["no_listing"]
        timed = self.timed(items)
        if ordered is None or not timed or any(e.captured_at >= ordered for e in timed):
            return self.w["listing_not_before"]
        return ({"labels": label_range([e.label for e in timed]),
                 "first": self.fmt(min(e.captured_at for e in timed)),
                 "source": self.time_source(timed), "ordered_at": self.fmt(ordered)},
                [self.exhibit_ref(timed)])

    def attached(self, kind: EvidenceKind, none: str):
        """Exhibits of one kind, claimed only to be attached (their content is not read)."""
        items = self.of(kind)
        if not items:
            return self.w[none]
        return {"labels": label_range([e.label for e in items]),
                "count": len(items)}, [self.exhibit_ref(items)]

    def timed(self, items: list[EvidenceItem]) -> list[EvidenceItem]:
        return [e for e in items if e.captured_at and e.time_source in _TRUSTED_TIMES]

    @_fact
    def listing_shown(self):
        return self.attached(EvidenceKind.listing_screenshot, "no_listing")

    @_fact
    def preship_before_pickup(self):
        items = self.of(EvidenceKind.preship_photo, EvidenceKind.preship_video)
        shipped = self.when("shipped_at")
        if not items:
            return self.w["no_preship"]
        timed = self.timed(items)
        if not timed:
            return self.w["preship_no_time"]
        if shipped is None:
            return self.w["no_shipped_at"]
        if any(e.captured_at >= shipped for e in timed):
            return self.w["preship_after"]
        return ({"count": len(timed), "labels": label_range([e.label for e in timed]),
                 "first": self.fmt(min(e.captured_at for e in timed)),
                 "last": self.fmt(max(e.captured_at for e in timed)),
                 "source": self.time_source(timed), "shipped_at": self.fmt(shipped),
                 "shipped_source": self.fact_source("shipped_at")},
                [self.exhibit_ref(timed)])

    def fact_source(self, name: str) -> str:
        fact = self.a.times[name]
        return self.L["src_" + fact.kind] + (
            " " + label_range([self.labels.get(f, f) for f in fact.files]) if fact.files else "")

    @_fact
    def tracking_delivered(self):
        events = self.a.tracking.events
        signing = self.signing_event()
        if not events or signing is None:
            return self.w["not_delivered"]
        picked = next((e for e in events if e.status is TrackingStatus.picked_up), events[0])
        return ({"shipped_at": self.fmt(picked.at), "delivered_at": self.fmt(signing.at),
                 "count": len(events), "labels": label_range(sorted(
                     {self.labels.get(e.source, e.source) for e in events}))},
                [self.event_ref(signing)])

    @_fact
    def signed_by_buyer(self):
        signing = self.signing_event()
        if signing is None or self.a.tracking_facts.signer_kind != "self":
            return self.w["not_self_signed"]
        return {"at": self.fmt(signing.at), "text": self.quote(signing.text)}, [self.event_ref(signing)]

    @_fact
    def proxy_signing_consented(self):
        signing = self.signing_event()
        if signing is None or self.a.tracking_facts.signer_kind not in ("third_party",
                                                                          "locker_or_station"):
            return self.w["no_proxy_signing"]
        before = [m for m in self.tagged("buyer_consents_proxy_signing") if m.at <= signing.at]
        if not before or self.tagged("buyer_objects_proxy_signing"):
            return self.w["no_consent"]
        m = before[-1]
        return ({"at": self.fmt(signing.at), "text": self.quote(signing.text),
                 "who": self.L["signer_" + self.a.tracking_facts.signer_kind],
                 "msg_at": self.fmt(m.at), "msg": self.quote(m.text)},
                [self.event_ref(signing), self.message_ref(m)])

    @_fact
    def buyer_confirmed_receipt(self):
        confirmed = self.tagged("buyer_confirms_receipt")
        if not confirmed:
            return self.w["no_receipt_message"]
        m = confirmed[0]
        return {"at": self.fmt(m.at), "msg": self.quote(m.text)}, [self.message_ref(m)]

    @_fact
    def buyer_agreed(self):
        messages = self.a.chat.messages
        for index, m in enumerate(messages):
            if "buyer_agrees" not in m.tags:
                continue
            proposal = next((p for p in reversed(messages[:index])
                             if p.role is ChatRole.seller and p.kind == "text"), None)
            if proposal is None:
                continue
            return ({"proposal_at": self.fmt(proposal.at), "proposal": self.quote(proposal.text),
                     "at": self.fmt(m.at), "msg": self.quote(m.text)},
                    [self.message_ref(proposal)])
        return self.w["no_agreement"]

    @_fact
    def documents(self):
        return self.attached(EvidenceKind.document, "no_documents")

    @_fact
    def return_inspected(self):
        items = self.of(EvidenceKind.return_photo)
        received = self.when("return_delivered_at")
        if not items:
            return self.w["no_return_photos"]
        if received is None:
            return self.w["no_return_time"]
        timed = [e for e in self.timed(items) if e.captured_at >= received]
        if not timed:
            return self.w["return_photos_before"]
        return ({"count": len(timed), "labels": label_range([e.label for e in timed]),
                 "received_at": self.fmt(received),
                 "first": self.fmt(min(e.captured_at for e in timed)),
                 "source": self.time_source(timed)}, [self.exhibit_ref(timed)])

    @_fact
    def refused_by_buyer(self):
        refused = next((e for e in self.a.tracking.events
                        if e.status is TrackingStatus.refused), None)
        if refused is None:
            return self.w["not_refused"]
        return {"at": self.fmt(refused.at), "text": self.quote(refused.text)}, [self.event_ref(refused)]

    @_fact
    def shipped_in_time(self, promise_hours: float):
        # Only the courier's own pickup scan proves when the parcel left; a time
        # the seller typed into case.toml is not evidence.
        ordered = self.when("ordered_at")
        picked = next((e for e in self.a.tracking.events
                       if e.status is TrackingStatus.picked_up), None)
        if ordered is None or picked is None:
            return self.w["no_ship_times"]
        hours = (picked.at.timestamp() - ordered.timestamp()) / 3600
        if hours > promise_hours:
            return self.w["shipped_late"].format(hours=round(hours))
        return ({"ordered_at": self.fmt(ordered), "shipped_at": self.fmt(picked.at),
                 "hours": round(hours), "promise": round(promise_hours),
                 "text": self.quote(picked.text)}, [self.event_ref(picked)])

    @_fact
    def chat_record(self):
        messages = self.a.chat.messages
        if not messages:
            return self.w["no_chat"]
        labels = sorted({self.labels.get(m.source, m.source) for m in messages})
        return ({"labels": label_range(labels), "count": len(messages),
                 "first": self.fmt(messages[0].at), "last": self.fmt(messages[-1].at)},
                [Ref(labels=labels, anchor=f"ex-{labels[0]}")])


class ClaimText(BaseModel):
    zh: str
    en: str


class ClaimSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fact: str
    otherwise: str | None = None  # a weaker fact to claim when this one does not hold
    # For facts with a parameter (shipped_in_time: the promised hours), from the data file.
    hours: float | None = None
    zh: str | None = None  # per-type wording; None: the common wording of the fact
    en: str | None = None


class TypeClaims(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dispute_type: str
    points_zh: str
    points_en: str
    claims: list[ClaimSpec]


class ClaimsData(BaseModel):
    wording: dict[str, ClaimText]  # fact id -> common wording
    reasons: dict[str, dict[str, str]]  # lang -> key -> text (why a claim was not made)
    topics: dict[str, list[str]]  # fact -> words by which a statement claims it
    types: dict[str, TypeClaims]


@cache
def load_claims() -> ClaimsData:
    common = load_toml(CLAIMS_DIR / "common.toml", error=ChecklistError)
    types = {}
    for path in sorted(CLAIMS_DIR.glob("*.toml")):
        if path.stem == "common":
            continue
        try:
            data = TypeClaims.model_validate(load_toml(path, error=ChecklistError))
        except ValidationError as exc:
            key, message = describe_validation(exc.errors())
            raise ChecklistError(message, path=path, field=key) from None
        for index, claim in enumerate(data.claims):
            for key in ("fact", "otherwise"):
                name = getattr(claim, key)
                if name is not None and name not in FACTS:
                    raise ChecklistError(f"unknown fact {name!r} (one of: "
                                         f"{', '.join(sorted(FACTS))})", path=path,
                                         field=f"claims.{index}.{key}")
        if data.dispute_type != path.stem:
            raise ChecklistError("dispute_type must match the file name", path=path,
                                 field="dispute_type")
        types[path.stem] = data
    return ClaimsData(wording={k: ClaimText(**v) for k, v in common["wording"].items()},
                      reasons=common["reasons"], topics=common["topics"], types=types)


def _run(facts: _Facts, name: str, hours: float | None):
    method = FACTS[name]
    return method(facts, hours) if hours is not None else method(facts)


def argue(analysis: Analysis, labels: dict[str, str] | None = None) -> Argument:
    """The claims this case's facts support, in the dispute type's order."""
    data = load_claims()
    lang = "zh" if analysis.lang == "zh" else "en"
    labels = labels or load_labels(lang)
    words = data.reasons[lang]
    spec = data.types.get(analysis.case.dispute_type)
    if spec is None:
        return Argument(points="", claims=[], unsupported=[])
    facts = _Facts(analysis, words, labels)
    claims: list[Claim] = []
    unsupported: list[Unsupported] = []
    for claim in spec.claims:
        fact, result = claim.fact, _run(facts, claim.fact, claim.hours)
        if isinstance(result, str) and claim.otherwise:
            fact, weaker = claim.otherwise, _run(facts, claim.otherwise, claim.hours)
            unsupported.append(Unsupported(id=claim.fact, reason=result))
            result = weaker
        if isinstance(result, str):
            unsupported.append(Unsupported(id=fact, reason=result))
            continue
        values, refs = result
        template = (getattr(claim, lang) if fact == claim.fact else None) or \
            getattr(data.wording[fact], lang)
        claims.append(Claim(id=fact, text=template.format(**values), refs=refs))
    return Argument(points=spec.points_zh if lang == "zh" else spec.points_en,
                    claims=claims, unsupported=unsupported)
