"""Platform profiles (data files): response windows, evidence periods, upload
limits and holiday tables. Numbers live in the data, each citing its source."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from evidencepack.errors import ChecklistError, describe_validation
from evidencepack.textio import load_toml

BUILTIN_DIR = Path(__file__).parent / "data" / "profiles"


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
    respond_hours: float | None = None
    evidence_period_hours: float | None = None

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
