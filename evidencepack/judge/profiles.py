"""Platform profiles (data files): response windows, evidence periods, upload
limits and holiday tables. Numbers live in the data, each citing its source."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from evidencepack.errors import ChecklistError, describe_validation
from evidencepack.inputs.textio import load_toml
from evidencepack.resources import DATA

BUILTIN_DIR = DATA / "profiles"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeadlineRules(_Strict):
    respond_hours: float | None = None
    respond_hours_assumed: bool = False
    intervention_after_hours: float | None = None
    intervention_after_hours_assumed: bool = False
    evidence_period_hours: float | None = None
    evidence_period_assumed: bool = False
    logistics_appeal_hours: float | None = None
    logistics_appeal_hours_assumed: bool = False
    # Without an update for this long, tracking is abnormal: the appeal clock starts.
    logistics_stall_hours: float | None = None
    return_ship_hours: float | None = None
    return_ship_hours_assumed: bool = False
    return_confirm_hours: float | None = None
    return_confirm_hours_assumed: bool = False
    refund_hours: float | None = None
    refund_hours_assumed: bool = False
    return_insurance_refund_hours: float | None = None
    return_insurance_refund_hours_assumed: bool = False
    # A rule complaint (规则类投诉) goes to the platform after this long (0: at once).
    rule_complaint_intervention_hours: float | None = None

    # The evidence period's flag keeps its old name; the clocks read every flag
    # as <field>_assumed.
    @property
    def evidence_period_hours_assumed(self) -> bool:
        return self.evidence_period_assumed


class UploadRules(_Strict):
    accepts_pdf: bool = True
    pdf_max_bytes: int | None = None
    pdf_max_pages: int | None = None
    image_formats: list[str] = Field(default_factory=lambda: ["jpg", "png"])
    image_max_bytes: int | None = None
    refusal_proof_max_bytes: int | None = None
    max_images: int | None = None
    max_images_assumed: bool = False
    total_max_bytes: int | None = None
    # How long the seller's written statement may be where the platform takes one.
    statement_max_chars: int | None = None
    statement_max_chars_assumed: bool = False


class Holiday(_Strict):
    name: str
    start: AwareDatetime
    end: AwareDatetime
    # The window's dates are not from a published announcement.
    assumed: bool = False
    # What must fall inside the window: the clock's own start (the 2020 rule
    # names the request, the seller's approval, the intervention) or the
    # buyer's request (the 2022 rule names only the request).
    trigger: Literal["clock_start", "request"] = "clock_start"
    respond_hours: float | None = None
    evidence_period_hours: float | None = None
    return_ship_hours: float | None = None
    return_confirm_hours: float | None = None
    # The 2022 rule counts the seller's confirmation from the buyer's waybill,
    # not from the return's arrival.
    return_confirm_from_waybill: bool = False

    def covers(self, at: datetime) -> bool:
        return self.start <= at <= self.end


class Profile(_Strict):
    id: str
    name_zh: str
    name_en: str
    lang: str = "zh"
    deadlines: DeadlineRules = Field(default_factory=DeadlineRules)
    upload: UploadRules = Field(default_factory=UploadRules)
    holidays: list[Holiday] = Field(default_factory=list)

    def name(self, lang: str) -> str:
        return self.name_zh if lang == "zh" else self.name_en

    def with_overrides(self, overrides: dict[str, dict[str, Any]], *, source: Path | str) -> "Profile":
        """The profile with a case's [profile.*] tables applied (unknown keys are errors)."""
        if not overrides:
            return self
        data = self.model_dump()
        for table, values in overrides.items():
            if table not in ("deadlines", "upload"):
                raise ChecklistError(f"unknown profile table {table!r} (use deadlines or upload)",
                                     path=source, field=f"profile.{table}")
            data[table].update(values)
        try:
            return Profile.model_validate(data)
        except ValidationError as exc:
            field, message = describe_validation(exc.errors())
            raise ChecklistError(message, path=source, field="profile." + field) from None


def load_profiles() -> dict[str, Profile]:
    profiles = {}
    for path in sorted(BUILTIN_DIR.glob("*.toml")):
        data = load_toml(path, error=ChecklistError)
        try:
            profiles[path.stem] = Profile.model_validate(data)
        except ValidationError as exc:
            field, message = describe_validation(exc.errors())
            raise ChecklistError(message, path=path, field=field) from None
    return profiles
