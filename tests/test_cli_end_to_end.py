"""End to end through the CLI: a real Prefect flow run in local mode, real DuckDB files, a drop
folder written by the faker generator."""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest

from fixtures.broken import HOSTILE_CELLS, write_hostile_names
from fixtures.regional_drop import (
    SEED_STUDY_POSITIVE,
    write_drop,
    write_seed_study,
    write_template_file,
)
from tests.e2e import duckdb_text, leaks, query, reflect_eval, report_headline, sqlite_text

pytestmark = pytest.mark.e2e


def xlsx_text(path: Path) -> str:
    """Every part of a workbook (it is a zip of XML) as text."""
    with zipfile.ZipFile(path) as book:
        return "\n".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())


def headline(report: Path, region: str) -> dict[str, str]:
    """The report's headline table: item -> the figure shown for `region`."""
    return {
        item: text for (where, item), text in report_headline(report).items() if where == region
    }


def outcomes(published: Path, table: str) -> pl.DataFrame:
    return query(published, f"select * from {table}")


@pytest.mark.parametrize("min_cell", [1, 3])
def test_the_seed_study_table(tmp_path: Path, prefect_home: Path, min_cell: int):
    drop = write_seed_study(tmp_path, min_cell=min_cell)
    run = reflect_eval("run", "--config", str(drop.config_path), prefect_home=prefect_home)
    assert run.code == 0, run.output
    published = tmp_path / "warehouse" / "published.duckdb"
    by_region = outcomes(published, "outcomes_by_region")
    national = outcomes(published, "outcomes_national")
    assert by_region["region"].unique().to_list() == ["east-of-england"]
    for table in (by_region, national):
        rows = {row["item"]: row for row in table.iter_rows(named=True)}
        assert set(rows) == set(SEED_STUDY_POSITIVE)
        for item, positive in SEED_STUDY_POSITIVE.items():
            row = rows[item]
            if min_cell == 3 and item in ("adapt_to_challenges", "peer_support"):
                assert row["suppressed"]
                assert row["n_positive"] is None and row["pct_positive"] is None
                assert row["n_respondents"] == 14
                low, high = row["n_positive_min"], row["n_positive_max"]
                assert low is not None and low <= positive, "withheld is not blank"
                assert high is None or positive <= high
                assert row["n_respondents_min"] is None and row["n_respondents_max"] is None
            else:
                assert not row["suppressed"]
                assert (row["n_respondents"], row["n_positive"]) == (14, positive)
                assert row["pct_positive"] == pytest.approx(100 * positive / 14)
    if min_cell == 1:
        pcts = [round(100 * SEED_STUDY_POSITIVE[item] / 14, 1) for item in SEED_STUDY_POSITIVE]
        assert pcts == [100.0, 100.0, 92.9, 100.0, 92.9, 78.6, 71.4]
        assert "92.9% (13/14)" in run.stdout
        assert "privacy lowered: min_cell = 1" in run.output
        report = published.with_name("published-report.html")
        assert f"report: {report}" in run.stdout
        assert headline(report, "all regions") == headline(report, "east-of-england")
        assert list(headline(report, "all regions").values()) == [
            "100%",
            "100%",
            "93%",
            "100%",
            "93%",
            "79%",
            "71%",
        ], "the pilot's figures, as the report shows them"
    else:
        assert "privacy lowered" not in run.output
        assert by_region["suppressed"].sum() == 2
        assert "(8 of 28 cells suppressed, 29%: 8 by the primary rule, 0 as cover)" in run.stdout
        shows_ranges_for_withheld_figures(published, by_region, run.stdout)
        refused_under_a_stricter_policy(drop.config_path, published, prefect_home)


def shows_ranges_for_withheld_figures(published: Path, by_region: pl.DataFrame, stdout: str):
    """The bounds reach analysts with their meaning, and the terminal table shows them."""
    comments = query(
        published, "select comment from duckdb_columns() where column_name = 'n_positive_min'"
    )["comment"].to_list()
    assert len(comments) == 4 and all("any reader can already derive" in c for c in comments)
    assert "range any reader can already derive" in stdout
    lines = {line.split("|")[1].strip(): line for line in stdout.splitlines() if "|" in line}
    for row in by_region.filter(pl.col("suppressed")).iter_rows(named=True):
        low, high = row["n_positive_min"], row["n_positive_max"]
        counts = f"({low}-{high}/14)" if high is not None else f"(≥{low}/14)"
        assert counts in lines[row["item"]] and "suppressed" not in lines[row["item"]]


