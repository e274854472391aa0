"""`evidencepack batch`: one pack per row of a platform's refund export.

The export (CSV in UTF-8, UTF-8 with BOM or GBK/GB18030, or JSON Lines) names
the cases; each row's folder is found under the cases root, the export's values
fill facts its case.toml lacks (case.toml wins where both have one), and the
packs are built in worker processes, one failing case never stopping the rest.

Row values are hostile input: an id or folder that would leave the cases root
is refused for that row, and no row value is ever joined onto a path unchecked.

Resuming: ``OUT/<case id>.pdf`` is skipped when its manifest's ``input_digest``
equals the digest of the current inputs, options and tool version (the digest
leaves out ``generated_at``; see ``render.options_key``) and the PDF still has
the hash its manifest records.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import multiprocessing
import os
import re
import signal
import time
import tomllib
import unicodedata
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from pydantic import BaseModel, Field

from evidencepack import __version__
from evidencepack.inputs.case import CASE_FILE
from evidencepack.errors import EvidencePackError, ExitCode, InputError, ParseError
from evidencepack.inputs.evidence import inside
from evidencepack.options import BuildOptions, CheckOptions
from evidencepack.inputs.textio import decode_text, delimiter_of
from evidencepack.inputs.times import parse_time
from evidencepack.workers import workers
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

STATUSES = ("built", "incomplete", "skipped", "failed", "error")


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


# --- planning ------------------------------------------------------------------------

class RowResult(BaseModel):
    row: int  # line in the export
    case_id: str | None = None  # the row's key: its case id, else its order id
    order_id: str | None = None
    folder: str | None = None  # relative to the cases root
    status: str = "pending"  # built | incomplete | skipped | failed | error
    reason: str | None = None  # why not built, or what is missing
    dispute_type: str | None = None
    export_status: str | None = None  # the export's own 退款状态
    complete: bool | None = None
    score: float | None = None
    pdf: str | None = None
    manifest: str | None = None
    pages: int | None = None
    size: int | None = None
    sha256: str | None = None
    seconds: float | None = None
    filled: dict[str, str] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)


class Task(BaseModel):
    index: int
    result: RowResult  # the row's facts so far; the worker completes it
    case_dir: str
    output: str
    defaults: dict[str, str]
    options: CheckOptions
    generated_at: datetime
    force: bool = False


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise InputError(f"--shard {text!r} is not i/n with 1 <= i <= n, e.g. 2/3")
    return int(match[1]), int(match[2])


def shard_of(key: str, n: int) -> int:
    """The 1-based shard of a case key: sha256(key) mod n, the same on every machine."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest(), "big") % n + 1


_MANGLED = re.compile(r"^\d(?:\.\d+)?e\+?\d+$", re.I)


def _id_problem(value: str, column: str) -> str | None:
    if any(ch in value for ch in "/\\") or value in (".", "..") or ".." in value \
            or value.startswith(".") or re.match(r"^[A-Za-z]:", value):
        return (f"{column} {value!r} is not a plain identifier: as a folder name it would "
                "leave --cases-root; refused")
    if any(unicodedata.category(ch) == "Cc" for ch in value) or len(value) > 100:
        return f"{column} {value!r} holds control characters or is over 100 characters; refused"
    if _MANGLED.match(value):
        return (f"{column} {value!r} was turned into a number by Excel and lost digits; "
                "re-export keeping the column as text")
    return None


def _time_text(value: str) -> str | None:
    """An ISO time (naive: the case's zone applies) from the shapes exports write."""
    try:
        return parse_time(value, None, date_only=True).isoformat()
    except ValueError:
        return None


def _amount_text(value: str) -> str | None:
    text = re.sub(r"[¥￥元,\s]|RMB|CNY", "", unicodedata.normalize("NFKC", value), flags=re.I)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return str(amount)


