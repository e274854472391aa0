"""The team lead's audit: every case under a root, item by item.

Where `queue` answers "what do I do next", `audit` answers "where does the team
stand": each case's dispute type, completeness, every checklist item's status,
every deadline with its urgency and the first missing item, plus a summary of
which checklist items fail most across the team. Broken cases are error rows.

Outputs (all built from one :class:`Audit` model):

* ``audit_json`` — the ``--json`` schema ``evidencepack.audit/1``.
* ``write_csv`` — one row per case, *wide* format: fixed columns, then one
  column per deadline (``deadline.<name>.at`` / ``.status`` / ``.hours_left``),
  then one column per checklist item named ``<dispute_type>.<item_id>`` for the
  dispute types present. A cell is ``met``, ``weak``, ``missing``, ``not_applicable`` or ``covered``
  (missing, but another member of its group is met), empty for other types.
  UTF-8 with a BOM so Excel shows Chinese; text cells that a spreadsheet would
  run as a formula (``= + - @``) get a leading ``'``.
* ``render_html`` — one self-contained HTML dashboard (no network, no external
  assets): the data is embedded as JSON and drawn with ``textContent``.

Item-summary counts: *missing* is an item whose status is missing and that no
other member of its group covers (recommended items count too, their level is
shown); *weak* is status weak.
"""

from __future__ import annotations

import csv
import io
import json
import signal
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from evidencepack.judge.checklist import load_checklists
from evidencepack.judge.deadlines import NAMES as DEADLINE_NAMES, time_left_text, urgency
from evidencepack.atomic import write_atomic
from evidencepack.inputs.case import CASE_FILE
from evidencepack.errors import EvidencePackError, InputError
from evidencepack.options import CheckOptions
from evidencepack.pipeline import Analysis, analyse
from evidencepack.judge.profiles import load_profiles
from evidencepack.team.history import HistoryPoint
from evidencepack.inputs.textio import load_toml
from evidencepack.resources import builtin_templates
from evidencepack.inputs.images import default_cache_dir
from evidencepack.team.agents import (AgentSummary, chat_agent, chat_figures, reply_targets,
                                      summarise_agents)
from evidencepack.workers import process_context, workers

SCHEMA = "evidencepack.audit/1"
TEMPLATES = builtin_templates()
TEMPLATE = "audit.html.j2"
URGENCY_RANK = {"overdue": 0, "due_24h": 1, "due_72h": 2, "ok": 3, "passed": 4, "unknown": 5}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class AuditItem(BaseModel):
    id: str
    title: str
    level: str
    group: str | None = None
    status: str  # met / weak / missing, as `check --json`
    group_met: bool | None = None
    reasons: list[str] = Field(default_factory=list)

    @property
    def cell(self) -> str:
        """The status a report shows: a missing member of a met group is 'covered'."""
        return "covered" if self.status == "missing" and self.group_met else self.status


class AuditDeadline(BaseModel):
    name: str
    label: str
    at: AwareDatetime | None = None
    status: str
    hours_left: float | None = None
    assumed: bool = False


class AuditRow(BaseModel):
    case_dir: str
    case_id: str | None = None
    platform: str | None = None
    dispute_type: str | None = None
    dispute_type_name: str | None = None
    complete: bool | None = None
    score: float | None = None
    satisfied_units: int | None = None
    required_units: int | None = None
    items: list[AuditItem] = Field(default_factory=list)
    deadlines: list[AuditDeadline] = Field(default_factory=list)
    next_deadline: str | None = None  # the most urgent pending deadline's name
    next_deadline_at: AwareDatetime | None = None
    status: str = "unknown"  # its urgency, or "error"
    hours_left: float | None = None
    first_missing_id: str | None = None
    first_missing: str | None = None
    error: str | None = None
    # The agent handling the case and where that came from: "case.toml" or "chat".
    assignee: str | None = None
    assignee_source: str | None = None
    rude: int = 0
    off_platform: int = 0
    first_reply_minutes: float | None = None
    reply_minutes: list[float] = Field(default_factory=list)


class ItemSummary(BaseModel):
    dispute_type: str
    item_id: str
    title: str
    level: str
    cases: int = 0  # cases of this dispute type that have this item
    missing: int = 0
    weak: int = 0


