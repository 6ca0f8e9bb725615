"""A run holds only the batches in flight, however many files the drop has: a backfill of a
million responses must fit in memory (issue 11). Checked on a real run of the command, with
tiny batches, by asking at each batch recorded how many files recorded before are still held:
never more than the batches being prepared meanwhile (a thread may still be letting go of the
one it just finished), however many were recorded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from fixtures.regional_drop import write_drop
from flows.ingest import BATCHES_AHEAD
from tests.e2e import command_env

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[1]
BATCH_SIZE = 2
COUNTING = """
import gc, json, sys, weakref
import flows.ingest as ingest
ingest.BATCH_SIZE = int(sys.argv[1])
recorded, still_held = [], []
original = ingest.record_many
def record_many(con, batch, config):
    gc.collect()
    still_held.append(sum(ref() is not None for ref in recorded))
    recorded.extend(weakref.ref(item) for item in batch)
    return original(con, batch, config)
ingest.record_many = record_many
counts, config = sys.argv[2], sys.argv[3]
sys.argv = ["reflect-eval", "run", "--config", config]
from flows.cli import main
try:
    main()
finally:
    with open(counts, "w") as out:
        json.dump({"still_held": still_held, "recorded": len(recorded)}, out)
"""


def test_a_run_lets_go_of_each_batch_once_it_is_recorded(tmp_path: Path, prefect_home: Path):
    drop = write_drop(tmp_path, n_regions=4, n_training_days=5, with_bad_file=True)
    counts = tmp_path / "counts.json"
    done = subprocess.run(
        [sys.executable, "-c", COUNTING, str(BATCH_SIZE), str(counts), str(drop.config_path)],
        capture_output=True,
        text=True,
        env=command_env(prefect_home),
        cwd=ROOT,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(counts.read_text())
    assert found["recorded"] == len(drop.files) + len(drop.bad_files)
    assert len(found["still_held"]) >= 10
    assert max(found["still_held"]) <= BATCH_SIZE * BATCHES_AHEAD, found
