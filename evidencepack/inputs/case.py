"""Loading and creating a case folder's ``case.toml``."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Mapping
from functools import cache
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (BaseModel, ConfigDict, Field, ValidationError, field_validator,
                      model_validator)

from evidencepack.errors import CaseFileError, UnsafePathError, describe_validation
from evidencepack.models import DocType, EvidenceKind
from evidencepack.resources import DATA
from evidencepack.inputs.safeio import LIMITS, inside
from evidencepack.inputs.textio import load_toml
from evidencepack.inputs.times import parse_time

CASE_FILE = "case.toml"
DEFAULT_TZ = "Asia/Shanghai"

# The folders a case is made of; the folder gives an evidence file its kind.
FOLDERS = ("chat", "listing", "preship", "tracking", "returns", "reports", "other")

# Case fields holding times; the checklist and deadlines refer to them by name.
TIME_FIELDS = ("ordered_at", "opened_at", "shipped_at", "delivered_at",
               "return_approved_at", "return_waybill_at", "return_delivered_at",
               "return_confirmed_at", "logistics_anomaly_at", "rule_complaint_at",
               "intervention_at", "evidence_due_at")

_SAFE_ID = re.compile(r"^[^\x00-\x1f/\\]{1,100}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Party(_Strict):
    nick: str | None = None


class Seller(_Strict):
    shop: str
    nicks: list[str] = Field(default_factory=list)


class Item(_Strict):
    title: str
    sku: str | None = None
    url: str | None = None


class TrackingRef(_Strict):
    carrier: str | None = None
    number: str | None = None


class ChatOptions(_Strict):
    # For a workbench export shape we do not know: a regular expression with
    # named groups ``nick`` and ``time`` matching a message header line.
    header_pattern: str | None = None
    # The side of a phone chat screenshot that holds the seller's messages: the
    # seller's own screenshots have them on the right, the buyer's on the left.
    screenshot_seller_side: Literal["right", "left"] = "right"

    @field_validator("header_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            compiled = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        if not {"nick", "time"} <= set(compiled.groupindex):
            raise ValueError("needs the named groups (?P<nick>...) and (?P<time>...)")
        return value


class EvidenceOverride(_Strict):
    path: str
    kind: EvidenceKind | None = None
    doc_type: DocType | None = None
    captured_at: datetime | None = None
    caption: str | None = None


class Case(_Strict):
    case_id: str
    platform: str
    dispute_type: str
    order_id: str
    opened_at: datetime
    timezone: str = DEFAULT_TZ
    amount: Decimal
    currency: str = "CNY"
    ordered_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    return_approved_at: datetime | None = None
    return_waybill_at: datetime | None = None
    return_delivered_at: datetime | None = None
    return_confirmed_at: datetime | None = None
    # The buyer bought return-shipping insurance (运费险): entering the return
    # waybill starts the platform's refund countdown.
    shipping_insurance: bool = False
    logistics_anomaly_at: datetime | None = None
    rule_complaint_at: datetime | None = None
    intervention_at: datetime | None = None
    evidence_due_at: datetime | None = None
    statement: str | None = None
    # The agent handling the case: the lead's audit counts cases, gaps and chat
    # figures per agent (else the export's column, else who answered in the chat).
    assignee: str | None = None
    checklists: str | None = None  # a folder in the case of a lead's own checklist files
    buyer: Party = Field(default_factory=Party)
    seller: Seller
    item: Item
    tracking: TrackingRef = Field(default_factory=TrackingRef)
    chat: ChatOptions = Field(default_factory=ChatOptions)
    # Overrides of the platform profile's numbers for this case, same keys as
    # the profile's [deadlines] and [upload] tables.
    profile: dict[str, dict[str, Any]] = Field(default_factory=dict)
    evidence: list[EvidenceOverride] = Field(default_factory=list)

    @field_validator("order_id", mode="before")
    @classmethod
    def _order_id_text(cls, value: Any) -> Any:
        # A long order number written without quotes arrives as an int.
        return str(value) if isinstance(value, int) else value

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_text(cls, value: Any) -> Any:
        if isinstance(value, float):
            raise ValueError('write the amount as text, e.g. amount = "399.00", '
                             "so no cents are lost to floating point")
        return value

    @field_validator("amount")
    @classmethod
    def _amount_sane(cls, value: Decimal) -> Decimal:
        if value < 0:  # pydantic already refuses NaN and Infinity
            raise ValueError("must be an amount of zero or more, e.g. \"399.00\"")
        return value

    @field_validator("case_id")
    @classmethod
    def _safe_case_id(cls, value: str) -> str:
        # The id names output files; it must not be able to name a path.
        if not _SAFE_ID.match(value) or value.strip(".") == "" or ".." in value:
            raise ValueError("must not contain '/', '\\', '..' or control characters")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as "
                             f"{DEFAULT_TZ})") from exc
        return value

    @model_validator(mode="after")
    def _localise_times(self) -> "Case":
        # TOML local datetimes carry no zone: they mean the case's zone.
        tz = self.tz
        low, high = LIMITS["dates"]["min_year"], LIMITS["dates"]["max_year"]
        for name in TIME_FIELDS:
            value = getattr(self, name)
            if value is not None and not low <= value.year <= high:
                # Year 1 or 9999 overflows the deadline arithmetic; no dispute is dated there.
                raise ValueError(f"{name}: year {value.year} is outside {low}-{high}")
            if value is not None and value.tzinfo is None:
                setattr(self, name, value.replace(tzinfo=tz))
        for override in self.evidence:
            if override.captured_at is not None and not low <= override.captured_at.year <= high:
                raise ValueError(f"evidence.captured_at: year {override.captured_at.year} "
                                 f"is outside {low}-{high}")
            if override.captured_at is not None and override.captured_at.tzinfo is None:
                override.captured_at = override.captured_at.replace(tzinfo=tz)
        return self

    @model_validator(mode="after")
    def _text_lengths(self) -> "Case":
        limit = LIMITS["case"]["max_field_chars"]
        fields = {"statement": self.statement, "item.title": self.item.title,
                  "seller.shop": self.seller.shop, "buyer.nick": self.buyer.nick,
                  **{f"evidence.caption ({o.path})": o.caption for o in self.evidence}}
        for name, value in fields.items():
            if value is not None and len(value) > limit:
                raise ValueError(f"{name} is {len(value):,} characters, over the limit of "
                                 f"{limit:,} (put long text in a document under reports/)")
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def parse_case(data: dict, *, path: Path | str) -> Case:
    try:
        return Case.model_validate(data)
    except ValidationError as exc:
        field, message = describe_validation(exc.errors(), Case)
        if message.startswith("unknown key"):
            message += "; see `evidencepack init` for the known keys"
        raise CaseFileError(message, path=path, field=field) from None


def load_case(case_dir: Path) -> Case:
    return read_case(case_dir).case


class LoadedCase(NamedTuple):
    case: Case
    filled: dict[str, str]  # dotted key -> value taken from the defaults
    differs: list[tuple[str, str, str]]  # (dotted key, default, case.toml's value)
    unfilled: list[str] = []  # dotted keys still holding init's placeholder


def read_case(case_dir: Path, defaults: Mapping[str, str] | None = None) -> LoadedCase:
    """Load case.toml; ``defaults`` (dotted keys such as ``buyer.nick``, values as text)
    fill the facts it lacks or leaves empty. Where both hold a value case.toml wins and
    the pair is listed in ``differs`` when they disagree. The file is never written."""
    if not case_dir.exists():
        raise CaseFileError("case folder does not exist", path=case_dir)
    if not case_dir.is_dir():
        raise CaseFileError("not a folder; give the case folder that holds case.toml",
                            path=case_dir)
    path = case_dir / CASE_FILE
    if path.is_symlink() and not inside(case_dir, path):
        raise UnsafePathError("case.toml is a symlink that leads outside the case folder "
                              "(or loops); not followed", path=path,
                              remedy="copy the file into the case folder")
    if not path.is_file():
        raise CaseFileError("case.toml is missing", path=path,
                            remedy="create one with `evidencepack init`")
    data = load_toml(path, error=CaseFileError)
    unfilled = _placeholders(data)
    merged = copy.deepcopy(data)
    filled: dict[str, str] = {}
    for key, value in (defaults or {}).items():
        *parents, leaf = key.split(".")
        table = merged
        for name in parents:
            table = table.setdefault(name, {})
            if not isinstance(table, dict):
                break
        else:
            if table.get(leaf) in (None, "") or key in unfilled:
                table[leaf] = value
                filled[key] = value
    unfilled = [key for key in unfilled if key not in filled]
    _drop_placeholders(merged, unfilled, datetime.now(_zone_of(merged)))
    case = parse_case(merged, path=path)
    differs = [(key, value, _text(_dotted(case, key))) for key, value in (defaults or {}).items()
               if key not in filled and not _same(_dotted(case, key), value, case.tz)]
    return LoadedCase(case, filled, differs, unfilled)


def _zone_of(data: dict) -> ZoneInfo:
    try:
        return ZoneInfo(str(data.get("timezone", DEFAULT_TZ)))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TZ)  # parse_case names the bad zone


def _dotted(obj: Any, key: str) -> Any:
    for name in key.split("."):
        obj = getattr(obj, name, None)
    return obj


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _same(have: Any, given: str, tz: ZoneInfo) -> bool:
    try:
        if isinstance(have, datetime):
            return have == parse_time(given, tz)
        if isinstance(have, Decimal):
            return have == Decimal(given)
    except (ValueError, ArithmeticError):
        return False
    return str(have).strip() == str(given).strip()


INIT_DIR = DATA / "init"


@cache
def placeholder_markers() -> tuple[str, ...]:
    return tuple(load_toml(INIT_DIR / "placeholders.toml", error=CaseFileError)["markers"])


def _placeholders(data: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose value is still one of init's placeholders."""
    found = []
    for key, value in data.items():
        if isinstance(value, dict):
            found.extend(_placeholders(value, f"{prefix}{key}."))
        elif isinstance(value, str) and value.lstrip().startswith(placeholder_markers()):
            found.append(prefix + key)
    return found


