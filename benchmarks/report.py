"""benchmarks/results.md, shared by every benchmark: each one rewrites only its own section
(between marker comments), so running one benchmark never loses another's last results."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

RESULTS = Path(__file__).with_name("results.md")
HEADER = (
    "# Benchmarks\n\n"
    "Written by `make bench` (each benchmark rewrites only its own section). Timings are "
    "measurements, never asserted by the test suite.\n"
)
PACKAGES = ("polars", "numpy", "scipy", "highspy", "duckdb")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gb() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.1f} GB"
    except OSError:
        pass
    return "unknown"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine_lines() -> list[str]:
    """Where and when a measurement was taken: timings mean nothing without it."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    packages = ", ".join(f"{p} {_version(p)}" for p in PACKAGES)
    return [
        f"- Date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- Machine: {_cpu_model()}; {os.cpu_count()} cores ({usable} usable); "
        f"{_memory_gb()} memory; load average at start {load}",
        f"- Python {platform.python_version()} ({platform.system()} {platform.release()}); "
        f"{packages}",
        f"- Code: {git_state()}",
    ]


def git_state(paths: tuple[str, ...] = ("transforms",)) -> str:
    """The commit measured, and whether the working tree differs from it under `paths`."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", *paths],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "git unavailable"
    changes = f"uncommitted changes under {', '.join(paths)}" if dirty else "clean"
    return f"commit {head} ({changes})"


def write_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Replace section `name` of results.md with `body`, keeping every other section."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip()}\n{end}\n"
    text = path.read_text() if path.exists() else HEADER
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1].lstrip("\n")
        text = before + block + ("\n" + after if after else "")
    else:
        text = text.rstrip() + "\n\n" + block
    path.write_text(text)
