"""The case index: each case folder's input digest -> its audit row, in SQLite.

`queue` and `audit` over a team's thousands of case folders re-read only what
changed. A folder's digest is cheap to take: the path, type, size, mtime, ctime
and inode of every entry under it (a symlink's target too), plus case.toml's
bytes; it is keyed by a context digest of the tool version, the package's code
and data files (checklists, profiles, tagging cues...), any ``--checklists``
folder's files and the language. An edit, a new or deleted file, a chmod or a
touch changes the digest, and the case is read again.

A row depends on the clock in two ways. Deadline urgency is recomputed from the
stored times at every read (``deadlines.urgency``). An undelivered parcel's
current silence counts as a tracking gap (``tracking.derive_facts``), which can
change a checklist item or start the logistics-appeal clock: such a row holds
only for the exact ``--now`` it was made with, so without ``--now`` it is read
again each run.

The index is an optimisation, never a source of truth: an index that cannot be
opened, read or written (a read-only cache, a corrupt file, a lock held too
long) is ignored and every case is read.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import time
from datetime import datetime
from pathlib import Path

from evidencepack import __version__
from evidencepack.resources import DATA

# The whole package's code (this module is in evidencepack/team/): a change anywhere in it
# may change a case's row.
PACKAGE = Path(__file__).resolve().parent.parent
INDEX_FILE = "case-index-v1.sqlite3"
# Entries of a context (an older version, another --lang) unused for this long go.
STALE_SECONDS = 30 * 24 * 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    folder TEXT NOT NULL,   -- absolute path of the case folder
    context TEXT NOT NULL,  -- context_digest()
    root TEXT NOT NULL,     -- absolute path of the cases root it was read under
    digest TEXT NOT NULL,   -- folder_digest()
    clock TEXT,             -- the --now the row holds for; NULL: any time
    name TEXT,              -- the dispute type's name in the language
    row TEXT NOT NULL,      -- AuditRow as JSON
    used REAL NOT NULL,     -- when last read or written (time.time())
    PRIMARY KEY (folder, context)
)"""


def _add_tree(h, path: str, rel: bytes) -> None:
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        h.update(b"!%s %d\n" % (rel, exc.errno or 0))
        return
    for entry in entries:
        name = rel + b"/" + os.fsencode(entry.name)
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            h.update(b"!%s %d\n" % (name, exc.errno or 0))
            continue
        h.update(b"%s %o %d %d %d %d\n" % (name, st.st_mode, st.st_size, st.st_mtime_ns,
                                          st.st_ctime_ns, st.st_ino))
        if stat.S_ISLNK(st.st_mode):
            # Where it points and what is there: a retargeted or refilled link.
            try:
                target = os.stat(entry.path)
                h.update(b"-> %s %o %d %d %d %d\n" % (
                    os.fsencode(os.readlink(entry.path)), target.st_mode, target.st_size,
                    target.st_mtime_ns, target.st_ctime_ns, target.st_ino))
            except OSError as exc:
                h.update(b"-> ! %d\n" % (exc.errno or 0))
        elif stat.S_ISDIR(st.st_mode):
            _add_tree(h, entry.path, name)


def folder_digest(folder: Path) -> str:
    """What the case's inputs look like on disk, without reading any but case.toml."""
    from evidencepack.inputs.case import CASE_FILE

    h = hashlib.sha256()
    _add_tree(h, str(folder), b".")
    try:
        with open(folder / CASE_FILE, "rb") as f:
            h.update(b"case.toml\0" + f.read())
    except OSError as exc:
        h.update(b"case.toml! %d" % (exc.errno or 0))
    return h.hexdigest()


def _add_files(h, folder: Path, pattern: str, content: bool) -> None:
    for path in sorted(folder.rglob(pattern)):
        rel = path.relative_to(folder).as_posix().encode()
        if content:
            try:
                h.update(rel + b"\0" + path.read_bytes() + b"\0")
            except OSError as exc:
                h.update(rel + b"! %d\0" % (exc.errno or 0))
        else:
            st = path.stat()
            h.update(b"%s %d %d\n" % (rel, st.st_size, st.st_mtime_ns))


