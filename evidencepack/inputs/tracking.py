"""Courier tracking: read what sellers actually have, normalise it, derive dispute facts.

Sellers bring tracking in three shapes: a Kuaidi100 query reply (or its push
callback) saved as JSON, a spreadsheet exported as CSV, or text copied from a
platform's logistics page. All three become one ``TrackingTimeline`` with
events oldest first, so the pack can show the story in reading order and
``judge.tracking_facts`` can answer the questions an arbitrator asks: when did
it ship, who signed, where did it stall. Couriers and status words: ``carriers``.

Keyword rules, Kuaidi100 codes and the stall thresholds live in
``data/tracking_words.toml`` and couriers in ``data/carriers.toml``, so a
support lead can correct a word list without touching code.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from evidencepack.errors import ParseError
from evidencepack.models import (
    TrackingEvent,
    TrackingTimeline,
    Warning_,
)
from evidencepack.inputs.carriers import carrier_name, match_key, normalise_carrier, resolve_status
from evidencepack.inputs.textio import decode_text, delimiter_of, split_row
from evidencepack.inputs.times import DATETIME, TRAILING_WEEKDAY, WEEKDAY, from_match, parse_time

__all__ = ["merge_timelines", "parse_tracking_file"]


# A real tracking export is a few kilobytes; anything this big is the wrong file,
# and reading it whole would only stall the run.
MAX_FILE_BYTES = 20 * 1024 * 1024

# --- small helpers ----------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff]")


def _clean(value: object) -> str:
    """One-line text safe to print: JSON can carry lone surrogates and control bytes."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return " ".join(_CONTROL.sub(" ", text).split())


