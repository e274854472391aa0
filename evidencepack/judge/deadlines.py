"""The case's clocks: respond-by, intervention, evidence-due, the return and
refund clocks and the logistics appeal, each with the time left and an urgency
status, in the case's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Literal

from pydantic import AwareDatetime, BaseModel

from evidencepack.inputs.case import Case
from evidencepack.models import TrackingFacts, TrackingStatus, TrackingTimeline
from evidencepack.judge.profiles import Holiday, Profile

Urgency = Literal["overdue", "due_24h", "due_72h", "ok", "unknown", "passed"]

NAMES = {
    "respond_by": ("卖家处理截止", "Respond by"),
    "intervention_possible_at": ("可申请平台介入", "Platform may intervene from"),
    "evidence_due": ("举证截止", "Evidence due"),
    "return_ship_by": ("买家寄回退货截止", "Buyer must ship the return by"),
    "return_insurance_refund_at": ("运费险退款倒计时结束", "Shipping-insurance refund countdown ends"),
    "return_confirm_by": ("卖家确认收到退货截止", "Confirm receiving the return by"),
    "refund_by": ("卖家退款截止", "Refund by"),
    "logistics_appeal_by": ("物流异常申诉截止", "Logistics appeal by"),
}

# "May intervene from" is a moment, not a duty: once it is past, the clock has
# not been missed, it has simply started. So is a clock that binds the buyer,
# not the seller.
SETTLED_WHEN_PASSED = frozenset({"intervention_possible_at", "return_ship_by"})

# Tracking statuses that are a logistics anomaly the moment the courier reports them.
ANOMALY_STATUSES = {TrackingStatus.problem, TrackingStatus.held, TrackingStatus.mis_sorted,
                    TrackingStatus.returning}


class Deadline(BaseModel):
    name: str
    label: str
    at: AwareDatetime | None
    status: Urgency
    hours_left: float | None
    source: str  # where the time came from: the profile rule, case.toml, a holiday
    assumed: bool = False
    # For a deadline a holiday rule stretched: the everyday deadline, shown beside it.
    everyday_at: AwareDatetime | None = None


def urgency(at: datetime | None, now: datetime, name: str = "") -> tuple[Urgency, float | None]:
    """The deadline ``name``'s status and hours left at ``now``."""
    status, left = _urgency(at, now)
    if name in SETTLED_WHEN_PASSED and status == "overdue":
        return "passed", left
    return status, left


def _urgency(at: datetime | None, now: datetime) -> tuple[Urgency, float | None]:
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


def _holiday(profile: Profile, field: str, start: datetime, request: datetime) -> Holiday | None:
    for holiday in profile.holidays:
        trigger = request if holiday.trigger == "request" else start
        if getattr(holiday, field, None) is not None and holiday.covers(trigger):
            return holiday
    return None


def anomaly_time(case: Case, tracking: TrackingTimeline | None, facts: TrackingFacts | None,
                 stall_hours: float | None) -> tuple[datetime | None, str]:
    """When the logistics went wrong: case.toml, else the first problem event, else
    the moment a stall reached ``stall_hours`` without an update."""
    if case.logistics_anomaly_at is not None:
        return case.logistics_anomaly_at, "case.toml: logistics_anomaly_at"
    events = tracking.events if tracking else []
    for ev in events:
        if ev.status in ANOMALY_STATUSES:
            return ev.at, f"tracking: {ev.status.value} ({ev.source})"
    if facts is not None and stall_hours is not None:
        for gap in facts.gaps_over_72h:
            if gap.hours >= stall_hours:
                return _after(gap.start, stall_hours), "tracking: no update for " \
                    f"{stall_hours:.0f} h"
        if facts.over_7_days_without_update and facts.last_event_at is not None:
            return _after(facts.last_event_at, stall_hours), "tracking: no update for " \
                f"{stall_hours:.0f} h"
    return None, ""


