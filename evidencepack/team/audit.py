"""The team lead's audit: every case under a root, item by item.

Where `queue` answers "what do I do next", `audit` answers "where does the team
stand": each case's dispute type, completeness, every checklist item's status,
every deadline with its urgency and the first missing item, plus a summary of
which checklist items fail most across the team. Broken cases are error rows.

Outputs (all built from one :class:`Audit` model):

* ``audit_json`` — the ``--json`` schema ``evidencepack.audit/1``.
* ``team.spreadsheet.write_csv`` — one row per case, for Excel.
* ``team.dashboard.write_html`` — one self-contained HTML dashboard.

Item-summary counts: *missing* is an item whose status is missing and that no
other member of its group covers (recommended items count too, their level is
shown); *weak* is status weak.
"""

from __future__ import annotations

import signal
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field

from evidencepack.judge.checklist import load_checklists
from evidencepack.judge.deadlines import urgency
from evidencepack.inputs.case import CASE_FILE
from evidencepack.errors import EvidencePackError, InputError
from evidencepack.options import CheckOptions
from evidencepack.pipeline import Analysis, analyse
from evidencepack.judge.profiles import load_profiles
from evidencepack.team.history import HistoryPoint
from evidencepack.inputs.images import default_cache_dir
from evidencepack.team.agents import (AgentSummary, chat_agent, chat_figures, reply_targets,
                                      summarise_agents)
from evidencepack.workers import process_context, workers

SCHEMA = "evidencepack.audit/1"
URGENCY_RANK = {"overdue": 0, "due_24h": 1, "due_72h": 2, "ok": 3, "passed": 4, "unknown": 5}


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


# --- files -----------------------------------------------------------------------

def check_output(path: Path, audit: Audit) -> None:
    """Reports go beside the cases, never into one: evidence folders are read-only to us."""
    from evidencepack.inputs.evidence import inside

    for row in audit.rows:
        if inside(Path(row.case_dir), path):
            raise InputError("the report would be written inside a case folder, which holds "
                             "evidence and is never written to", path=path,
                             remedy="choose a path outside the case folders")
