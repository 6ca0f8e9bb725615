"""The comparative table as people read it, built from the published file (what analysts see)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

SUPPRESSED = "suppressed"


def _cell(n_positive: pl.Expr, n_respondents: pl.Expr, pct: pl.Expr) -> pl.Expr:
    text = pl.format(
        "{}% ({}/{})",
        pct.round(1).cast(pl.Utf8),
        n_positive.cast(pl.Utf8),
        n_respondents.cast(pl.Utf8),
    )
    return pl.when(pct.is_not_null()).then(text).otherwise(pl.lit(SUPPRESSED))


def comparative_table(published: Path) -> pl.DataFrame:
    """Items down, regions across, then National: '% positive (positive/answered)'."""
    con = duckdb.connect(str(published), read_only=True)
    try:
        by_region = con.sql("select * from outcomes_by_region").pl()
        national = con.sql("select * from outcomes_national").pl()
        items = con.sql("select item from items").pl()
    finally:
        con.close()
    cell = _cell(pl.col("n_positive"), pl.col("n_respondents"), pl.col("pct_positive"))
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
