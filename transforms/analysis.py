"""What analysts ask of the published figures, worked out from them alone: the uncertainty of a
rate (Wilson), a region against the rest of the country (Newcombe's hybrid score interval for
the difference, and a funnel plot around the national rate). Nothing here reads a cell or makes
a new count, so nothing here can weaken disclosure control: a figure withheld in the outcome
tables is withheld here too.

Under a rounding policy the figures are the rounded ones, so are the intervals; the rest of
the country is the national figure less the region's, which rounding can leave slightly off
(kept between 0 and its n)."""

from __future__ import annotations

import numpy as np
import polars as pl

from transforms.statistics import (
    Z95,
    Z998,
    funnel_limits,
    funnel_positions,
    newcombe_differences,
    wilson_intervals,
)

INTERVAL_COLUMNS = ("ci_low", "ci_high")


def with_intervals(frame: pl.DataFrame) -> pl.DataFrame:
    """`ci_low`, `ci_high`: the Wilson 95% interval of `pct_positive`, in percent, wherever the
    counts are shown (NULL where they are withheld)."""
    k, n = _counts(frame["n_positive"]), _counts(frame["n_respondents"])
    low, high = wilson_intervals(k, n)
    return frame.with_columns(
        _percent(low).alias(INTERVAL_COLUMNS[0]), _percent(high).alias(INTERVAL_COLUMNS[1])
    )


COMPARISON_SCHEMA: dict[str, pl.DataType] = {
    "region": pl.Utf8(),
    "item": pl.Utf8(),
    "n_respondents": pl.Int64(),
    "n_positive": pl.Int64(),
    "pct_positive": pl.Float64(),
    "rest_n_respondents": pl.Int64(),
    "rest_n_positive": pl.Int64(),
    "rest_pct_positive": pl.Float64(),
    "difference": pl.Float64(),
    "difference_ci_low": pl.Float64(),
    "difference_ci_high": pl.Float64(),
    "national_pct_positive": pl.Float64(),
    "funnel_95_low": pl.Float64(),
    "funnel_95_high": pl.Float64(),
    "funnel_998_low": pl.Float64(),
    "funnel_998_high": pl.Float64(),
    "funnel_95": pl.Utf8(),
    "funnel_998": pl.Utf8(),
    "withheld": pl.Boolean(),
}


def region_comparison(by_region: pl.DataFrame, national: pl.DataFrame) -> pl.DataFrame:
    """Each region against the rest of the country, per item."""
    joined = by_region.select("region", "item", "n_respondents", "n_positive").join(
        national.select(
            "item",
            pl.col("n_respondents").alias("national_n"),
            pl.col("n_positive").alias("national_k"),
        ),
        on="item",
        how="left",
    )
    withheld = pl.col("n_positive").is_null() | pl.col("national_k").is_null()
    rest_n = pl.col("national_n") - pl.col("n_respondents")
    rest_k = pl.min_horizontal(
        pl.max_horizontal(pl.col("national_k") - pl.col("n_positive"), 0), rest_n
    )
    joined = joined.with_columns(
        withheld.alias("withheld"),
        pl.when(~withheld).then(pl.col("n_respondents")).alias("n_respondents"),
        pl.when(~withheld).then(pl.col("n_positive")).alias("n_positive"),
        pl.when(~withheld & (rest_n > 0)).then(rest_n).alias("rest_n_respondents"),
        pl.when(~withheld & (rest_n > 0)).then(rest_k).alias("rest_n_positive"),
    )
    k, n = _counts(joined["n_positive"]), _counts(joined["n_respondents"])
    rk, rn = _counts(joined["rest_n_positive"]), _counts(joined["rest_n_respondents"])
    p0 = _counts(joined["national_k"]) / np.where(
        _counts(joined["national_n"]) > 0, _counts(joined["national_n"]), np.nan
    )
    p0 = np.where(joined["withheld"].to_numpy(), np.nan, p0)
    difference, low, high = newcombe_differences(k, n, rk, rn)
    limits = {z: funnel_limits(p0, np.where(n > 0, n, np.nan), z) for z in (Z95, Z998)}
    return joined.select(
        "region",
        "item",
        "n_respondents",
        "n_positive",
        _rate("n_positive", "n_respondents").alias("pct_positive"),
        "rest_n_respondents",
        "rest_n_positive",
        _rate("rest_n_positive", "rest_n_respondents").alias("rest_pct_positive"),
        _percent(difference).alias("difference"),
        _percent(low).alias("difference_ci_low"),
        _percent(high).alias("difference_ci_high"),
        _percent(p0).alias("national_pct_positive"),
        _percent(limits[Z95][0]).alias("funnel_95_low"),
        _percent(limits[Z95][1]).alias("funnel_95_high"),
        _percent(limits[Z998][0]).alias("funnel_998_low"),
        _percent(limits[Z998][1]).alias("funnel_998_high"),
        pl.Series("funnel_95", list(funnel_positions(k, n, p0, Z95)), dtype=pl.Utf8),
        pl.Series("funnel_998", list(funnel_positions(k, n, p0, Z998)), dtype=pl.Utf8),
        "withheld",
    ).cast(COMPARISON_SCHEMA)  # type: ignore[arg-type]


def _counts(series: pl.Series) -> np.ndarray:
    return series.cast(pl.Float64).fill_null(np.nan).to_numpy()


def _percent(values: np.ndarray) -> pl.Series:
    return pl.Series(100.0 * np.asarray(values, dtype=float), dtype=pl.Float64).fill_nan(None)


def _rate(k: str, n: str) -> pl.Expr:
    return pl.when(pl.col(n) > 0).then(100.0 * pl.col(k) / pl.col(n))