class Audit(BaseModel):
    root: str
    now: AwareDatetime
    lang: str
    rows: list[AuditRow]
    summary: list[ItemSummary]
    type_names: dict[str, str]  # dispute type id -> name in `lang`
    agents: list[AgentSummary] = Field(default_factory=list)
    history: list[HistoryPoint] = Field(default_factory=list)  # earlier audits of this root


# --- building -----------------------------------------------------------------

def case_dirs(root: Path) -> list[Path]:
    """The case folders under ``root``, and one level deeper (``cases/小美/TB-…``: a
    root with a folder per agent). A root holding none is bad input."""
    if not root.is_dir():
        raise InputError("cases root is not a folder", path=root)
    found = []
    for child in sorted(root.iterdir()):
        if _is_case(child):
            found.append(child)
        elif child.is_dir() and not child.is_symlink():
            found.extend(grand for grand in sorted(child.iterdir()) if _is_case(grand))
    if not found:
        raise InputError("no case folder (one holding case.toml) under this folder or one "
                         "level below it", path=root,
                         remedy="give the folder that holds the case folders")
    return found


def _is_case(folder: Path) -> bool:
    # Not glob(): it drops a case.toml that is a broken or looping symlink, and
    # that case must show as an error row, not vanish.
    return (folder / CASE_FILE).is_file() or (folder.is_dir() and (folder / CASE_FILE).is_symlink())


def _assignee(case, messages) -> tuple[str | None, str | None]:
    """(agent, where it came from) as the case itself says: case.toml, else the
    sub-account that answered in the chat. The agent's folder (``cases/小美/TB-…``)
    comes in between; build_audit knows the root (see _agent_folders)."""
    if case is not None and case.assignee:
        return case.assignee, "case.toml"
    from_chat = chat_agent(messages)
    return (from_chat, "chat") if from_chat else (None, None)


def _row(folder: Path, a: Analysis) -> AuditRow:
    r = a.report
    missing = r.missing
    chat = chat_figures(a.chat.messages)
    assignee, assignee_source = _assignee(a.case, a.chat.messages)
    return _with_urgency(AuditRow(
        case_dir=str(folder), case_id=a.case.case_id, platform=a.case.platform,
        dispute_type=r.dispute_type, dispute_type_name=r.name, complete=r.complete,
        score=r.score, satisfied_units=r.satisfied_units, required_units=r.required_units,
        items=[AuditItem(id=i.id, title=i.title, level=i.level, group=i.group,
                         status=i.status, group_met=i.group_met, reasons=i.reasons)
               for i in r.items],
        deadlines=_audit_deadlines(a.deadlines),
        first_missing_id=missing[0].id if missing else None,
        first_missing=missing[0].title if missing else None,
        assignee=assignee, assignee_source=assignee_source,
        **chat.model_dump(include={"rude", "off_platform", "first_reply_minutes",
                                   "reply_minutes"})))


def _audit_deadlines(deadlines) -> list[AuditDeadline]:
    return [AuditDeadline(name=d.name, label=d.label, at=d.at, status=d.status,
                          hours_left=d.hours_left, assumed=d.assumed) for d in deadlines]


def _broken_row(folder: Path, error: str, options: CheckOptions, checklists,
                profiles) -> tuple[AuditRow, str | None]:
    """A case whose files cannot all be read: still a row with its deadlines when its
    case.toml can be, so a lead does not lose sight of a case about to go overdue;
    and its dispute type's name."""
    from evidencepack.inputs.case import read_case
    from evidencepack.judge.deadlines import compute

    row = AuditRow(case_dir=str(folder), error=error, status="error")
    try:
        case = read_case(folder).case
        profile = profiles[case.platform]
        checklist = (checklists or load_checklists(list(options.checklist_dirs))).get(
            case.dispute_type)
    except (EvidencePackError, KeyError):
        return row, None
    now = (options.now or datetime.now(case.tz)).astimezone(case.tz)
    lang = options.lang or "zh"
    assignee, source = _assignee(case, [])
    row = row.model_copy(update={
        "deadlines": _audit_deadlines(compute(case, profile, now, lang)),
        "case_id": case.case_id, "platform": case.platform, "dispute_type": case.dispute_type,
        "dispute_type_name": checklist.name(lang) if checklist else None,
        "assignee": assignee, "assignee_source": source})
    return _with_urgency(row), row.dispute_type_name


