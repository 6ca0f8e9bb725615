"""How a process that publishes release after release (a served flow, a backfill, the
ten-year benchmark) keeps its memory to what one release needs.

Two allocators hold what a release freed. Polars' jemalloc keeps freed pages for the arena
that freed them until that arena is busy again, and the engine's items run on new threads
every release, so ever more arenas sat on their own high-water marks: under `opensafely`, a
process carried from release 44 stood on 976 MB after release 101 where a fresh process
standing on the same history stood on 613 MB. glibc gives every thread an arena of its own
(up to eight per core), and a release's working memory freed in one thread's arena cannot
serve another's. Both are set here, before polars is loaded: `transforms` is imported first.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import sys
import threading
from collections.abc import Iterator

POLARS_ALLOCATOR = "_RJEM_MALLOC_CONF"
"""Read by polars' jemalloc when polars is loaded; polars adds its own defaults before it."""
GIVE_BACK_AT_ONCE = "dirty_decay_ms:0,muzzy_decay_ms:0"
_M_ARENA_MAX = -8


def usable_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _glibc() -> ctypes.CDLL | None:
    """The C library the interpreter runs on, if it is glibc (the one with `malloc_trim` and
    `mallopt`). Looked up among the process's own symbols: `ctypes.util.find_library` runs
    `ldconfig`, 9-18 ms at every start of a process that imports `transforms`."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    return libc if hasattr(libc, "malloc_trim") else None


GLIBC = _glibc()


def give_back_freed_memory() -> None:
    """Hand the pages glibc holds free back to the system once a release's models are gone
    (under `opensafely` from the history saved at release 59: 494 MB after release 60 and
    767 MB after 66; given back, 387 and 450 MB). Elsewhere than glibc nothing is done."""
    if GLIBC is not None:
        GLIBC.malloc_trim(0)


def bound_allocators() -> None:
    """Polars' jemalloc gives freed pages back at once, and glibc keeps one arena per usable
    core. An operator's own `_RJEM_MALLOC_CONF` (or glibc's `MALLOC_ARENA_MAX` or tunables)
    wins; once polars is loaded its allocator is set and is left as it is."""
    if "polars" not in sys.modules and not os.environ.get(POLARS_ALLOCATOR):
        os.environ[POLARS_ALLOCATOR] = GIVE_BACK_AT_ONCE
    glibc_set = "MALLOC_ARENA_MAX" in os.environ or "glibc.malloc" in os.environ.get(
        "GLIBC_TUNABLES", ""
    )
    if GLIBC is not None and hasattr(GLIBC, "mallopt") and not glibc_set:
        GLIBC.mallopt(_M_ARENA_MAX, usable_cores())


class _CollectorPause:
    """Blocks that want the cyclic collector off, across threads: it goes off with the first
    and back on (with one collection) after the last, if it was on before the first.
    Participation is protected on a thread of its own beside the outcome tables, and it
    finishes first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._was_on = False

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._was_on = gc.isenabled()
                gc.disable()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                resume = self._depth == 0 and self._was_on
                if resume:
                    gc.enable()
            if resume:
                gc.collect()


cyclic_collector_paused = _CollectorPause()
"""The cyclic garbage collector off while a release is protected. The engine makes millions
of small objects that live as long as a release's models (witnesses: under `opensafely` after
release 100, 3.1 million changes) and next to no cycles, so every collection walked them and
freed almost nothing: the one collection after release 101 frees 47 thousand objects. Release
101 from its saved history took 5% less time so under `opensafely`, 3% under `acro` and 15%
under `gmc-sdc`, with the same peak memory."""