def compute(case: Case, profile: Profile, now: datetime, lang: str = "zh", *,
            tracking: TrackingTimeline | None = None,
            facts: TrackingFacts | None = None) -> list[Deadline]:
    tz = case.tz
    now = now.astimezone(tz)
    zh = lang == "zh"
    rules = profile.deadlines
    out: list[Deadline] = []

    def add(name: str, at: datetime | None, source: str, assumed: bool = False,
            everyday_at: datetime | None = None) -> None:
        status, left = urgency(at, now, name)
        label = NAMES[name][0 if zh else 1]
        out.append(Deadline(name=name, label=label, at=at.astimezone(tz) if at else None,
                            status=status, hours_left=left, source=source, assumed=assumed,
                            everyday_at=everyday_at.astimezone(tz) if everyday_at else None))

    def clock(name: str, start: datetime, field: str, start_source: str = "",
              holiday_start: datetime | None = None) -> None:
        hours = getattr(rules, field)
        assumed = bool(getattr(rules, field + "_assumed", False))
        everyday = _after(start, hours) if hours is not None else None
        holiday = _holiday(profile, field, start, case.opened_at)
        source = f"{profile.id} profile: {field}" + (f" ({start_source})" if start_source else "")
        if holiday is None:
            add(name, everyday, source, assumed=assumed and everyday is not None)
            return
        # The window and its figures are the platform's announcement for one year;
        # a later year's rule may differ, so a stretched clock is never certain.
        if holiday_start is not None and holiday.return_confirm_from_waybill:
            start = holiday_start
        add(name, _after(start, getattr(holiday, field)),
            f"{profile.id} holiday rule: {holiday.name}"
            + (" (window assumed)" if holiday.assumed else ""), assumed=True,
            everyday_at=everyday)

    clock("respond_by", case.opened_at, "respond_hours")
    complaint = case.rule_complaint_at
    if complaint is not None and rules.rule_complaint_intervention_hours is not None:
        add("intervention_possible_at", _after(complaint, rules.rule_complaint_intervention_hours),
            f"{profile.id} profile: rule_complaint_intervention_hours (rule_complaint_at)")
    else:
        hours = rules.intervention_after_hours
        add("intervention_possible_at",
            _after(case.opened_at, hours) if hours is not None else None,
            f"{profile.id} profile: intervention_after_hours",
            assumed=rules.intervention_after_hours_assumed)
    intervened = case.intervention_at or (complaint if rules.rule_complaint_intervention_hours
                                          is not None else None)
    if case.evidence_due_at is not None:
        add("evidence_due", case.evidence_due_at, "case.toml: evidence_due_at")
    elif intervened is not None:
        clock("evidence_due", intervened, "evidence_period_hours",
              "" if case.intervention_at else "rule_complaint_at")
    else:
        add("evidence_due", None, "not yet: the platform has not intervened "
            "(set intervention_at or evidence_due_at in case.toml)")
    # The return and refund clocks exist once their start is known.
    if case.return_approved_at is not None:
        clock("return_ship_by", case.return_approved_at, "return_ship_hours",
              "return_approved_at")
    if case.shipping_insurance and case.return_waybill_at is not None:
        clock("return_insurance_refund_at", case.return_waybill_at,
              "return_insurance_refund_hours", "return_waybill_at")
    if case.return_delivered_at is not None:
        clock("return_confirm_by", case.return_delivered_at, "return_confirm_hours",
              "return_delivered_at", holiday_start=case.return_waybill_at)
    confirmed = case.return_confirmed_at
    if confirmed is not None:
        clock("refund_by", confirmed, "refund_hours", "return_confirmed_at")
    anomaly, anomaly_source = anomaly_time(case, tracking, facts, rules.logistics_stall_hours)
    if anomaly is not None:
        clock("logistics_appeal_by", anomaly, "logistics_appeal_hours", anomaly_source)
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
