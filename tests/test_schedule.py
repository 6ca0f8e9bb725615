"""Scheduling: `reflect-eval serve` registers a cron deployment with a real Prefect server, and a
run asked for on demand processes the drop folder."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.regional_drop import write_drop
from tests.e2e import COMMAND, query, reflect_eval

pytestmark = pytest.mark.e2e
PREFECT = str(Path(sys.executable).parent / "prefect")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(1)
    pytest.fail(f"gave up waiting for {what}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A real `prefect server start` on a loopback port, for this module only."""
    home = tmp_path_factory.mktemp("prefect-server")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {"PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    port = free_port()
    with (home / "server.log").open("w") as log:
        server = subprocess.Popen(
            [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_for(lambda: healthy(url), seconds=180, what="the Prefect server")
        yield env | {"PREFECT_API_URL": url}
    finally:
        stop(server)


def test_serve_without_a_server_says_what_to_do(tmp_path: Path):
    drop = write_drop(tmp_path, n_regions=1, n_training_days=1)
    run = reflect_eval("serve", "--config", str(drop.config_path), prefect_home=tmp_path / "ph")
    assert run.code == 2
    assert "prefect server start" in run.stderr and "PREFECT_API_URL" in run.stderr
    assert "Traceback" not in run.output


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
