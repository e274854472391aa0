"""The case's clocks: respond-by, intervention-possible-at and evidence-due,
each with the time left and an urgency status, in the case's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Literal

from pydantic import AwareDatetime, BaseModel

from evidencepack.case import Case
from evidencepack.profiles import Profile

Urgency = Literal["overdue", "due_24h", "due_72h", "ok", "unknown", "passed"]

NAMES = {
    "respond_by": ("卖家处理截止", "Respond by"),
    "intervention_possible_at": ("可申请平台介入", "Platform may intervene from"),
    "evidence_due": ("举证截止", "Evidence due"),
}


class Deadline(BaseModel):
    name: str
    label: str
    at: AwareDatetime | None
    status: Urgency
    hours_left: float | None
    source: str  # where the time came from: the profile rule, case.toml, a holiday
    assumed: bool = False


def urgency(at: datetime | None, now: datetime) -> tuple[Urgency, float | None]:
    if at is None:
        return "unknown", None
    # Subtracting two times that share a zone object gives wall-clock hours;
    # across a DST change that is an hour off, so compare instants.
    left = (at.timestamp() - now.timestamp()) / 3600
    if left < 0:
        return "overdue", round(left, 1)
    if left <= 24:
        return "due_24h", round(left, 1)
    if left <= 72:
        return "due_72h", round(left, 1)
    return "ok", round(left, 1)


def _after(start: datetime, hours: float) -> datetime:
    """``hours`` of elapsed time after ``start``, in start's zone.

    Adding a timedelta to an aware time moves the wall clock, so a 48 h window
    spanning a DST change would end an hour early or late; add in UTC instead.
    """
    return (start.astimezone(timezone.utc) + timedelta(hours=hours)).astimezone(start.tzinfo)


def _hours(profile: Profile, field: str, start: datetime) -> tuple[float | None, str]:
    for holiday in profile.holidays:
        value = getattr(holiday, field)
        if value is not None and holiday.covers(start):
            return value, f"{profile.id} holiday rule: {holiday.name}"
    return getattr(profile.deadlines, field), f"{profile.id} profile: {field}"


def compute(case: Case, profile: Profile, now: datetime, lang: str = "zh") -> list[Deadline]:
    tz = case.tz
    now = now.astimezone(tz)
    zh = lang == "zh"
    out: list[Deadline] = []

    def add(name: str, at: datetime | None, source: str, assumed: bool = False,
            settled_when_passed: bool = False) -> None:
        status, left = urgency(at, now)
        # "May intervene from" is a moment, not a duty: once it is past, the
        # clock has not been missed, it has simply started.
        if settled_when_passed and status == "overdue":
            status = "passed"
        label = NAMES[name][0 if zh else 1]
        out.append(Deadline(name=name, label=label, at=at.astimezone(tz) if at else None,
                            status=status, hours_left=left, source=source, assumed=assumed))

    hours, source = _hours(profile, "respond_hours", case.opened_at)
    add("respond_by", _after(case.opened_at, hours) if hours is not None else None,
        source, assumed=profile.deadlines.respond_hours_assumed and "holiday" not in source)
    hours = profile.deadlines.intervention_after_hours
    add("intervention_possible_at",
        _after(case.opened_at, hours) if hours is not None else None,
        f"{profile.id} profile: intervention_after_hours", settled_when_passed=True,
        assumed=profile.deadlines.intervention_after_hours_assumed)
    if case.evidence_due_at is not None:
        add("evidence_due", case.evidence_due_at, "case.toml: evidence_due_at")
    elif case.intervention_at is not None:
        hours, source = _hours(profile, "evidence_period_hours", case.intervention_at)
        add("evidence_due",
            _after(case.intervention_at, hours) if hours is not None else None,
            source, assumed=profile.deadlines.evidence_period_assumed and "holiday" not in source)
    else:
        add("evidence_due", None, "not yet: the platform has not intervened "
            "(set intervention_at or evidence_due_at in case.toml)")
    return out


def time_left_text(hours: float | None, zh: bool) -> str:
    """'25 h', '2.1 d', 'overdue 3 h' (or Chinese): what an agent reads at a glance."""
    if hours is None:
        return ""
    if hours < 0:
        return ("逾期 " if zh else "overdue ") + time_left_text(-hours, zh)
    if hours >= 48:
        return f"{hours / 24:.1f} 天" if zh else f"{hours / 24:.1f} d"
    return f"{hours:.0f} 小时" if zh else f"{hours:.0f} h"
