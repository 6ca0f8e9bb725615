"""Faults: a run killed (SIGKILL, no chance to clean up) while reading, while loading, or while
publishing, then a plain run, leaves exactly the tables an uninterrupted run gives; an analyst
holding the published file open through a run keeps reading a consistent old copy.

The kill comes from inside the real command: a wrapper script replaces one function of the
pipeline with one that kills its own process on its Nth call, then runs `reflect-eval run`."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from fixtures.regional_drop import PlantedDrop, write_drop, write_template_file
from schemas.config import load_config
from tests.e2e import command_env, reflect_eval
from tests.test_status import run_once
from transforms.report.files import report_paths

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]
KILL = """
import os, signal, sys
import importlib
target = importlib.import_module(sys.argv[1])
name, after = sys.argv[2], int(sys.argv[3])
original = getattr(target, name)
calls = 0
def killed(*args, **kwargs):
    global calls
    calls += 1
    if calls == after:
        os.kill(os.getpid(), signal.SIGKILL)
    return original(*args, **kwargs)
setattr(target, name, killed)
sys.argv = ["reflect-eval", "run", "--config", sys.argv[4]]
from flows.cli import main
main()
"""
KEEP_OUT = {"release", "latest_release"}
"""What differs between any two runs: when, and which release number."""


def published_tables(path: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [
            n
            for (n,) in con.execute(
                "select table_name from duckdb_tables() union all "
                "select view_name from duckdb_views() where not internal"
            ).fetchall()
            if n not in KEEP_OUT
        ]
        return {n: con.sql(f"select * from {n}").pl().sort(pl.all()) for n in sorted(names)}
    finally:
        con.close()


def drop_in(root: Path) -> PlantedDrop:
    return write_drop(root, n_regions=2, n_training_days=3, with_bad_file=True)


def published_once_then_a_late_file(root: Path) -> PlantedDrop:
    """Release 1 of a two-region drop (through the flow's functions: the command line is what
    is killed, later), then a late file for a day it published."""
    drop = drop_in(root)
    run_once(load_config(drop.config_path))
    late = drop.files[0].parent / "2026-01-07-late-rpg-feedback.csv"
    write_template_file(late, training_day=date(2026, 1, 7), n_respondents=4, seed=11)
    return drop


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pl.DataFrame]:
    root = tmp_path_factory.mktemp("uninterrupted")
    drop = published_once_then_a_late_file(root)
    run_once(load_config(drop.config_path))
    return published_tables(root / "warehouse" / "published.duckdb")


def killed_run(drop: PlantedDrop, home: Path, module: str, name: str, after: int) -> int:
    """The real command, killed at the step named; its output goes to a file, since the
    temporary Prefect server it started outlives it (the next run stops that server)."""
    env = command_env(home)
    with (home.parent / "killed-run.log").open("w") as log:
        done = subprocess.run(
            [sys.executable, "-c", KILL, module, name, str(after), str(drop.config_path)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=ROOT,
            timeout=300,
            check=False,
        )
    return done.returncode


@pytest.mark.parametrize(
    ("step", "module", "name", "after"),
    [
        ("reading the late file", "transforms.ingest", "prepare_many", 1),
        ("loading the late file, its transaction open", "transforms.load", "_ledger_row", 1),
        ("publishing: release 2 recorded, not in place", "transforms.release", "put_in_place", 1),
        ("writing the report of release 2", "transforms.release", "write_report", 1),
    ],
)
def test_a_killed_run_then_a_plain_run_gives_the_uninterrupted_tables(
    tmp_path: Path,
    uninterrupted: dict[str, pl.DataFrame],
    step: str,
    module: str,
    name: str,
    after: int,
):
    home = tmp_path / "prefect"
    drop = published_once_then_a_late_file(tmp_path)
    assert killed_run(drop, home, module, name, after) == -signal.SIGKILL, step
    run = reflect_eval("run", "--config", str(drop.config_path), prefect_home=home)
    assert run.code == 0, run.output
    assert "stopped 1 temporary Prefect server(s) left by a killed run" in run.stderr
    published = tmp_path / "warehouse" / "published.duckdb"
    recovered = published_tables(published)
    assert recovered.keys() == uninterrupted.keys()
    for table, frame in uninterrupted.items():
        assert recovered[table].equals(frame), f"{step}: {table} differs"
    paths = report_paths(published)
    assert paths.html.exists() and paths.workbook.exists(), "the report is there too"
    if step.startswith("publishing"):
        assert "published release 3" in run.stdout, "release 2 was never seen: published again"
        again = reflect_eval("run", "--config", str(drop.config_path), prefect_home=home)
        assert again.code == 0 and "nothing new" in again.stdout, "and then nothing to do"


def test_an_analyst_holding_the_published_file_open_keeps_a_consistent_copy(tmp_path: Path):
    drop = drop_in(tmp_path)
    home = tmp_path / "prefect"
    run_once(load_config(drop.config_path))
    published = tmp_path / "warehouse" / "published.duckdb"
    analyst = duckdb.connect(str(published), read_only=True)
    try:
        before = analyst.sql("select * from outcomes_by_region").pl().sort(pl.all())
        [(release,)] = analyst.execute("select release_no from release").fetchall()
        late = drop.files[0].parent / "2026-01-07-late-rpg-feedback.csv"
        write_template_file(late, training_day=date(2026, 1, 7), n_respondents=4, seed=11)
        run = reflect_eval("run", "--config", str(drop.config_path), prefect_home=home)
        assert run.code == 0, run.output
        assert "published release 2" in run.stdout
        still = analyst.sql("select * from outcomes_by_region").pl().sort(pl.all())
        assert still.equals(before), "the open copy is the old release, whole"
        assert analyst.execute("select release_no from release").fetchall() == [(release,)]
    finally:
        analyst.close()
    fresh = duckdb.connect(str(published), read_only=True)
    try:
        assert fresh.execute("select release_no from release").fetchall() == [(2,)]
    finally:
        fresh.close()


def test_a_file_published_by_an_earlier_version_is_published_again(tmp_path: Path):
    """After an upgrade, a run with nothing new still publishes what this version publishes
    (the old file lacks the new tables, and its report could not be made from it)."""
    import hashlib

    drop = drop_in(tmp_path)
    config = load_config(drop.config_path)
    run_once(config)
    published = config.published_path
    con = duckdb.connect(str(published))
    con.execute("drop view competency_summary; drop view latest_release")
    con.execute("drop table participation; drop table region_comparison")
    con.close()
    digest = hashlib.sha256(published.read_bytes()).hexdigest()
    con = duckdb.connect(str(config.restricted_path))
    con.execute("update releases set sha256 = ?", [digest])
    con.close()
    run_once(config)
    assert {"participation", "region_comparison"} <= set(published_tables(published))
    assert query_release(published) == 2
    assert report_paths(published).html.exists()


def query_release(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        [(number,)] = con.execute("select release_no from release").fetchall()
        return int(number)
    finally:
        con.close()
