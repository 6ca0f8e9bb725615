"""`reflect-eval check` prints the report the drop folder would get, stores nothing and starts no
orchestrator; `reflect-eval template` writes a region's blank template."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from fixtures.broken import BROKEN
from fixtures.tool_exports import TOOL_REGIONS, write_config
from tests.e2e import reflect_eval

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("check")
    extra = '\n[regions.north-east]\nname = "North East"\nsource = "auto"\n'
    return write_config(root, tuple(TOOL_REGIONS), extra)


def check(config: Path, path: Path, region: str) -> tuple[int, str, str]:
    run = reflect_eval(
        "check", str(path), "--region", region, "--config", str(config), prefect_home=config.parent
    )
    assert "Traceback" not in run.output
    return run.code, run.stdout, run.stderr


@pytest.mark.parametrize("tool", [t for t in TOOL_REGIONS if t != "template"])
def test_check_says_a_good_export_would_be_ingested_and_stores_nothing(config: Path, tool: str):
    [sample] = (SAMPLES / tool).iterdir()
    code, out, _ = check(config, sample, TOOL_REGIONS[tool])
    assert code == 0, out
    assert f"{sample.name} would be ingested for {TOOL_REGIONS[tool]}" in out
    assert f"Read as:   {tool}" in out
    assert "Responses: " in out and "Not kept:  " in out
    assert "@" not in out  # column names only, never an email
    assert sample.exists()
    assert not (config.parent / "warehouse").exists()
    assert not (config.parent / ".prefect").exists()


def test_check_prints_the_rejection_report_and_exits_1(config: Path):
    sample = SAMPLES / "broken" / "unknown-answer.csv"
    code, out, _ = check(config, sample, "north-east")
    assert code == 1
    assert out.startswith("reflect-eval could not ingest this file. Nothing from it was stored.")
    assert "File:     unknown-answer.csv" in out
    assert BROKEN["unknown-answer.csv"][1] in out
    assert "row 2, column '" in out


def test_check_of_an_unknown_region_is_a_config_error(config: Path):
    code, _, err = check(config, SAMPLES / "broken" / "empty.csv", "atlantis")
    assert code == 2 and "region 'atlantis' is not configured" in err


def test_template_writes_the_header_a_region_fills_and_never_overwrites(
    config: Path, tmp_path: Path
):
    out = tmp_path / "template.csv"
    args = ("template", "--region", "east-of-england", "--config", str(config), "--out", str(out))
    run = reflect_eval(*args, prefect_home=tmp_path)
    assert run.code == 0, run.output
    with out.open(encoding="utf-8-sig", newline="") as f:
        [header] = list(csv.reader(f))
    assert header[0] == "training_day" and "three_words" in header and len(header) == 9
    again = reflect_eval(*args, prefect_home=tmp_path)
    assert again.code == 1 and "exists already" in again.stderr
    assert "Traceback" not in again.output


def test_template_of_a_region_using_a_survey_tool_names_its_columns_and_says_so(
    config: Path, tmp_path: Path
):
    out = tmp_path / "kss.csv"
    run = reflect_eval(
        "template", "--region", "kss", "--config", str(config), "--out", str(out),
        prefect_home=tmp_path,
    )  # fmt: skip
    assert run.code == 0
    assert "set up for ms-forms" in run.stderr
    text = out.read_text(encoding="utf-8-sig")
    assert "The group was an effective use of training time" in text