class _Index:
    """The cases root's folders by name, by case.toml case_id and by order_id."""

    def __init__(self, root: Path):
        self.root = root
        self.by_name: dict[str, Path] = {}
        self.unsafe: dict[str, str] = {}
        self.by_case_id: dict[str, list[Path]] = {}
        self.by_order_id: dict[str, list[Path]] = {}
        self.data: dict[Path, dict | None] = {}
        from evidencepack.inputs.textio import load_toml

        for child in sorted(root.iterdir(), key=lambda p: p.name):
            if child.name.startswith("."):
                continue
            if child.is_symlink() and not inside(root, child):
                self.unsafe[child.name] = (f"folder {child.name!r} is a symlink to "
                                           f"{os.readlink(child)}, outside --cases-root; refused")
                continue
            if not child.is_dir():
                continue
            self.by_name[child.name] = child
            toml = child / CASE_FILE
            data = None
            if toml.is_file() and inside(child, toml):
                try:
                    data = load_toml(toml)
                except InputError:
                    data = None  # the case's own build reports it, as its row
            self.data[child] = data
            if data:
                for key, table in (("case_id", self.by_case_id), ("order_id", self.by_order_id)):
                    if isinstance(data.get(key), (str, int)) and str(data[key]):
                        table.setdefault(str(data[key]), []).append(child)

    def find(self, case_id: str | None, order_id: str | None) -> tuple[Path | None, str | None]:
        for value in (case_id, order_id):
            if value and value in self.unsafe:
                return None, self.unsafe[value]
        candidates = []
        if case_id:
            candidates += [("folder named", case_id, self.by_name.get(case_id)),
                           ("case_id", case_id, self.by_case_id.get(case_id))]
        if order_id:
            candidates += [("folder named", order_id, self.by_name.get(order_id)),
                           ("order_id", order_id, self.by_order_id.get(order_id))]
        for how, value, hit in candidates:
            if hit is None:
                continue
            if isinstance(hit, list):
                if len(hit) > 1:
                    names = ", ".join(p.name for p in hit)
                    return None, (f"{how} {value!r} is in more than one case.toml ({names}); "
                                  "ambiguous")
                hit = hit[0]
            return hit, None
        asked = " or ".join(repr(v) for v in (case_id, order_id) if v)
        return None, (f"no case folder under --cases-root is named {asked} or has that "
                      "case_id/order_id in its case.toml")

    def folder(self, value: str) -> tuple[Path | None, str | None]:
        rel = PurePosixPath(value.replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts or re.match(r"^[A-Za-z]:", value) \
                or any(unicodedata.category(ch) == "Cc" for ch in value):
            return None, f"folder {value!r} would leave --cases-root; refused"
        candidate = self.root / rel
        if not inside(self.root, candidate):
            return None, (f"folder {value!r} resolves outside --cases-root (a symlink?); "
                          "refused")
        if not candidate.is_dir():
            return None, f"folder {value!r} does not exist under --cases-root"
        return candidate, None


class Plan(BaseModel):
    export: Export
    results: dict[int, RowResult]  # rows decided without a build (errors), by index
    tasks: list[Task]
    other_shards: int = 0


def plan(export: Export, cases_root: Path, out: Path, *, reasons: ReasonTable,
         dispute_types: set[str], options: CheckOptions, generated_at: datetime,
         force: bool = False, shard: tuple[int, int] | None = None) -> Plan:
    """Decide every row: an error now, or a task for a worker."""
    index = _Index(cases_root)
    results: dict[int, RowResult] = {}
    tasks: list[Task] = []
    seen_keys: dict[str, int] = {}
    seen_folders: dict[Path, int] = {}
    other = 0
    for i, row in enumerate(export.rows):
        v = row.values
        key = v.get("case_id") or v.get("order_id") or ""
        if shard and shard_of(key or f"row {row.line}", shard[1]) != shard[0]:
            other += 1
            continue
        result = RowResult(row=row.line, case_id=key or None, order_id=v.get("order_id") or None,
                           export_status=v.get("status") or None)

        def error(message: str) -> None:
            result.status, result.reason = "error", message
            results[i] = result

        if row.problem:
            error(row.problem)
            continue
        if not key and not v.get("folder"):
            error("no case id, order id or folder in this row")
            continue
        problem = next(filter(None, (_id_problem(v[c], export.columns[c])
                                     for c in ("case_id", "order_id") if v.get(c))), None)
        if problem:
            error(problem)
            continue
        if not key:
            key = PurePosixPath(v["folder"].replace("\\", "/")).name
            result.case_id = key
            if _id_problem(key, "folder"):
                error(_id_problem(key, export.columns["folder"]))
                continue
        if key in seen_keys:
            error(f"duplicate case id {key!r} (first on row {seen_keys[key]}); not built twice")
            continue
        seen_keys[key] = row.line
        folder, problem = (index.folder(v["folder"]) if v.get("folder")
                           else index.find(v.get("case_id"), v.get("order_id")))
        if folder is None:
            error(problem)
            continue
        result.folder = str(folder.relative_to(cases_root))
        resolved = folder.resolve()
        if resolved in seen_folders:
            error(f"folder {result.folder!r} is already built for row {seen_folders[resolved]}; "
                  "not built twice")
            continue
        seen_folders[resolved] = row.line
        if inside(folder, out):
            error("--out lies inside this case folder, which is never written to")
            continue

        defaults: dict[str, str] = {}
        for field in ("case_id", "order_id", "buyer_nick", "tracking_number"):
            if v.get(field):
                defaults[CASE_KEYS[field]] = v[field]
        if v.get("carrier"):
            from evidencepack.inputs.carriers import normalise_carrier

            defaults["tracking.carrier"] = normalise_carrier(v["carrier"]) or v["carrier"]
        if v.get("opened_at"):
            at = _time_text(v["opened_at"])
            if at is None:
                error(f"{export.columns['opened_at']} {v['opened_at']!r} is not a time "
                      "such as 2024-03-12 10:15:32")
                continue
            defaults["opened_at"] = at
        if v.get("amount"):
            amount = _amount_text(v["amount"])
            if amount is None:
                error(f"{export.columns['amount']} {v['amount']!r} is not an amount such as 399.00")
                continue
            defaults["amount"] = amount
        toml = index.data.get(folder) or {}
        if v.get("dispute_type"):
            if v["dispute_type"] not in dispute_types:
                error(f"{export.columns['dispute_type']} {v['dispute_type']!r} is not a dispute "
                      "type (see `evidencepack checklists`)")
                continue
            defaults["dispute_type"] = v["dispute_type"]
        elif v.get("reason"):
            kind, how = reasons.lookup(v["reason"])
            if kind is not None:
                defaults["dispute_type"] = kind
            elif toml.get("dispute_type"):
                result.notes.append(f"refund reason {v['reason']!r} is unknown ({how}); "
                                    "case.toml's dispute_type is used")
            else:
                error(f"refund reason {v['reason']!r} is unknown ({how}) and case.toml names no "
                      "dispute_type; add the reason to a --mapping [reasons] table or set "
                      "dispute_type in case.toml")
                continue
        result.dispute_type = toml.get("dispute_type") or defaults.get("dispute_type")
        tasks.append(Task(index=i, result=result, case_dir=str(folder),
                          output=str(out / f"{key}.pdf"), defaults=defaults, options=options,
                          generated_at=generated_at, force=force))
    return Plan(export=export, results=results, tasks=tasks, other_shards=other)


# --- the workers -----------------------------------------------------------------------

_STATE: dict[str, Any] = {}


def _init_worker(checklist_dirs: list[str]) -> None:
    # Ctrl-C is the parent's to handle: a worker finishes the pack it is writing
    # (atomically) rather than dying between the PDF and its manifest.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from evidencepack.judge.checklist import load_checklists
    from evidencepack.judge.profiles import load_profiles

    _STATE["checklists"] = load_checklists([Path(d) for d in checklist_dirs])
    _STATE["profiles"] = load_profiles()


def _read_manifest(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def run_task(task: Task) -> RowResult:
    """Analyse one case, skip it when its pack is up to date, else build it. Never raises."""
    from evidencepack.inputs.evidence import sha256_file
    from evidencepack.pipeline import analyse

    result = task.result.model_copy(deep=True)
    started = time.monotonic()
    output = Path(task.output)
    try:
        # One core per worker: -j N is N builds at a time on N cores.
        opts = BuildOptions(**{**task.options.model_dump(), "jobs": 1}, output=output,
                            generated_at=task.generated_at)
        analysis = analyse(Path(task.case_dir), opts,
                           checklists=_STATE.get("checklists"), profiles=_STATE.get("profiles"),
                           defaults=task.defaults)
        from evidencepack.pack.render import build_pack, input_digest, manifest_inputs, options_key

        opts = opts.resolved(analysis)
        digest = input_digest(manifest_inputs(analysis), options_key(opts, analysis))
        report = analysis.report
        result.dispute_type = analysis.case.dispute_type
        result.complete, result.score = report.complete, report.score
        result.filled = dict(analysis.filled)
        result.notes += [f"{key}: the export says {given}, case.toml {kept}; the pack uses "
                         "case.toml" for key, given, kept in analysis.differs]
        if report.missing:
            result.reason = "missing: " + "; ".join(i.title for i in report.missing)
        result.pdf, result.manifest = str(output), str(output.with_suffix(".manifest.json"))
        old = None if task.force else _read_manifest(output.with_suffix(".manifest.json"))
        if old and old.get("input_digest") == digest and output.is_file() \
                and sha256_file(output) == (old.get("pdf") or {}).get("sha256"):
            result.status = "skipped"
            pdf = old.get("pdf") or {}
            result.pages, result.size, result.sha256 = pdf.get("pages"), pdf.get("size"), \
                pdf.get("sha256")
        else:
            if old:
                result.notes.append("rebuilt: " + ("inputs or options changed"
                                                   if old.get("input_digest") != digest
                                                   else "the PDF is missing or changed"))
            pack = build_pack(analysis, opts)
            result.status = "built" if report.complete else "incomplete"
            result.pages, result.size, result.sha256 = pack.pages, pack.size, pack.sha256
    except EvidencePackError as exc:
        result.status, result.reason = "failed", str(exc)
        result.pdf = result.manifest = None
    except Exception as exc:  # noqa: BLE001 - one case must never stop the others
        message = str(exc).splitlines()[0] if str(exc) else ""
        result.status = "failed"
        result.reason = f"internal error: {type(exc).__name__}: {message}"
        result.pdf = result.manifest = None
    result.seconds = round(time.monotonic() - started, 2)
    return result


# --- the run -----------------------------------------------------------------------------

class Progress(Protocol):
    def start(self, total: int) -> None: ...
    def result(self, row: RowResult) -> None: ...
    def interrupted(self, running: int) -> None: ...


class BatchReport(BaseModel):
    schema_: str = Field("evidencepack.batch/1", alias="schema")
    tool: str = f"evidencepack {__version__}"
    export: str
    format: str
    encoding: str
    columns: dict[str, str]
    ignored_columns: list[str]
    cases_root: str
    out: str
    shard: str | None = None
    jobs: int
    force: bool
    generated_at: str
    seconds: float
    summary: dict[str, int]
    exit_code: int
    rows: list[RowResult]
    interrupted: bool = False  # Ctrl-C: rows not built say so; exit_code is 130

    model_config = {"populate_by_name": True}

    def to_json(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)


def exit_code(rows: list[RowResult]) -> int:
    if any(r.status in ("failed", "error") for r in rows):
        return ExitCode.FAILED
    if any(r.complete is False for r in rows):
        return ExitCode.INCOMPLETE
    return ExitCode.OK


def run_batch(export_path: Path, cases_root: Path, out: Path, *, options: CheckOptions,
              generated_at: datetime, jobs: int | None = None, force: bool = False,
              shard: tuple[int, int] | None = None, mapping: Path | None = None,
              progress: Progress | None = None) -> BatchReport:
    started = time.monotonic()
    if not cases_root.is_dir():
        raise InputError("--cases-root is not a folder", path=cases_root)
    if inside(cases_root, out):
        raise InputError("--out lies inside --cases-root, whose folders hold evidence and are "
                         "never written to", path=out, remedy="choose --out elsewhere")
    the_mapping = load_mapping(mapping)
    export = read_export(export_path, the_mapping)
    from evidencepack.judge.checklist import load_checklists

    checklist_dirs = [str(d) for d in options.checklist_dirs]
    dispute_types = set(load_checklists([Path(d) for d in checklist_dirs]))
    bad = {t for t in the_mapping.reasons.values() if t not in dispute_types}
    if bad:
        raise InputError(f"[reasons] names unknown dispute type(s) {', '.join(sorted(bad))}",
                         path=the_mapping.path, remedy="see `evidencepack checklists`")
    the_plan = plan(export, cases_root, out, reasons=ReasonTable(the_mapping.reasons),
                    dispute_types=dispute_types, options=options, generated_at=generated_at,
                    force=force, shard=shard)
    results = dict(the_plan.results)
    jobs = workers(jobs)
    if progress:
        progress.start(len(results) + len(the_plan.tasks))
        for i in sorted(results):
            progress.result(results[i])
    interrupted = False
    if the_plan.tasks:
        out.mkdir(parents=True, exist_ok=True)
        try:
            _run_pool(the_plan.tasks, results, min(jobs, len(the_plan.tasks)), checklist_dirs,
                      progress)
        except KeyboardInterrupt:
            # The packs being written were finished; the report still says what happened.
            interrupted = True
            for task in the_plan.tasks:
                results.setdefault(task.index, task.result.model_copy(update={
                    "status": "failed", "reason": "not built: the batch was interrupted"}))
    rows = [results[i] for i in sorted(results)]
    summary = {"rows": len(rows), **{s: sum(r.status == s for r in rows) for s in STATUSES},
               "other_shards": the_plan.other_shards}
    return BatchReport(
        export=str(export_path), format=export.format, encoding=export.encoding,
        columns=export.columns, ignored_columns=export.ignored_columns,
        cases_root=str(cases_root), out=str(out),
        shard=f"{shard[0]}/{shard[1]}" if shard else None, jobs=jobs, force=force,
        generated_at=generated_at.isoformat(), seconds=round(time.monotonic() - started, 2),
        summary=summary, exit_code=130 if interrupted else exit_code(rows), rows=rows,
        interrupted=interrupted)


def _context():
    """Not fork: the parent may run a progress-bar thread, and forking a threaded
    process can deadlock. A fork server (POSIX) imports the renderer once and
    forks each worker from it; elsewhere each worker is spawned and imports it."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["evidencepack.team.batch", "evidencepack.pipeline",
                                    "evidencepack.pack.render", "weasyprint"])
        return ctx
    return multiprocessing.get_context("spawn")


def _run_pool(tasks: list[Task], results: dict[int, RowResult], workers: int,
              checklist_dirs: list[str], progress: Progress | None) -> None:
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_context(),
                               initializer=_init_worker, initargs=(checklist_dirs,))
    # At most one task per worker is handed to the pool at a time: a task the pool
    # has queued can no longer be cancelled, so on Ctrl-C only the packs being
    # written are finished and nothing else starts.
    pending = iter(tasks)
    running: dict = {}

    def submit_next() -> None:
        task = next(pending, None)
        if task is not None:
            running[pool.submit(run_task, task)] = task

    try:
        for _ in range(workers):
            submit_next()
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                task = running.pop(future)
                try:
                    row = future.result()
                except Exception as exc:  # noqa: BLE001 - a worker died (killed, out of memory)
                    row = task.result.model_copy(update={
                        "status": "failed",
                        "reason": f"the worker process failed ({type(exc).__name__}"
                                  f"{': ' + str(exc) if str(exc) else ''})"})
                results[task.index] = row
                if progress:
                    progress.result(row)
                submit_next()
    except KeyboardInterrupt:
        if progress:
            progress.interrupted(sum(not f.done() for f in running))
        pool.shutdown(wait=True, cancel_futures=True)
        for future, task in running.items():  # the packs that were being written
            if future.done() and not future.cancelled() and future.exception() is None:
                results[task.index] = future.result()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
