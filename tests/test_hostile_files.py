"""One region's file can never stop a run: a name that is not UTF-8, a name too long for its
report, terminal escape codes in a name, or a step that fails for one file sets that file
aside with a reason; every other file goes on, and no cell value reaches a log."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixtures.regional_drop import write_drop
from tests.e2e import leaks, query, reflect_eval, sqlite_text
from transforms.drop import NAME_MAX, REPORT_SUFFIX, fitted, printable

CELLS = ("Jane Canary", "07700 900123", "not a date")


def hostile_drop(root: Path):
    drop = write_drop(root, n_regions=2, n_training_days=1)
    first, second = sorted(p for p in (root / "drop").iterdir() if p.is_dir())
    content = f"training_day,name,phone\n{CELLS[2]},{CELLS[0]},{CELLS[1]}\n".encode()
    with open(os.fsencode(second) + b"/R\xe9sum\xe9 feedback.csv", "wb") as f:
        f.write(content)  # as unzipping a Windows archive leaves it
    (second / ("x" * 246 + ".csv")).write_bytes(content)
    (first / "esc\x1b[31mred.csv").write_bytes(content)
    return drop


@pytest.mark.e2e
def test_hostile_file_names_are_rejected_one_by_one_and_the_run_goes_on(
    tmp_path: Path, prefect_home: Path
):
    drop = hostile_drop(tmp_path)
    run = reflect_eval("run", "--config", str(drop.config_path), prefect_home=prefect_home)
    assert run.code == 0, run.output
    assert "Traceback" not in run.output and "\x1b" not in run.output
    assert "5 new file(s): 2 ingested, 3 rejected" in run.stdout
    assert "R\\xe9sum\\xe9 feedback.csv" in run.stdout
    assert "esc\\x1b[31mred.csv" in run.stdout
    files = query(tmp_path / "warehouse" / "restricted.duckdb", "select * from submissions")
    assert sorted(files["status"]) == ["ingested"] * 2 + ["rejected"] * 3
    for name in ("R\\xe9sum\\xe9 feedback.csv", "esc\\x1b[31mred.csv"):
        assert name in files["file_name"].to_list()
    reports = sorted((tmp_path / "drop").glob("*/rejected/*" + REPORT_SUFFIX))
    assert len(reports) == 3
    assert all(len(os.fsencode(r.name)) <= NAME_MAX for r in reports)
    logs = {p.name: sqlite_text(p) for p in prefect_home.glob("*.db")}
    assert logs and not leaks(CELLS, logs)
    again = reflect_eval("run", "--config", str(drop.config_path), prefect_home=prefect_home)
    assert again.code == 0 and "0 new file(s)" in again.stdout, again.output


def test_a_file_no_step_can_file_is_set_aside_and_the_others_are_recorded(tmp_path: Path):
    """A real failure, not a mock: a dangling link where the region's `rejected` folder should
    be makes filing that region's bad file fail (never written through the link); the good
    files are recorded regardless."""
    from flows.ingest import record_and_publish
    from schemas.config import load_config
    from schemas.instrument import load_instrument
    from transforms.drop import find_new_files
    from transforms.ingest import prepare_safely

    drop = hostile_drop(tmp_path)
    config = load_config(drop.config_path)
    blocked = next(p for p in (tmp_path / "drop").iterdir() if p.name != "kss" and p.is_dir())
    (blocked / "rejected").symlink_to(tmp_path / "elsewhere")
    files, _ = find_new_files(config.drop_dir)
    instrument = load_instrument(config.instrument)
    prepared = [prepare_safely(f, config, instrument) for f in files]
    outcomes, _ = record_and_publish.fn(prepared, config)
    status = {o.file: o.status for o in outcomes}
    assert status[f"{blocked.name}/esc\\x1b[31mred.csv"] == "set aside"
    assert sorted(status.values()) == ["ingested", "ingested", "rejected", "rejected", "set aside"]
    [aside] = [o for o in outcomes if o.status == "set aside"]
    assert aside.note and "FileExistsError" in aside.note and not leaks(CELLS, {"": aside.note})
    assert (blocked / "esc\x1b[31mred.csv").exists(), "left where it was"
    assert not (tmp_path / "elsewhere").exists()


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("plain.csv", "plain.csv"),
        (os.fsdecode(b"R\xe9sum\xe9.csv"), "R\\xe9sum\\xe9.csv"),
        ("a\x1b[2Jb.csv", "a\\x1b[2Jb.csv"),
        ("tab\there.csv", "tab\\there.csv"),
        ("Résumé.csv", "Résumé.csv"),
    ],
)
def test_file_names_are_shown_printable(name: str, shown: str):
    assert printable(name) == shown
    shown.encode("utf-8")


def test_a_name_too_long_for_its_report_is_shortened_keeping_its_extension():
    long = "y" * 250 + ".xlsx"
    short = fitted(long)
    assert len(os.fsencode(short + REPORT_SUFFIX)) <= NAME_MAX
    assert short.endswith(".xlsx") and short.startswith("y" * 100)
    assert fitted(long) == short != fitted("z" + long[1:]), "the same name, the same short name"
    assert fitted("ok.csv") == "ok.csv"
