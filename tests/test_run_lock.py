"""One run at a time, said plainly: a second run stops at once naming who holds the warehouse,
or waits for it; a lock left by a killed run is taken over; never a traceback. The holders here
are real processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from fixtures.regional_drop import write_seed_study
from tests.e2e import reflect_eval
from transforms.errors import WarehouseBusyError
from transforms.run_lock import holder, lock_path, run_lock

ROOT = Path(__file__).resolve().parents[1]
HOLD = """
import sys
from pathlib import Path
from transforms.run_lock import run_lock
with run_lock(Path(sys.argv[1]), command="test holder"):
    print("held", flush=True)
    sys.stdin.readline()
"""


@contextmanager
def held(warehouse: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lock until its stdin gets a line (or it is killed)."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def let_go(process: subprocess.Popen[str], after: float = 0.0) -> None:
    time.sleep(after)
    assert process.stdin is not None
    process.stdin.write("\n")
    process.stdin.flush()


def test_a_second_run_stops_at_once_naming_the_holder(tmp_path: Path):
    with held(tmp_path) as process:
        now = holder(tmp_path)
        assert now is not None and now.pid == process.pid and now.command == "test holder"
        with pytest.raises(WarehouseBusyError) as busy, run_lock(tmp_path):
            pass
        assert f"pid {process.pid}" in str(busy.value) and "started 20" in str(busy.value)
        assert "--wait" in str(busy.value)
    assert holder(tmp_path) is None, "a run that ends lets go"


def test_a_run_told_to_wait_takes_the_lock_when_the_holder_ends(tmp_path: Path):
    with held(tmp_path) as process:
        started = time.monotonic()
        with (
            pytest.raises(WarehouseBusyError, match=r"after waiting 0\.5 s"),
            run_lock(tmp_path, wait=0.5),
        ):
            pass
        assert time.monotonic() - started >= 0.5
        let_go(process)
        with run_lock(tmp_path, wait=30) as taken:
            assert taken.took_over is None, "the holder ended cleanly"
            assert holder(tmp_path) is not None


def test_a_lock_left_by_a_killed_run_is_taken_over_and_named(tmp_path: Path):
    with held(tmp_path) as process:
        process.kill()
        process.wait()
        assert lock_path(tmp_path).read_text(), "the killed run never cleared the file"
        assert holder(tmp_path) is None, "but the kernel let go of its lock"
        with run_lock(tmp_path) as taken:
            assert taken.took_over is not None and taken.took_over.pid == process.pid


def test_the_lock_is_reentrant_within_a_process(tmp_path: Path):
    with run_lock(tmp_path), run_lock(tmp_path):
        assert holder(tmp_path) is not None
    assert holder(tmp_path) is None


@pytest.mark.e2e
def test_two_runs_at_once_one_line_and_no_prefect_started(tmp_path: Path):
    """`reflect-eval run` while another run holds the warehouse: exit 3 with one line naming it,
    before Prefect starts (its home stays empty); with --wait it runs once the other ends."""
    drop = write_seed_study(tmp_path, min_cell=3)
    home = tmp_path / "prefect-home"
    with held(tmp_path / "warehouse") as process:
        busy = reflect_eval("run", "--config", str(drop.config_path), prefect_home=home)
        assert busy.code == 3
        assert busy.stdout == ""
        assert busy.stderr.count("\n") == 1 and busy.stderr.startswith("error: another")
        assert f"pid {process.pid}" in busy.stderr and "Traceback" not in busy.stderr
        assert not home.exists() or not any(home.iterdir()), "Prefect never started"
        releaser = threading.Thread(target=let_go, args=(process, 3.0))
        releaser.start()
        started = time.monotonic()
        waited = reflect_eval(
            "run", "--config", str(drop.config_path), "--wait", "60", prefect_home=home
        )
        releaser.join()
        assert time.monotonic() - started >= 3.0
    assert waited.code == 0, waited.output
    assert "published release 1" in waited.stdout


def test_a_lock_that_cannot_be_made_is_a_plain_config_error(tmp_path: Path):
    from transforms.errors import ConfigError

    (tmp_path / "elsewhere").write_text("not a folder", encoding="utf-8")
    with (
        pytest.raises(ConfigError, match="cannot make the warehouse folder"),
        run_lock(tmp_path / "elsewhere" / "warehouse"),
    ):
        pass
    lock = tmp_path / "warehouse" / ".reflect-eval.lock"
    lock.parent.mkdir()
    lock.symlink_to(tmp_path / "target")
    with pytest.raises(ConfigError, match="cannot open the run lock"), run_lock(lock.parent):
        pass
    assert not (tmp_path / "target").exists(), "a link is never followed"