def refused_under_a_stricter_policy(config: Path, published: Path, prefect_home: Path) -> None:
    """14 of 14 is public from release 1; a policy that protects 100% cannot take it back, so
    release 2 is refused: exit code 4, the reason, no values, the old file left in place."""
    before = published.read_bytes()
    text = config.read_text(encoding="utf-8").replace("min_cell = 3", 'policy = "acro"')
    config.write_text(text, encoding="utf-8")
    run = reflect_eval("run", "--config", str(config), prefect_home=prefect_home)
    assert run.code == 4, run.output
    assert "release 2 refused" in run.stderr and "region=east-of-england" in run.stderr
    assert "Traceback" not in run.output
    for count in ("13", "14", "11", "10"):
        assert f" {count} " not in run.stderr and f"{count}/" not in run.stderr
    assert published.read_bytes() == before


def expected_published(expected: pl.DataFrame, min_cell: int) -> pl.DataFrame:
    """The test's own reading of the primary rule over the generator's planted counts."""
    counts = expected.group_by("region", "item").agg(pl.col("n_respondents", "n_positive").sum())
    small = (1, min_cell - 1)
    primary = (
        (pl.col("n_respondents") < min_cell)
        | pl.col("n_positive").is_between(*small)
        | (pl.col("n_respondents") - pl.col("n_positive")).is_between(*small)
    )
    return counts.with_columns(primary.alias("primary"))


