"""Every survey tool's export, the broken corpus and the files a run must leave alone, through
the real CLI in ONE run (Prefect start-up is the cost); then a cumulative re-export in a second.

The expected counts come from the generator's planted answers, never from re-reading files."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from fixtures.broken import BROKEN_REGION, BROKEN_REGION_SETTINGS, write_broken
from fixtures.regional_drop import REGIONS
from fixtures.tool_exports import (
    SAMPLE_SEED,
    SAMPLE_TOOLS,
    ToolDrop,
    counted,
    write_reexport,
    write_tool_drop,
)
from tests.e2e import Run, duckdb_text, leaks, query, reflect_eval, sqlite_text

pytestmark = pytest.mark.e2e
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


@dataclass(frozen=True)
class ToolsRun:
    drop: ToolDrop
    broken: dict[Path, str]
    good_beside_broken: Path
    left_alone: tuple[Path, ...]
    run: Run
    coincidences: frozenset[str]
    """Canaries Prefect's database held before the run (a first name inside `numeric`):
    coincidence, not a leak."""

    @property
    def restricted(self) -> Path:
        return self.drop.root / "warehouse" / "restricted.duckdb"

    @property
    def published(self) -> Path:
        return self.drop.root / "warehouse" / "published.duckdb"


@pytest.fixture(scope="module")
def tools_run(tmp_path_factory: pytest.TempPathFactory, prefect_home: Path) -> ToolsRun:
    root = tmp_path_factory.mktemp("tools") / "drop-root"
    drop = write_tool_drop(root, seed=SAMPLE_SEED)
    settings = "\n".join(
        f"{k} = {v!r}".replace("'", '"') for k, v in BROKEN_REGION_SETTINGS.items()
    )
    with drop.config_path.open("a", encoding="utf-8") as f:
        f.write(f'\n[regions.{BROKEN_REGION}]\nname = "{REGIONS[BROKEN_REGION]}"\n{settings}\n')
    folder = root / "drop" / BROKEN_REGION
    broken = write_broken(folder)
    good = folder / "2026-01-07-good-template.csv"
    shutil.copyfile(SAMPLES / "template" / "good-rpg-feedback.csv", good)
    outside = root / "elsewhere.csv"
    shutil.copyfile(SAMPLES / "template" / "good-rpg-feedback.csv", outside)
    (folder / "old").mkdir()
    left_alone = (
        folder / "~$2026-01-07-export.xlsx",
        folder / ".hidden.csv",
        folder / "old" / "2025-12-03.csv",
        folder / "linked.csv",
    )
    left_alone[0].write_bytes(b"\x00lock")
    left_alone[1].write_bytes(b"junk")
    left_alone[2].write_bytes(b"training_day\n")
    os.symlink(outside, left_alone[3])
    coincidences = prefect_coincidences(drop.canaries, prefect_home)
    run = reflect_eval("run", "--config", str(drop.config_path), prefect_home=prefect_home)
    return ToolsRun(drop, broken, good, left_alone, run, coincidences)


def prefect_coincidences(canaries: tuple[str, ...], prefect_home: Path) -> frozenset[str]:
    database = prefect_home / "prefect.db"
    if not database.exists():
        return frozenset()
    return frozenset(leaks(canaries, {"Prefect's database": sqlite_text(database)}))


def counts_in(restricted: Path) -> pl.DataFrame:
    return query(
        restricted,
        "select region, training_day, item, count(*) as n_respondents, "
        "count(*) filter (answer >= 4) as n_positive from responses "
        "group by all order by all",
    ).with_columns(pl.col("n_respondents", "n_positive").cast(pl.Int64))


def test_the_run_finishes_without_a_traceback(tools_run: ToolsRun):
    run = tools_run.run
    assert run.code == 0, run.output
    assert "Traceback" not in run.output
    n_good = len(tools_run.drop.exports) + 1
    assert f"{n_good} ingested, {len(tools_run.broken)} rejected" in run.stdout


def test_the_samples_that_ran_are_the_committed_ones(tools_run: ToolsRun):
    for export in tools_run.drop.exports:
        if export.tool in SAMPLE_TOOLS:
            processed = export.path.parent / "processed" / export.path.name
            assert processed.read_bytes() == (SAMPLES / export.tool / export.path.name).read_bytes()


def test_every_tool_gives_the_counts_the_generator_planted(tools_run: ToolsRun):
    expected = tools_run.drop.expected
    stored = counts_in(tools_run.restricted).filter(pl.col("region") != BROKEN_REGION)
    assert stored.sort("region", "training_day", "item").to_dicts() == expected.to_dicts()
    ledger = query(
        tools_run.restricted,
        "select region, n_responses, n_left_out, n_repeated from submissions "
        "where status = 'ingested'",
    )
    by_region = {row["region"]: row for row in ledger.iter_rows(named=True)}
    for export in tools_run.drop.exports:
        row = by_region[export.region]
        assert row["n_responses"] == len(counted(export)), export.tool
        assert row["n_left_out"] == export.n_left_out, export.tool
        assert row["n_repeated"] == 0
    assert {e.tool for e in tools_run.drop.exports if e.n_left_out} == {
        "ms-forms",
        "qualtrics",
        "redcap",
    }
    for tool in SAMPLE_TOOLS:
        assert f"[{tool}]" in tools_run.run.stdout


def test_every_broken_file_is_rejected_with_its_reason(tools_run: ToolsRun):
    assert len(tools_run.broken) >= 15
    for path, reason in tools_run.broken.items():
        rejected = path.parent / "rejected" / path.name
        assert rejected.exists() and not path.exists(), path.name
        report = Path(f"{rejected}.errors.txt").read_text(encoding="utf-8")
        assert reason in report, (path.name, report)
        assert f"File:     {path.name}" in report
        assert f"rejected  {BROKEN_REGION}/{path.name}" in tools_run.run.stdout
    good = tools_run.good_beside_broken
    assert (good.parent / "processed" / good.name).exists()
    assert f"ingested  {BROKEN_REGION}/{good.name}" in tools_run.run.stdout
    assert "[template, detected]" in tools_run.run.stdout


def test_lock_files_hidden_files_sub_folders_and_links_are_left_alone(tools_run: ToolsRun):
    for path in tools_run.left_alone:
        assert path.exists() or path.is_symlink()
        assert path.name not in tools_run.run.stdout
    assert tools_run.left_alone[3].is_symlink()


def test_no_identifying_value_of_any_tool_leaves(tools_run: ToolsRun, prefect_home: Path):
    canaries = tools_run.drop.canaries
    kinds = {
        "response ids": [c for c in canaries if c.startswith(("R_", "RPG")) or c.isdigit()],
        "IP addresses": [c for c in canaries if c.count(".") == 3 and c[0].isdigit()],
        "emails": [c for c in canaries if "@" in c],
    }
    assert all(len(found) >= 9 for found in kinds.values()), kinds
    inputs = "\n".join(
        (e.path.parent / "processed" / e.path.name).read_bytes().decode("latin-1")
        for e in tools_run.drop.exports
        if e.tool not in ("ms-forms",)
    )
    xlsx_free = [c for c in canaries if c in inputs or c.lower() in inputs.lower()]
    assert len(xlsx_free) > 100, "the detector sees canaries where they are"
    reports = "\n".join(
        Path(f"{p.parent / 'rejected' / p.name}.errors.txt").read_text(encoding="utf-8")
        for p in tools_run.broken
    )
    texts = {
        "stdout and stderr": tools_run.run.output,
        "restricted.duckdb": duckdb_text(tools_run.restricted),
        "published.duckdb": duckdb_text(tools_run.published),
        "restricted.duckdb bytes": tools_run.restricted.read_bytes().decode("latin-1"),
        "published.duckdb bytes": tools_run.published.read_bytes().decode("latin-1"),
        "rejection reports": reports,
    }
    assert leaks(canaries, texts) == []
    prefect_db = {"Prefect's database": sqlite_text(prefect_home / "prefect.db")}
    assert set(leaks(canaries, prefect_db)) - tools_run.coincidences == set()
    secret = tools_run.drop.root / "warehouse" / "response-keys.secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    assert secret.read_bytes().hex() not in texts["published.duckdb bytes"]
    published_tables = set(
        query(tools_run.published, "select table_name from duckdb_tables()")["table_name"]
    )
    assert "response_keys" not in published_tables


def test_a_cumulative_re_export_is_not_counted_twice(tools_run: ToolsRun, prefect_home: Path):
    before = counts_in(tools_run.restricted)
    later = write_reexport(tools_run.drop, seed=SAMPLE_SEED + 1)
    coincidences = prefect_coincidences(later.canaries, prefect_home)
    run = reflect_eval(
        "run", "--config", str(tools_run.drop.config_path), prefect_home=prefect_home
    )
    assert run.code == 0, run.output
    assert "Traceback" not in run.output
    assert f"{len(later.exports)} ingested, 0 rejected" in run.stdout
    after = counts_in(tools_run.restricted)
    new = after.join(before, on=["region", "training_day", "item"], how="anti")
    unchanged = after.join(before, on=["region", "training_day", "item"], how="semi")
    assert unchanged.sort(pl.all()).to_dicts() == before.sort(pl.all()).to_dicts()
    assert new.sort("region", "training_day", "item").to_dicts() == later.expected.to_dicts()
    ledger = query(
        tools_run.restricted,
        "select file_name, region, n_responses, n_repeated from submissions "
        "where file_name like '%cumulative%'",
    )
    earlier = {e.region: e for e in tools_run.drop.exports}
    new_exports = {e.region: e for e in later.exports}
    assert ledger.height == len(later.exports)
    for row in ledger.iter_rows(named=True):
        assert row["n_repeated"] == len(counted(earlier[row["region"]]))
        assert row["n_responses"] == len(counted(new_exports[row["region"]]))
    assert "already ingested from an earlier export" in run.stdout
    texts = {
        "stdout and stderr": run.output,
        "restricted.duckdb": duckdb_text(tools_run.restricted),
        "published.duckdb": duckdb_text(tools_run.published),
    }
    assert leaks(later.canaries, texts) == []
    prefect_db = {"Prefect's database": sqlite_text(prefect_home / "prefect.db")}
    assert set(leaks(later.canaries, prefect_db)) - coincidences == set()
