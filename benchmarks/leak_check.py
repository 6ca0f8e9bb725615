"""Does a sequence of releases give away a count protected in an earlier release?

Runs the benchmark scenario through an engine (the working tree's, or the one at the baseline
commit) and, after each release, asks the tests' own attacker (`tests/attacker.py`, an integer
program over every release so far) about every group each release so far had to protect: its
published rows, underlying cells and late batches. A group narrowed too far is printed with the
release that protected it and the release that gave it away.

    python -m benchmarks.leak_check --engine baseline --regions 4 --releases 4

Used to read the engine comparison in `benchmarks/results.md`: where the new engine withholds
more than the old one, it is because the old one's release gives such a count away."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import polars as pl

from benchmarks.bench_privacy import BASELINE_COMMIT, PRESETS, load_engine
from benchmarks.national_service import cells_of_release, scenario
from tests.attacker import TestAttacker, breaches, groups_of


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("new", "baseline"), default="baseline")
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--releases", type=int, default=4)
    parser.add_argument("--preset", choices=PRESETS, default="gmc-sdc")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT)
    args = parser.parse_args(argv)

    cells = scenario(args.releases, args.regions, args.seed)
    structure = cells.drop("n_respondents", "n_positive")
    found = 0
    with tempfile.TemporaryDirectory() as scratch:
        engine = load_engine(args.engine, Path(scratch), args.baseline_commit)
        policy = engine.resolve(args.preset)
        history = pl.DataFrame(schema=engine.history_schema)
        previous = None
        published: list[dict[str, pl.DataFrame]] = []
        for release in range(1, args.releases + 1):
            extra = {} if args.engine == "baseline" else {"previous_audit": previous}
            out = engine.protect(
                cells_of_release(cells, release),
                engine.tables,
                policy,
                release_no=release,
                history=history,
                **extra,
            )
            history = pl.concat([history, out.figures.cast(engine.history_schema)])
            previous = out.audit
            published.append(out.tables)
            attacker = TestAttacker(structure, published, policy.rounding)
            for earlier, tables in enumerate(published, start=1):
                groups = groups_of(attacker, cells, tables, earlier)
                for breach in breaches(
                    attacker,
                    groups,
                    min_cell=policy.min_cell,
                    protection=policy.protection,
                    protect_zeros=policy.protect_zeros,
                ):
                    found += 1
                    print(
                        f"protected in release {earlier}, given away by release {release}: {breach}"
                    )
    where = f"{args.preset}, {args.regions} regions x {args.releases} releases"
    print(f"{args.engine} engine, {where}: {found} found")


if __name__ == "__main__":
    main()
