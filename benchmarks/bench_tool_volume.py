"""Issue 11's backfill volume in the shapes the survey tools export: a million responses as
1,000 Microsoft Forms .xlsx files, and as one cumulative Qualtrics CSV export, through
`reflect-eval run`, beside the template CSV backfill (`bench_backfill`). `make bench` (never part
of `make test`).

Own work = the run's time less the floor (the median of runs with nothing to do on the same
setup and Prefect home); peak memory is the run's (`ru_maxrss` of the children of a process
that only runs them). The files are generated, by a process of their own, by
`fixtures.tool_exports` as each tool writes them: names, emails, response ids and
free text included, partial responses and the tool's own quirks too. The Qualtrics region's
`max_file_mb` is raised for the one large file (the default refuses files over 25 MB).

    python -m benchmarks.bench_tool_volume                        # both, a million each
    python -m benchmarks.bench_tool_volume --responses 20000      # a quick look
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from benchmarks.bench_backfill import run
from benchmarks.report import RESULTS, machine_lines, write_section
from fixtures.tool_exports import (
    TOOL_REGIONS,
    _Drawer,
    _responses,
    file_name,
    write_config,
    write_tool_export,
)

SHAPES = {
    "ms-forms": "Microsoft Forms .xlsx, 1,000 responses a file",
    "qualtrics": "Qualtrics, one cumulative CSV export",
}
PER_FILE = {"ms-forms": 1000, "qualtrics": None}
"""Responses a file (None: every response in one file)."""


def write_volume(root: Path, tool: str, responses: int) -> tuple[Path, int, float]:
    """A drop of `responses` responses as `tool` exports them: (config, files, file MB)."""
    region = TOOL_REGIONS[tool]
    root.mkdir(parents=True)
    config = write_config(root, (tool,))
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace(f"[regions.{region}]\n", f"[regions.{region}]\nmax_file_mb = 2000\n", 1),
        encoding="utf-8",
    )
    (root / "warehouse").mkdir(parents=True, exist_ok=True)
    drawer = _Drawer(2026)
    size = PER_FILE[tool] or responses
    files = 0
    megabytes = 0.0
    for number, start in enumerate(range(0, responses, size)):
        day = date(2026, 1, 7) + timedelta(days=7 * number)
        batch = _responses(drawer, tool, day, min(size, responses - start), start=start + 1)
        path = root / "drop" / region / file_name(tool, day)
        write_tool_export(path, tool, drawer, day, batch)
        drawer.canaries.clear()  # the generator keeps every planted value; not needed here
        files += 1
        megabytes += path.stat().st_size / 1e6
    return config, files, megabytes


def empty_like(root: Path, config: Path, into: Path) -> Path:
    for region in (root / "drop").iterdir():
        (into / "drop" / region.name).mkdir(parents=True)
    shutil.copy(config, into / config.name)
    return into / config.name


def measure(tool: str, responses: int, repeats: int, scratch: Path) -> dict[str, float | str]:
    root = scratch / tool
    config_text, files, megabytes, generate_s = json.loads((scratch / f"{tool}.json").read_text())
    config = Path(config_text)
    print(f"{tool}: {files} file(s), {megabytes:.0f} MB in {generate_s:.0f} s", flush=True)
    home = scratch / f"prefect-{tool}"
    floor_config = empty_like(root, config, scratch / f"floor-{tool}")
    floor_s = statistics.median([run(floor_config, home)[0] for _ in range(repeats + 1)][1:])
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    total_s, steps, output = run(config, home)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    ingested = sum(1 for line in output.splitlines() if line.split()[:1] == ["ingested"])
    print(f"{tool}: run {total_s:.1f} s, floor {floor_s:.1f} s, steps {steps}", flush=True)
    return {
        "shape": SHAPES[tool],
        "files": files,
        "megabytes": megabytes,
        "floor": floor_s,
        "run": total_s,
        "own": total_s - floor_s,
        "prepare": steps.get("prepare", float("nan")),
        "record": steps.get("record", float("nan")),
        "publish": steps.get("publish", float("nan")),
        "peak": f"{peak:,.0f} MB" if peak > before else f"at most {peak:,.0f} MB",
        "ingested": ingested,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--tools", nargs="*", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--repeats", type=int, default=3, help="floor runs per median")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate is not None:  # the drop, from a process of its own (see measure)
        started = time.perf_counter()
        config, files, megabytes = write_volume(args.generate, args.tools[0], args.responses)
        generated = [str(config), files, megabytes, time.perf_counter() - started]
        (args.generate.parent / f"{args.tools[0]}.json").write_text(json.dumps(generated))
        return
    if args.worker is not None:  # one tool's runs, its result as JSON
        found = measure(args.tools[0], args.responses, args.repeats, args.worker.parent)
        args.worker.write_text(json.dumps(found))
        return
    header = machine_lines()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for tool in args.tools:
            scratch = Path(tmp) / tool
            scratch.mkdir()
            out = scratch / "result.json"
            common = [sys.executable, "-m", "benchmarks.bench_tool_volume", "--tools", tool]
            common += ["--responses", str(args.responses), "--repeats", str(args.repeats)]
            # Generated and measured by two processes side by side, neither the other's parent:
            # ru_maxrss of children counts every child waited for, and a process that held a
            # million responses would lend its peak to the runs.
            subprocess.run([*common, "--generate", str(scratch / tool)], check=True)
            subprocess.run([*common, "--worker", str(out)], check=True)
            results.append(json.loads(out.read_text()))
    rows = [
        f"| {r['shape']} | {r['files']} | {r['megabytes']:.0f} | {r['ingested']} | "
        f"{r['floor']:.1f} | {r['own']:.1f} | {r['prepare']:.1f} | {r['record']:.1f} | "
        f"{r['publish']:.1f} | {r['peak']} |"
        for r in results
    ]
    body = "\n".join(
        [
            "## Backfill in the tools' own shapes (issue 11)",
            "",
            f"What was measured: {args.responses:,} responses as each tool exports them "
            "(generated by `fixtures.tool_exports`: names, emails, ids, free text, partial "
            "responses), in one region, through `reflect-eval run` in Prefect's local mode. Own "
            "work = the run's time less the floor (median of "
            f"{args.repeats} runs with nothing to do, the same setup); one run each; steps are "
            "the run's own. Compare with the template CSV backfill above.",
            "",
            *header,
            f"- Command: `python -m benchmarks.bench_tool_volume --responses {args.responses}`",
            "",
            "| export | files | MB | files ingested | floor s | own work s | prepare s | "
            "record s | publish s | peak memory |",
            "|---|---|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    write_section("tool-volume", body, args.out)
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
