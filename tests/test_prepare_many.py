"""Files prepared together are prepared exactly as each alone: `prepare_many` checks and
de-identifies the rows of many files as one frame (issue 11: a check costs about the same for
one row or a million), and every file still gets its own outcome: the same problems in the
same order with its own row numbers and headers, or the same de-identified rows, counts and
response keys."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from fixtures.broken import BROKEN_REGION, BROKEN_REGION_SETTINGS, write_broken
from fixtures.regional_drop import ALL_FAULTS, REGIONS, write_template_file
from fixtures.tool_exports import write_reexport, write_tool_drop
from schemas.config import load_config
from schemas.instrument import load_instrument
from transforms.drop import find_new_files
from transforms.ingest import Prepared, prepare, prepare_many

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
SECRET = b"k" * 32


def comparable(p: Prepared) -> tuple[object, ...]:
    data = p.data
    frames = (
        ()
        if data is None
        else (
            data.answers.to_dicts(),
            data.words.to_dicts(),
            None if data.keys is None else data.keys.to_dicts(),
            data.n_responses,
            data.dropped_columns,
            data.n_words_held_back,
        )
    )
    return (p.dropped, p.sha256, p.problems, p.n_left_out, p.source, p.n_repeated, frames)


@pytest.fixture(scope="module")
def mixed_drop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every survey tool's export and a later cumulative re-export, good template files of
    many sizes, template files with every fault, and the broken corpus."""
    root = tmp_path_factory.mktemp("many") / "drop-root"
    drop = write_tool_drop(root, seed=5)
    write_reexport(drop, seed=6)
    settings = "\n".join(
        f"{k} = {v!r}".replace("'", '"') for k, v in BROKEN_REGION_SETTINGS.items()
    )
    with drop.config_path.open("a", encoding="utf-8") as f:
        f.write(f'\n[regions.{BROKEN_REGION}]\nname = "{REGIONS[BROKEN_REGION]}"\n{settings}\n')
    folder = root / "drop" / BROKEN_REGION
    write_broken(folder)
    shutil.copyfile(SAMPLES / "template" / "good-rpg-feedback.csv", folder / "good.csv")
    for number, n in enumerate((1, 7, 40)):
        day = date(2026, 3 + number, 4)
        write_template_file(folder / f"{day}-a.csv", training_day=day, n_respondents=n, seed=n)
        write_template_file(
            folder / f"{day}-bad.csv",
            training_day=day,
            n_respondents=n + 2,
            seed=n + 100,
            faults=ALL_FAULTS[number:],
        )
    return drop.config_path


def test_files_prepared_together_are_prepared_as_each_alone(mixed_drop: Path):
    config = load_config(mixed_drop)
    instrument = load_instrument(config.instrument)
    files, _ = find_new_files(config.drop_dir)
    together = prepare_many(files, config, instrument, secret=SECRET)
    alone = [prepare(f, config, instrument, secret=SECRET) for f in files]

    assert [comparable(p) for p in together] == [comparable(p) for p in alone]
    rejected = [p for p in together if p.problems]
    ingested = [p for p in together if p.data is not None]
    assert len(rejected) >= 5 and len(ingested) >= 8, "both kinds, many of each"
    assert any(p.data.keys is not None and p.data.keys.height for p in ingested), "keyed tools"
    assert any(p.n_left_out for p in ingested), "rows left out, counted per file"


def test_a_batch_that_cannot_be_checked_together_is_checked_file_by_file(
    mixed_drop: Path, monkeypatch: pytest.MonkeyPatch
):
    """Whatever goes wrong checking the frame as a whole, each file is checked alone: the
    outcomes are the same."""
    import transforms.ingest as ingest

    config = load_config(mixed_drop)
    instrument = load_instrument(config.instrument)
    files, _ = find_new_files(config.drop_dir)
    expected = [comparable(p) for p in prepare_many(files, config, instrument, secret=SECRET)]

    def broken(frame: pl.DataFrame, instrument: object) -> object:
        raise MemoryError("the frame as a whole")

    monkeypatch.setattr(ingest, "check_files", broken)
    got = [comparable(p) for p in prepare_many(files, config, instrument, secret=SECRET)]
    assert got == expected
