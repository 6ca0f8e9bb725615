"""Withheld is not blank: beside a withheld figure the published tables give the interval any
reader can already derive, the checks keep those bounds where they belong, and the terminal
table shows the range instead of a bare word."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pandera.errors
import polars as pl
import pytest

from schemas.instrument import Instrument
from schemas.stages import OutcomesNational
from transforms.errors import PublishError
from transforms.present import SUPPRESSED, comparative_table, figure_text
from transforms.publish import Release, publishable_tables, put_in_place, write_release
from transforms.statistics import wilson_interval
from transforms.suppress import check_published

SCHEMA = {
    "item": pl.Utf8,
    "n_respondents": pl.Int64,
    "n_positive": pl.Int64,
    "pct_positive": pl.Float64,
    "suppressed": pl.Boolean,
    "n_positive_min": pl.Int64,
    "n_positive_max": pl.Int64,
    "n_respondents_min": pl.Int64,
    "n_respondents_max": pl.Int64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
}
SHOWN = (
    "effective_use",
    14,
    10,
    100 * 10 / 14,
    False,
    None,
    None,
    None,
    None,
    *(100 * end for end in wilson_interval(10, 14)),
)
COUNT_WITHHELD = ("keen_to_continue", 14, None, None, True, 8, 14, None, None, None, None)
ALL_WITHHELD = ("peer_support", None, None, None, True, 0, 11, 1, 11, None, None)


def national(*rows: tuple[Any, ...]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SCHEMA, orient="row")


def changed(row: tuple[Any, ...], **values: Any) -> tuple[Any, ...]:
    return tuple(values.get(column, value) for column, value in zip(SCHEMA, row, strict=True))


def test_a_table_with_bounds_beside_its_withheld_figures_is_valid():
    OutcomesNational.validate(national(SHOWN, COUNT_WITHHELD, ALL_WITHHELD))
    open_above = changed(COUNT_WITHHELD, n_positive_max=None)
    OutcomesNational.validate(national(open_above))


@pytest.mark.parametrize(
    ("row", "broken_check"),
    [
        (changed(SHOWN, n_positive_min=8, n_positive_max=12), "shown_rows_carry_no_bounds"),
        (changed(SHOWN, n_respondents_max=20), "shown_rows_carry_no_bounds"),
        (
            changed(COUNT_WITHHELD, n_positive_min=None, n_positive_max=None),
            "a_withheld_positive_count_has_its_lower_bound",
        ),
        (changed(COUNT_WITHHELD, n_positive_min=12, n_positive_max=9), "bounds_are_ordered"),
        (changed(ALL_WITHHELD, n_respondents_min=7, n_respondents_max=3), "bounds_are_ordered"),
        (
            changed(COUNT_WITHHELD, n_respondents_min=14, n_respondents_max=14),
            "respondent_bounds_only_where_n_is_withheld",
        ),
        (changed(COUNT_WITHHELD, n_positive_min=-1), "greater_than_or_equal_to"),
    ],
)
def test_misplaced_or_inconsistent_bounds_are_rejected(row: tuple[Any, ...], broken_check: str):
    with pytest.raises(pandera.errors.SchemaError, match=broken_check):
        OutcomesNational.validate(national(SHOWN, row))


def test_the_last_gate_refuses_a_shown_row_that_carries_bounds():
    """Even a frame that never met the schema: bounds beside a shown figure mean nothing."""
    check_published(national(SHOWN, COUNT_WITHHELD), min_cell=3, table="outcomes_national")
    bounded = changed(SHOWN, n_positive_max=12)
    with pytest.raises(PublishError, match="outcomes_national: 1 shown row"):
        check_published(national(bounded), min_cell=3, table="outcomes_national")


def publish(tmp_path: Path, instrument: Instrument) -> Path:
    by_region = national(SHOWN, COUNT_WITHHELD, ALL_WITHHELD).with_columns(
        pl.lit("kss").alias("region")
    )
    tables = publishable_tables(
        by_region, national(SHOWN, COUNT_WITHHELD, ALL_WITHHELD), instrument, min_cell=3
    )
    release = Release(1, dt.datetime(2026, 1, 8, tzinfo=dt.UTC), instrument.id, 3, 1)
    path = tmp_path / "published.duckdb"
    put_in_place(write_release(tables, release, path), path)
    return path


def test_bounds_are_appended_to_the_published_columns_each_with_its_meaning(
    tmp_path: Path, instrument: Instrument
):
    path = publish(tmp_path, instrument)
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "select column_name, comment from duckdb_columns() "
            "where table_name = 'outcomes_national' order by column_index"
        ).fetchall()
    finally:
        con.close()
    names = [name for name, _ in columns]
    assert names == list(SCHEMA), "existing columns keep their place; bounds, then intervals"
    comments = dict(columns)
    for bound in ("n_positive_min", "n_positive_max", "n_respondents_min", "n_respondents_max"):
        assert "any reader can already derive" in comments[bound]
    assert "no upper bound" in comments["n_positive_max"]


@pytest.mark.parametrize(
    ("row", "text"),
    [
        (SHOWN, "71.4% (10/14)"),
        (COUNT_WITHHELD, "57-100% (8-14/14)"),
        (changed(COUNT_WITHHELD, n_positive_min=12), "86-100% (12-14/14)"),
        (changed(COUNT_WITHHELD, n_positive_max=None), "≥57% (≥8/14)"),
        (ALL_WITHHELD, "withheld (n 1-11)"),
        (changed(ALL_WITHHELD, n_respondents_max=None), "withheld (n ≥1)"),
        (changed(COUNT_WITHHELD, n_positive_min=None, n_positive_max=None), SUPPRESSED),
    ],
)
def test_a_withheld_figure_reads_as_the_range_a_reader_can_derive(row: tuple[Any, ...], text: str):
    assert figure_text(dict(zip(SCHEMA, row, strict=True))) == text


def test_the_comparative_table_shows_ranges_for_withheld_figures(
    tmp_path: Path, instrument: Instrument
):
    table = comparative_table(publish(tmp_path, instrument))
    rows = {row["item"]: row for row in table.iter_rows(named=True)}
    assert rows["effective_use"]["kss"] == "71.4% (10/14)"
    assert rows["keen_to_continue"]["kss"] == "57-100% (8-14/14)"
    assert rows["peer_support"]["national"] == "withheld (n 1-11)"
    assert SUPPRESSED not in table.unpivot(index="item")["value"].to_list()
