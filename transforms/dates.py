"""A training day as the date part of whatever the tool wrote: ISO dates and date-times (as
calamine reads date-time cells), Excel serial numbers, and the locale formats tools export.

Slashed dates are read day-first or month-first per column: a value that can only be one way
(31/08, 8/31) settles it for the file; otherwise the tool's habit decides."""

from __future__ import annotations

from datetime import date

import polars as pl

EXCEL_EPOCH = date(1899, 12, 30)
ISO = r"^\d{4}-\d{2}-\d{2}$"
SERIAL = r"^\d{5}(?:\.\d+)?$"
SLASHED = r"^(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})$"
MONTH_FIRST_TOOLS = frozenset({"ms-forms", "google-forms", "surveymonkey"})
"""Tools whose exports write US dates unless the account's locale says otherwise."""


def _date_part(column: pl.Expr) -> pl.Expr:
    """Drop the time of day and any zone: `2026/05/20 1:43:01 PM GMT+1` -> `2026/05/20`."""
    return column.str.strip_chars().str.replace(r"[ T].*$", "")


def month_first(values: pl.Series, tool: str) -> bool:
    """Whether slashed dates in this column are m/d/y."""
    parts = values.str.extract_groups(SLASHED).struct.unnest()
    first = parts["1"].cast(pl.Int32, strict=False)
    second = parts["2"].cast(pl.Int32, strict=False)
    if (first > 12).any():
        return False
    if (second > 12).any():
        return True
    return tool in MONTH_FIRST_TOOLS


def iso_day(values: pl.Series, tool: str) -> pl.Series:
    """Each value as YYYY-MM-DD when it is a date in a known form; otherwise left as it was, so
    the validator reports it as the region wrote it."""
    day = values.to_frame("v").select(_date_part(pl.col("v")).alias("d"))["d"]
    slash = "%m/%d/%Y" if month_first(day, tool) else "%d/%m/%Y"
    padded = day.str.replace(r"^(\d{1,2}/\d{1,2}/)(\d{2})$", "${1}20${2}")
    frame = pl.DataFrame({"v": values, "d": day, "p": padded})
    parsed = frame.select(
        pl.coalesce(
            pl.when(pl.col("d").str.contains(ISO)).then(
                pl.col("d").str.strptime(pl.Date, "%Y-%m-%d", strict=False)
            ),
            pl.when(pl.col("d").str.contains(r"^\d{4}/")).then(
                pl.col("d").str.strptime(pl.Date, "%Y/%m/%d", strict=False)
            ),
            pl.col("p").str.strptime(pl.Date, slash, strict=False),
            pl.when(pl.col("v").str.strip_chars().str.contains(SERIAL)).then(
                pl.lit(EXCEL_EPOCH)
                + pl.duration(
                    days=pl.col("v").str.strip_chars().cast(pl.Float64).floor().cast(pl.Int64)
                )
            ),
        ).alias("day")
    )["day"]
    return (
        pl.select(
            pl.when(parsed.is_not_null()).then(parsed.dt.to_string("%Y-%m-%d")).otherwise(values)
        )
        .to_series()
        .alias(values.name)
    )