def _scalar(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = _clean(value)
    return text or None


def _parse_time(value: object, tz: ZoneInfo) -> datetime | None:
    """A timestamp cell or field (times.parse_time), or None when it holds no time."""
    try:
        return parse_time(value if not isinstance(value, str) else _clean(value), tz)
    except ValueError:
        return None


def _build_time(m: re.Match[str], tz: ZoneInfo) -> datetime | None:
    try:
        return from_match(m, tz)
    except (ValueError, OverflowError):
        return None


_BRACKET = re.compile(r"^\s*[【\[]([^】\]]{1,40})[】\]]")


def _location_from(text: str) -> str | None:
    """Couriers prefix the city: "【杭州市】已签收"."""
    m = _BRACKET.match(text)
    return (m[1].strip() or None) if m else None


def _event(at: datetime, text: str, *, location: str | None, code: str | None,
           name: str | None, source: str, line: int) -> TrackingEvent:
    return TrackingEvent(
        at=at,
        status=resolve_status(code, name, text),
        text=text,
        location=location or _location_from(text),
        code=code,
        source=source,
        line=line,
    )


def event_from_text(at: datetime, text: str, *, source: str, line: int,
                    read_from: str = "export") -> TrackingEvent:
    """An event known only by its time and words (a screenshot's): status and
    place read from the words as for any export."""
    event = _event(at, text, location=None, code=None, name=None, source=source, line=line)
    event.read_from = read_from
    return event


def _dedup_key(event: TrackingEvent) -> tuple[datetime, str]:
    return event.at, re.sub(r"\s+", "", event.text)


def _dedupe(events: list[TrackingEvent]) -> tuple[list[TrackingEvent], int]:
    seen: set[tuple[datetime, str]] = set()
    kept: list[TrackingEvent] = []
    for event in events:
        key = _dedup_key(event)
        if key in seen:
            continue
        seen.add(key)
        kept.append(event)
    return kept, len(events) - len(kept)


def _in_time_order(events: list[TrackingEvent], display: str,
                   warnings: list[Warning_]) -> list[TrackingEvent]:
    """Oldest first, whatever order the source used.

    Kuaidi100 and most logistics pages list newest first, but the API can be
    asked for ascending order and spreadsheets go either way, so the direction
    is read from the data rather than assumed from the format.
    """
    if len(events) >= 2 and events[0].at > events[-1].at:
        events = events[::-1]
    # Out of order beyond the direction is worth telling: a reviewer may ask why.
    disorder = sum(1 for a, b in zip(events, events[1:]) if b.at < a.at)
    if disorder:
        warnings.append(Warning_(path=display, message=(
            f"{disorder} event(s) were out of time order; sorted by time")))
    events = sorted(events, key=lambda e: e.at)  # stable: same-second events keep source order
    events, dropped = _dedupe(events)
    if dropped:
        warnings.append(Warning_(path=display, message=(
            f"{dropped} duplicate event(s) (same time and text) dropped")))
    return events


# --- field names shared by CSV headers and JSON keys ---------------------------------

_FIELDS: dict[str, list[str]] = {
    "time": ["time", "ftime", "datetime", "timestamp", "acceptTime", "opTime", "时间",
             "日期时间", "操作时间", "更新时间", "发生时间", "时间节点", "处理时间"],
    "description": ["description", "context", "desc", "text", "content", "detail", "remark",
                    "acceptStation", "描述", "物流信息", "内容", "详情", "物流详情", "跟踪信息",
                    "物流描述", "轨迹", "物流轨迹", "物流动态", "事件"],
    "location": ["location", "place", "areaName", "city", "地点", "所在地", "位置",
                 "所在城市", "地区", "当前城市", "网点"],
    "status": ["status", "状态", "物流状态", "statusName"],
    "code": ["statusCode", "status_code", "状态码"],
}
_FIELD_OF: dict[str, str] = {match_key(alias): field for field, aliases in _FIELDS.items()
                             for alias in aliases}
_FIELD_ZH = {"time": "时间", "description": "描述 / 物流信息 / 内容", "location": "地点 / 所在地"}


def _field_value(record: dict, field: str) -> object:
    # Earlier aliases win: Kuaidi100 gives both "time" and "ftime".
    for alias in _FIELDS[field]:
        if alias in record:
            return record[alias]
    for key, value in record.items():
        if isinstance(key, str) and _FIELD_OF.get(match_key(key)) == field:
            return value
    return None


# --- preamble lines (page headers, CSV title rows) -----------------------------------

_NUMBER_RE = re.compile(
    r"(?:运单号码|运单编号|运单号|快递单号|物流单号|物流编号|单号|tracking\s*(?:no\.?|number)|waybill(?:\s*no\.?)?)"
    r"\s*[:：]?\s*([A-Za-z0-9][A-Za-z0-9\-]{5,39})", re.IGNORECASE)
_CARRIER_LABEL = re.compile(r"(?:快递公司|物流公司|承运商|承运公司|配送公司|carrier|courier)\s*[:：]\s*([^\s,，;；]+)",
                            re.IGNORECASE)


@dataclass
class _Found:
    carrier: str | None = None
    number: str | None = None
    state: str | None = None


def _read_preamble(line: str, found: _Found) -> bool:
    """Take carrier and number from a header line; True if the line was understood."""
    understood = False
    m = _NUMBER_RE.search(line)
    if m:
        found.number = found.number or m[1]
        understood = True
    m = _CARRIER_LABEL.search(line)
    if m:
        found.carrier = found.carrier or m[1]
        understood = True
    elif len(line) <= 40:
        code = normalise_carrier(line)
        if code:
            found.carrier = found.carrier or code
            understood = True
    return understood


# --- Kuaidi100 and other JSON --------------------------------------------------------

def _api_error(message: str, code: str | None, display: str) -> ParseError:
    quoted = f'"{message}"' if message else "(no message)"
    suffix = f" (code {code})" if code else ""
    return ParseError(
        f"Kuaidi100 returned no tracking: {quoted}{suffix}",
        path=display,
        remedy="query the number again later, or copy the courier's tracking page into a .txt file",
    )


def _load_json(text: str, display: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"not valid JSON ({exc.msg})", path=display, line=exc.lineno,
                         remedy="save the query reply unchanged, or export CSV instead") from exc
    except (ValueError, RecursionError) as exc:  # huge integers, absurd nesting
        raise ParseError(f"not valid JSON ({type(exc).__name__})", path=display,
                         remedy="save the query reply unchanged, or export CSV instead") from exc


def _parse_json(obj: object, display: str, tz: ZoneInfo, found: _Found,
                warnings: list[Warning_]) -> list[TrackingEvent]:
    if isinstance(obj, list):
        return _json_records(obj, display, tz, warnings)
    if not isinstance(obj, dict):
        raise ParseError("JSON holds neither a Kuaidi100 reply nor a list of tracking events",
                         path=display)

    reply = obj
    wrapper_message = ""
    aborted = False
    if "lastResult" in obj:
        # A subscription push: {"status": "polling"|"abort"|..., "lastResult": {reply}}.
        wrapper_message = _clean(obj.get("message"))
        aborted = _clean(obj.get("status")).lower() == "abort"
        reply = obj.get("lastResult")
        if not isinstance(reply, dict) or not reply:
            raise _api_error(wrapper_message, _scalar(obj.get("status")), display)

    data = reply.get("data")
    status = _scalar(reply.get("status"))
    return_code = _scalar(reply.get("returnCode"))
    failed = (
        reply.get("result") is False
        or (status is not None and status != "200")
        or (return_code is not None and return_code != "200")
        or aborted
    )
    if not data:
        if failed:
            messages = [m for m in (_clean(reply.get("message")), wrapper_message)
                        if m and m.lower() != "ok"]
            raise _api_error(" / ".join(dict.fromkeys(messages)), return_code or status, display)
        if "data" not in reply:
            raise ParseError("JSON holds neither a Kuaidi100 reply (no \"data\" list) "
                             "nor a list of tracking events", path=display)
    if data and not isinstance(data, list):
        raise ParseError("the reply's \"data\" is not a list of events", path=display)

    found.carrier = _scalar(reply.get("com"))
    found.number = _scalar(reply.get("nu"))
    found.state = _scalar(reply.get("state"))
    events = _json_records(data or [], display, tz, warnings)
    return events


def _json_records(records: list, display: str, tz: ZoneInfo,
                  warnings: list[Warning_]) -> list[TrackingEvent]:
    events: list[TrackingEvent] = []
    for number, record in enumerate(records, start=1):
        # "line" is the record's position in the file's array, so a reviewer can find it.
        if not isinstance(record, dict):
            warnings.append(Warning_(path=display, line=number,
                                     message="record is not an object; skipped"))
            continue
        event = _record_event(lambda field: _field_value(record, field), tz, display,
                              number, warnings)
        if event is not None:
            events.append(event)
    return events


def _record_event(get, tz: ZoneInfo, display: str, line: int, warnings: list[Warning_],
                  noun: str = "record") -> TrackingEvent | None:
    """One JSON record or CSV row (``get(field)`` reads a field) as an event, or a
    warning naming its line when it has no readable time or no description."""
    raw_time = get("time")
    at = _parse_time(raw_time, tz)
    if at is None:
        warnings.append(Warning_(path=display, line=line, message=(
            f"{noun} has no readable time ({_clean(raw_time)[:40]!r}); skipped")))
        return None
    text = _clean(get("description"))
    if not text:
        warnings.append(Warning_(path=display, line=line,
                                 message=f"{noun} has no description; skipped"))
        return None
    return _event(at, text, location=_scalar(get("location")), code=_scalar(get("code")),
                  name=_scalar(get("status")), source=display, line=line)


# --- CSV ---------------------------------------------------------------------------

def _header_columns(cells: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        field = _FIELD_OF.get(match_key(cell))
        if field and field not in columns:
            columns[field] = index
    return columns


def _find_header(lines: list[str]) -> tuple[int, str, dict[str, int]] | None:
    for index, line in enumerate(lines[:30]):
        if not line.strip():
            continue
        delimiter = delimiter_of(line)
        columns = _header_columns(split_row(line, delimiter))
        if "time" in columns and "description" in columns:
            return index, delimiter, columns
    return None


def _missing_columns_error(lines: list[str], display: str) -> ParseError:
    first = next(((i, line) for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return ParseError("the file is empty", path=display)
    index, line = first
    columns = _header_columns(split_row(line, delimiter_of(line)))
    missing = [f for f in ("time", "description") if f not in columns]
    names = ", ".join(f"'{f}' ({_FIELD_ZH[f]})" for f in missing)
    return ParseError(
        f"missing required column {names} in the header row",
        path=display, line=index + 1,
        remedy="the first row must name the columns: time, location, description "
               "(时间, 地点, 描述), optionally status (状态)")


def _parse_csv(lines: list[str], display: str, tz: ZoneInfo, found: _Found,
               warnings: list[Warning_]) -> list[TrackingEvent]:
    header = _find_header(lines)
    if header is None:
        raise _missing_columns_error(lines, display)
    header_index, delimiter, columns = header
    _note_preamble(lines[:header_index], 1, display, found, warnings)

    body = lines[header_index + 1:]
    reader = csv.reader((line + "\n" for line in body), delimiter=delimiter)
    events: list[TrackingEvent] = []
    consumed = 0
    try:
        for row in reader:
            line_no = header_index + 2 + consumed  # 1-based line where this record starts
            consumed = reader.line_num
            if not any(cell.strip() for cell in row):
                continue

            def cell(field: str) -> str:
                index = columns.get(field)
                return row[index] if index is not None and index < len(row) else ""

            event = _record_event(cell, tz, display, line_no, warnings, noun="row")
            if event is not None:
                events.append(event)
    except csv.Error as exc:
        raise ParseError(f"not readable as CSV ({exc})", path=display,
                         line=header_index + 2 + consumed) from exc
    return events


# --- text copied from a logistics page -------------------------------------------------

_LINE_TIME = re.compile(r"^\s*" + DATETIME.pattern)
_DATE_ONLY = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
                        rf"(?:[\s,，]*{WEEKDAY})?\s*$")
_TIME_ONLY = re.compile(r"^\s*(\d{1,2})\s*[:：]\s*(\d{2})(?:\s*[:：]\s*(\d{2}))?(?!\d)")
_WEEKDAY_ONLY = re.compile(rf"^\s*{WEEKDAY}\s*$|^\s*(?:今天|昨天|前天)\s*$")


def _note_preamble(lines: list[str], first_line: int, display: str, found: _Found,
                   warnings: list[Warning_]) -> None:
    ignored = [(first_line + i, line.strip()) for i, line in enumerate(lines)
               if line.strip() and not _read_preamble(line.strip(), found)]
    if ignored:
        line_no, sample = ignored[0]
        warnings.append(Warning_(path=display, line=line_no, message=(
            f"{len(ignored)} line(s) before the first event ignored, "
            f"starting with {sample[:40]!r}")))


def _parse_text(lines: list[str], display: str, tz: ZoneInfo, found: _Found,
                warnings: list[Warning_]) -> list[TrackingEvent]:
    # Pending event: (time, line number, description parts).
    pending: list[tuple[datetime, int, list[str]]] = []
    first_event_line: int | None = None
    date_line: tuple[str, str, str] | None = None  # app copies put the date on its own line

    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        at: datetime | None = None
        written, rest = None, ""
        if m := _LINE_TIME.match(line):
            written, at, rest = m.group(0).strip(), _build_time(m, tz), line[m.end():]
        elif (d := _DATE_ONLY.match(line)):
            date_line = (d[1], d[2], d[3])
            continue
        elif date_line and (t := _TIME_ONLY.match(line)):
            # An app copy's time under a date line of its own.
            y, mo, day = date_line
            written = f"{y}-{mo}-{day} {t[1]}:{t[2]}" + (f":{t[3]}" if t[3] else "")
            at, rest = _parse_time(written, tz), line[t.end():]
        if written is not None and at is None:
            warnings.append(Warning_(path=display, line=number,
                                     message=f"impossible time {written!r}; line skipped"))
            continue
        if at is not None:
            rest = TRAILING_WEEKDAY.sub("", rest).strip(" \t,，:：-|")
            pending.append((at, number, [rest] if rest else []))
            if first_event_line is None:
                first_event_line = number
            continue
        if _WEEKDAY_ONLY.match(line):
            continue
        if pending:
            pending[-1][2].append(line)

    _note_preamble(lines[:(first_event_line or len(lines) + 1) - 1], 1, display, found, warnings)
    if not pending:
        raise ParseError(
            "no tracking times found (expected lines such as '2024-03-10 18:20:11 【杭州市】已签收')",
            path=display,
            remedy="copy the whole logistics list, including the time of each event")

    events: list[TrackingEvent] = []
    for at, number, parts in pending:
        text = _clean(" ".join(parts))
        if not text:
            warnings.append(Warning_(path=display, line=number,
                                     message="time with no description; skipped"))
            continue
        events.append(_event(at, text, location=None, code=None, name=None,
                             source=display, line=number))
    return events


# --- entry points ---------------------------------------------------------------------

def _looks_like_json(text: str) -> bool:
    return text.lstrip()[:1] in ("{", "[")


def parse_tracking_file(path: Path, display: str, *, tz: ZoneInfo,
                        carrier: str | None = None, number: str | None = None,
                        data: bytes | None = None) -> TrackingTimeline:
    """Read one tracking export (Kuaidi100 JSON, CSV or copied page text).

    ``carrier`` and ``number`` come from the case file and win over what the
    file says; a disagreement is reported as a warning, not an error, because
    the case file is where the user corrects a wrong export.
    """
    path = Path(path)
    try:
        # ``data``: the file's bytes, when the caller has read (and hashed) them.
        size = len(data) if data is not None else path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ParseError(f"file is {size // (1024 * 1024)} MB, too large for a tracking "
                             "export", path=display, remedy="check that the right file is named")
        data = data if data is not None else path.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read file ({exc.strerror})", path=display) from exc
    text, encoding = decode_text(data, display)
    warnings: list[Warning_] = []
    replaced = text.count("\ufffd")
    if replaced:
        warnings.append(Warning_(path=display, message=(
            f"{replaced} undecodable character(s) replaced while reading as {encoding}")))
    if not text.strip():
        raise ParseError("the file is empty", path=display,
                         remedy="export or copy the tracking again")

    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    found = _Found()
    suffix = path.suffix.lower()
    obj: object = None
    is_json = False
    if suffix == ".json":
        obj, is_json = _load_json(text, display), True
    elif suffix not in (".csv", ".tsv") and _looks_like_json(text):
        try:
            obj, is_json = _load_json(text, display), True
        except ParseError:
            pass  # a page copy may well begin with "["; read it as text below
    if is_json:
        events = _parse_json(obj, display, tz, found, warnings)
    elif suffix in (".csv", ".tsv") or _find_header(lines) is not None:
        events = _parse_csv(lines, display, tz, found, warnings)
    else:
        events = _parse_text(lines, display, tz, found, warnings)

    events = _in_time_order(events, display, warnings)
    if not events:
        warnings.append(Warning_(path=display, message="no tracking events in the file"))
    return _timeline(events, warnings, found, display, carrier=carrier, number=number)


def _timeline(events: list[TrackingEvent], warnings: list[Warning_], found: _Found,
              display: str, *, carrier: str | None, number: str | None) -> TrackingTimeline:
    file_code = normalise_carrier(found.carrier) if found.carrier else None
    given_code = normalise_carrier(carrier) if carrier else None
    raw = carrier or found.carrier
    code = given_code if carrier else file_code
    if carrier and found.carrier and (given_code or carrier) != (file_code or found.carrier):
        warnings.append(Warning_(path=display, message=(
            f"carrier given as {carrier!r} but the file says {found.carrier!r}; using {carrier!r}")))
    if raw and raw.strip() and code is None:
        # Keep what we were told: the pack can still print it, and a wrong code is a
        # data problem for the user, not a reason to stop.
        code = raw.strip()
        warnings.append(Warning_(path=display, message=(
            f"unknown carrier {code!r}; kept as given (known codes are in carriers.toml)")))

    if number and found.number and match_key(number) != match_key(found.number):
        warnings.append(Warning_(path=display, message=(
            f"tracking number given as {number!r} but the file says {found.number!r}; "
            f"using {number!r}")))
    return TrackingTimeline(
        carrier=code or None,
        carrier_name=carrier_name(code) if code else None,
        number=(number or found.number or None),
        state=found.state,
        events=events,
        warnings=warnings,
    )


def merge_timelines(timelines: list[TrackingTimeline]) -> TrackingTimeline:
    """One timeline from several sources (an API reply plus a page copy, say)."""
    events = [event.model_copy() for timeline in timelines for event in timeline.events]
    events.sort(key=lambda e: e.at)
    events, _ = _dedupe(events)  # overlap between sources is expected, not worth a warning
    with_carrier = next((t for t in timelines if t.carrier), None)
    return TrackingTimeline(
        carrier=with_carrier.carrier if with_carrier else None,
        carrier_name=(with_carrier.carrier_name or carrier_name(with_carrier.carrier))
        if with_carrier else None,
        number=next((t.number for t in timelines if t.number), None),
        state=next((t.state for t in timelines if t.state), None),
        events=events,
        warnings=[w.model_copy() for t in timelines for w in t.warnings],
    )
