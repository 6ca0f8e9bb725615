"""The national service scenario of issue 7: thirteen regions, one training day each a month,
ten years of monthly releases, and a trickle of late files.

Deterministic: every region-day draws from its own `random.Random` seeded by (seed, release,
region), so release R's cells are the same whatever the number of releases or regions asked
for, and a run of 4 regions is the first 4 regions of the full run."""

from __future__ import annotations

import datetime as dt
import random

import polars as pl

from transforms.privacy.tables import CELL_SCHEMA, PARTICIPANTS

ITEM_RATES: dict[str, float] = {
    "effective_use": 0.97,
    "keen_to_continue": 0.97,
    "adapt_to_challenges": 0.90,
    "learn_from_others": 0.97,
    "peer_support": 0.90,
    "less_isolated": 0.78,
    "self_awareness": 0.72,
}
"""The instrument's agree-scale items and positive rates near the pilot's (14 registrars)."""

REGIONS: tuple[str, ...] = (
    "east-of-england",
    "kss",
    "north-west",
    "yorkshire-and-humber",
    "wales",
    "east-midlands",
    "west-midlands",
    "thames-valley",
    "south-west",
    "north-east",
    "london",
    "wessex",
    "scotland",
)
GROUP_SIZE = (5, 20)
LATE_SHARE = 0.10
LATE_SIZE = (1, 3)
FIRST_MONTH = dt.date(2027, 1, 1)
"""Release 1 covers this month; release R the (R-1)th month after it."""


def region_names(n_regions: int) -> list[str]:
    """The first `n_regions` regions; beyond thirteen, numbered extras (for scaling runs)."""
    extra = [f"region-{i + 1:02d}" for i in range(len(REGIONS), n_regions)]
    return [*REGIONS, *extra][:n_regions]


def month_of(release: int) -> dt.date:
    months = FIRST_MONTH.month - 1 + release - 1
    return dt.date(FIRST_MONTH.year + months // 12, months % 12 + 1, 1)


def _positives(rng: random.Random, n: int, rate: float) -> int:
    """Binomial(n, rate) from the seeded generator (numpy's would tie results to its version)."""
    return sum(rng.random() < rate for _ in range(n))


def region_day(seed: int, release: int, region: str) -> list[tuple[object, ...]]:
    """The cells one region's training day of month `release` gives: its on-time file, and
    about one time in ten a late file of 1-3 respondents arriving in the next release."""
    rng = random.Random(f"{seed}/{release}/{region}")
    day = month_of(release).replace(day=rng.randint(1, 28))
    n = rng.randint(*GROUP_SIZE)
    late = rng.randint(*LATE_SIZE) if rng.random() < LATE_SHARE else 0
    rows: list[tuple[object, ...]] = []
    for item, rate in ITEM_RATES.items():
        rows.append((item, region, day, release, n, _positives(rng, n, rate)))
        if late:
            rows.append((item, region, day, release + 1, late, _positives(rng, late, rate)))
    return rows


def scenario(releases: int, n_regions: int = len(REGIONS), seed: int = 1) -> pl.DataFrame:
    """Every cell the first `releases` releases include (arrival <= releases): one row per
    item x region x training_day x arrival, sorted."""
    rows = [
        row
        for release in range(1, releases + 1)
        for region in region_names(n_regions)
        for row in region_day(seed, release, region)
        if row[3] <= releases
    ]
    return pl.DataFrame(rows, schema=CELL_SCHEMA, orient="row").sort(
        "item", "region", "training_day", "arrival"
    )


def cells_of_release(all_cells: pl.DataFrame, release: int) -> pl.DataFrame:
    """What release `release` protects: the cells that had arrived by then."""
    return all_cells.filter(pl.col("arrival") <= release)


def participants_of(cells: pl.DataFrame) -> pl.DataFrame:
    """Participation's cells: everyone in a region-day's file answers every item here, so one
    item's respondents per cell (`transforms.participation` counts anyone who answered one)."""
    first = cells["item"][0]
    return cells.filter(pl.col("item") == first).with_columns(
        pl.lit(PARTICIPANTS).alias("item"), pl.lit(0, pl.Int64).alias("n_positive")
    )
