"""How long protecting one release takes, per policy, for a drop of the size the regions send:
`make bench`. Timings are printed, never asserted (tests stay free of speed targets)."""

from __future__ import annotations

import datetime as dt
import random
import time

import polars as pl

from transforms.privacy import OUTCOME_TABLES, protect, resolve

ITEMS = 7


def drop(n_regions: int, n_days: int, seed: int = 1) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for item in range(ITEMS):
        for region in range(n_regions):
            for day in range(n_days):
                n = rng.randint(4, 20)
                k = sum(rng.random() < 0.85 for _ in range(n))
                rows.append((f"item{item}", f"r{region:02d}", dt.date(2026, 1 + day, 7), 1, n, k))
    return pl.DataFrame(
        rows,
        schema=["item", "region", "training_day", "arrival", "n_respondents", "n_positive"],
        orient="row",
    )


def main() -> None:
    for n_regions, n_days in ((6, 4), (10, 12)):
        cells = drop(n_regions, n_days)
        for name in ("gmc-sdc", "opensafely", "acro"):
            start = time.perf_counter()
            release = protect(cells, OUTCOME_TABLES, resolve(name), release_no=1)
            seconds = time.perf_counter() - start
            print(
                f"{n_regions:>2} regions x {n_days:>2} days, {name:<10}: {seconds:6.2f} s, "
                f"{release.share_suppressed:.0%} of {release.n_rows} cells withheld"
            )


if __name__ == "__main__":
    main()