def _with_urgency(row: AuditRow, now: datetime | None = None) -> AuditRow:
    """The row's next deadline and urgency; with ``now``, every deadline's status and
    time left recomputed for it first (an indexed row was made at another time).
    A broken case keeps the status "error" (it sorts first), its deadlines beside it."""
    if now is not None:
        for d in row.deadlines:
            d.status, d.hours_left = urgency(d.at, now, d.name)
    pending = [d for d in row.deadlines if d.at is not None and d.status != "passed"]
    pending.sort(key=lambda d: (URGENCY_RANK[d.status], d.at))
    first = pending[0] if pending else None
    row.next_deadline = first.name if first else None
    row.next_deadline_at = first.at if first else None
    row.status = "error" if row.error else first.status if first else "unknown"
    row.hours_left = first.hours_left if first else None
    return row


def _agent_folders(rows: list[AuditRow], root: Path) -> None:
    """A case one folder below the root sits in its agent's folder (``cases/小美/TB-…``):
    that names the agent unless case.toml does."""
    for row in rows:
        parent = Path(row.case_dir).parent
        if row.assignee_source != "case.toml" and parent != root:
            row.assignee, row.assignee_source = parent.name, "folder"


def _sort_key(row: AuditRow):
    # Errors first (someone must fix them), then overdue, then by time left.
    return (row.error is None, URGENCY_RANK.get(row.status, 9),
            row.hours_left if row.hours_left is not None else float("inf"), row.case_dir)


def summarise(rows: list[AuditRow]) -> list[ItemSummary]:
    """Which checklist items fail most across the cases: most missing, then most weak."""
    table: dict[tuple[str, str], ItemSummary] = {}
    for row in rows:
        if row.error or row.dispute_type is None:
            continue
        for item in row.items:
            key = (row.dispute_type, item.id)
            entry = table.setdefault(key, ItemSummary(
                dispute_type=row.dispute_type, item_id=item.id, title=item.title,
                level=item.level))
            entry.cases += 1
            if item.cell == "missing":
                entry.missing += 1
            elif item.cell == "weak":
                entry.weak += 1
    failing = [s for s in table.values() if s.missing or s.weak]
    failing.sort(key=lambda s: (-s.missing, -s.weak, s.dispute_type, s.item_id))
    return failing


# Below this many cases to read, a worker pool costs more than it saves.
_POOL_MIN_CASES = 16


def _error_row(folder: Path, exc: Exception) -> AuditRow:
    message = str(exc).splitlines()[0] if str(exc) else ""
    return AuditRow(case_dir=str(folder), status="error",
                    error=f"internal error: {type(exc).__name__}: {message}")


_STATE: dict[str, Any] = {}


