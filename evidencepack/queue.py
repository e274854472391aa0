"""The agent's to-do list: every case under a root, most urgent first.

A broken case is an error row, never a reason to hide the others.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

from evidencepack.case import CASE_FILE
from evidencepack.checklist import load_checklists
from evidencepack.errors import EvidencePackError, InputError
from evidencepack.pipeline import Options, analyse
from evidencepack.profiles import load_profiles

_URGENCY_RANK = {"overdue": 0, "due_24h": 1, "due_72h": 2, "ok": 3, "passed": 4, "unknown": 5}


class QueueRow(BaseModel):
    case_dir: str
    case_id: str | None = None
    dispute_type: str | None = None
    complete: bool | None = None
    score: float | None = None
    next_deadline: str | None = None  # deadline name
    next_deadline_at: datetime | None = None
    status: str | None = None  # the most urgent deadline status
    hours_left: float | None = None
    first_missing: str | None = None
    error: str | None = None


def case_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        raise InputError("cases root is not a folder", path=root)
    return sorted(p.parent for p in root.glob(f"*/{CASE_FILE}"))


def build_queue(root: Path, options: Options) -> list[QueueRow]:
    checklists = None if options.checklist_dirs else load_checklists()
    profiles = load_profiles()
    rows: list[QueueRow] = []
    for folder in case_dirs(root):
        try:
            a = analyse(folder, options, checklists=checklists, profiles=profiles)
        except EvidencePackError as exc:
            rows.append(QueueRow(case_dir=str(folder), error=str(exc), status="error"))
            continue
        pending = [d for d in a.deadlines if d.at is not None and d.status != "passed"]
        pending.sort(key=lambda d: (_URGENCY_RANK[d.status], d.at))
        first = pending[0] if pending else None
        missing = a.report.missing
        rows.append(QueueRow(
            case_dir=str(folder), case_id=a.case.case_id, dispute_type=a.case.dispute_type,
            complete=a.report.complete, score=a.report.score,
            next_deadline=first.label if first else None,
            next_deadline_at=first.at if first else None,
            status=first.status if first else "unknown",
            hours_left=first.hours_left if first else None,
            first_missing=missing[0].title if missing else None))
    # Errors first (someone must fix them), then overdue, then by time left.
    rows.sort(key=lambda r: (r.error is None, _URGENCY_RANK.get(r.status or "", 9),
                             r.hours_left if r.hours_left is not None else float("inf"),
                             r.case_dir))
    return rows