# What an unfilled required fact stands for while the case is being put together:
# nothing is asserted from it (the case is incomplete until it is replaced).
_STAND_INS = {"amount": "0", "opened_at": None}


def _drop_placeholders(data: dict, keys: list[str], now: datetime) -> None:
    for key in keys:
        *parents, leaf = key.split(".")
        table = data
        for name in parents:
            table = table[name]
        if key in Case.model_fields and not Case.model_fields[key].is_required():
            del table[leaf]
        elif key == "opened_at":
            # The deadlines need a start; now is the latest it can be, and the
            # unfilled item says the clocks are not the case's own yet.
            table[leaf] = now.replace(microsecond=0, tzinfo=None)
        else:
            table[leaf] = _STAND_INS.get(key, "")


def init_case(case_dir: Path, *, dispute_type: str, platform: str, timezone: str = DEFAULT_TZ,
              lang: str = "zh") -> Path:
    """Create the folders and a case.toml commented in ``lang``, its facts placeholders
    that `check` reports until they are replaced; never overwrites one."""
    path = case_dir / CASE_FILE
    if path.exists() or path.is_symlink():
        # A dangling symlink "does not exist", and writing it would write its target.
        raise CaseFileError("case.toml already exists; not overwriting it", path=path)
    case_id = case_dir.resolve().name
    if not _SAFE_ID.match(case_id) or ".." in case_id:
        case_id = "CASE-0001"
    for folder in FOLDERS:
        (case_dir / folder).mkdir(parents=True, exist_ok=True)
    template = (INIT_DIR / f"case.{'zh' if lang == 'zh' else 'en'}.toml").read_text(encoding="utf-8")
    text = (template.replace("{case_id}", case_id).replace("{platform}", platform)
            .replace("{dispute_type}", dispute_type).replace("{timezone}", timezone))
    # O_EXCL | O_NOFOLLOW: a link (or a file) appearing meanwhile is never written through.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    except FileExistsError as exc:
        raise CaseFileError("case.toml already exists; not overwriting it", path=path) from exc
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path
