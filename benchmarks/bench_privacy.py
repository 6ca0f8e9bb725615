"""The ten-year benchmark of issue 7: does protecting release R stay affordable as the history
of published figures grows? `make bench` (never part of `make test`).

Runs the national service scenario (benchmarks/national_service.py) release 1..N under each
preset, each release protected with every earlier release's figures as history, exactly as
`transforms.release.publish_release` does, then the first releases again under today's engine
(commit 5423b46, loaded from git at run time) for a same-run comparison. Each sequence runs in
a fresh subprocess so peak memory is its own and a sequence over its time budget can be
stopped. Timings are printed and written to benchmarks/results.md, never asserted.

    python -m benchmarks.bench_privacy                      # the full run (<= 30 min a preset)
    python -m benchmarks.bench_privacy --releases 4 --regions 3 --presets gmc-sdc --baseline none
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from benchmarks.national_service import (
    ITEM_RATES,
    LATE_SHARE,
    cells_of_release,
    participants_of,
    scenario,
)
from benchmarks.report import RESULTS, machine_lines, write_section
from transforms.memory import usable_cores
from transforms.privacy.policy import DEFAULT_POLICY
from transforms.release import protect_release

ROOT = Path(__file__).resolve().parent.parent
PRESETS = ("gmc-sdc", "opensafely", "acro")
BASELINE_COMMIT = "5423b46"
BASELINE_MODULES = ("__init__", "engine", "audit", "policy", "tables")
"""The whole privacy package at the baseline commit, so its engine meets the policy and table
definitions it was written against even after the rewrite changes them."""
CHECKPOINT_FRACTIONS = (1 / 8, 1 / 4, 1 / 2, 1)
"""Of N releases: 15, 30, 60 and 120 for the ten-year run."""
WINDOW = 2
"""Releases either side of a checkpoint whose median time is reported beside the single
release's, which under the strict presets varies from month to month with what each shows."""


# --- one sequence, in a worker subprocess -------------------------------------------------


@dataclass(frozen=True)
class Engine:
    """What a sequence needs from an engine, current or baseline."""

    protect: Callable[..., Any]
    tables: Any
    resolve: Callable[[str], Any]
    history_schema: dict[str, pl.DataType]
    audit_failure: type[Exception]


