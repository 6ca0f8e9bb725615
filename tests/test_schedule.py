"""Scheduling: `reflect-eval serve` registers a cron deployment with a real Prefect server, and a
run asked for on demand processes the drop folder."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.regional_drop import write_drop
from flows.server import local_server
from flows.server import stop_group as stop
from tests.e2e import COMMAND, command_env, query, reflect_eval

pytestmark = pytest.mark.e2e
PREFECT = str(Path(sys.executable).parent / "prefect")
TEST_RUN_FOLDERS = {".hypothesis", ".pytest_cache"}


def wait_for(check, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    pytest.fail(f"gave up waiting for {what}")


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real `prefect server start` on a loopback port, for this module only (started as
    `serve` starts its own)."""
    home = tmp_path_factory.mktemp("prefect-server")
    env = command_env(home) | {"PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    with local_server(home) as url:
        yield env | {"PREFECT_API_URL": url}


def test_serve_with_nothing_but_the_package_starts_and_stops_its_own_server(tmp_path: Path):
    """No PREFECT_API_URL: serve starts a Prefect server on loopback with its state in the
    project folder, registers the training-day calendar, runs on demand, and when it is
    stopped (SIGTERM, as a service manager stops it) the server stops with it."""
    drop = write_drop(tmp_path, n_regions=1, n_training_days=1)
    with drop.config_path.open("a", encoding="utf-8") as config:
        config.write(
            "\n[schedule]\ntraining_days = [2031-01-15, 2031-07-16]\ndaily_sweep = 07:30:00\n"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        served = subprocess.Popen(
            [COMMAND, "serve", "--config", str(drop.config_path)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = ""

    def started() -> bool:
        nonlocal url
        found = re.search(r"started a Prefect server at (\S+)", log_path.read_text())
        url = found.group(1) if found else ""
        return bool(url)

    def prefect(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PREFECT, *args], env=env | {"PREFECT_API_URL": url}, capture_output=True, text=True
        )

    deployment = "reflect-eval-ingest/reflect-eval"
    try:
        wait_for(started, seconds=180, what="serve to start its server")
        assert url.startswith("http://127.0.0.1:")
        wait_for(
            lambda: prefect("deployment", "inspect", deployment).returncode == 0,
            seconds=120,
            what="the deployment",
        )
        shown = prefect("deployment", "inspect", deployment).stdout
        assert "RDATE:20310115T190000,20310716T190000" in shown and "30 7 * * *" in shown
        assert shown.count("Europe/London") >= 2
        assert prefect("deployment", "run", deployment).returncode == 0
        published = tmp_path / "warehouse" / "published.duckdb"
        wait_for(published.exists, seconds=240, what="the on-demand run to publish")
        assert (tmp_path / ".prefect" / "prefect.db").exists(), "state in the project folder"
        os.kill(served.pid, signal.SIGTERM)
        served.wait(timeout=60)
        wait_for(lambda: not healthy(url), seconds=30, what="the server to stop with serve")
    finally:
        stop(served)
    assert "Traceback" not in log_path.read_text()


def test_the_calendar_runs_at_local_time_through_the_clock_change():
    from flows.schedule import SWEEP, TRAINING_DAY, next_runs
    from schemas.config import Schedule

    calendar = Schedule(
        training_days=[dt.date(2027, 4, 7), dt.date(2027, 3, 24)],
        daily_sweep=dt.time(7, 30),
    )
    runs = next_runs(calendar, count=4, after=dt.datetime(2027, 3, 23, 12, tzinfo=dt.UTC))
    days = [when for when, why in runs if why == TRAINING_DAY]
    assert [d.strftime("%Y-%m-%d %H:%M %Z") for d in days] == [
        "2027-03-24 19:00 GMT",
        "2027-04-07 19:00 BST",
    ]
    assert [d.astimezone(dt.UTC).hour for d in days] == [19, 18], "7 pm local, either side"
    sweeps = next_runs(calendar, count=6, after=dt.datetime(2027, 3, 26, 12, tzinfo=dt.UTC))
    mornings = [w.astimezone(dt.UTC).strftime("%d %H:%M") for w, why in sweeps if why == SWEEP]
    assert mornings[:3] == ["27 07:30", "28 06:30", "29 06:30"], "07:30 local, GMT then BST"


def test_a_calendar_in_an_unknown_time_zone_is_a_config_error(tmp_path: Path):
    drop = write_drop(tmp_path, n_regions=1, n_training_days=1)
    with drop.config_path.open("a", encoding="utf-8") as config:
        config.write('\n[schedule]\ntime_zone = "Europe/Londres"\n')
    run = reflect_eval("schedule", "--config", str(drop.config_path), prefect_home=tmp_path / "p")
    assert run.code == 2 and "Europe/Londres" in run.stderr and "Traceback" not in run.output


def test_a_served_deployment_runs_on_demand(tmp_path: Path, server_env: dict[str, str]):
    drop = write_drop(tmp_path, n_regions=2, n_training_days=1)
    with (tmp_path / "serve.log").open("w") as log:
        served = subprocess.Popen(
            [COMMAND, "serve", "--config", str(drop.config_path), "--cron", "0 19 * * 3"],
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deployment = "reflect-eval-ingest/reflect-eval"

    def prefect(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PREFECT, *args], env=server_env, capture_output=True, text=True, check=False
        )

    try:
        wait_for(
            lambda: prefect("deployment", "inspect", deployment).returncode == 0,
            seconds=120,
            what="the deployment",
        )
        assert "0 19 * * 3" in prefect("deployment", "inspect", deployment).stdout
        assert prefect("deployment", "run", deployment).returncode == 0
        published = tmp_path / "warehouse" / "published.duckdb"
        wait_for(published.exists, seconds=240, what="the on-demand run to publish")
    finally:
        stop(served)
    assert all((f.parent / "processed" / f.name).exists() for f in drop.files)
    regions = query(published, "select distinct region from outcomes_by_region order by region")
    assert regions["region"].to_list() == sorted({f.parent.name for f in drop.files})


def test_workers_prepare_each_region_and_one_run_writes_the_warehouse(
    tmp_path: Path, server_env: dict[str, str]
):
    """`prefect deploy` from prefect.yaml onto a real server, a real worker process on the work
    pool, a run asked for through the API: each region is prepared by a run of its own on the
    worker, the asking run records and publishes them all. Then, with no worker left, a region
    nobody prepares is named and its file waits in the drop folder; nothing is lost."""
    root = Path(__file__).resolve().parents[1]
    drop = write_drop(tmp_path, n_regions=2, n_training_days=1)
    env = server_env | {
        "REFLECT_EVAL_PROJECT": str(root),
        "REFLECT_EVAL_CONFIG": str(drop.config_path),
    }

    def prefect(*args: str, cwd: Path = tmp_path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PREFECT, *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
        )

    def listing() -> list[str]:
        """The checkout's top level, but for what tests on other workers may be creating."""
        return sorted(p.name for p in root.iterdir() if p.name not in TEST_RUN_FOLDERS)

    before = listing()
    pool = prefect("work-pool", "create", "reflect-eval", "--type", "process")
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deployed = prefect("--no-prompt", "deploy", "--all", cwd=root)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert listing() == before, "deploying writes nothing here"
    asked = prefect("deployment", "run", "reflect-eval-ingest-by-region/reflect-eval-by-region")
    assert asked.returncode == 0, asked.stdout + asked.stderr
    with (tmp_path / "worker.log").open("w") as log:
        worker = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", "reflect-eval"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    published = tmp_path / "warehouse" / "published.duckdb"
    try:
        wait_for(published.exists, seconds=300, what="the by-region run to publish")
    finally:
        stop(worker)
    assert all((f.parent / "processed" / f.name).exists() for f in drop.files)
    regions = sorted({f.parent.name for f in drop.files})
    published_regions = query(published, "select distinct region from outcomes_by_region")
    assert sorted(published_regions["region"].to_list()) == regions
    listed = prefect("flow-run", "ls", "--flow-name", "reflect-eval-prepare-region", "-o", "json")
    runs = {run["name"]: run["state_type"] for run in json.loads(listed.stdout)}
    assert runs == {f"prepare {region}": "COMPLETED" for region in regions}, listed.stdout
    assert list((tmp_path / "warehouse" / "staging").iterdir()) == [], "staged files cleared"

    late = drop.files[0].parent / "late.csv"
    late.write_bytes((drop.files[0].parent / "processed" / drop.files[0].name).read_bytes())
    unattended = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from flows.by_region import ingest_drop_by_region as run; "
            "summary = run(sys.argv[1], wait_seconds=3); print(*summary.notes, sep='\\n'); "
            "missing = run(sys.argv[1], prepare_deployment='nowhere/none', return_state=True); "
            "print(missing.name, missing.message)",
            str(drop.config_path),
        ],
        env=env | {"PREFECT_LOGGING_LEVEL": "WARNING"},
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert unattended.returncode == 0, unattended.stdout + unattended.stderr
    assert f"{late.parent.name}: not prepared (its worker run did not finish in time)" in (
        unattended.stdout
    ), unattended.stdout
    assert "Failed deployment nowhere/none is not on the Prefect server" in unattended.stdout
    assert late.exists(), "a file nobody prepared waits in the drop folder"
    assert list((tmp_path / "warehouse" / "staging").iterdir()) == []
