"""`reflect-eval status`: where things stand per region and training day, the last release and
what is waiting, in counts and names only, and safe to ask while a run holds the warehouse."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl

from fixtures.regional_drop import PlantedDrop, write_drop, write_template_file
from schemas.config import Config, load_config
from schemas.instrument import load_instrument
from tests.e2e import COMMAND, leaks
from tests.test_run_lock import held
from transforms.drop import find_new_files
from transforms.ingest import prepare_safely, record_safely
from transforms.load import open_warehouse
from transforms.status import render, status

ROOT = Path(__file__).resolve().parents[1]


def run_once(config: Config, *, publish: bool = True) -> None:
    """What a run does, through the flow's own functions (no Prefect)."""
    from flows.ingest import record_and_publish

    files, _ = find_new_files(config.drop_dir)
    instrument = load_instrument(config.instrument)
    prepared = [prepare_safely(f, config, instrument) for f in files]
    if publish:
        record_and_publish.fn(prepared, config)
        return
    with open_warehouse(config.restricted_path) as con:
        for item in prepared:
            record_safely(con, item, config)


def drop_with_history(root: Path) -> tuple[PlantedDrop, Config, tuple[str, ...]]:
    drop = write_drop(root, n_regions=2, n_training_days=2, with_bad_file=True)
    config = load_config(drop.config_path)
    run_once(config)
    late = root / "drop" / "kss" / "2026-01-07-late-rpg-feedback.csv"
    canaries = write_template_file(late, training_day=date(2026, 1, 7), n_respondents=3, seed=7)
    run_once(config, publish=False)  # ingested, not yet in a release
    waiting = root / "drop" / "kss" / "2026-03-04-rpg-feedback.csv"
    canaries += write_template_file(waiting, training_day=date(2026, 3, 4), n_respondents=5, seed=8)
    return drop, config, canaries


def test_status_tells_each_day_the_last_release_and_what_waits(tmp_path: Path):
    drop, config, canaries = drop_with_history(tmp_path)
    state = status(config)
    assert state.last_release is not None and state.last_release["release_no"] == 1
    assert state.last_release["policy"].startswith("gmc-sdc")
    days = {(d["region"], d["training_day"]): d for d in state.days}
    assert len(days) == 4
    late = days[("kss", "2026-01-07")]
    assert (late["n_files"], late["n_ingested"]) == (2, 2)
    assert late["in_last_release"] is False, "the late file came after release 1"
    on_time = [d for key, d in days.items() if key != ("kss", "2026-01-07")]
    assert all(d["in_last_release"] for d in on_time)
    expected = drop.expected.group_by("region", "training_day").agg(pl.col("n_respondents").max())
    for region, day, n in expected.iter_rows():
        extra = 3 if (region, day.isoformat()) == ("kss", "2026-01-07") else 0
        assert days[(region, day.isoformat())]["n_responses"] == n + extra
    [rejected] = state.rejected
    assert rejected["n_problems"] > 0 and rejected["first_problem"].startswith("row ")
    assert Path(rejected["report"]).exists()
    assert state.waiting == ["kss/2026-03-04-rpg-feedback.csv"]
    text = render(state) + json.dumps(state.as_dict())
    assert "not yet" in render(state)
    planted = (*drop.canaries, *canaries)
    assert not leaks(planted, {"status": text}), "names only, never a cell value"
    report_text = Path(rejected["report"]).read_text(encoding="utf-8")
    found = [line.split("found ", 1)[1] for line in report_text.splitlines() if "found '" in line]
    assert found and not any(value in text for value in found), "no value the report quotes"


def test_status_while_a_run_holds_the_warehouse(tmp_path: Path):
    _, config, _ = drop_with_history(tmp_path)
    hold_open = (
        "import sys, duckdb\n"
        "from pathlib import Path\n"
        "from transforms.run_lock import run_lock\n"
        "with run_lock(Path(sys.argv[1]), command='test run'):\n"
        "    con = duckdb.connect(sys.argv[2])\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", hold_open, str(config.paths.warehouse), str(config.restricted_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        state = status(config)
        assert state.run_in_progress is not None and f"pid {process.pid}" in state.run_in_progress
        assert state.days == [], "the warehouse is the run's until it ends"
        assert render(state).startswith("a run is in progress")
    finally:
        process.kill()
        process.wait()
    with held(config.paths.warehouse):
        assert status(config).days, "holding the lock alone does not hide the warehouse"


def test_status_json_through_the_command_line(tmp_path: Path):
    drop, _, _ = drop_with_history(tmp_path)
    done = subprocess.run(
        [COMMAND, "status", "--config", str(drop.config_path), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    state = json.loads(done.stdout)
    assert state["last_release"]["release_no"] == 1
    assert {"region", "training_day", "n_files", "in_last_release"} <= set(state["days"][0])
    assert state["waiting"] == ["kss/2026-03-04-rpg-feedback.csv"]
