"""Resubmissions: `reflect-eval replace FILE --region ID` puts a region's corrected file in place
of the file it corrects. The next release counts the corrected file and not the earlier one;
every earlier release stays in the history as it was (still true of what was known then), and
the audit holds the new figures against it. Anything that cannot be replaced as asked is
refused with the reason, and nothing is recorded or moved."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl

from fixtures.regional_drop import ALL_FAULTS, PlantedDrop, write_drop, write_template_file
from schemas.config import Config, load_config
from tests.e2e import leaks, query, reflect_eval
from tests.test_status import run_once
from transforms.status import status

DAY = date(2026, 1, 7)
REGION = "kss"
FIGURES = ("n_respondents", "n_positive")
TABLES = {
    "outcomes_by_training_day": ("region", "training_day", "item"),
    "outcomes_by_region": ("region", "item"),
    "outcomes_national": ("item",),
    "participation": ("region", "training_day"),
}


def figures(config: Config) -> dict[str, pl.DataFrame]:
    """What analysts read: every outcome table's and participation's counts, by key."""
    return {
        table: query(config.published_path, f"select * from {table}")
        .select(*keys, *(c for c in FIGURES if c != "n_positive" or table != "participation"))
        .sort(*keys)
        for table, keys in TABLES.items()
    }


def history(config: Config, release_no: int) -> pl.DataFrame:
    return query(
        config.restricted_path,
        f"select * exclude (release_no) from release_figures where release_no = {release_no} "
        "order by all",
    )


def replace(drop: PlantedDrop, file: Path, *args: str, home: Path) -> tuple[int, str]:
    done = reflect_eval(
        "replace",
        str(file),
        "--region",
        REGION,
        "--config",
        str(drop.config_path),
        *args,
        prefect_home=home,
    )
    return done.code, done.output


def the_day(config: Config) -> dict[str, object]:
    """`status` of the corrected training day."""
    [day] = [
        d for d in status(config).days if (d["region"], d["training_day"]) == (REGION, str(DAY))
    ]
    return day


def first_release(root: Path, *, min_cell: int) -> tuple[PlantedDrop, Config]:
    drop = write_drop(root, n_regions=2, n_training_days=2, min_cell=min_cell)
    config = load_config(drop.config_path)
    run_once(config)
    return drop, config


def original(drop: PlantedDrop) -> Path:
    [path] = [f for f in drop.files if f.parent.name == REGION and f.name.startswith(str(DAY))]
    return path


def test_the_next_release_counts_the_corrected_file_and_keeps_history_true(tmp_path: Path):
    """min_cell 1 (every figure shown): after `replace` and a run, every published count is
    what a drop that only ever held the corrected file publishes; release 1's figures stay in
    the history exactly as published."""
    drop, config = first_release(tmp_path / "replaced", min_cell=1)
    before = history(config, 1)
    corrected = tmp_path / "corrected-rpg-feedback.csv"
    canaries = write_template_file(corrected, training_day=DAY, n_respondents=4, seed=11)

    code, output = replace(drop, corrected, home=tmp_path / "prefect")

    assert code == 0, output
    assert f"in place of {REGION}/{original(drop).name}" in output
    assert leaks(canaries, {"replace output": output}) == []
    assert corrected.exists(), "the operator's own copy stays where it was"
    assert (config.drop_dir / REGION / "processed" / corrected.name).exists()
    run_once(config)

    reference_drop = write_drop(tmp_path / "reference", n_regions=2, n_training_days=2, min_cell=1)
    original(reference_drop).unlink()
    shutil.copy(corrected, original(reference_drop).parent)
    reference = load_config(reference_drop.config_path)
    run_once(reference)
    got, expected = figures(config), figures(reference)
    for table in TABLES:
        assert got[table].equals(expected[table]), table
    assert history(config, 1).equals(before), "release 1 is kept as it was published"
    [day] = [
        d for d in status(config).days if (d["region"], d["training_day"]) == (REGION, str(DAY))
    ]
    assert (day["n_files"], day["n_replaced"], day["n_responses"]) == (2, 1, 4)


def test_under_the_default_policy_the_corrected_release_passes_its_audit(tmp_path: Path):
    """gmc-sdc: release 2 withdraws the replaced file's respondents and is published; the rows
    of the corrected day are those of the corrected counts wherever they are shown."""
    drop, config = first_release(tmp_path, min_cell=3)
    corrected = tmp_path / "corrected-rpg-feedback.csv"
    write_template_file(corrected, training_day=DAY, n_respondents=12, seed=12)
    code, output = replace(drop, corrected, home=tmp_path / "prefect")
    assert code == 0, output
    run_once(config)

    releases = query(config.restricted_path, "select release_no from releases order by 1")
    assert releases["release_no"].to_list() == [1, 2]
    shown = query(
        config.published_path,
        "select n_respondents from participation "
        f"where region = '{REGION}' and training_day = DATE '{DAY}'",
    )["n_respondents"].to_list()
    assert shown in ([12], [None]), "the corrected day counts the corrected file, or is withheld"
    withdrawals = query(
        config.restricted_path,
        "select count(*) as n from release_audit where release_no = 2 "
        "and withdrawn_from is not null",
    )["n"][0]
    assert withdrawals > 0, "the withdrawn respondents are protected counts of their own"


def test_two_groups_files_for_a_day_both_count_and_replace_asks_which(tmp_path: Path):
    drop, config = first_release(tmp_path, min_cell=1)
    second_group = config.drop_dir / REGION / f"{DAY}-second-group.csv"
    write_template_file(second_group, training_day=DAY, n_respondents=5, seed=13)
    run_once(config)
    [day] = [
        d for d in status(config).days if (d["region"], d["training_day"]) == (REGION, str(DAY))
    ]
    assert day["n_ingested"] == 2, "a second group's file for the day is a file of its own"

    corrected = tmp_path / "corrected-second-group.csv"
    write_template_file(corrected, training_day=DAY, n_respondents=6, seed=14)
    code, output = replace(drop, corrected, home=tmp_path / "prefect")
    assert code == 1
    assert "has 2 files for training day 2026-01-07" in output and "--replaces" in output
    assert not (config.drop_dir / REGION / corrected.name).exists(), "nothing moved"

    code, output = replace(
        drop, corrected, "--replaces", second_group.name, home=tmp_path / "prefect"
    )
    assert code == 0, output
    assert f"in place of {REGION}/{second_group.name}" in output


def test_nothing_is_replaced_when_the_file_cannot_be(tmp_path: Path):
    drop, config = first_release(tmp_path, min_cell=1)
    ledger = "select count(*) as n from submissions"
    [before] = query(config.restricted_path, ledger)["n"]

    no_such_day = tmp_path / "corrected-rpg-feedback.csv"
    write_template_file(no_such_day, training_day=date(2026, 6, 3), n_respondents=4, seed=15)
    code, output = replace(drop, no_such_day, home=tmp_path / "prefect")
    assert code == 1 and "drop the file as a new one instead" in output

    same = original(drop).parent / "processed" / original(drop).name
    code, output = replace(drop, same, home=tmp_path / "prefect")
    assert code == 1 and "already ingested" in output

    done = reflect_eval(
        "replace",
        str(no_such_day),
        "--region",
        "atlantis",
        "--config",
        str(drop.config_path),
        prefect_home=tmp_path / "prefect",
    )
    assert done.code == 1 and "region atlantis is not in the config" in done.output
    assert query(config.restricted_path, ledger)["n"][0] == before

    broken = tmp_path / "broken-rpg-feedback.csv"
    write_template_file(broken, training_day=DAY, n_respondents=6, seed=16, faults=ALL_FAULTS)
    code, output = replace(drop, broken, home=tmp_path / "prefect")
    assert code == 1 and "Nothing was replaced" in output and "report at" in output
    replacements = query(config.restricted_path, "select count(*) as n from replacements")
    assert replacements["n"][0] == 0
    assert "Traceback" not in output
