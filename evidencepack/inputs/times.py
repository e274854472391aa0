"""Reading a written time: one parser for chat exports, tracking files and the
command line's --now / --generated-at, so a time that one reads the others read too.

Naive times are taken to be in the case's zone; a written offset is kept. Years
outside ``data/limits.toml``'s [dates] are refused: no dispute is dated there, and
year 1 or 9999 overflows once an offset is applied.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo

from evidencepack.inputs.safeio import LIMITS

WEEKDAY = r"(?:周|星期|礼拜)[一二三四五六日天七]"
# 2024-03-12 10:15:32, 2024/3/12 10:16, 2024年3月12日 周二 10:16, 2024-03-12T10:15:32.5+08:00,
# 2024年3月12日 10时15分32秒 (refund exports)
_DATE = r"(?P<y>\d{4})\s*[-/.年]\s*(?P<mo>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?"
DATETIME = re.compile(
    _DATE + rf"(?:[\sT,，]*{WEEKDAY})?[\sT,，]*"
    r"(?P<h>\d{1,2})\s*[:：时]\s*(?P<mi>\d{1,2})(?!\d)"
    r"(?:\s*[:：]\s*(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?|\s*分(?:\s*(?P<s2>\d{1,2})\s*秒)?)?"
    r"(?:\s*(?P<tz>[Zz]|UTC|GMT|[+-]\d{2}(?::?\d{2})?)(?!\d))?"
)
_DATE_ONLY = re.compile(_DATE + r"$")
# Only a weekday may follow a time in a cell ("2024-03-10 18:20:11 周日").
TRAILING_WEEKDAY = re.compile(rf"^[\s,，]*[(（]?{WEEKDAY}[)）]?")
_EPOCH = re.compile(r"\d{9,13}(?:\.\d+)?", re.ASCII)


def in_range(at: datetime) -> datetime:
    low, high = LIMITS["dates"]["min_year"], LIMITS["dates"]["max_year"]
    if not low <= at.year <= high:
        raise ValueError(f"year {at.year} is outside {low}-{high}")
    return at


def _zone(text: str | None, tz: tzinfo | None) -> tzinfo | None:
    if text is None:
        return tz
    if text.upper() in ("Z", "UTC", "GMT"):
        return timezone.utc
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    delta = timedelta(hours=hours, minutes=minutes)
    if delta >= timedelta(hours=24) or minutes >= 60:
        raise ValueError(f"bad UTC offset {text}")
    return timezone(delta if text[0] == "+" else -delta)


def from_match(m: re.Match[str], tz: tzinfo | None) -> datetime:
    """The time a ``DATETIME`` match names; ValueError for an impossible one (2月30日)."""
    micro = int((m["f"] or "0")[:6].ljust(6, "0"))
    at = datetime(int(m["y"]), int(m["mo"]), int(m["d"]), int(m["h"]), int(m["mi"]),
                  int(m["s"] or m["s2"] or 0), micro)
    return in_range(at.replace(tzinfo=_zone(m["tz"], tz)))


def from_epoch(number: float, tz: tzinfo) -> datetime:
    # Exports use seconds or milliseconds; 1e11 s is year 5138, 1e11 ms is 1973,
    # so the magnitude tells them apart for any real chat or courier record.
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    seconds = number / 1000 if abs(number) >= 1e11 else number
    try:
        return in_range(datetime.fromtimestamp(seconds, tz))
    except (OverflowError, OSError) as exc:
        raise ValueError("epoch number out of range") from exc


def parse_time(value: object, tz: tzinfo | None, *, date_only: bool = False) -> datetime:
    """One time from a cell, field or option; ValueError with a short reason.

    ``tz=None`` keeps a time written without a zone naive (a refund export's, whose
    case zone is applied later); ``date_only`` reads a bare date as its midnight."""
    if isinstance(value, datetime):
        return in_range(value if value.tzinfo is not None else value.replace(tzinfo=tz))
    if isinstance(value, bool) or value is None:
        raise ValueError("no time")
    if isinstance(value, (int, float)):
        return from_epoch(float(value), tz or timezone.utc)
    if not isinstance(value, str):
        raise ValueError("not a time")
    text = " ".join(value.split())
    if not text:
        raise ValueError("empty time")
    if _EPOCH.fullmatch(text):
        return from_epoch(float(text), tz or timezone.utc)
    if date_only and (d := _DATE_ONLY.match(text)):
        at = datetime(int(d["y"]), int(d["mo"]), int(d["d"]))
        return in_range(at if tz is None else at.replace(tzinfo=tz))
    m = DATETIME.match(text)
    if m is not None and not TRAILING_WEEKDAY.sub("", text[m.end():]).strip():
        return from_match(m, tz)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("not a date and time (want YYYY-MM-DD HH:MM[:SS])") from None
    return in_range(at if at.tzinfo is not None else at.replace(tzinfo=tz))
