"""One region's file can never stop a run: a name that is not UTF-8, a name too long for its
report, terminal escape codes in a name, or a step that fails for one file sets that file
aside with a reason; every other file goes on, and no cell value reaches a log. (Through the
CLI, with Prefect, in tests/test_cli_end_to_end.py's multi-region run.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixtures.broken import HOSTILE_CELLS, write_hostile_names
from fixtures.regional_drop import write_drop
from tests.e2e import leaks
from transforms.drop import NAME_MAX, REPORT_SUFFIX, fitted, printable

CELLS = HOSTILE_CELLS


def hostile_drop(root: Path):
    drop = write_drop(root, n_regions=2, n_training_days=1)
    write_hostile_names(root / "drop")
    return drop


def test_a_file_that_cannot_be_filed_is_set_aside_and_the_others_are_recorded(tmp_path: Path):
    """A real failure, not a mock: a dangling link where the region's `rejected` folder should
    be stops that region's bad file (nothing is written through a link); the good files are
    recorded regardless, and the reason names the folder, never a cell."""
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
    assert aside.note and "rejected/ is a link" in aside.note and not leaks(CELLS, {"": aside.note})
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


def filed(tmp_path: Path, prepare_drop=None):
    """Prepare and record every file of a fresh two-region drop as the flow does."""
    from flows.ingest import record_and_publish
    from schemas.config import load_config
    from schemas.instrument import load_instrument
    from transforms.drop import find_new_files
    from transforms.ingest import prepare_safely

    drop = hostile_drop(tmp_path)
    if prepare_drop is not None:
        prepare_drop(tmp_path / "drop")
    config = load_config(drop.config_path)
    files, _ = find_new_files(config.drop_dir)
    instrument = load_instrument(config.instrument)
    outcomes, _ = record_and_publish.fn(
        [prepare_safely(f, config, instrument) for f in files], config
    )
    return config, {o.file: o for o in outcomes}


@pytest.mark.parametrize("folder", ["processed", "rejected"])
def test_a_linked_processed_or_rejected_folder_is_refused_and_nothing_goes_through_it(
    tmp_path: Path, folder: str
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def link(drop: Path) -> None:
        (drop / "kss" / folder).symlink_to(elsewhere, target_is_directory=True)

    config, outcomes = filed(tmp_path, link)
    assert list(elsewhere.iterdir()) == [], "no raw export or report written through the link"
    kss = {name: o for name, o in outcomes.items() if name.startswith("kss/")}
    stopped = [o for o in kss.values() if o.status == "set aside"]
    assert stopped and all("link" in (o.note or "") for o in stopped)
    waiting = [p for p in (config.drop_dir / "kss").iterdir() if p.is_file() and not p.is_symlink()]
    assert len(waiting) == len(stopped), "left where they were"
    others = [o.status for name, o in outcomes.items() if not name.startswith("kss/")]
    assert sorted(others) == ["ingested", "rejected"], "another region is not held up"


def test_a_dangling_link_named_like_a_report_is_never_written_through(tmp_path: Path):
    target = tmp_path / "outside.txt"

    def plant(drop: Path) -> None:
        rejected = drop / "kss" / "rejected"
        rejected.mkdir()
        (rejected / (fitted("x" * 246 + ".csv") + REPORT_SUFFIX)).symlink_to(target)

    _, outcomes = filed(tmp_path, plant)
    assert not target.exists()
    assert [o.status for n, o in outcomes.items() if n.startswith("kss/x")] == ["rejected"]


def test_restricted_files_and_folders_are_owner_only_whatever_the_umask(tmp_path: Path):
    previous = os.umask(0o002)
    try:
        config, _ = filed(tmp_path)
    finally:
        os.umask(previous)
    warehouse = config.restricted_path.parent
    private = [warehouse, *config.drop_dir.glob("*/processed"), *config.drop_dir.glob("*/rejected")]
    assert private and all(mode(p) == 0o700 for p in private), {
        str(p): oct(mode(p)) for p in private
    }
    files = [config.restricted_path, *config.drop_dir.glob("*/processed/*")]
    files += config.drop_dir.glob("*/rejected/*")
    assert len(files) == 9 and all(mode(f) == 0o600 for f in files), {
        str(f): oct(mode(f)) for f in files
    }


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_headers_and_names_with_terminal_escape_codes_are_shown_escaped(tmp_path: Path):
    from tests.conftest import TEMPLATE_HEADER, answered_row, template_csv
    from transforms.check import check_file

    drop = write_drop(tmp_path, n_regions=1, n_training_days=1)
    export = tmp_path / "odd\x1b]0;owned\x07.csv"
    export.write_bytes(
        template_csv([[*answered_row(), "x"]], header=(*TEMPLATE_HEADER, "Name\x1b[2J"))
    )
    region = next(p.name for p in (tmp_path / "drop").iterdir() if p.is_dir())
    text, accepted = check_file(export, region, drop.config_path)
    assert accepted
    assert "\x1b" not in text and "\x07" not in text
    assert "Name\\x1b[2J" in text and "odd\\x1b]0;owned\\x07.csv" in text
