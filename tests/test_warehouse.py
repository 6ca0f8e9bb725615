"""The restricted warehouse writes each file all or nothing; the published file holds aggregates
only and replaces the previous release in one step."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

from schemas.instrument import Instrument
from transforms.deidentify import Deidentified
from transforms.errors import PublishError, WarehouseBusyError
from transforms.load import (
    SubmissionRecord,
    create_restricted_tables,
    find_ingested,
    open_warehouse,
    record_submission,
)
from transforms.publish import Release, publishable_tables, put_in_place, write_release
from transforms.suppress import suppress


def answers(codes: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "response_no": list(range(1, len(codes) + 1)),
            "training_day": [dt.date(2026, 1, 7)] * len(codes),
            "item": ["effective_use"] * len(codes),
            "answer": codes,
        },
        schema={
            "response_no": pl.Int32,
            "training_day": pl.Date,
            "item": pl.Utf8,
            "answer": pl.Int8,
        },
    )


def no_words() -> pl.DataFrame:
    return pl.DataFrame(
        schema={"response_no": pl.Int32, "training_day": pl.Date, "item": pl.Utf8, "word": pl.Utf8}
    )


def record(name: str, sha: str, status: str = "ingested") -> SubmissionRecord:
    return SubmissionRecord(region="kss", file_name=name, sha256=sha, status=status, n_responses=3)


def test_a_file_is_written_whole_or_not_at_all(tmp_path: Path):
    with open_warehouse(tmp_path / "restricted.duckdb") as con:
        create_restricted_tables(con)
        good = Deidentified(answers([4, 5, 2]), no_words(), 3, ())
        record_submission(con, record("a.csv", "aaa"), good)
        broken = Deidentified(answers([4, 9, 2]), no_words(), 3, ())  # 9 breaks the check
        with pytest.raises(duckdb.ConstraintException):
            record_submission(con, record("b.csv", "bbb"), broken)
        assert con.execute("select count(*) from responses").fetchall() == [(3,)]
        assert con.execute("select file_name from submissions").fetchall() == [("a.csv",)]
        assert find_ingested(con, "aaa") == (1, "kss", "a.csv")
        assert find_ingested(con, "bbb") is None


def test_a_warehouse_held_by_another_process_is_a_plain_error(tmp_path: Path):
    path = tmp_path / "restricted.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); "
            "print('held', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseBusyError, match="runs must not overlap"), open_warehouse(path):
            pass
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)


def release(no: int) -> Release:
    return Release(no, dt.datetime(2026, 1, 8, tzinfo=dt.UTC), "rpg-feedback-v1", 3, 1)


def published_tables(instrument: Instrument) -> dict[str, pl.DataFrame]:
    by_region = pl.DataFrame(
        {
            "region": ["a", "b"],
            "item": ["effective_use"] * 2,
            "n_respondents": [14, 10],
            "n_positive": [7, 5],
        }
    )
    national = pl.DataFrame({"item": ["effective_use"], "n_respondents": [24], "n_positive": [12]})
    shown_region, shown_national = suppress(by_region, national, min_cell=3)
    return publishable_tables(shown_region, shown_national, instrument, min_cell=3)


def test_the_published_file_holds_only_aggregate_tables(tmp_path: Path, instrument: Instrument):
    path = tmp_path / "published.duckdb"
    put_in_place(write_release(published_tables(instrument), release(1), path), path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {
            name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()
        }
        columns = {
            name for (name,) in con.execute("select column_name from duckdb_columns()").fetchall()
        }
        assert con.execute("select release_no, min_cell from release").fetchall() == [(1, 3)]
        assert con.execute("select n_positive, pct_positive from outcomes_national").fetchall() == [
            (12, 50.0)
        ]
    finally:
        con.close()
    assert tables == {
        "outcomes_by_region",
        "outcomes_national",
        "region_comparison",
        "items",
        "release",
    }
    assert not columns & {"response_no", "answer", "word", "training_day", "file_name", "sha256"}


def test_a_failed_release_leaves_the_previous_one_in_place(tmp_path: Path, instrument: Instrument):
    """A real failure half way through writing release 2 (its last table holds a column DuckDB
    cannot store, after the others were written) leaves release 1 byte for byte, and no
    partial file behind."""
    path = tmp_path / "published.duckdb"
    put_in_place(write_release(published_tables(instrument), release(1), path), path)
    before = path.read_bytes()
    broken = published_tables(instrument)
    last = list(broken)[-1]
    broken[last] = broken[last].with_columns(pl.Series("odd", [object()] * broken[last].height))
    with pytest.raises(PublishError, match="could not write"):
        write_release(broken, release(2), path)
    assert path.read_bytes() == before
    assert not path.with_name(f".{path.name}.partial").exists()
    assert release_numbers(path) == [(1,)]
    written = write_release(published_tables(instrument), release(2), path)
    assert path.read_bytes() == before, "nothing changes until the rename"
    put_in_place(written, path)
    assert release_numbers(path) == [(2,)]
    assert not written.partial.exists()


def release_numbers(path: Path) -> list[tuple[int]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select release_no from release").fetchall()
    finally:
        con.close()


def test_a_refused_release_is_tried_again_by_the_next_run_and_the_files_stay_recorded(
    tmp_path: Path,
):
    """The seed study is published under gmc-sdc (14 of 14 shown); then acro, which protects
    100%, cannot take that back: release 2 is refused. The run after, with nothing new, tries
    it again (and is refused again) rather than taking the refusal as done; a new file arrives
    and is recorded even though its release is refused."""
    from fixtures.regional_drop import write_seed_study, write_template_file
    from flows.ingest import record_and_publish
    from schemas.config import load_config
    from schemas.instrument import load_instrument
    from transforms.drop import find_new_files
    from transforms.ingest import prepare_safely

    drop = write_seed_study(tmp_path, min_cell=3)

    def run() -> tuple[list[str], object]:
        config = load_config(drop.config_path)
        files, _ = find_new_files(config.drop_dir)
        instrument = load_instrument(config.instrument)
        prepared = [prepare_safely(f, config, instrument) for f in files]
        outcomes, release = record_and_publish.fn(prepared, config)
        return [o.status for o in outcomes], release

    statuses, first = run()
    assert statuses == ["ingested"] and getattr(first, "release_no", None) == 1
    assert run() == ([], None), "nothing new, same policy: nothing published again"
    published = tmp_path / "warehouse" / "published.duckdb"
    before = published.read_bytes()
    text = drop.config_path.read_text(encoding="utf-8")
    drop.config_path.write_text(text.replace("min_cell = 3", 'policy = "acro"'), encoding="utf-8")
    for attempt in ("refused", "tried again"):
        statuses, refused = run()
        assert statuses == [] and isinstance(refused, PublishError), attempt
        assert "release 2 refused" in str(refused)
        assert published.read_bytes() == before
    late = drop.root / "drop" / "east-of-england" / "late.csv"
    write_template_file(late, training_day=dt.date(2026, 1, 7), n_respondents=9, seed=3)
    statuses, refused = run()
    assert statuses == ["ingested"] and isinstance(refused, PublishError)
    restricted = tmp_path / "warehouse" / "restricted.duckdb"
    con = duckdb.connect(str(restricted), read_only=True)
    try:
        assert con.execute("select count(*) from submissions").fetchone() == (2,)
        assert con.execute("select count(*) from releases").fetchone() == (1,)
    finally:
        con.close()
