"""The comparative table as people read it, built from the published file (what analysts see).

A shown figure reads '92.9% (13/14)': % positive (positive/answered). A withheld one is not left
blank: it shows the range any reader can already derive from the published releases, so an
analyst sees at a glance how far it can lie from its neighbours:

- '57-100% (8-14/14)': the positive count is withheld, how many answered is shown; the
  percentages are the count's bounds over n, to the whole percent,
- '≥86% (≥12/14)': no upper bound can be derived,
- 'withheld (n 1-11)': how many answered is withheld too, so no percentage is meaningful; the
  range is how many answered ('n ≥3' when open above),
- 'suppressed': a withheld figure from a file published before bounds were (none to show)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from schemas.stages import BOUND_COLUMNS

SUPPRESSED = "suppressed"
_FIGURE = ("n_respondents", "n_positive", "pct_positive", *BOUND_COLUMNS)


def figure_text(row: Mapping[str, Any]) -> str:
    """One published row as the table shows it: the figure, or the range a withheld one has."""
    n, k, pct = row["n_respondents"], row["n_positive"], row["pct_positive"]
    if k is not None:
        return f"({k}/{n})" if pct is None else f"{pct:.1f}% ({k}/{n})"
    if n is None:
        n_lo, n_hi = row["n_respondents_min"], row["n_respondents_max"]
        return SUPPRESSED if n_lo is None else f"withheld (n {_span(n_lo, n_hi)})"
    k_lo, k_hi = row["n_positive_min"], row["n_positive_max"]
    if k_lo is None:
        return SUPPRESSED
    counts = _span(k_lo, k_hi)
    if not n:
        return f"({counts}/{n})"
    low = _percent(k_lo, n)
    high = None if k_hi is None else _percent(k_hi, n)
    percents = f"{low}-{high}" if high is not None and k_hi != k_lo else _span(low, high)
    return f"{percents}% ({counts}/{n})"


def _span(low: int, high: int | None) -> str:
    """'3-7', '5' when both ends meet, '≥3' when open above."""
    if high is None:
        return f"≥{low}"
    return str(low) if low == high else f"{low}-{high}"


def _percent(count: int, n: int) -> int:
    """Whole percent, half up; at most 100 (a rounded n can be below the count's bound)."""
    return min(100, (200 * count + n) // (2 * n))


def comparative_table(published: Path) -> pl.DataFrame:
    """Items down, regions across, then National: '% positive (positive/answered)'."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        by_region = _with_bounds(con.sql("select * from outcomes_by_region").pl())
        national = _with_bounds(con.sql("select * from outcomes_national").pl())
        items = con.sql("select item from items").pl()
    finally:
        con.close()
    cell = pl.struct(_FIGURE).map_elements(figure_text, return_dtype=pl.Utf8)
    wide = (
        by_region.select("item", "region", cell.alias("cell")).pivot(
            on="region", index="item", values="cell", sort_columns=True
        )
        if by_region.height
        else pl.DataFrame({"item": []}, schema={"item": pl.Utf8})
    )
    return (
        items.join(wide, on="item", how="left", maintain_order="left")
        .join(
            national.select("item", cell.alias("national")),
            on="item",
            how="left",
            maintain_order="left",
        )
        .fill_null("no answers")
    )


def _with_bounds(frame: pl.DataFrame) -> pl.DataFrame:
    """A file published before the bounds were: its withheld figures have none to show."""
    missing = [pl.lit(None, pl.Int64).alias(c) for c in BOUND_COLUMNS if c not in frame.columns]
    return frame.with_columns(missing) if missing else frame


def render(table: pl.DataFrame) -> str:
    with pl.Config(
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_width_chars=400,
        fmt_str_lengths=40,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_formatting="ASCII_MARKDOWN",
    ):
        return str(table)
