"""Small-cell suppression: every published count passes through here, once, last.

Primary rule: a row is withheld when fewer than `min_cell` answered, or when the positive count
or its complement (those not positive) is between 1 and `min_cell - 1`: "13 of 14 agreed" tells
every member that exactly one colleague disagreed.

Complementary suppression and the attacker's audit live in `transforms.privacy`; this module
keeps the rule itself and the last gate before anything is written."""

from __future__ import annotations

import polars as pl

from schemas.stages import BOUND_COLUMNS
from transforms.errors import PublishError
from transforms.privacy import BY_REGION, NATIONAL, protect, resolve


def primary_rule(min_cell: int) -> pl.Expr:
    """True where a row's counts would disclose a group smaller than `min_cell`."""
    n, k = pl.col("n_respondents"), pl.col("n_positive")
    small = pl.lit(1), pl.lit(min_cell - 1)
    return (n < min_cell) | k.is_between(*small) | (n - k).is_between(*small)


def suppress(
    by_region: pl.DataFrame, national: pl.DataFrame, *, min_cell: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Protect a region table and its national margin alone (one training day, one release),
    by the same engine as every release: primary, complementary, audited."""
    totals = by_region.group_by("item").agg(pl.col("n_respondents", "n_positive").sum())
    check = national.select("item", "n_respondents", "n_positive").join(
        totals, on="item", how="full"
    )
    if check.filter(
        (pl.col("n_respondents") != pl.col("n_respondents_right"))
        | (pl.col("n_positive") != pl.col("n_positive_right"))
        | pl.col("n_respondents").is_null()
        | pl.col("n_respondents_right").is_null()
    ).height:
        raise ValueError("the national table is not the sum of the region table")
    cells = by_region.select(
        "item",
        "region",
        pl.lit(None, pl.Date).alias("training_day"),
        pl.lit(1, pl.Int64).alias("arrival"),
        "n_respondents",
        "n_positive",
    )
    protected = protect(cells, (BY_REGION, NATIONAL), resolve(min_cell=min_cell), release_no=1)
    return protected.tables[BY_REGION.name], protected.tables[NATIONAL.name]


def check_published(frame: pl.DataFrame, *, min_cell: int, table: str, rounding: int = 1) -> None:
    """The last gate before writing: no shown row may break the primary rule. Rounded figures
    must be multiples of the base; their complements are not exact counts, so for them the
    complement is left to the engine, which applied the rule to the true counts. No shown row
    may carry bounds: beside a shown figure they are meaningless, a sign of mixed-up columns."""
    shown = frame.filter(~pl.col("suppressed"))
    if rounding > 1:
        n, k = pl.col("n_respondents"), pl.col("n_positive")
        unsafe = shown.filter(
            (n < min_cell)
            | k.is_between(1, min_cell - 1)
            | (n % rounding != 0)
            | (k % rounding != 0)
        )
    else:
        unsafe = shown.filter(primary_rule(min_cell))
    hidden_n_too_small = frame.filter(
        pl.col("n_respondents").is_not_null() & (pl.col("n_respondents") < min_cell)
    )
    if unsafe.height or hidden_n_too_small.height:
        raise PublishError(
            f"{table}: {unsafe.height + hidden_n_too_small.height} row(s) would break the "
            f"small-cell rule (min_cell = {min_cell}); nothing was published"
        )
    bounds = [pl.col(column).is_not_null() for column in BOUND_COLUMNS if column in frame.columns]
    bounded = shown.filter(pl.any_horizontal(pl.lit(False), *bounds))
    if bounded.height:
        raise PublishError(
            f"{table}: {bounded.height} shown row(s) carry bounds meant for withheld figures; "
            "nothing was published"
        )
