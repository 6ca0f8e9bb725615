"""`reflect-eval check` prints the report the drop folder would get, stores nothing and starts no
orchestrator; `reflect-eval template` writes a region's blank template. The rules are checked
by calling the functions the commands call; one smoke test runs the commands themselves."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from fixtures.broken import BROKEN
from fixtures.tool_exports import TOOL_REGIONS, write_config
from tests.e2e import reflect_eval
from transforms.check import OutputExistsError, check_file, write_template
from transforms.errors import ConfigError

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("check")
    extra = '\n[regions.north-east]\nname = "North East"\nsource = "auto"\n'
    return write_config(root, tuple(TOOL_REGIONS), extra)


@pytest.mark.parametrize("tool", [t for t in TOOL_REGIONS if t != "template"])
def test_check_says_a_good_export_would_be_ingested_and_stores_nothing(config: Path, tool: str):
    [sample] = (SAMPLES / tool).iterdir()
    before = sorted(config.parent.rglob("*"))
    text, accepted = check_file(sample, TOOL_REGIONS[tool], config)
    assert accepted, text
    assert f"{sample.name} would be ingested for {TOOL_REGIONS[tool]}" in text
    assert f"Read as:   {tool}" in text
    assert "Responses: " in text and "Not kept:  " in text
    assert "@" not in text  # column names only, never an email
    assert sorted(config.parent.rglob("*")) == before, "checking writes nothing, not even a key"


def test_check_gives_the_rejection_report(config: Path):
    text, accepted = check_file(SAMPLES / "broken" / "unknown-answer.csv", "north-east", config)
    assert not accepted
    assert text.startswith("reflect-eval could not ingest this file. Nothing from it was stored.")
    assert "File:     unknown-answer.csv" in text
    assert BROKEN["unknown-answer.csv"][1] in text
    assert "row 2, column '" in text


def test_check_of_an_unknown_region_is_a_config_error(config: Path):
    with pytest.raises(ConfigError, match="region 'atlantis' is not configured"):
        check_file(SAMPLES / "broken" / "empty.csv", "atlantis", config)


def test_template_writes_the_header_with_a_bom_and_never_overwrites(config: Path, tmp_path: Path):
    out = tmp_path / "template.csv"
    written, note = write_template("east-of-england", config, out)
    assert written == out and note is None
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf"), "a BOM, so Excel opens it as UTF-8"
    with out.open(encoding="utf-8-sig", newline="") as f:
        [header] = list(csv.reader(f))
    assert header[0] == "training_day" and "three_words" in header and len(header) == 9
    with pytest.raises(OutputExistsError, match="exists already"):
        write_template("east-of-england", config, out)
    assert out.read_bytes() == data


def test_template_without_out_is_named_after_region_and_instrument(
    config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    written, _ = write_template("east-of-england", config, None)
    assert written == Path("east-of-england-rpg-feedback-v1-template.csv")
    assert (tmp_path / written).exists()


def test_template_of_a_region_using_a_survey_tool_names_its_columns_and_says_so(
    config: Path, tmp_path: Path
):
    out, note = write_template("kss", config, tmp_path / "kss.csv")
    assert note and "set up for ms-forms" in note
    assert "The group was an effective use of training time" in out.read_text("utf-8-sig")


def test_the_commands_exit_codes_and_no_orchestrator(config: Path, tmp_path: Path):
    """The CLI around those functions: exit 0 / 1 / 2, no traceback, and `check` starts no
    Prefect (its home stays empty)."""
    home = tmp_path / "prefect-home"
    home.mkdir()
    good = next((SAMPLES / "ms-forms").iterdir())
    args = ("--config", str(config))
    runs = {
        "good": reflect_eval("check", str(good), "--region", "kss", *args, prefect_home=home),
        "bad": reflect_eval(
            "check", str(SAMPLES / "broken" / "empty.csv"), "--region", "north-east", *args,
            prefect_home=home,
        ),
        "unknown": reflect_eval(
            "check", str(good), "--region", "atlantis", *args, prefect_home=home
        ),
        "template": reflect_eval(
            "template", "--region", "kss", *args, "--out", str(tmp_path / "t.csv"),
            prefect_home=home,
        ),
    }  # fmt: skip
    assert {name: run.code for name, run in runs.items()} == {
        "good": 0,
        "bad": 1,
        "unknown": 2,
        "template": 0,
    }
    assert all("Traceback" not in run.output for run in runs.values())
    assert "would be ingested" in runs["good"].stdout
    assert "set up for ms-forms" in runs["template"].stderr
    assert os.listdir(home) == [], "no Prefect database, no server state"
