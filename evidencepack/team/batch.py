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

import hashlib
import json
import os
import re
import signal
import time
import unicodedata
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from pydantic import BaseModel, Field

from evidencepack import __version__
from evidencepack.atomic import write_atomic
from evidencepack.inputs.case import CASE_FILE
from evidencepack.errors import EvidencePackError, ExitCode, InputError
from evidencepack.inputs.evidence import inside
from evidencepack.options import BuildOptions, CheckOptions
from evidencepack.pack.manifest import Manifest, read_manifest
from evidencepack.team.export import CASE_KEYS, Export, ReasonTable, load_mapping, read_export
from evidencepack.inputs.times import parse_time
from evidencepack.workers import process_context, workers


STATUSES = ("built", "incomplete", "skipped", "failed", "error")


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


def _read_manifest(path: Path) -> Manifest | None:
    # A missing or malformed manifest is no proof the pack is current: it is rebuilt.
    try:
        return read_manifest(json.loads(path.read_text(encoding="utf-8")), beside=True)
    except (OSError, ValueError):
        return None


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
        from evidencepack.api import pack_digest, write_pack

        digest = pack_digest(analysis, opts)
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
        if old and old.input_digest == digest and output.is_file() \
                and sha256_file(output) == old.pdf.sha256:
            result.status = "skipped"
            result.pages, result.size, result.sha256 = old.pdf.pages, old.pdf.size, old.pdf.sha256
        else:
            if old:
                result.notes.append("rebuilt: " + ("inputs or options changed"
                                                   if old.input_digest != digest
                                                   else "the PDF is missing or changed"))
            built = write_pack(analysis, opts).result
            result.status = "built" if report.complete else "incomplete"
            result.pages, result.size, result.sha256 = built.pages, built.size, built.sha256
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

    def text(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, indent=2)


def exit_code(rows: list[RowResult]) -> int:
    if any(r.status in ("failed", "error") for r in rows):
        return ExitCode.FAILED
    if any(r.complete is False for r in rows):
        return ExitCode.INCOMPLETE
    return ExitCode.OK


class OutLock:
    """Holds ``--out`` for one batch, from its plan until its report is written.

    A second batch on the same folder would rebuild packs the first has
    already reported, so the first report would name hashes of files that are
    no longer there. The lock is on the folder itself, so nothing is left in
    it; shards of one split never build the same pack, so they share it.
    """

    def __init__(self, out: Path, *, shared: bool = False) -> None:
        self.out, self.shared, self.fd = out, shared, None

    def take(self) -> None:
        import fcntl

        if self.fd is not None:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.out, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
                     | getattr(os, "O_CLOEXEC", 0))
        try:
            fcntl.flock(fd, (fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InputError("another batch is writing to this folder; its report would name "
                             "packs this run replaces", path=self.out,
                             remedy="wait for it to finish, or choose another --out") from None
        self.fd = fd

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "OutLock":
        self.take()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def run_batch(export_path: Path, cases_root: Path, out: Path, *, options: CheckOptions,
              generated_at: datetime, jobs: int | None = None, force: bool = False,
              shard: tuple[int, int] | None = None, mapping: Path | None = None,
              progress: Progress | None = None, report_file: Path | None = None) -> BatchReport:
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
    lock = OutLock(out, shared=shard is not None)
    try:
        if out.is_dir():
            lock.take()  # before the plan, which skips the packs it finds there
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
            lock.take()  # this makes --out when it is new
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
        report = BatchReport(
            export=str(export_path), format=export.format, encoding=export.encoding,
            columns=export.columns, ignored_columns=export.ignored_columns,
            cases_root=str(cases_root), out=str(out),
            shard=f"{shard[0]}/{shard[1]}" if shard else None, jobs=jobs, force=force,
            generated_at=generated_at.isoformat(), seconds=round(time.monotonic() - started, 2),
            summary=summary, exit_code=130 if interrupted else exit_code(rows), rows=rows,
            interrupted=interrupted)
        if report_file is not None:
            write_atomic(report_file, (report.text() + "\n").encode("utf-8"))
        return report
    finally:
        lock.release()


def _run_pool(tasks: list[Task], results: dict[int, RowResult], workers: int,
              checklist_dirs: list[str], progress: Progress | None) -> None:
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=process_context(
                                   ["evidencepack.team.batch", "evidencepack.pipeline",
                                    "evidencepack.pack.render", "weasyprint"]),
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
