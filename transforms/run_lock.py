"""One run at a time, said plainly. A run takes the lock in the warehouse folder before anything
else starts (Prefect included) and holds it to the end; a second run waits for it (`wait`
seconds) or stops at once, naming who holds it.

The lock is an `flock` on `.reflect-eval.lock`, so the kernel lets go of it when its holder
dies, however it dies: a lock left by a killed run is simply free, and the next run takes it
over and says so (the file still names the run that never cleared it). Within one process the
lock is re-entrant: the command line takes it, then the flow it starts finds it already held."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from transforms.errors import ConfigError, WarehouseBusyError

LOCK_NAME = ".reflect-eval.lock"
POLL_SECONDS = 0.2
_HELD: dict[Path, int] = {}
"""Locks this process holds, and how many times it has taken each."""


@dataclass(frozen=True)
class Holder:
    pid: int
    started: str
    host: str
    command: str

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, started {self.started} ({self.command})"


@dataclass(frozen=True)
class Taken:
    path: Path
    took_over: Holder | None
    """The run that held the lock last and ended without clearing it (killed), if any."""


def lock_path(warehouse: Path) -> Path:
    return warehouse / LOCK_NAME


def holder(warehouse: Path) -> Holder | None:
    """Who holds the lock now, or None when it is free (whatever the file says)."""
    path = lock_path(warehouse)
    if not path.exists():
        return None
    with path.open("r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(path) or Holder(0, "unknown", "unknown", "unknown")
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


@contextmanager
def run_lock(warehouse: Path, *, wait: float = 0.0, command: str = "run") -> Iterator[Taken]:
    """Hold the run lock for the `with` block; raise `WarehouseBusyError` when another run
    holds it for longer than `wait` seconds."""
    try:
        warehouse.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot make the warehouse folder {warehouse}: {exc.strerror}") from None
    path = lock_path(warehouse.resolve())
    if path in _HELD:
        _HELD[path] += 1
        try:
            yield Taken(path, None)
        finally:
            _HELD[path] -= 1
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise ConfigError(f"cannot open the run lock {path}: {exc.strerror}") from None
    try:
        _acquire(fd, path, wait)
        stale = _read(path)
        me = Holder(
            os.getpid(),
            datetime.now(UTC).isoformat(timespec="seconds"),
            socket.gethostname(),
            command,
        )
        _write(fd, json.dumps(me.__dict__))
        _HELD[path] = 1
        try:
            yield Taken(path, stale)
        finally:
            del _HELD[path]
            _write(fd, "")
    finally:
        os.close(fd)  # closing lets go of the flock


def _acquire(fd: int, path: Path, wait: float) -> None:
    deadline = time.monotonic() + max(wait, 0.0)
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                current = _read(path)
                who = current.describe() if current else "another process"
                waited = f" after waiting {wait:g} s" if wait > 0 else ""
                raise WarehouseBusyError(
                    f"another reflect-eval run holds {path.parent}{waited}: {who}; "
                    "try again when it ends, or use --wait SECONDS"
                ) from None
            time.sleep(POLL_SECONDS)


def _read(path: Path) -> Holder | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
        return Holder(**json.loads(text)) if text else None
    except (OSError, ValueError, TypeError):
        return None


def _write(fd: int, text: str) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode("utf-8"), 0)
    os.fsync(fd)


def command_line() -> str:
    """What started this process, for the one line a second run prints (no arguments)."""
    return Path(sys.argv[0]).name + (f" {sys.argv[1]}" if len(sys.argv) > 1 else "")
