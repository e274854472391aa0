"""A history of audits, so the lead's dashboard can show the trend.

Each `audit` run records one point per cases root (its totals as of the audit's
"now") in ``audit-history.sqlite`` in the cache folder (EVIDENCEPACK_CACHE), beside
the case index. Its own file: the index is rebuilt at will, the history is not.
A second audit with the same root and the same "now" replaces its point, so a
run repeated with a fixed --now does not count twice. Standard library only.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel

from evidencepack.inputs.images import default_cache_dir

FILE_NAME = "audit-history.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS audits (
    root TEXT NOT NULL,
    at TEXT NOT NULL,            -- the audit's "now", ISO 8601 with its offset
    cases INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    incomplete INTEGER NOT NULL,
    overdue INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    mean_score REAL,
    PRIMARY KEY (root, at)
)
"""


class HistoryPoint(BaseModel):
    at: AwareDatetime
    cases: int
    complete: int
    incomplete: int
    overdue: int
    errors: int
    mean_score: float | None = None


def history_file() -> Path:
    return default_cache_dir() / FILE_NAME


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=10)
    db.execute(_SCHEMA)
    return db


def record(root: Path, point: HistoryPoint, path: Path | None = None) -> list[HistoryPoint]:
    """Store ``point`` for ``root`` and return the root's history, oldest first."""
    key = str(root.resolve())
    with closing(_connect(path or history_file())) as db, db:
        db.execute("INSERT OR REPLACE INTO audits VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (key, point.at.isoformat(), point.cases, point.complete, point.incomplete,
                    point.overdue, point.errors, point.mean_score))
        rows = db.execute("SELECT at, cases, complete, incomplete, overdue, errors, mean_score "
                          "FROM audits WHERE root = ?", (key,)).fetchall()
    points = [HistoryPoint(at=datetime.fromisoformat(at), cases=c, complete=ok, incomplete=inc,
                           overdue=od, errors=err, mean_score=score)
              for at, c, ok, inc, od, err, score in rows]
    return sorted(points, key=lambda p: p.at)