def git_show(commit: str, path: str) -> str:
    return subprocess.run(
        ["git", "show", f"{commit}:{path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def baseline_unavailable(commit: str) -> str | None:
    """Why the baseline engine cannot be loaded, or None when it can."""
    try:
        git_show(commit, "transforms/privacy/engine.py")
    except FileNotFoundError:
        return "git is not installed"
    except subprocess.CalledProcessError as exc:
        return f"git show {commit}:transforms/privacy/engine.py failed: {exc.stderr.strip()}"
    return None


def load_engine(kind: str, scratch: Path, commit: str) -> Engine:
    """The working tree's engine ("new"), or the one at `commit` written into a throwaway
    package under `scratch` (never committed: the old code lives only in git history)."""
    if kind in ("new", "release"):
        package = importlib.import_module("transforms.privacy")
    else:
        name = f"baseline_{commit}"
        folder = scratch / name
        folder.mkdir()
        for module in BASELINE_MODULES:
            source = git_show(commit, f"transforms/privacy/{module}.py")
            (folder / f"{module}.py").write_text(re.sub(r"\btransforms\.privacy\b", name, source))
        sys.path.insert(0, str(scratch))
        package = importlib.import_module(name)
    engine = importlib.import_module(f"{package.__name__}.engine")
    return Engine(
        protect=package.protect,
        tables=package.OUTCOME_TABLES,
        resolve=package.resolve,
        history_schema=engine.HISTORY_SCHEMA,
        audit_failure=package.AuditFailure,
    )


def peak_mb() -> float:
    """This process's peak resident memory (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def resident_mb() -> float | None:
    """This process's resident memory now (Linux only): what a release leaves standing for
    the next, as against the peak, which a release's own working memory sets."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else None


def run_sequence(args: argparse.Namespace) -> None:
    """Worker: protect releases 1..N in order, one JSON line per release to --worker-out (so a
    run killed over its budget still reports how far it got)."""
    out = Path(args.worker_out)

    def emit(record: dict[str, Any]) -> None:
        with out.open("a") as f:
            f.write(json.dumps(record) + "\n")

    with tempfile.TemporaryDirectory() as scratch:
        engine = load_engine(args.worker, Path(scratch), args.baseline_commit)
        policy = engine.resolve(args.presets[0])
        all_cells = scenario(args.releases, args.regions, args.seed)
        history = pl.DataFrame(schema=engine.history_schema)
        previous = None  # the last release's audit, taken over by the new engine only
        emit({"kind": "start", "rss_mb": peak_mb(), "cells": all_cells.height})
        started = time.perf_counter()
        for release in range(1, args.releases + 1):
            if time.perf_counter() - started > args.budget_seconds:
                emit({"kind": "budget", "release": release})
                return
            cells = cells_of_release(all_cells, release)
            clock = time.perf_counter()
            try:
                if args.worker == "release":
                    everything = protect_release(
                        cells,
                        participants_of(cells),
                        policy,
                        release_no=release,
                        history=history,
                        previous_audit=previous,
                    )
                    protected, figures, audit = (
                        everything.outcomes,
                        everything.figures,
                        everything.audit,
                    )
                else:
                    carried = {} if previous is None else {"previous_audit": previous}
                    protected = engine.protect(
                        cells, engine.tables, policy, release_no=release, history=history, **carried
                    )
                    figures, audit = protected.figures, protected.audit
            except engine.audit_failure as exc:
                seconds = time.perf_counter() - clock
                emit({"kind": "refused", "release": release, "seconds": seconds, "why": str(exc)})
                continue
            except Exception as exc:
                traceback.print_exc()
                emit({"kind": "error", "release": release, "why": repr(exc)})
                return
            seconds = time.perf_counter() - clock
            record = {
                "kind": "release",
                "release": release,
                "seconds": seconds,
                "cells": cells.height,
                "history_rows": history.height,
                "n_rows": protected.n_rows,
                "n_suppressed": protected.n_suppressed,
                "n_primary": protected.n_primary,
                "n_complementary": protected.n_complementary,
                "rss_mb": peak_mb(),
                "resident_mb": resident_mb(),
            }
            emit(record)
            history = pl.concat([history, figures.cast(engine.history_schema)])
            if args.worker != "baseline":
                previous = audit
            print(
                f"  {args.worker:<8} {args.presets[0]:<10} release {release:>3}: "
                f"{seconds:8.2f} s, {protected.n_rows:>6} rows, "
                f"primary {_share(protected.n_primary, protected.n_rows)}, "
                f"complementary {_share(protected.n_complementary, protected.n_rows)}",
                flush=True,
            )
        emit({"kind": "end", "rss_mb": peak_mb()})


# --- the parent: launch sequences, summarise, write results.md ----------------------------


@dataclass
class Run:
    """One sequence's records, as read back from its worker."""

    engine: str
    preset: str
    regions: int
    releases_asked: int
    records: list[dict[str, Any]] = field(default_factory=list)
    status: str = "complete"
    wall_seconds: float = 0.0

    @property
    def releases(self) -> list[dict[str, Any]]:
        return [r for r in self.records if r["kind"] == "release"]

    def at(self, release: int) -> dict[str, Any] | None:
        return next((r for r in self.releases if r["release"] == release), None)

    @property
    def peak_mb(self) -> float | None:
        seen = [r["rss_mb"] for r in self.records if "rss_mb" in r]
        return max(seen) if seen else None

    @property
    def peak_release(self) -> int | None:
        """The first release after which the peak was reached."""
        peak = self.peak_mb
        return next((r["release"] for r in self.releases if r["rss_mb"] == peak), None)

    def resident_at(self, release: int) -> float | None:
        found = self.at(release)
        return found.get("resident_mb") if found else None

    @property
    def start_mb(self) -> float | None:
        return next((r["rss_mb"] for r in self.records if r["kind"] == "start"), None)


def launch(
    kind: str, preset: str, releases: int, regions: int, budget: float, args: argparse.Namespace
) -> Run:
    """Run one sequence in a fresh interpreter; kill it if it overruns its budget by far
    (a single release that never ends), keeping the releases it finished."""
    run = Run(kind, preset, regions, releases)
    label = {
        "release": "working tree, all a release protects",
        "new": "working-tree engine, the first three tables",
    }.get(kind, f"engine at {args.baseline_commit}")
    print(f"{label}, {preset}, {regions} regions x {releases} releases:", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "records.jsonl"
        out.touch()
        command = [
            sys.executable,
            "-m",
            "benchmarks.bench_privacy",
            "--worker",
            kind,
            "--worker-out",
            str(out),
            "--presets",
            preset,
            "--releases",
            str(releases),
            "--regions",
            str(regions),
            "--seed",
            str(args.seed),
            "--budget-seconds",
            str(budget),
            "--baseline-commit",
            args.baseline_commit,
        ]
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT)
        try:
            code = process.wait(timeout=budget * 1.1 + 60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = None
        run.wall_seconds = time.perf_counter() - started
        run.records = [json.loads(line) for line in out.read_text().splitlines() if line]
    done = len(run.releases)
    kinds = {r["kind"] for r in run.records}
    if code is None:
        run.status = f"killed over budget ({budget:g} s) during release {done + 1}"
    elif "budget" in kinds:
        run.status = f"stopped by budget ({budget:g} s) after release {done}"
    elif "error" in kinds or code != 0:
        why = next((r["why"] for r in run.records if r["kind"] == "error"), f"exit code {code}")
        run.status = f"failed after release {done}: {why}"
    refused = [r["release"] for r in run.records if r["kind"] == "refused"]
    if refused:
        run.status += f"; refused releases {refused}"
    print(f"  -> {run.status}, {run.wall_seconds:.1f} s wall", flush=True)
    return run


def checkpoints(releases: int) -> list[int]:
    return sorted({max(1, round(releases * f)) for f in CHECKPOINT_FRACTIONS})


def fit_exponent(points: list[tuple[int, float]]) -> float | None:
    """b of time ~ a * release^b, least squares on logs; None without two usable points."""
    usable = [(r, s) for r, s in points if r > 0 and s > 0]
    if len({r for r, _ in usable}) < 2:
        return None
    x, y = zip(*usable, strict=True)
    slope, _ = np.polyfit(np.log(x), np.log(y), 1)
    return float(slope)


def _share(count: int, total: int) -> str:
    return f"{100 * count / total:.1f}%" if total else "-"


def _mean_share(run: Run, key: str) -> str:
    shares = [r[key] / r["n_rows"] for r in run.releases if r["n_rows"]]
    return f"{100 * sum(shares) / len(shares):.1f}%" if shares else "-"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _ratio(numerator: float | None, denominator: float | None, digits: int = 1) -> str:
    if numerator is None or denominator is None or denominator == 0:
        return "-"
    return f"{numerator / denominator:.{digits}f}"


def window_median(run: Run, release: int) -> float | None:
    """The median time of the releases within WINDOW of `release` that the run finished
    (fewer at the end of the run); None when it finished none of them."""
    seconds = [r["seconds"] for r in run.releases if abs(int(r["release"]) - release) <= WINDOW]
    return float(np.median(seconds)) if seconds else None


def steadier_section(runs: list[Run], marks: list[int]) -> list[str]:
    """Each preset's median time around every checkpoint and, in brackets, its ratio to the
    default preset's median in the same run (issue 7 asks for the strict presets within 3x)."""
    reference = next((run for run in runs if run.preset == DEFAULT_POLICY), None)
    lines = [
        "",
        f"Median time of the releases within {WINDOW} of each checkpoint (fewer at the end of a "
        "run): steadier than one release's, which under the strict presets varies from month "
        "to month with what each month shows again. In brackets, the ratio to "
        f"`{DEFAULT_POLICY}`'s median in this run.",
        "",
        "| preset | " + " | ".join(f"median s @{m}" for m in marks) + " |",
        "|---|" + "---|" * len(marks),
    ]
    for run in runs:
        cells = []
        for m in marks:
            median = window_median(run, m)
            base = window_median(reference, m) if reference is not None else None
            ratio = _ratio(median, base)
            cells.append(_num(median) + ("" if ratio == "-" else f" ({ratio}x)"))
        lines.append(f"| {run.preset} | " + " | ".join(cells) + " |")
    return lines


def memory_section(runs: list[Run], marks: list[int]) -> list[str]:
    """Where the peak was reached, and what each checkpoint release left resident for the
    next: a peak far above what stays resident is one release's working memory, a peak near
    it is the history the process carries."""
    lines = [
        "",
        "Resident memory (MB) right after each checkpoint release, its figures and audit still "
        "held, and the release after which the peak was reached.",
        "",
        "| preset | "
        + " | ".join(f"resident @{m}" for m in marks)
        + " | peak MB | peak after release |",
        "|---|" + "---|" * (len(marks) + 2),
    ]
    for run in runs:
        lines.append(
            f"| {run.preset} | "
            + " | ".join(_num(run.resident_at(m), 0) for m in marks)
            + f" | {_num(run.peak_mb, 0)} | {run.peak_release or '-'} |"
        )
    return lines


def sequence_section(runs: list[Run], args: argparse.Namespace) -> str:
    marks = checkpoints(args.releases)
    lines = [
        f"### {args.regions} regions x {args.releases} monthly releases",
        "",
        "Each release is protected with the figures of every earlier release as history (as "
        "`publish_release` does); the time is that of the `protect_release()` call alone, in a "
        "fresh process per preset whose peak resident memory (`ru_maxrss`, interpreter and imports "
        "included; at start in brackets) is shown. `b` is the exponent of time ~ a * release^b "
        f"fitted by least squares on logs at releases {', '.join(map(str, marks))}: about 1 "
        "means each release costs in proportion to the history it is checked against, above 1 "
        "the sequence is heading for trouble. Withheld shares are of the rows of the four "
        "outcome tables: primary (the rule itself) and complementary (withheld only as cover).",
        "",
        "| preset | releases done | "
        + " | ".join(f"s @{m}" for m in marks)
        + " | b | total s | peak MB | status |",
        "|---|---|" + "---|" * len(marks) + "---|---|---|---|",
    ]
    for run in runs:
        at = [run.at(m) for m in marks]
        points = [(m, r["seconds"]) for m, r in zip(marks, at, strict=True) if r]
        total = sum(r["seconds"] for r in run.releases)
        memory = f"{_num(run.peak_mb, 0)} ({_num(run.start_mb, 0)})"
        lines.append(
            f"| {run.preset} | {len(run.releases)}/{run.releases_asked} | "
            + " | ".join(_num(r["seconds"] if r else None) for r in at)
            + f" | {_num(fit_exponent(points))} | {total:.1f} | {memory} | {run.status} |"
        )
    lines += steadier_section(runs, marks)
    lines += memory_section(runs, marks)
    at_marks = " / ".join(f"@{m}" for m in marks)
    lines += [
        "",
        f"| preset | rows @{marks[-1]} | primary {at_marks} | primary mean "
        f"| complementary {at_marks} | complementary mean |",
        "|---|---|---|---|---|---|",
    ]
    for run in runs:
        at = [run.at(m) for m in marks]
        primary = " / ".join(_share(r["n_primary"], r["n_rows"]) if r else "-" for r in at)
        cover = " / ".join(_share(r["n_complementary"], r["n_rows"]) if r else "-" for r in at)
        rows = at[-1]["n_rows"] if at[-1] else "-"
        lines.append(
            f"| {run.preset} | {rows} | {primary} | {_mean_share(run, 'n_primary')} | "
            f"{cover} | {_mean_share(run, 'n_complementary')} |"
        )
    return "\n".join(lines)


def comparison_section(pairs: list[tuple[Run, Run]], args: argparse.Namespace, skipped: str) -> str:
    lines = [
        f"### Against the engine at {args.baseline_commit} (same run, same scenario)",
        "",
        f"The engine at commit {args.baseline_commit} (`transforms/privacy/` read with `git show` "
        "into a throwaway package at run time) protects the first releases of the same scenario, "
        f"under `{args.baseline_preset}`, right after the working tree's engine does, each in "
        "its own process. Speed-up is old time / new time; the complementary columns count rows "
        "withheld only as cover (fewer is better, if the audit still passes); primary counts "
        "must agree. The old engine did not keep a count it protected in one release protected "
        "in the next, so where the new engine withholds more, check first whether the old "
        "release gives such a count away (`benchmarks/leak_check.py` does, with the tests' "
        "attacker).",
        "",
    ]
    if skipped:
        return "\n".join([*lines, f"Skipped: {skipped}."])
    lines += [
        "| regions | release | rows | new s | old s | speed-up | new compl. | old compl. "
        "| new/old compl. | primary new/old | old status |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for new, old in pairs:
        for release in range(1, new.releases_asked + 1):
            a, b = new.at(release), old.at(release)
            if not a and not b:
                continue
            rows = (a or b or {}).get("n_rows", "-")
            primary = f"{a['n_primary'] if a else '-'}/{b['n_primary'] if b else '-'}"
            lines.append(
                f"| {new.regions} | {release} | {rows} | {_num(a and a['seconds'])} | "
                f"{_num(b and b['seconds'])} | "
                f"{_ratio(b and b['seconds'], a and a['seconds'])}x | "
                f"{a['n_complementary'] if a else '-'} | {b['n_complementary'] if b else '-'} | "
                f"{_ratio(a and a['n_complementary'], b and b['n_complementary'], 2)} | "
                f"{primary} | {old.status} |"
            )
    return "\n".join(lines)


def parse_pairs(values: list[str]) -> list[tuple[int, int]]:
    """ "4x4 13x2" -> [(4, 4), (13, 2)]; "none" (or nothing) turns the comparison off."""
    pairs = []
    for value in values:
        if value.lower() in ("none", "off", "0"):
            return []
        regions, _, releases = value.lower().partition("x")
        pairs.append((int(regions), int(releases)))
    return pairs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--releases", type=int, default=120, help="monthly releases (120)")
    parser.add_argument("--regions", type=int, default=13, help="regions (13)")
    parser.add_argument("--presets", nargs="+", choices=PRESETS, default=list(PRESETS))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--budget-seconds",
        type=float,
        default=1800,
        help="per preset: no release is started after this many seconds, and a release still "
        "running at 1.1 x budget + 60 s is killed; the releases done are reported (1800)",
    )
    parser.add_argument(
        "--baseline",
        nargs="*",
        default=["4x4", "13x2"],
        metavar="REGIONSxRELEASES",
        help="comparisons with the baseline engine (4x4 13x2); 'none' to skip",
    )
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT)
    parser.add_argument("--baseline-preset", choices=PRESETS, default="gmc-sdc")
    parser.add_argument("--baseline-budget-seconds", type=float, default=900)
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file (results.md)")
    parser.add_argument("--worker", choices=("release", "new", "baseline"), help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_sequence(args)
        return

    header = machine_lines()
    runs = [
        launch("release", preset, args.releases, args.regions, args.budget_seconds, args)
        for preset in args.presets
    ]
    pairs: list[tuple[Run, Run]] = []
    comparisons = parse_pairs(args.baseline)
    skipped = "" if comparisons else "turned off (--baseline none)"
    if comparisons and (why := baseline_unavailable(args.baseline_commit)):
        skipped = f"baseline engine unavailable ({why})"
        print(f"comparison skipped: {skipped}", flush=True)
    elif comparisons:
        budget = args.baseline_budget_seconds
        for regions, releases in comparisons:
            new = launch("new", args.baseline_preset, releases, regions, budget, args)
            old = launch("baseline", args.baseline_preset, releases, regions, budget, args)
            pairs.append((new, old))

    command = " ".join(["python -m benchmarks.bench_privacy", *(argv or sys.argv[1:])])
    body = "\n".join(
        [
            "## Privacy engine: the ten-year national service (issue 7)",
            "",
            "What was measured: the time and memory protecting one monthly release takes as the "
            "published history grows, and how much it withholds: "
            "`transforms.release.protect_release`, everything `publish_release` protects (the "
            "four outcome tables, then participation checked against them). "
            f"Scenario (`benchmarks/national_service.py`, seed {args.seed}): {args.regions} "
            f"regions, {len(ITEM_RATES)} items, one training day per region per month with "
            f"5-20 respondents, about {LATE_SHARE:.0%} of region-days sending a late file of 1-3 "
            "respondents that arrives in the next release.",
            "",
            *header,
            f"- Command: `{command}`",
            f"- Allocators (`transforms.memory`): polars' jemalloc `{pl.jemalloc_conf}`; "
            f"glibc arenas: `MALLOC_ARENA_MAX` {os.environ.get('MALLOC_ARENA_MAX', 'unset')}, "
            f"otherwise at most one per usable core ({usable_cores()})",
            "",
            sequence_section(runs, args),
            "",
            comparison_section(pairs, args, skipped),
        ]
    )
    write_section("privacy", body, args.out)
    print()
    print(body)
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
