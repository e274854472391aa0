"""What a tracking timeline shows, in the terms a dispute turns on: when it shipped,
who signed, how long it sat still, whether it came back."""

from __future__ import annotations

from datetime import datetime

from evidencepack.inputs.carriers import DELIVERED, FINAL, RETURNING, fold, word_lists
from evidencepack.models import TrackingEvent, TrackingFacts, TrackingGap, TrackingStatus, TrackingTimeline

def _signer_kind(event: TrackingEvent) -> str:
    if event.status is TrackingStatus.signed_by_third_party:
        return "third_party"
    if event.status is TrackingStatus.locker_or_station:
        return "locker_or_station"
    words = word_lists()
    folded = fold(event.text)
    if event.code == "301" or any(w in folded for w in words.self_words):
        return "self"
    m = words.named_signer.search(folded)
    if m and m[1].strip() and fold(m[1].strip()) not in words.not_a_name:
        return "self"
    return "unknown"


def _gap(start: datetime, end: datetime) -> TrackingGap:
    return TrackingGap(start=start, end=end,
                       hours=round((end - start).total_seconds() / 3600, 1))


def derive_facts(timeline: TrackingTimeline, *, now: datetime | None = None) -> TrackingFacts:
    """The facts a dispute turns on; nothing is claimed that the events do not show.

    ``now`` lets an undelivered parcel's current silence count as a gap.
    """
    events = sorted(timeline.events, key=lambda e: e.at)
    if not events:
        return TrackingFacts()
    words = word_lists()
    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=events[-1].at.tzinfo)

    picked = next((e for e in events if e.status is TrackingStatus.picked_up), None)
    shipped_at = (picked or events[0]).at
    delivered = next((e for e in reversed(events) if e.status in DELIVERED), None)
    signer_kind = _signer_kind(delivered) if delivered else None

    gaps = [_gap(a.at, b.at) for a, b in zip(events, events[1:])]
    seconds = [(b.at - a.at).total_seconds() for a, b in zip(events, events[1:])]
    last_known = next((e for e in reversed(events) if e.status is not TrackingStatus.unknown),
                      events[-1])
    if now is not None and last_known.status not in FINAL and now > events[-1].at:
        # Still moving (or stuck): the silence up to today is the gap that matters.
        gaps.append(_gap(events[-1].at, now))
        seconds.append((now - events[-1].at).total_seconds())

    gap_seconds = words.gap_hours * 3600
    stalled_seconds = words.stalled_hours * 3600
    return TrackingFacts(
        shipped_at=shipped_at,
        delivered_at=delivered.at if delivered else None,
        signer_kind=signer_kind,
        third_party_signed=signer_kind == "third_party",
        longest_gap_hours=round(max(seconds) / 3600, 1) if seconds else None,
        gaps_over_72h=[g for g, s in zip(gaps, seconds) if s > gap_seconds],
        over_7_days_without_update=any(s > stalled_seconds for s in seconds),
        returned=any(e.status in RETURNING for e in events),
        refused=any(e.status is TrackingStatus.refused for e in events),
        transit_days=(round((delivered.at - shipped_at).total_seconds() / 86400, 1)
                      if delivered and delivered.at >= shipped_at else None),
        last_event_at=events[-1].at,
    )