def test_a_multi_region_drop_is_ingested_published_and_leaks_nothing(
    tmp_path: Path, prefect_home: Path
):
    drop = write_drop(tmp_path, seed=7, n_regions=6, n_training_days=3, with_bad_file=True)
    hostile = write_hostile_names(tmp_path / "drop")
    restricted = tmp_path / "warehouse" / "restricted.duckdb"
    restricted.parent.mkdir(parents=True)
    holder = duckdb.connect(str(restricted))  # an analyst's session, or a run still going
    try:
        held = reflect_eval("run", "--config", str(drop.config_path), prefect_home=prefect_home)
    finally:
        holder.close()
    assert held.code == 3, held.output
    assert "is in use by another process" in held.stderr and "Traceback" not in held.output
    assert all(f.exists() for f in drop.files), "every file left in the drop folder"

    run = reflect_eval(
        "run", "--config", str(drop.config_path), "--verbose", prefect_home=prefect_home
    )
    assert run.code == 0, run.output
    assert "Traceback" not in run.output

    [bad] = drop.bad_files
    rejected = bad.parent / "rejected" / bad.name
    assert rejected.exists() and not bad.exists()
    report = Path(f"{rejected}.errors.txt").read_text(encoding="utf-8")
    assert "Problems: 3" in report
    assert "row 1, column 'peer_support': found no column with this header" in report
    assert "column 'training_day': found a blank cell" in report
    assert "found 'Agreed'" in report
    for good in drop.files:
        assert not good.exists()
        assert (good.parent / "processed" / good.name).exists()
    assert f"{len(drop.files)} ingested, 4 rejected" in run.stdout
    for name in hostile:  # shown escaped, each rejected on its own, the run goes on
        assert f"rejected  {name}" in run.stdout
    assert "\x1b" not in run.output
    reports = list((tmp_path / "drop").glob("*/rejected/*.errors.txt"))
    assert len(reports) == 4 and all(len(os.fsencode(r.name)) <= 255 for r in reports)

    published = tmp_path / "warehouse" / "published.duckdb"
    by_region = outcomes(published, "outcomes_by_region")
    planned = expected_published(drop.expected, min_cell=3)
    joined = by_region.join(planned, on=["region", "item"], how="full", coalesce=True)
    assert joined.height == planned.height == by_region.height
    assert joined.filter(pl.col("primary") & ~pl.col("suppressed")).height == 0
    shown = joined.filter(~pl.col("suppressed"))
    assert shown["n_positive"].to_list() == shown["n_positive_right"].to_list()
    assert shown["n_respondents"].to_list() == shown["n_respondents_right"].to_list()
    national = outcomes(published, "outcomes_national").sort("item")
    national_planned = (
        drop.expected.group_by("item").agg(pl.col("n_respondents").sum()).sort("item")
    )
    assert national["n_respondents"].to_list() == national_planned["n_respondents"].to_list()

    texts = {
        "stdout and stderr": run.output,
        "published.duckdb": duckdb_text(published),
        "restricted.duckdb": duckdb_text(restricted),
        "published.duckdb bytes": published.read_bytes().decode("latin-1"),
        "restricted.duckdb bytes": restricted.read_bytes().decode("latin-1"),
        "rejection report": report,
        "Prefect's database": sqlite_text(prefect_home / "prefect.db"),
        "HTML report": published.with_name("published-report.html").read_text(encoding="utf-8"),
        "Excel report": xlsx_text(published.with_name("published-report.xlsx")),
    }
    assert "cells suppressed, " in run.stdout
    days = outcomes(published, "outcomes_by_training_day")
    assert days.height == planned_days(drop.expected).height
    assert (
        days.join(planned_days(drop.expected), on=["region", "training_day", "item"])
        .filter(~pl.col("suppressed") & (pl.col("n_positive") != pl.col("n_positive_right")))
        .is_empty()
    )
    themes = query(published, "select * from theme_words")
    assert themes.height > 0 and themes["n_respondents"].min() >= 3
    assert query(published, "select policy from release").item().startswith("gmc-sdc")
    audit = query(restricted, "select * from release_audit")
    assert audit.height > 0 and not {"n_positive", "n_respondents"} & set(audit.columns)
    assert len(drop.canaries) > 100
    assert (prefect_home / "prefect.db").stat().st_size > 0
    inputs = "\n".join(
        (p.parent / folder / p.name).read_text(encoding="utf-8-sig")
        for folder, paths in (("processed", drop.files), ("rejected", drop.bad_files))
        for p in paths
    )
    assert len(leaks(drop.canaries, {"inputs": inputs})) == len(drop.canaries), "detector works"
    assert leaks(drop.canaries, texts) == []
    assert leaks(HOSTILE_CELLS, {"Prefect's database": texts["Prefect's database"]}) == []
    names = {part.lower() for canary in drop.canaries for part in canary.split() if part.isalpha()}
    words = set(query(restricted, "select distinct word from free_text_words")["word"])
    assert words, "free text words are kept"
    assert not words & names

    # The next run: hostile names no longer in the way, a copy of an ingested file is only a
    # duplicate, and one late respondent for a training day already published cannot be
    # differenced out of release 2 minus release 1.
    first_days = outcomes(published, "outcomes_by_training_day")
    counts_before = query(restricted, "select count(*) from responses").item()
    first = drop.files[0]
    shutil.copy(first.parent / "processed" / first.name, first.parent / "copy-of-first.csv")
    day = drop.expected["training_day"].min()
    write_template_file(
        drop.root / "drop" / "kss" / "late-rpg-feedback.csv", training_day=day, n_respondents=1,
        seed=99,
    )  # fmt: skip
    again = reflect_eval("run", "--config", str(drop.config_path), prefect_home=prefect_home)
    assert again.code == 0, again.output
    assert "2 new file(s): 1 ingested, 0 rejected" in again.stdout, again.stdout
    assert "duplicate" in again.stdout and "already ingested" in again.stdout
    assert (first.parent / "processed" / "copy-of-first.csv").exists()
    assert query(published, "select release_no from release").item() == 2
    late = "select n_responses from submissions where file_name = 'late-rpg-feedback.csv'"
    assert query(restricted, late).item() == 1
    assert query(restricted, "select count(*) from responses").item() > counts_before
    second_days = outcomes(published, "outcomes_by_training_day")
    both = first_days.join(second_days, on=["region", "training_day", "item"], suffix="_2")
    both = both.filter((pl.col("region") == "kss") & (pl.col("training_day") == day))
    assert both.height == 7
    for row in both.iter_rows(named=True):
        differenced = all(
            row[c] is not None and row[f"{c}_2"] is not None
            for c in ("n_respondents", "n_positive")
        )
        assert not differenced, f"{row['item']}: release 2 - release 1 = the late answer"
    assert query(restricted, "select count(distinct release_no) from release_figures").item() == 2


def planned_days(expected: pl.DataFrame) -> pl.DataFrame:
    return expected.select("region", "training_day", "item", "n_respondents", "n_positive")


def test_a_bad_config_is_a_plain_error_with_its_exit_code(tmp_path: Path, prefect_home: Path):
    config = tmp_path / "reflect-eval.toml"
    config.write_text('[privacy]\nmin_cell = 0\n[regions.kss]\nname = "KSS"\n', encoding="utf-8")
    run = reflect_eval("run", "--config", str(config), prefect_home=prefect_home)
    assert run.code == 2
    assert "error:" in run.stderr and "privacy.min_cell" in run.stderr
    assert "Traceback" not in run.output