def context_digest(lang: str | None, checklist_dirs) -> str:
    """Everything besides the case folder that a row is computed from."""
    h = hashlib.sha256(f"{__version__}|{lang}|".encode())
    # Code by size and mtime (a development checkout changes without a version
    # bump); data files by content: they are what a checklist edit touches.
    _add_files(h, PACKAGE, "*.py", content=False)
    _add_files(h, DATA, "*", content=True)
    for folder in checklist_dirs:
        h.update(b"checklists\0" + os.fsencode(os.path.abspath(folder)) + b"\0")
        if folder.is_dir():
            _add_files(h, folder, "*", content=True)
    return h.hexdigest()


class CaseIndex:
    """One run's view of the index for one cases root and context."""

    def __init__(self, path: Path | None, root: Path, context: str):
        self.root = os.path.abspath(root)
        self.context = context
        self._db: sqlite3.Connection | None = None
        self._known: dict[str, tuple[str, str | None, str | None, str]] = {}
        self._writes: list[tuple] = []
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=5)
            self._db.execute(_SCHEMA)
            self._known = {folder: (digest, clock, name, row) for folder, digest, clock, name, row
                           in self._db.execute("SELECT folder, digest, clock, name, row FROM "
                                               "cases WHERE root = ? AND context = ?",
                                               (self.root, context))}
        except (OSError, sqlite3.Error):
            self._close()
            self._known = {}

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def key(self, folder: Path) -> str:
        return os.path.join(self.root, folder.name)

    def lookup(self, folder: Path, digest: str, clock: str) -> tuple[str, str | None] | None:
        """The stored (row JSON, type name) if the folder is as it was, else None."""
        known = self._known.get(self.key(folder))
        if known is None or known[0] != digest or known[1] not in (None, clock):
            return None
        return known[3], known[2]

    def store(self, folder: Path, digest: str, clock: str | None, name: str | None,
              row: str) -> None:
        self._writes.append((self.key(folder), self.context, self.root, digest, clock, name, row))

    def save(self, folders: list[Path]) -> None:
        """Write the new rows, mark the read ones used, forget deleted folders."""
        if self._db is None:
            return
        now = time.time()
        present = {self.key(f) for f in folders}
        gone = [(k, self.context) for k in self._known if k not in present]
        written = {w[0] for w in self._writes}
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO cases VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                     [(*w, now) for w in self._writes])
                self._db.executemany("DELETE FROM cases WHERE folder = ? AND context = ?", gone)
                self._db.executemany("UPDATE cases SET used = ? WHERE folder = ? AND context = ?",
                                     [(now, k, self.context) for k in present - written
                                      if k in self._known])
                self._db.execute("DELETE FROM cases WHERE used < ?", (now - STALE_SECONDS,))
        except sqlite3.Error:
            pass  # the next run reads those cases again
        finally:
            self._close()


def open_index(root: Path, folders: list[Path], lang: str | None, checklist_dirs) -> CaseIndex:
    """The index in the cache directory; a no-op one when the cache lies inside a case
    folder (evidence folders are never written to; each such case says so as an error)."""
    from evidencepack.inputs.images import default_cache_dir

    cache = Path(os.path.abspath(default_cache_dir()))
    real_cache, real_root = cache.resolve(), root.resolve()
    inside_case = real_cache.is_relative_to(real_root) and real_cache != real_root and any(
        f.name == real_cache.relative_to(real_root).parts[0] for f in folders)
    context = context_digest(lang, checklist_dirs)
    return CaseIndex(None if inside_case else cache / INDEX_FILE, root, context)


def clock_key(now: datetime) -> str:
    return now.isoformat()
