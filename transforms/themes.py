"""Theme words, nationally and per region: each published only where at least `min_cell`
distinct respondents used it, and never so that national minus the regions shown leaves a
handful of people. Counts are of distinct respondents and rounded as the policy says.

A word's national count is the sum of its regional counts (a respondent belongs to one
region), so a reader can subtract the regions shown from the national figure. Where that
leaves between 1 and min_cell - 1 respondents, the word's smallest regional figure is held back
too, which leaves at least min_cell."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from transforms.privacy.engine import rounded
from transforms.sql import sql


@dataclass(frozen=True)
class Themes:
    national: pl.DataFrame
    """word, n_respondents"""
    by_region: pl.DataFrame
    """region, word, n_respondents"""
    held_back: pl.DataFrame
    """region (NULL: all regions), n_words_held_back"""


def theme_words(con: duckdb.DuckDBPyConnection, *, min_cell: int, rounding: int = 1) -> Themes:
    national = _showable(
        con.sql(sql("theme_words"), params={"min_cell": min_cell}).pl(), rounding, min_cell
    )
    candidates = _showable(
        con.sql(sql("theme_words_by_region"), params={"min_cell": min_cell}).pl(),
        rounding,
        min_cell,
    )
    by_region = covered(national, candidates, min_cell=min_cell)
    used = con.sql(sql("words_used")).pl()
    shown = pl.concat(
        [
            national.select(pl.lit(None, pl.Utf8).alias("region"), pl.len().alias("n_shown")),
            by_region.group_by("region").agg(pl.len().alias("n_shown")),
        ]
    )
    held_back = (
        used.join(shown, on="region", how="left", nulls_equal=True)
        .select(
            "region",
            (pl.col("n_words") - pl.col("n_shown").fill_null(0)).alias("n_words_held_back"),
        )
        .sort("region", nulls_last=False)
    )
    return Themes(
        _rounded(national, rounding).sort(["n_respondents", "word"], descending=[True, False]),
        _rounded(by_region, rounding).sort(
            ["region", "n_respondents", "word"], descending=[False, True, False]
        ),
        held_back,
    )


def covered(national: pl.DataFrame, by_region: pl.DataFrame, *, min_cell: int) -> pl.DataFrame:
    """The regional figures that may be shown beside the national ones: per word, while the
    national count less the regions shown is between 1 and min_cell - 1, the smallest regional
    figure (then by region) is held back."""
    totals = dict(national.select("word", "n_respondents").iter_rows())
    kept = []
    for (word,), rows in by_region.sort("n_respondents", "region").group_by(
        "word", maintain_order=True
    ):
        figures = list(rows.select("region", "n_respondents").iter_rows())
        total = totals.get(word)
        while total is not None and figures and 0 < total - sum(n for _, n in figures) < min_cell:
            figures.pop(0)
        kept += [(region, word, n) for region, n in figures]
    return pl.DataFrame(
        kept, schema={"region": pl.Utf8, "word": pl.Utf8, "n_respondents": pl.Int64}, orient="row"
    )


def _rounded(frame: pl.DataFrame, rounding: int) -> pl.DataFrame:
    return frame.with_columns(
        pl.col("n_respondents").map_elements(lambda n: rounded(n, rounding), return_dtype=pl.Int64)
    )


def _showable(frame: pl.DataFrame, rounding: int, min_cell: int) -> pl.DataFrame:
    """Figures that stay at or above min_cell once rounded (true counts kept until the end)."""
    return frame.filter(
        pl.col("n_respondents").map_elements(lambda n: rounded(n, rounding), return_dtype=pl.Int64)
        >= min_cell
    )
