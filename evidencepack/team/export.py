"""A platform's refund export, read: Taobao/Tmall's Chinese or our English headers, CSV in
UTF-8 (with or without BOM) or GBK/GB18030, or JSON Lines; a mapping file for other
exports; and the table that turns a refund reason into a dispute type.

Row values are hostile input: they are cleaned here and never joined onto a path."""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
import unicodedata
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from evidencepack.errors import InputError, ParseError
from evidencepack.inputs.textio import decode_text, delimiter_of
from evidencepack.resources import DATA


# Our field -> the export headers that mean it (our English names first, then
# the Taobao/Tmall refund-management export's Chinese ones). Headers are
# compared after NFKC, trimming and lower-casing. The return parcel's columns
# (退货物流公司 / 退货物流单号) are deliberately absent: they are not the
# shipment the dispute is about.
COLUMNS: dict[str, tuple[str, ...]] = {
    "case_id": ("case_id", "退款编号", "退款单号", "售后单号", "售后编号", "退款id"),
    "order_id": ("order_id", "订单编号", "订单号", "主订单编号"),
    "opened_at": ("opened_at", "申请时间", "退款申请时间", "退款的申请时间", "申请退款时间",
                  "售后申请时间"),
    "reason": ("reason", "退款原因", "售后原因", "申请原因"),
    "dispute_type": ("dispute_type", "争议类型"),
    "amount": ("amount", "退款金额", "买家退款金额", "申请退款金额"),
    "status": ("status", "退款状态", "售后状态"),
    "buyer_nick": ("buyer_nick", "买家会员名", "买家会员名称", "买家昵称", "买家旺旺"),
    "carrier": ("carrier", "物流公司", "发货物流公司", "快递公司"),
    "tracking_number": ("tracking_number", "物流单号", "发货物流单号", "运单号", "快递单号"),
    "folder": ("folder", "case_dir", "案件目录"),
    "assignee": ("assignee", "客服", "处理客服", "负责客服", "负责人", "处理人"),
}
FIELDS = tuple(COLUMNS)

# Export field -> the dotted case.toml key it fills when case.toml lacks it.
CASE_KEYS = {"case_id": "case_id", "order_id": "order_id", "opened_at": "opened_at",
             "amount": "amount", "dispute_type": "dispute_type", "buyer_nick": "buyer.nick",
             "carrier": "tracking.carrier", "tracking_number": "tracking.number",
             "assignee": "assignee"}

def _norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower().lstrip("\ufeff")


# --- reading the export --------------------------------------------------------------

class Mapping(BaseModel):
    columns: dict[str, str] = Field(default_factory=dict)  # export header -> our field
    reasons: dict[str, str] = Field(default_factory=dict)  # reason text -> dispute type
    path: str | None = None


def load_mapping(path: Path | None) -> Mapping:
    if path is None:
        return Mapping()
    try:
        data = tomllib.loads(decode_text(path.read_bytes(), path)[0])
    except OSError as exc:
        raise InputError(f"cannot read the mapping file ({exc.strerror})", path=path) from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", path=path) from exc
    unknown = set(data) - {"columns", "reasons"}
    if unknown:
        raise InputError(f"unknown table(s) {', '.join(sorted(unknown))}; a mapping has "
                         "[columns] and [reasons]", path=path)
    columns, reasons = data.get("columns", {}), data.get("reasons", {})
    if not isinstance(columns, dict) or not isinstance(reasons, dict):
        raise InputError("[columns] and [reasons] must be tables", path=path)
    for header, field in columns.items():
        if field not in FIELDS:
            raise InputError(f"[columns] maps {header!r} to {field!r}, which is not a field "
                             f"(one of: {', '.join(FIELDS)})", path=path)
    for text, kind in reasons.items():
        if not isinstance(kind, str):
            raise InputError(f"[reasons] {text!r} must name a dispute type as text", path=path)
    return Mapping(columns=columns, reasons=reasons, path=str(path))


class ExportRow(BaseModel):
    line: int  # where the row starts in the export (1 = the header for CSV)
    values: dict[str, str] = Field(default_factory=dict)  # our field -> cleaned value
    problem: str | None = None


class Export(BaseModel):
    path: str
    format: str  # csv | jsonl
    encoding: str
    columns: dict[str, str]  # our field -> the export's header
    ignored_columns: list[str]
    rows: list[ExportRow]


_EXCEL_WRAP = re.compile(r'^="(.*)"$', re.S)


def _clean(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value).strip().strip("\t").strip()
    match = _EXCEL_WRAP.match(text)
    if match:  # ="3817264530012345678", Excel's way to keep a long number whole
        text = match.group(1).strip()
    if text.startswith("'"):  # '3817264530012345678, the other way
        text = text[1:].strip()
    return text


def _columns(headers: list[str], mapping: Mapping, path: Path) -> tuple[dict[str, int], list[str]]:
    """Our field -> index of the header that carries it; and the ignored headers."""
    by_norm = {_norm(alias): field for field, aliases in COLUMNS.items() for alias in aliases}
    mapped = {_norm(h): f for h, f in mapping.columns.items()}
    present = {_norm(h) for h in headers}
    absent = [h for h in mapping.columns if _norm(h) not in present]
    if absent:
        raise InputError(f"the mapping names column(s) the export does not have: "
                         f"{', '.join(absent)} (the export has: {', '.join(headers)})",
                         path=mapping.path or path)
    found: dict[str, int] = {}
    ignored: list[str] = []
    for index, header in enumerate(headers):
        field = mapped.get(_norm(header)) or by_norm.get(_norm(header))
        if field and field not in found:
            found[field] = index
        elif header.strip():
            ignored.append(header)
    if not {"case_id", "order_id", "folder"} & set(found):
        known = ", ".join(f"{a[0]}/{a[1]}" for a in (COLUMNS["case_id"], COLUMNS["order_id"]))
        raise InputError(f"no column names the case (the export has: {', '.join(headers) or 'none'})",
                         path=path, remedy=f"expected one of {known}, or map yours with --mapping")
    return found, ignored


