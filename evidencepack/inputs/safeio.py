"""Reading a case's files: regular files only, each read once, within the limits of data/limits.toml."""

from __future__ import annotations

import hashlib
import os
import stat
import tomllib
from pathlib import Path

from evidencepack.errors import InputError
from evidencepack.resources import DATA

LIMITS = tomllib.loads((DATA / "limits.toml")
                       .read_text(encoding="utf-8"))


LIMIT_REMEDY = "check that the right file is named; limits are listed in the README"


class ChangedFileError(InputError):
    """A file's bytes are not those it was hashed as: it changed during the run."""


class TooLargeError(InputError):
    """A file is over its limit in data/limits.toml."""


def inside(root: Path, candidate: Path) -> bool:
    """Does ``candidate``, symlinks resolved, lie in ``root``? A symlink loop does not
    (Python 3.11 raises RuntimeError for one, later versions OSError)."""
    try:
        candidate.resolve().relative_to(root.resolve())
        return True
    except (ValueError, OSError, RuntimeError):
        return False


def read_regular(path: Path, *, limit: int, display: str | Path | None = None,
                 what: str = "file") -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``limit`` bytes.

    Opened non-blocking and checked before reading, so a FIFO or device in a case
    folder is refused instead of hanging the run; the size is checked on the open
    file, so a file swapped after a stat() cannot slip past the limit.
    """
    where = display if display is not None else path
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot read {what} ({exc.strerror})", path=where) from exc
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"not a regular file; {what}s must be ordinary files", path=where)
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise TooLargeError(f"{what} is larger than the limit of {limit // 1_000_000} MB",
                         path=where, remedy=LIMIT_REMEDY)
    return data


def read_verified(path: Path, sha256: str, *, limit: int, display: str | None = None,
                  what: str = "file") -> bytes:
    """``read_regular``, and the bytes must hash to ``sha256``: what is shown or
    cached under a digest must be the very bytes the digest was taken of."""
    data = read_regular(path, limit=limit, display=display, what=what)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ChangedFileError("the file changed while it was being read (its SHA-256 is not "
                               "the one recorded a moment earlier)", path=display or path,
                               remedy="run the command again once nothing is writing to the case")
    return data
