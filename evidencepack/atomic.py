"""Writing output files so a reader never sees half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write to a hidden temporary file beside ``path``, fsync, then rename over it.

    An interrupted or killed writer leaves the previous file or none, never a
    truncated one; the temporary name starts with a dot so nobody uploads it.
    ``durable=False`` skips the fsync, for cache entries that are checked when
    read (a power cut may leave one empty; it is then made again).
    """
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
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
