"""Writing output files so a reader never sees half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _stage(path: Path, data: bytes, durable: bool) -> str:
    """Write ``data`` to a hidden temporary file beside ``path``; its name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        # mkstemp creates 0600; outputs are ordinary documents, so honour the umask.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write to a hidden temporary file beside ``path``, fsync, then rename over it.

    An interrupted or killed writer leaves the previous file or none, never a
    truncated one; the temporary name starts with a dot so nobody uploads it.
    ``durable=False`` skips the fsync, for cache entries that are checked when
    read (a power cut may leave one empty; it is then made again).
    """
    tmp = _stage(path, data, durable)
    try:
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_pair(first: Path, first_data: bytes, second: Path, second_data: bytes) -> None:
    """Write two files that only make sense together (a pack and its manifest).

    Two renames cannot be one atomic step, so the old ``second`` is removed
    before ``first`` is replaced: a kill at any moment leaves the old pair, a
    file without its partner, or the new pair; never a new ``first`` beside an
    old ``second``. Both are written and fsynced before either is renamed.
    """
    staged: list[str] = []
    try:
        staged.append(_stage(first, first_data, True))
        staged.append(_stage(second, second_data, True))
        if second.exists():
            os.unlink(second)
        os.replace(staged[0], first)
        os.replace(staged[1], second)
    except BaseException:
        for tmp in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
        raise
