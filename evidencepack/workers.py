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


def process_context(preload: list[str]):
    """Not fork: the parent may run a progress-bar thread, and forking a threaded
    process can deadlock. A fork server (POSIX) imports ``preload`` once and forks
    each worker from it; elsewhere each worker is spawned and imports them itself."""
    import multiprocessing

    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(preload)
        return ctx
    return multiprocessing.get_context("spawn")
