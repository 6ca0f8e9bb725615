"""Small-cell suppression: every published count passes through here, once, last.

Primary rule: a row is withheld when fewer than `min_cell` answered, or when the positive count
or its complement (those not positive) is between 1 and `min_cell - 1`: "13 of 14 agreed" tells
every member that exactly one colleague disagreed.

Complementary rule: within an item, a lone withheld region could be recovered as the national
figure minus the published regions, so a second region (the smallest, then by id) is withheld
too. This closes exact recovery through the national margin; the linear-programming audit of
every table and release is the stronger check that builds on it."""

from __future__ import annotations

import polars as pl

from transforms.errors import PublishError

OUTCOME_COLUMNS = ("n_respondents", "n_positive", "pct_positive", "suppressed")


def primary_rule(min_cell: int) -> pl.Expr:
    """True where a row's counts would disclose a group smaller than `min_cell`."""
    n, k = pl.col("n_respondents"), pl.col("n_positive")
    small = pl.lit(1), pl.lit(min_cell - 1)
    return (n < min_cell) | k.is_between(*small) | (n - k).is_between(*small)


def suppress(
    by_region: pl.DataFrame, national: pl.DataFrame, *, min_cell: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Apply the primary then the complementary rule; return the publishable tables."""
    national = national.with_columns(
        primary_rule(min_cell).alias("suppressed"),
        (pl.col("n_respondents") < min_cell).alias("hide_n"),
    )
    by_region = by_region.with_columns(
        primary_rule(min_cell).alias("suppressed"),
        (pl.col("n_respondents") < min_cell).alias("hide_n"),
    )
    by_region = _complement(by_region, national, "hide_n")
    by_region = by_region.with_columns(pl.col("suppressed") | pl.col("hide_n"))
    by_region = _complement(by_region, national, "suppressed")
    return _withhold(by_region), _withhold(national)


def _complement(by_region: pl.DataFrame, national: pl.DataFrame, mask: str) -> pl.DataFrame:
    """Where exactly one region is masked in an item whose national figure is shown, mask the
    smallest other region too."""
    lone = (
        by_region.group_by("item")
        .agg(pl.col(mask).sum().alias("n_masked"))
        .join(national.select("item", pl.col(mask).alias("national_masked")), on="item")
        .filter((pl.col("n_masked") == 1) & ~pl.col("national_masked"))
        .select("item")
    )
    partner = (
        by_region.filter(~pl.col(mask))
        .join(lone, on="item")
        .sort("item", "n_respondents", "region")
        .group_by("item", maintain_order=True)
        .first()
        .select("item", "region", pl.lit(True).alias("partner"))
    )
    return (
        by_region.join(partner, on=["item", "region"], how="left")
        .with_columns(pl.col(mask) | pl.col("partner").fill_null(False))
        .drop("partner")
    )


def _withhold(frame: pl.DataFrame) -> pl.DataFrame:
    shown = ~pl.col("suppressed")
    return frame.with_columns(
        pl.when(~pl.col("hide_n")).then(pl.col("n_respondents")).alias("n_respondents"),
        pl.when(shown).then(pl.col("n_positive")).alias("n_positive"),
        pl.when(shown)
        .then(100.0 * pl.col("n_positive") / pl.col("n_respondents"))
        .alias("pct_positive"),
    ).drop("hide_n")


def check_published(frame: pl.DataFrame, *, min_cell: int, table: str) -> None:
    """The last gate before writing: no shown row may break the primary rule."""
    shown = frame.filter(~pl.col("suppressed"))
    unsafe = shown.filter(primary_rule(min_cell))
    hidden_n_too_small = frame.filter(
        pl.col("n_respondents").is_not_null() & (pl.col("n_respondents") < min_cell)
    )
    if unsafe.height or hidden_n_too_small.height:
        raise PublishError(
            f"{table}: {unsafe.height + hidden_n_too_small.height} row(s) would break the "
            f"small-cell rule (min_cell = {min_cell}); nothing was published"
        )
