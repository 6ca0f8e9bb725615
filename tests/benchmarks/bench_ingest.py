"""`make bench`: how long the plain pipeline steps take on a large drop, and the peak memory.

Not a test (nothing here is timed against a limit in the suite): it prints measurements.
    python -m tests.benchmarks.bench_ingest [--files-per-region N] [--group-size N]"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from fixtures.regional_drop import REGIONS, write_drop
from schemas.config import load_config
from schemas.instrument import load_instrument
from transforms.drop import find_new_files
from transforms.ingest import prepare, record
from transforms.load import create_restricted_tables, open_warehouse
from transforms.release import publish_release


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files-per-region", type=int, default=100)
    parser.add_argument("--group-size", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        write_drop(
            root,
            n_regions=len(REGIONS),
            n_training_days=args.files_per_region,
            min_group=args.group_size,
            max_group=args.group_size,
        )
        print(f"generate: {time.perf_counter() - started:.1f} s")
        config = load_config(root / "reflect-eval.toml")
        instrument = load_instrument(config.instrument)
        files, _ = find_new_files(config.drop_dir)

        started = time.perf_counter()
        prepared = [prepare(f, config, instrument) for f in files]
        prepare_s = time.perf_counter() - started
        n = sum(p.data.n_responses for p in prepared if p.data)
        with open_warehouse(config.restricted_path) as con:
            create_restricted_tables(con)
            started = time.perf_counter()
            for item in prepared:
                record(con, item, config)
            record_s = time.perf_counter() - started
            started = time.perf_counter()
            release = publish_release(con, config, instrument)
            publish_s = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{len(files)} files, {n} responses")
        print(f"prepare (read, validate, de-identify): {prepare_s:.1f} s ({n / prepare_s:,.0f}/s)")
        print(
            f"record (one transaction per file): {record_s:.1f} s ({len(files) / record_s:,.0f}/s)"
        )
        print(f"publish ({release.cells} cells):            {publish_s:.2f} s")
        print(f"peak memory: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
