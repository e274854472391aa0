"""How many threads or processes a stage may use: ``--jobs N``, else the usable cores."""

from __future__ import annotations

import os


def workers(jobs: int | None) -> int:
    """``jobs`` as given, or the cores this process may run on (a container's or
    ``taskset``'s limit, not the machine's count)."""
    if jobs is not None:
        return max(1, jobs)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
