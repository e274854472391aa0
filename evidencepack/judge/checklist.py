"""Per-dispute-type evidence checklists: the data files' model, loading them, and a
lead's files layered over the built-ins (evidencepack/checking.py applies them).

A checklist item is met, weak (present, but an arbitrator could discount it,
with the reason), missing, or not applicable (its ``applies_when`` condition does
not hold: no consent to third-party signing is needed when the buyer signed).
Items are required, recommended, or members of a group (``one_or_more`` /
``alternatives``) that any one member satisfies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from evidencepack.errors import ChecklistError, describe_validation
from evidencepack.models import DocType, EvidenceKind, TrackingStatus
from evidencepack.inputs.textio import load_toml
from evidencepack.resources import DATA

BUILTIN_DIR = DATA / "checklists"
LOSS_REASONS_FILE = DATA / "loss_reasons.toml"

Level = Literal["required", "one_or_more", "alternatives", "recommended"]
Status = Literal["met", "weak", "missing", "not_applicable"]
FailStatus = Literal["weak", "missing"]
RANK = {"missing": 0, "weak": 1, "met": 2}
SignerKind = Literal["self", "third_party", "locker_or_station", "unknown"]



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


class ListingShows(_Strict):
    """At least ``min`` listing screenshots whose recognised text shows any of the
    facts in ``shows`` (attribute, specs, disclaimer, policy, promise: their words
    are in data/screenshots.toml). A screenshot that could not be read (no OCR
    engine) may show it: the rule is then weak, naming it, never met."""

    kind: Literal["listing_shows"]
    shows: list[Literal["attribute", "specs", "disclaimer", "policy", "promise"]]
    min: int = 1
    on_fail: FailStatus = "missing"

    _shows_listed = field_validator("shows", mode="before")(_listed)


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


Rule = Annotated[Union[EvidenceCount, Captured, ImageQuality, TrackingRule, ChatTag,
                   ChatTagAbsent, CaseField, ListingShows], Field(discriminator="kind")]


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
