"""The drop folder: which files are picked up, and where they go. Nothing is ever overwritten."""

from __future__ import annotations

from pathlib import Path

from transforms.drop import (
    PROCESSED,
    REJECTED,
    DroppedFile,
    destination,
    file_away,
    find_new_files,
    write_rejection_report,
)
from transforms.problems import Problem


def test_only_plain_files_inside_region_folders_are_picked_up(tmp_path: Path):
    region = tmp_path / "kss"
    (region / PROCESSED).mkdir(parents=True)
    (region / "b.csv").write_text("x")
    (region / "a.csv").write_text("x")
    (region / ".hidden.csv").write_text("x")
    (region / "~$a.xlsx").write_text("x")
    (region / PROCESSED / "old.csv").write_text("x")
    (region / "link.csv").symlink_to(region / "a.csv")
    (tmp_path / "loose.csv").write_text("x")
    found, notes = find_new_files(tmp_path)
    assert [f.name for f in found] == ["kss/a.csv", "kss/b.csv"]
    assert notes == ["loose.csv: not inside a region folder, left where it is"]


def test_a_missing_drop_folder_is_a_note_not_an_error(tmp_path: Path):
    found, notes = find_new_files(tmp_path / "absent")
    assert found == [] and "does not exist" in notes[0]


def test_a_taken_name_gets_a_number_and_nothing_is_overwritten(tmp_path: Path):
    (tmp_path / "kss" / PROCESSED).mkdir(parents=True)
    (tmp_path / "kss" / PROCESSED / "day.csv").write_text("earlier")
    (tmp_path / "kss" / PROCESSED / "day (2).csv").write_text("earlier too")
    new = tmp_path / "kss" / "day.csv"
    new.write_text("new")
    dropped = DroppedFile("kss", new)
    target = destination(dropped, PROCESSED)
    assert target.name == "day (3).csv"
    file_away(dropped, target)
    assert target.read_text() == "new"
    assert (tmp_path / "kss" / PROCESSED / "day.csv").read_text() == "earlier"
    assert not new.exists()


def test_the_rejection_report_lists_every_problem_up_to_a_cap(tmp_path: Path):
    bad = tmp_path / "kss" / "bad.csv"
    bad.parent.mkdir()
    bad.write_text("x")
    dropped = DroppedFile("kss", bad)
    problems = [Problem(r, "effective_use", "'Agreed'", "allowed: Agree") for r in range(2, 302)]
    report = write_rejection_report(
        destination(dropped, REJECTED), dropped, problems, "Kent, Surrey and Sussex"
    ).read_text()
    assert "Region:   kss (Kent, Surrey and Sussex)" in report
    assert "Problems: 300" in report
    assert "- row 2, column 'effective_use': found 'Agreed'; allowed: Agree" in report
    assert "row 201," in report and "row 202," not in report
    assert "... and 100 more problems not listed" in report


def test_a_file_in_a_folder_that_is_not_a_configured_region_is_rejected_unread(tmp_path: Path):
    from schemas.instrument import load_instrument
    from tests.readers import SECRET, config_for
    from transforms.ingest import prepare

    stray = tmp_path / "drop" / "atlantis" / "export.csv"
    stray.parent.mkdir(parents=True)
    stray.write_text("Name,Email\nJane Canary,jane@example.org\n", encoding="utf-8")
    found, _ = find_new_files(tmp_path / "drop")
    assert [f.name for f in found] == ["atlantis/export.csv"], "found, so it can be reported"
    [dropped] = found
    prepared = prepare(dropped, config_for(tmp_path), load_instrument(), secret=SECRET)
    [problem] = prepared.problems
    assert "'atlantis', which is not a configured region" in problem.found
    assert "(r)" in problem.allowed, "names the regions that are configured"
    assert prepared.data is None
