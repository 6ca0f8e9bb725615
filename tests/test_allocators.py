"""A process that publishes release after release gives back what each release freed (issue 7:
under `opensafely`, a process carried from release 44 stood on 976 MB after release 101 where a
fresh one stood on 613 MB). Each check runs in a fresh interpreter, because allocators are set
once, before polars is loaded, and an operator's own settings win."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from transforms.memory import GIVE_BACK_AT_ONCE, GLIBC, POLARS_ALLOCATOR, usable_cores

ROOT = Path(__file__).resolve().parents[1]
linux_only = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads resident memory from /proc"
)

POLARS_FREES = """
import json, sys
first = sys.argv[1]
if first != "polars":
    __import__(first)
import polars as pl

def resident_mb():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) // 1024 for line in f if line.startswith("VmRSS"))

before = resident_mb()
frames = [pl.DataFrame({"x": pl.int_range(0, 125_000, eager=True) + i}) for i in range(300)]
held = resident_mb()
del frames
kept = resident_mb() - before
print(json.dumps({"conf": pl.jemalloc_conf, "taken": held - before, "kept": kept}))
"""

THREADS_ALLOCATE = """
import ctypes, json, re, sys, tempfile, threading
import transforms
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
n = int(sys.argv[1])
together = threading.Barrier(n)

def work():
    held = [bytes(4096) for _ in range(200)]
    together.wait()

threads = [threading.Thread(target=work) for _ in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
with tempfile.NamedTemporaryFile(suffix=".xml") as out:
    f = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, f)
    libc.fclose(f)
    print(json.dumps({"arenas": len(re.findall("<heap nr=", open(out.name).read()))}))
"""


def run(script: str, *args: str, **env: str) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if k not in (POLARS_ALLOCATOR, "MALLOC_ARENA_MAX")}
    clean.pop("GLIBC_TUNABLES", None)
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env={**clean, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


@linux_only
def test_polars_gives_freed_memory_back_at_once_when_transforms_is_imported_first() -> None:
    bounded = run(POLARS_FREES, "transforms")
    assert bounded["conf"].endswith(GIVE_BACK_AT_ONCE)
    assert bounded["taken"] > 200
    assert bounded["kept"] < 0.2 * bounded["taken"]

    as_polars_sets_it = run(POLARS_FREES, "polars")
    assert GIVE_BACK_AT_ONCE not in as_polars_sets_it["conf"]
    assert as_polars_sets_it["kept"] > 0.8 * as_polars_sets_it["taken"]


@linux_only
def test_an_operator_s_own_polars_allocator_setting_wins() -> None:
    own = run(POLARS_FREES, "transforms", **{POLARS_ALLOCATOR: "dirty_decay_ms:10000"})
    assert own["conf"].endswith("dirty_decay_ms:10000")
    assert GIVE_BACK_AT_ONCE not in own["conf"]


@pytest.mark.skipif(GLIBC is None or not hasattr(GLIBC, "malloc_info"), reason="glibc only")
def test_threads_share_one_glibc_arena_per_usable_core() -> None:
    threads = usable_cores() + 4
    assert run(THREADS_ALLOCATE, str(threads))["arenas"] <= usable_cores()
    own = run(THREADS_ALLOCATE, str(threads), MALLOC_ARENA_MAX=str(threads + 8))
    assert own["arenas"] > usable_cores()