def read_export(path: Path, mapping: Mapping | None = None) -> Export:
    """Read a CSV or JSON Lines export; a bad row is a row with a problem, never fatal."""
    mapping = mapping or Mapping()
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise InputError("the export is a folder, not a file", path=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the export ({exc.strerror})", path=path) from exc
    if not data.strip():
        raise ParseError("the export is empty", path=path)
    if path.suffix.lower() in (".xlsx", ".xls") or data.startswith((b"PK\x03\x04",
                                                                    b"\xd0\xcf\x11\xe0")):
        raise ParseError("this is an Excel workbook, not CSV", path=path,
                         remedy="save it as CSV (UTF-8 or GBK) and pass that")
    text, encoding = decode_text(data, path)
    if "\x00" in text or data.startswith(b"%PDF"):
        raise ParseError("the export is not a text file", path=path,
                         remedy="export the refund list as CSV or JSON Lines")
    if path.suffix.lower() in (".jsonl", ".ndjson") or text.lstrip().startswith("{"):
        return _read_jsonl(path, text, encoding, mapping)
    return _read_csv(path, text, encoding, mapping)


def _read_csv(path: Path, text: str, encoding: str, mapping: Mapping) -> Export:
    reader = csv.reader(io.StringIO(text, newline=""),
                        delimiter=delimiter_of(text.split("\n", 1)[0]))
    try:
        headers = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        raise ParseError("the export has no header row", path=path) from None
    except csv.Error as exc:
        raise ParseError(f"the header row is not CSV ({exc})", path=path, line=1) from exc
    found, ignored = _columns(headers, mapping, path)
    rows: list[ExportRow] = []
    start = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rows.append(ExportRow(line=start, problem=f"not readable as CSV ({exc})"))
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue
        row = ExportRow(line=line, values={f: _clean(record[i]) for f, i in found.items()
                                           if i < len(record)})
        if len(record) < len(headers):
            missing = [headers[i] for i in range(len(record), len(headers))]
            row.problem = (f"row has {len(record)} of {len(headers)} columns (missing: "
                           f"{', '.join(missing)})")
        elif any(cell.strip() for cell in record[len(headers):]):
            row.problem = (f"row has {len(record)} values for {len(headers)} columns "
                           "(an unquoted comma in a value?)")
        rows.append(row)
    return Export(path=str(path), format="csv", encoding=encoding,
                  columns={f: headers[i] for f, i in found.items()}, ignored_columns=ignored,
                  rows=rows)


def _read_jsonl(path: Path, text: str, encoding: str, mapping: Mapping) -> Export:
    records: list[tuple[int, dict | None, str | None]] = []
    headers: list[str] = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as exc:
            records.append((number, None, f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        except (ValueError, RecursionError) as exc:  # huge integers, absurd nesting
            records.append((number, None, f"not valid JSON ({type(exc).__name__})"))
            continue
        if not isinstance(record, dict):
            records.append((number, None, "not a JSON object"))
            continue
        for key in record:
            if key not in headers:
                headers.append(str(key))
        records.append((number, record, None))
    if not headers:
        raise ParseError("no line of the export is a JSON object", path=path)
    found, ignored = _columns(headers, mapping, path)
    rows = []
    for number, record, problem in records:
        if record is None:
            rows.append(ExportRow(line=number, problem=problem))
            continue
        values = {}
        for field, index in found.items():
            value = record.get(headers[index])
            if isinstance(value, (dict, list)):
                problem = problem or f"{headers[index]} holds a JSON {type(value).__name__}"
                continue
            if value is not None:
                values[field] = _clean(value)
        rows.append(ExportRow(line=number, values=values, problem=problem))
    return Export(path=str(path), format="jsonl", encoding=encoding,
                  columns={f: headers[i] for f, i in found.items()}, ignored_columns=ignored,
                  rows=rows)


# --- refund reasons ----------------------------------------------------------------

class ReasonTable:
    """Refund reason text -> dispute type (data/refund_reasons.toml, see its header)."""

    def __init__(self, extra: dict[str, str] | None = None, path: Path | None = None):
        path = path or DATA / "refund_reasons.toml"
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        self.exact: dict[str, str] = {}
        self.texts: list[tuple[str, str]] = []
        for entry in data.get("reason", []):
            for text in entry["texts"]:
                self.exact.setdefault(_norm(text), entry["type"])
                self.texts.append((_norm(text), entry["type"]))
        self.extra = {_norm(k): v for k, v in (extra or {}).items()}

    def types(self) -> set[str]:
        return {t for _, t in self.texts} | set(self.extra.values())

    def lookup(self, reason: str) -> tuple[str | None, str]:
        """(dispute type, how) — None with the why when the reason is unknown or ambiguous."""
        key = _norm(reason)
        if not key:
            return None, "empty"
        if key in self.extra:
            return self.extra[key], "mapping"
        if key in self.exact:
            return self.exact[key], "table"
        hits = [(len(text), kind) for text, kind in self.texts if text in key]
        if not hits:
            return None, "not in the reason table"
        longest = max(n for n, _ in hits)
        kinds = sorted({kind for n, kind in hits if n == longest})
        if len(kinds) > 1:
            return None, f"ambiguous ({' or '.join(kinds)})"
        return kinds[0], "table"
