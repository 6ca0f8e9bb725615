"""Issue 11's backfill: a million responses in 1,000 template files through `reflect-eval run`,
against DuckDB alone reading and aggregating the same files, and against a straightforward
pandas + pandera (pandas) script doing the same checks and aggregation as an analyst would
write it (`benchmarks/pandas_script.py`). `make bench` (never part of `make test`).

"Own work" is a run's time less the median time of a run with nothing to do on the same setup
(Prefect's floor), so start-up is neither hidden nor blamed; the run's own step times
(`took:` in its output) report publishing apart. Timings are printed and written to
benchmarks/results.md, never asserted.

    python -m benchmarks.bench_backfill                       # 1,000 files x 1,000 responses
    python -m benchmarks.bench_backfill --files 40 --responses 100   # a quick look
"""

from __future__ import annotations

import argparse
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np

from benchmarks.pandas_script import aggregate_with_pandas
from benchmarks.report import RESULTS, machine_lines, write_section
from fixtures.regional_drop import write_drop
from schemas.config import load_config
from schemas.instrument import load_instrument
from transforms.likert import answer_codes

COMMAND = str(Path(sys.executable).parent / "reflect-eval")
TOOK = re.compile(r"^took: (.*)$", re.MULTILINE)


def run(
    config: Path, home: Path, api_url: str | None = None
) -> tuple[float, dict[str, float], str]:
    """`reflect-eval run`: wall seconds, its own step times, its output. Against the Prefect
    server at `api_url`, or in Prefect's temporary local mode without one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(home)
    if api_url is not None:
        env["PREFECT_API_URL"] = api_url
    started = time.perf_counter()
    done = subprocess.run(
        [COMMAND, "run", "--config", str(config)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"reflect-eval run failed ({done.returncode}):\n{done.stderr[-2000:]}")
    steps: dict[str, float] = {}
    found = TOOK.search(done.stdout)
    if found:
        for part in found.group(1).split(", "):
            step, value, _ = part.split(" ")
            steps[step] = float(value)
    return seconds, steps, done.stdout


def duckdb_alone(drop: Path, config: Path) -> tuple[float, int]:
    """DuckDB reading every file and counting answered and positive per region, training day
    and item, the answers tidied and coded as the pipeline codes them."""
    instrument = load_instrument(load_config(config).instrument)
    codes = answer_codes(instrument)
    positive = [k for k, v in codes.items() if v in instrument.scale.positive_codes]
    items = ", ".join(instrument.likert_items)
    query = f"""
        with raw as (
            select * from read_csv('{drop}/*/*.csv', all_varchar = true, filename = true)
        ),
        answers as (
            unpivot raw on {items} into name item value answer
        ),
        coded as (
            select
                regexp_extract(filename, '/([^/]+)/[^/]+$', 1) as region,
                training_day,
                item,
                lower(regexp_replace(trim(answer), '\\s+', ' ', 'g')) as answer,
            from answers
        )
        select
            region,
            training_day,
            item,
            count(*) as n_respondents,
            count(*) filter (where list_contains($positive, answer)) as n_positive,
        from coded
        where list_contains($accepted, answer)
        group by all
    """
    con = duckdb.connect()
    started = time.perf_counter()
    counted = con.execute(query, {"positive": positive, "accepted": list(codes)}).fetchall()
    seconds = time.perf_counter() - started
    con.close()
    return seconds, sum(row[3] for row in counted)


def _grow(
    root: Path, files: int, args: argparse.Namespace, floor_s: float, home: Path
) -> tuple[int, float, float, float]:
    """One growth point: a drop of `files` files through one run, then a run with nothing
    new: (responses, own work, own work but publishing, the nothing-new run's seconds)."""
    planted = write_drop(
        root,
        n_regions=args.regions,
        n_training_days=max(1, files // args.regions),
        min_group=args.responses,
        max_group=args.responses,
    )
    total_s, steps, _ = run(planted.config_path, home)
    own_s = total_s - floor_s
    nothing_s, _, _ = run(planted.config_path, home)
    n = len(planted.files) * args.responses
    print(f"growth {n:,}: own work {own_s:.1f} s; steps {steps}", flush=True)
    return n, own_s, own_s - steps.get("publish", 0.0), nothing_s


def _exponent(points: list[tuple[int, float]]) -> float:
    """b of seconds ~ a * n^b, least squares on logs (nan with fewer than two points)."""
    usable = [(n, s) for n, s in points if n > 0 and s > 0]
    if len(usable) < 2:
        return math.nan
    slope, _ = np.polyfit(np.log([n for n, _ in usable]), np.log([s for _, s in usable]), 1)
    return float(slope)


def peak_child_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--responses", type=int, default=1000, help="per file")
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3, help="runs per median")
    parser.add_argument(
        "--growth",
        type=int,
        nargs="*",
        default=[100, 300],
        help="smaller drops (files) run too, for the growth exponent",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    header = machine_lines()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "backfill"
        started = time.perf_counter()
        planted = write_drop(
            root,
            n_regions=args.regions,
            n_training_days=args.files // args.regions,
            min_group=args.responses,
            max_group=args.responses,
        )
        generate_s = time.perf_counter() - started
        n_files = len(planted.files)
        print(f"generate: {n_files} files in {generate_s:.1f} s", flush=True)

        duck = [duckdb_alone(root / "drop", planted.config_path) for _ in range(args.repeats)]
        duck_s = statistics.median(s for s, _ in duck)
        print(f"duckdb alone: {duck_s:.2f} s ({duck[0][1]:,} answers counted)", flush=True)
        started = time.perf_counter()
        pandas_answers = aggregate_with_pandas(root / "drop", planted.config_path)
        pandas_s = time.perf_counter() - started
        print(f"pandas + pandera: {pandas_s:.1f} s ({pandas_answers:,} answers)", flush=True)

        empty = Path(tmp) / "floor"
        (empty / "drop").mkdir(parents=True)
        for region in (root / "drop").iterdir():
            (empty / "drop" / region.name).mkdir()
        shutil.copy(planted.config_path, empty / planted.config_path.name)
        home = Path(tmp) / "prefect"  # one Prefect home, warmed by a first run not counted
        floor = [run(empty / planted.config_path.name, home)[0] for _ in range(args.repeats + 1)]
        floor_s = statistics.median(floor[1:])
        print(f"floor (a run with nothing to do): {floor_s:.1f} s", flush=True)

        before_mb = peak_child_mb()
        total_s, steps, output = run(planted.config_path, home)
        run_mb = peak_child_mb()
        own_s = total_s - floor_s
        ingest_s = own_s - steps.get("publish", 0.0)
        inside_s = steps.get("prepare", 0.0) + steps.get("record", 0.0)
        print(f"backfill run: {total_s:.1f} s; own work {own_s:.1f} s; steps {steps}", flush=True)
        nothing = [run(planted.config_path, home)[0] for _ in range(args.repeats)]
        nothing_s = statistics.median(nothing)
        print(f"nothing new on top: {nothing_s:.1f} s", flush=True)
        n_responses = args.responses * n_files
        growth = [
            _grow(Path(tmp) / f"growth-{files}", files, args, floor_s, home)
            for files in sorted(set(args.growth))
            if files < n_files
        ]
        growth.append((n_responses, own_s, ingest_s, nothing_s))
        exponent = _exponent([(n, own) for n, own, _, _ in growth])
        ingest_exponent = _exponent([(n, ingest) for n, _, ingest, _ in growth])
    peak_note = (
        f"{run_mb:,.0f} MB"
        if run_mb > before_mb
        else f"at most {run_mb:,.0f} MB (no higher than the runs before it)"
    )
    body = "\n".join(
        [
            "## Backfill: a million responses through `reflect-eval run` (issue 11)",
            "",
            f"What was measured: {n_files} template CSV files of {args.responses} respondents "
            f"each ({n_responses:,} responses) in {args.regions} regions, generated by "
            "`fixtures.regional_drop`, through `reflect-eval run` in Prefect's local mode. Own "
            "work = the run's time less the median of runs with nothing to do on the same "
            "setup and Prefect home (the floor; a first run warms the home and is not counted); "
            "the run's own step times (printed by it) are shown too. DuckDB alone: one "
            "`read_csv` over the same files, answers "
            "tidied and coded, counted per region, training day and item (median of "
            f"{args.repeats}). pandas + pandera: `benchmarks/pandas_script.py`, the same checks "
            "file by file and the same counts. Peak memory: the largest child process "
            "(`ru_maxrss` of children).",
            "",
            *header,
            f"- Command: `python -m benchmarks.bench_backfill --files {args.files} "
            f"--responses {args.responses} --regions {args.regions} --growth "
            f"{' '.join(str(f) for f in args.growth)}`",
            "",
            "| what | seconds | against DuckDB alone |",
            "|---|---|---|",
            f"| DuckDB alone | {duck_s:.2f} | 1.0x |",
            f"| pandas + pandera script | {pandas_s:.1f} | {pandas_s / duck_s:.1f}x |",
            f"| reflect-eval run, whole | {total_s:.1f} | - |",
            f"| Prefect's floor (nothing to do) | {floor_s:.1f} | - |",
            f"| own work | {own_s:.1f} | {own_s / duck_s:.1f}x |",
            f"| own work but publishing (read, validate, de-identify, load) | {ingest_s:.1f} | "
            f"{ingest_s / duck_s:.1f}x |",
            *(f"| step inside the run: {step} | {v:.1f} | - |" for step, v in steps.items()),
            f"| steps but publishing, inside the run | {inside_s:.1f} | {inside_s / duck_s:.1f}x |",
            f"| a run with nothing new on top | {nothing_s:.1f} | "
            f"{nothing_s / floor_s:.2f}x the floor |",
            "",
            f"Own work but publishing against the pandas script (which does not publish): "
            f"{pandas_s / ingest_s:.1f}x faster; own work with publishing: "
            f"{pandas_s / own_s:.1f}x faster. Peak memory "
            f"of the run: {peak_note}. Generating the drop took {generate_s:.0f} s.",
            "",
            "### Growth",
            "",
            f"Smaller drops of {', '.join(str(f) for f in sorted(set(args.growth)))} files of "
            f"{args.responses} respondents beside the full one (one run each, the same Prefect "
            "home and floor), each followed by a run with nothing new. The "
            "exponent b of own work ~ a * responses^b is fitted by least squares on logs; 1 is "
            "linear.",
            "",
            "| responses | own work s | own work but publishing s | nothing new on top s |",
            "|---|---|---|---|",
            *(
                f"| {n:,} | {own:.1f} | {ingest:.1f} | {nothing:.1f} |"
                for n, own, ingest, nothing in growth
            ),
            "",
            f"Exponent: own work {exponent:.2f}; own work but publishing {ingest_exponent:.2f}.",
        ]
    )
    write_section("backfill", body, args.out)
    print(output[-1500:])
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