def _init_worker(checklist_dirs: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _STATE["checklists"] = None if checklist_dirs else load_checklists()
    _STATE["profiles"] = load_profiles()


def read_case_row(folder: Path, options: CheckOptions, checklists=None, profiles=None
                  ) -> tuple[AuditRow, str | None, bool, bool]:
    """One folder's row, its dispute type's name, whether the row depends on the clock
    beyond deadline urgency, and whether it may be indexed. Never raises."""
    from evidencepack.judge.tracking_facts import derive_facts

    try:
        a = analyse(folder, options.model_copy(update={"jobs": 1}),
                    checklists=checklists if checklists is not None else _STATE.get("checklists"),
                    profiles=profiles if profiles is not None else _STATE.get("profiles"))
    except EvidencePackError as exc:
        # A bad input stays bad until the folder changes: the row may be indexed.
        row, name = _broken_row(folder, exc.render(options.lang), options,
                                checklists if checklists is not None else _STATE.get("checklists"),
                                profiles if profiles is not None else _STATE.get("profiles"))
        return row, name, False, True
    except Exception as exc:  # noqa: BLE001 - one broken folder must not hide the others
        return _error_row(folder, exc), None, False, False
    lang = options.lang or "zh"
    clocked = derive_facts(a.tracking) != a.tracking_facts
    return (_row(folder, a), a.report.name_zh if lang == "zh" else a.report.name_en,
            clocked, True)


def _read_in_pool(folders: list[Path], options: CheckOptions, jobs: int):
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=process_context(["evidencepack.team.audit"]),
                               initializer=_init_worker,
                               initargs=([str(d) for d in options.checklist_dirs],))
    try:
        # Chunks: a small case takes a few milliseconds, a task's round trip about one.
        yield from pool.map(read_case_row, folders, [options] * len(folders),
                            chunksize=max(1, min(64, len(folders) // (jobs * 8))))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def build_audit(root: Path, options: CheckOptions, jobs: int | None = None) -> Audit:
    """Every case under ``root``; unchanged ones from the case index (index.py),
    the others read with ``jobs`` worker processes (default: the usable cores)."""
    from evidencepack.team.index import clock_key, folder_digest, open_index

    folders = case_dirs(root)
    lang = options.lang or "zh"
    now = options.now or datetime.now().astimezone()
    clock = clock_key(now)
    index = open_index(root, folders, options.lang, options.checklist_dirs)
    rows: list[AuditRow] = []
    names: dict[str, str] = {}
    todo: list[tuple[Path, str]] = []
    for folder in folders:
        # Taken before reading: a file changed meanwhile makes the next run read again.
        digest = folder_digest(folder)
        hit = index.lookup(folder, digest, clock)
        if hit is None:
            todo.append((folder, digest))
            continue
        row = AuditRow.model_validate_json(hit[0])
        row.case_dir = str(folder)
        rows.append(_with_urgency(row, now) if row.deadlines else row)
        if hit[1] is not None:
            names.setdefault(row.dispute_type, hit[1])
    count = workers(jobs)
    if count > 1 and len(todo) >= _POOL_MIN_CASES:
        results = _read_in_pool([f for f, _ in todo], options, count)
    else:
        checklists = None if options.checklist_dirs else load_checklists()
        profiles = load_profiles()
        results = (read_case_row(f, options, checklists, profiles) for f, _ in todo)
    for (folder, digest), (row, name, clocked, keep) in zip(todo, results):
        rows.append(row)
        if name is not None:
            names.setdefault(row.dispute_type, name)
        if keep:
            index.store(folder, digest, clock if clocked else None, name, row.model_dump_json())
    index.save(folders)
    _agent_folders(rows, root)
    rows.sort(key=_sort_key)
    return Audit(root=str(root), now=now, lang=lang, rows=rows, summary=summarise(rows),
                 type_names=dict(sorted(names.items())), agents=summarise_agents(rows))


def with_history(audit: Audit) -> Audit:
    """The audit with its root's history, this audit recorded in it (history.py)."""
    import sqlite3

    from evidencepack.team.history import record

    totals = _totals(audit.rows)
    scores = [r.score for r in audit.rows if r.score is not None]
    point = HistoryPoint(at=audit.now, cases=totals["cases"], complete=totals["complete"],
                         incomplete=totals["incomplete"], overdue=totals["overdue"],
                         errors=totals["errors"],
                         mean_score=round(sum(scores) / len(scores), 3) if scores else None)
    try:
        history = record(Path(audit.root), point)
    except (sqlite3.Error, OSError) as exc:
        raise InputError(f"cannot record the audit history ({exc})",
                         path=str(default_cache_dir()),
                         remedy="point EVIDENCEPACK_CACHE at a writable folder, or pass "
                                "--no-history") from None
    return audit.model_copy(update={"history": history})


def _totals(rows: list[AuditRow]) -> dict[str, int]:
    return {
        "cases": len(rows),
        "complete": sum(1 for r in rows if r.complete),
        "incomplete": sum(1 for r in rows if r.complete is False),
        "errors": sum(1 for r in rows if r.error),
        # A broken case still counts when its deadlines are known.
        "overdue": sum(1 for r in rows if any(d.status == "overdue" for d in r.deadlines)),
        **{s: sum(1 for r in rows if r.status == s) for s in ("due_24h", "due_72h")},
    }


# --- JSON ------------------------------------------------------------------------

def audit_json(audit: Audit) -> dict[str, Any]:
    """The documented `audit --json` schema (``evidencepack.audit/1``)."""
    rows = audit.rows
    return {
        "schema": SCHEMA,
        "root": audit.root,
        "now": audit.now.isoformat(),
        "totals": _totals(rows),
        "cases": [r.model_dump(mode="json") for r in rows],
        "item_summary": [s.model_dump(mode="json") for s in audit.summary],
        "agents": [a.model_dump(mode="json") for a in audit.agents],
        "reply_targets": reply_targets(),
        "history": [p.model_dump(mode="json") for p in audit.history],
    }


QUEUE_KEYS = {"case_dir", "case_id", "dispute_type", "complete", "score", "next_deadline",
              "next_deadline_at", "status", "hours_left", "first_missing_id", "first_missing",
              "error", "assignee"}


def queue_json(audit: Audit) -> dict[str, Any]:
    """The documented `queue --json` schema (``evidencepack.queue/1``): the audit's rows,
    most urgent first, with the fields a to-do list needs."""
    return {"schema": "evidencepack.queue/1", "root": audit.root, "now": audit.now.isoformat(),
            "cases": [r.model_dump(mode="json", include=QUEUE_KEYS) for r in audit.rows]}


# --- CSV -------------------------------------------------------------------------

CSV_FIXED = ["case_dir", "case_id", "platform", "dispute_type", "complete", "score",
             "next_deadline", "next_deadline_at", "status", "hours_left",
             "first_missing_id", "first_missing", "error"]


def _safe_cell(value: Any) -> Any:
    """Text a spreadsheet would evaluate (=HYPERLINK(...), +cmd, @SUM) gets a leading '."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _item_columns(audit: Audit) -> list[str]:
    seen: dict[str, None] = {}
    for row in sorted((r for r in audit.rows if r.dispute_type),
                      key=lambda r: r.dispute_type or ""):
        for item in row.items:
            seen.setdefault(f"{row.dispute_type}.{item.id}")
    return list(seen)


CSV_AGENT = ["assignee", "assignee_source", "rude", "off_platform", "first_reply_minutes"]


def csv_text(audit: Audit, lang: str | None = None) -> str:
    """The CSV with id headers and id cells (``lang`` None: for scripts), or with
    headers and cells in ``lang`` for a spreadsheet: item titles, times as
    ``2026-12-01 18:00:00`` in the case's zone (Excel reads them as times), counts
    and scores as numbers, 是/否 for yes and no."""
    deadline_cols = [f"deadline.{name}.{part}" for name in DEADLINE_NAMES
                     for part in ("at", "status", "hours_left")]
    item_cols = _item_columns(audit)
    columns = CSV_FIXED + CSV_AGENT + deadline_cols + item_cols
    words = _csv_words(audit, lang, item_cols) if lang else None
    if words is not None:
        columns = [c for c in columns if c in words]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([words[c] for c in columns] if words is not None else columns)
    for row in audit.rows:
        record: dict[str, Any] = {
            "case_dir": row.case_dir, "case_id": row.case_id, "platform": row.platform,
            "dispute_type": row.dispute_type, "complete": row.complete, "score": row.score,
            "next_deadline": row.next_deadline, "next_deadline_at": row.next_deadline_at,
            "status": row.status, "hours_left": row.hours_left,
            "first_missing_id": row.first_missing_id, "first_missing": row.first_missing,
            "error": row.error,
            **{k: getattr(row, k) for k in CSV_AGENT},
        }
        for d in row.deadlines:
            record[f"deadline.{d.name}.at"] = d.at
            record[f"deadline.{d.name}.status"] = d.status
            record[f"deadline.{d.name}.hours_left"] = d.hours_left
        for item in row.items:
            record[f"{row.dispute_type}.{item.id}"] = item.cell
        cells = [_cell(c, record.get(c), words) for c in columns]
        writer.writerow([_safe_cell(v) if v is not None else "" for v in cells])
    return out.getvalue()


def _cell(column: str, value: Any, words: dict[str, str] | None) -> Any:
    if value is None:
        return None
    if words is None:  # the id format scripts already read
        if isinstance(value, datetime):
            return value.isoformat()
        if column == "complete":
            return str(value).lower()
        if column == "score":
            return f"{value:.3f}"
        return value
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, bool):
        return words["yes" if value else "no"]
    if column == "score":
        return round(value * 100)
    if column == "dispute_type":
        return words.get(f"type:{value}", value)
    if column in ("next_deadline", "platform"):
        return words.get(f"{column}:{value}", value)
    if isinstance(value, str) and f"cell:{value}" in words:
        return words[f"cell:{value}"]
    return value


def _csv_words(audit: Audit, lang: str, item_cols: list[str]) -> dict[str, str]:
    """Header -> words, and the words for the cells (``cell:met``, ``type:<id>``)."""
    from evidencepack.pack.labels import load_labels
    from evidencepack.messages import words as message_words

    zh = lang == "zh"
    W, L = message_words(lang), load_labels(lang)
    names = {c: W["csv_" + c] for c in CSV_FIXED + CSV_AGENT if "csv_" + c in W}
    for name, (zh_label, en_label) in DEADLINE_NAMES.items():
        label = zh_label if zh else en_label
        for part in ("at", "status", "hours_left"):
            names[f"deadline.{name}.{part}"] = W["csv_deadline_" + part].format(label=label)
        names[f"next_deadline:{name}"] = label
    titles = {(r.dispute_type, i.id): i.title for r in audit.rows for i in r.items}
    for column in item_cols:
        type_id, item_id = column.split(".", 1)
        type_name = audit.type_names.get(type_id, type_id)
        names[column] = f"{type_name}·{titles.get((type_id, item_id), item_id)}"
    for type_id, type_name in audit.type_names.items():
        names[f"type:{type_id}"] = type_name
    for platform_id, profile in load_profiles().items():
        names[f"platform:{platform_id}"] = profile.name(lang)
    for cell in ("met", "weak", "missing", "covered", "not_applicable"):
        names[f"cell:{cell}"] = L["ws_" + cell]
    for status in URGENCY_RANK:
        names[f"cell:{status}"] = L[status]
    names["cell:error"] = W["error"]
    names["yes"], names["no"] = W["yes"], W["no"]
    return names


def write_csv(audit: Audit, path: Path, lang: str | None = None) -> None:
    # utf-8-sig: the BOM is what makes Excel read the file as UTF-8, not GBK.
    write_atomic(path, csv_text(audit, lang).encode("utf-8-sig"))


# --- HTML ------------------------------------------------------------------------

@lru_cache(maxsize=None)
def _labels(lang: str) -> dict[str, str]:
    """The dashboard's words (templates/audit_labels.toml)."""
    data = load_toml(builtin_templates() / "audit_labels.toml",
                     display="templates/audit_labels.toml")
    return data["zh" if lang == "zh" else "en"]


def _at_text(at: datetime | None) -> str:
    # No %Z: "CST" is China, Cuba or US Central. The page names the zone once.
    return at.strftime("%Y-%m-%d %H:%M") if at else ""


def _now_text(audit: Audit) -> str:
    from evidencepack.pack.labels import load_labels, zone_text

    offset = audit.now.utcoffset()
    hours = offset.total_seconds() / 3600 if offset is not None else 0
    name = getattr(audit.now.tzinfo, "key", None) or ("Asia/Shanghai" if hours == 8 else "UTC")
    return f"{audit.now:%Y-%m-%d %H:%M} " + zone_text(name, hours, load_labels(audit.lang))


def html_data(audit: Audit) -> dict[str, Any]:
    """What the page's script draws: plain values, times already formatted in each
    case's zone (a browser would show its own zone)."""
    zh = audit.lang == "zh"
    cases = []
    for row in audit.rows:
        data = row.model_dump(mode="json")
        data["name"] = Path(row.case_dir).name
        data["next_deadline_text"] = _at_text(row.next_deadline_at)
        data["next_deadline_label"] = next(
            (d.label for d in row.deadlines if d.name == row.next_deadline), "")
        data["left_text"] = time_left_text(row.hours_left, zh)
        for d, out in zip(row.deadlines, data["deadlines"]):
            out["at_text"] = _at_text(d.at)
            # "May intervene from" once past has started, not been missed.
            out["left_text"] = (_labels(audit.lang)["passed"] if d.status == "passed"
                                else time_left_text(d.hours_left, zh))
        for item, out in zip(row.items, data["items"]):
            out["cell"] = item.cell
        cases.append(data)
    return {"schema": SCHEMA, "lang": audit.lang, "now": audit.now.isoformat(),
            "types": audit.type_names, "cases": cases,
            "summary": [s.model_dump(mode="json") for s in audit.summary]}


def _minutes(minutes: float | None, L: dict[str, str]) -> str:
    if minutes is None:
        return "—"
    if minutes < 90:
        return f"{minutes:.0f} {L['minutes']}"
    return f"{round(minutes / 60, 1):g} {L['hours']}"


def agents_view(audit: Audit) -> list[dict[str, Any]]:
    """The per-agent table as the page shows it; reply cells graded against the targets."""
    L = _labels(audit.lang)

    def grade(minutes: float | None, a: AgentSummary) -> str:
        if minutes is None:
            return "none"
        return "good" if minutes <= a.target_minutes else \
            "slow" if minutes <= a.platform_minutes else "late"

    return [{**a.model_dump(mode="json"), "name": a.agent or L["unassigned"],
             "first_text": _minutes(a.first_reply_minutes, L),
             "median_text": _minutes(a.median_reply_minutes, L),
             "first_grade": grade(a.first_reply_minutes, a),
             "median_grade": grade(a.median_reply_minutes, a)} for a in audit.agents]


def trend_view(audit: Audit, width: int = 640, height: int = 160) -> dict[str, Any]:
    """The history as two polylines (share of complete cases, overdue cases) in an SVG
    box, oldest left; drawn on the server so the page needs no charting code."""
    points = audit.history
    pad = 28
    if len(points) < 2:
        return {"points": len(points), "width": width, "height": height}
    first, last = points[0].at, points[-1].at
    span = (last - first).total_seconds() or 1
    most_overdue = max(max(p.overdue for p in points), 1)

    def x(p: HistoryPoint) -> float:
        return round(pad + (width - 2 * pad) * (p.at - first).total_seconds() / span, 1)

    def y(value: float) -> float:
        return round(height - pad - (height - 2 * pad) * value, 1)

    complete = [(x(p), y(p.complete / p.cases if p.cases else 0)) for p in points]
    overdue = [(x(p), y(p.overdue / most_overdue)) for p in points]
    return {"points": len(points), "width": width, "height": height, "pad": pad,
            "complete": " ".join(f"{a},{b}" for a, b in complete),
            "overdue": " ".join(f"{a},{b}" for a, b in overdue),
            "dots": [{"x": cx, "yc": cy, "yo": oy, "at": p.at.strftime("%m-%d %H:%M"),
                      "share": f"{p.complete / p.cases:.0%}" if p.cases else "—",
                      "overdue": p.overdue}
                     for (cx, cy), (_, oy), p in zip(complete, overdue, points)],
            "first": first.strftime("%Y-%m-%d"), "last": last.strftime("%Y-%m-%d"),
            "most_overdue": most_overdue}


def script_json(data: Any) -> str:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' survive
    literally, so case text cannot close the element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def html_text(audit: Audit) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined
    from markupsafe import Markup

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                      undefined=StrictUndefined)
    totals = audit_json(audit)["totals"]
    targets = reply_targets()
    return env.get_template(TEMPLATE).render(
        agents=agents_view(audit), trend=trend_view(audit),
        targets_text=_labels(audit.lang)["targets"].format(
            target=targets["target_hours"], platform=targets["platform_hours"],
            source=targets["source"]),
        L=_labels(audit.lang), lang=audit.lang, root=audit.root,
        now=_now_text(audit), totals=totals,
        data_json=Markup(script_json(html_data(audit))),
        labels_json=Markup(script_json(_labels(audit.lang))))


def write_html(audit: Audit, path: Path) -> None:
    write_atomic(path, html_text(audit).encode("utf-8"))


# --- files -----------------------------------------------------------------------

def check_output(path: Path, audit: Audit) -> None:
    """Reports go beside the cases, never into one: evidence folders are read-only to us."""
    from evidencepack.inputs.evidence import inside

    for row in audit.rows:
        if inside(Path(row.case_dir), path):
            raise InputError("the report would be written inside a case folder, which holds "
                             "evidence and is never written to", path=path,
                             remedy="choose a path outside the case folders")
