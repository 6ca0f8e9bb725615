"""Files recorded in a batch are recorded as each alone: `record_many` writes a batch in one
transaction with one insert per table (issue 11), each file's rows with its ledger row; the
ledger, the rows and where each file is filed come out the same, duplicates and responses
repeated within the batch or sent in a batch before included. A file whose rows cannot be
written is set aside on its own; every other file of the batch is recorded."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from fixtures.tool_exports import write_reexport, write_tool_drop
from schemas.config import load_config
from schemas.instrument import load_instrument
from tests.e2e import query
from transforms.drop import find_new_files
from transforms.ingest import prepare_many, record, record_many
from transforms.load import create_restricted_tables, open_warehouse

SECRET = b"k" * 32
LEDGER = (
    "select region, file_name, status, n_responses, n_left_out, n_repeated, n_problems, "
    "duplicate_of is not null as duplicate from submissions order by region, file_name"
)
ROWS = (
    "select submissions.file_name, responses.* exclude (submission_id) from responses "
    "join submissions using (submission_id) order by all"
)


def drop_with_repeats(root: Path) -> Path:
    """Every tool's export, a cumulative re-export of the keyed ones (repeats within the
    batch), a copy of one file under another name (a duplicate within the batch) and a file
    that is rejected."""
    drop = write_tool_drop(root, seed=7)
    write_reexport(drop, seed=8)
    first = drop.exports[0].path
    shutil.copyfile(first, first.with_name(f"copy-{first.name}"))
    (first.parent / "empty.csv").write_bytes(b"")
    return drop.config_path


def recorded(config_path: Path, *, batch: int | None) -> tuple[pl.DataFrame, pl.DataFrame, list]:
    """Record the drop in batches of `batch` files (None: each file alone)."""
    config = load_config(config_path)
    instrument = load_instrument(config.instrument)
    files, _ = find_new_files(config.drop_dir)
    prepared = prepare_many(files, config, instrument, secret=SECRET)
    with open_warehouse(config.restricted_path) as con:
        create_restricted_tables(con)
        if batch:
            outcomes = [
                outcome
                for i in range(0, len(prepared), batch)
                for outcome in record_many(con, prepared[i : i + batch], config)
            ]
        else:
            outcomes = [record(con, item, config) for item in prepared]
    filed = sorted(str(p.relative_to(config.drop_dir)) for p in config.drop_dir.rglob("*.*"))
    where = str(config.drop_dir)
    told = [replace(o, report=o.report and o.report.replace(where, "<drop>")) for o in outcomes]
    return (
        query(config.restricted_path, LEDGER),
        query(config.restricted_path, ROWS),
        [told, filed],
    )


@pytest.mark.parametrize("batch", [100, 3], ids=["one batch", "batches of three"])
def test_a_batch_is_recorded_as_each_file_alone(tmp_path: Path, batch: int):
    together = recorded(drop_with_repeats(tmp_path / "together"), batch=batch)
    alone = recorded(drop_with_repeats(tmp_path / "alone"), batch=None)

    assert together[0].equals(alone[0]), "the same ledger"
    assert together[1].equals(alone[1]), "the same rows"
    assert together[2] == alone[2], "the same outcomes, filed in the same places"
    statuses = together[0]["status"].to_list()
    assert {"ingested", "duplicate", "rejected"} <= set(statuses)
    assert together[0]["n_repeated"].sum() > 0, "responses repeated within the drop"


def test_a_file_whose_rows_cannot_be_written_is_set_aside_alone(tmp_path: Path):
    config_path = drop_with_repeats(tmp_path)
    config = load_config(config_path)
    instrument = load_instrument(config.instrument)
    files, _ = find_new_files(config.drop_dir)
    prepared = prepare_many(files, config, instrument, secret=SECRET)
    position = next(i for i, p in enumerate(prepared) if p.data is not None and p.data.n_responses)
    victim = prepared[position]
    assert victim.data is not None
    # an answer the warehouse refuses (its table holds 1-5): the batch's insert fails
    answer = victim.data.answers["answer"]
    broken = victim.data.answers.with_columns(pl.lit(9, answer.dtype).alias("answer"))
    prepared[position] = replace(victim, data=replace(victim.data, answers=broken))
    with open_warehouse(config.restricted_path) as con:
        create_restricted_tables(con)
        outcomes = record_many(con, prepared, config)
    by_file = {o.file: o.status for o in outcomes}
    assert by_file[victim.dropped.name] == "set aside"
    assert victim.dropped.path.exists(), "left where it is"
    assert list(by_file.values()).count("ingested") >= 5, "the rest of the batch is recorded"
    ledger = query(config.restricted_path, LEDGER)
    recorded_files = set(ledger.select("region", "file_name").iter_rows())
    assert (victim.dropped.region, victim.dropped.path.name) not in recorded_files
    stored = set(query(config.restricted_path, ROWS).select("region", "file_name").iter_rows())
    assert (victim.dropped.region, victim.dropped.path.name) not in stored, "none of its rows"
