"""The fixture generator, specified: what it writes is what it says it wrote.

The files are re-read here with the csv module and a reading of the scale written from the
instrument's wording, independently of both the generator's internals and the pipeline.
"""

from __future__ import annotations

import csv
import re
import tempfile
import tomllib
from collections import Counter
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from fixtures.generate import main, write_samples
from fixtures.regional_drop import (
    REGIONS,
    SEED_STUDY_POSITIVE,
    PlantedDrop,
    write_drop,
    write_seed_study,
)

ITEMS = [
    "effective_use",
    "keen_to_continue",
    "adapt_to_challenges",
    "learn_from_others",
    "peer_support",
    "less_isolated",
    "self_awareness",
]
TEMPLATE = ["training_day", *ITEMS, "three_words"]
IDENTIFYING = ["Name", "Email", "GMC number", "Phone"]
SCALE = {
    "strongly disagree": 1,
    "disagree": 2,
    "neither agree nor disagree": 3,
    "agree": 4,
    "strongly agree": 5,
}
VOCABULARY = {"supportive", "valuable", "safe", "reassuring", "interesting", "useful"}
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples" / "template"


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def code_of(cell: str) -> int | None:
    """Blank is a skip; otherwise a code 1-5 or a label, ignoring case and spaces around/within."""
    text = re.sub(r"\s+", " ", cell).strip().lower()
    if not text:
        return None
    return int(text) if text in {"1", "2", "3", "4", "5"} else SCALE[text]


def recount(paths: tuple[Path, ...]) -> pl.DataFrame:
    counts: Counter[tuple[str, date, str, str]] = Counter()
    for path in paths:
        for row in read_rows(path):
            day = date.fromisoformat(row["training_day"])
            for item in ITEMS:
                code = code_of(row[item])
                counts[(path.parent.name, day, item, "n")] += code is not None
                counts[(path.parent.name, day, item, "pos")] += code in (4, 5)
    rows = [
        (r, d, i, n, counts[(r, d, i, "pos")])
        for (r, d, i, kind), n in counts.items()
        if kind == "n"
    ]
    return pl.DataFrame(
        rows,
        orient="row",
        schema={
            "region": pl.String,
            "training_day": pl.Date,
            "item": pl.String,
            "n_respondents": pl.Int64,
            "n_positive": pl.Int64,
        },
    ).sort("region", "training_day", "item")


def all_cells(drop: PlantedDrop, column: str) -> list[str]:
    return [row[column] for path in drop.files for row in read_rows(path)]


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> PlantedDrop:
    return write_drop(
        tmp_path_factory.mktemp("big"), n_regions=10, n_training_days=12, min_group=20, max_group=40
    )


@pytest.mark.parametrize("kwargs", [{}, {"seed": 7, "bom": True}, {"min_group": 1, "max_group": 3}])
def test_expected_is_what_the_files_hold(tmp_path: Path, kwargs: dict) -> None:
    drop = write_drop(tmp_path, **kwargs)
    assert_frame_equal(drop.expected, recount(drop.files))


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    low=st.integers(1, 6),
    extra=st.integers(0, 10),
    bom=st.sampled_from([None, True, False]),
)
def test_expected_is_what_the_files_hold_for_any_seed(
    seed: int, low: int, extra: int, bom: bool | None
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        drop = write_drop(
            Path(tmp),
            seed=seed,
            n_regions=2,
            n_training_days=2,
            min_group=low,
            max_group=low + extra,
            bom=bom,
        )
        assert_frame_equal(drop.expected, recount(drop.files))


def test_seed_study_reproduces_the_pilot_exactly(tmp_path: Path) -> None:
    drop = write_seed_study(tmp_path, min_cell=3)
    assert len(drop.files) == 1 and len(read_rows(drop.files[0])) == 14
    assert_frame_equal(drop.expected, recount(drop.files))
    got = {r["item"]: (r["n_respondents"], r["n_positive"]) for r in drop.expected.to_dicts()}
    assert got == {item: (14, positive) for item, positive in SEED_STUDY_POSITIVE.items()}
    assert set(drop.expected["region"]) == {"east-of-england"}
    assert set(drop.expected["training_day"]) == {date(2025, 6, 11)}
    negatives = {code_of(c) for i in ITEMS for c in all_cells(drop, i)} - {4, 5}
    assert negatives == {1, 2, 3}


def test_seed_study_config_names_one_region(tmp_path: Path) -> None:
    drop = write_seed_study(tmp_path, min_cell=1, region="wales")
    config = tomllib.loads(drop.config_path.read_text(encoding="utf-8"))
    assert config["privacy"] == {"min_cell": 1}
    assert config["regions"] == {"wales": {"name": "Wales"}}
    assert drop.files[0].parent == tmp_path / "drop" / "wales"


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a, b, c = (
        write_drop(tmp_path / name, seed=seed, with_bad_file=True)
        for name, seed in [("a", 5), ("b", 5), ("c", 6)]
    )
    files = [p.relative_to(a.root) for p in (*a.files, *a.bad_files)]
    assert files == [p.relative_to(b.root) for p in (*b.files, *b.bad_files)]
    assert all((a.root / f).read_bytes() == (b.root / f).read_bytes() for f in files)
    assert a.canaries == b.canaries and a.expected.equals(b.expected)
    assert any((a.root / f).read_bytes() != (c.root / f).read_bytes() for f in files)


def test_group_sizes_stay_within_bounds(tmp_path: Path) -> None:
    drop = write_drop(tmp_path, min_group=5, max_group=8)
    sizes = {len(read_rows(p)) for p in drop.files}
    assert sizes <= set(range(5, 9)) and len(sizes) > 1


def test_default_drop_layout_and_config(tmp_path: Path) -> None:
    drop = write_drop(tmp_path, min_cell=4)
    regions = sorted(set(drop.expected["region"]))
    days = sorted(set(drop.expected["training_day"]))
    assert len(regions) >= 5 and len(days) >= 2 and len(REGIONS) >= 6
    assert all(d.weekday() == 2 and d.day <= 7 for d in days)  # first Wednesdays
    assert len({(d.year, d.month) for d in days}) == len(days)
    assert sorted(drop.files) == sorted(
        tmp_path / "drop" / r / f"{d.isoformat()}-rpg-feedback.csv" for r in regions for d in days
    )
    assert drop.bad_files == ()
    config = tomllib.loads(drop.config_path.read_text(encoding="utf-8"))
    assert drop.config_path == tmp_path / "reflect-eval.toml"
    assert config["paths"] == {"drop": "drop", "warehouse": "warehouse"}
    assert config["privacy"] == {"min_cell": 4}
    assert config["regions"] == {r: {"name": REGIONS[r]} for r in regions}


def test_config_is_accepted_by_the_config_model(tmp_path: Path) -> None:
    from schemas.config import load_config

    config = load_config(write_drop(tmp_path).config_path)
    assert config.privacy.min_cell == 3 and len(config.regions) == 6


def test_every_file_has_the_template_columns_and_the_identifying_ones(tmp_path: Path) -> None:
    drop = write_drop(tmp_path)
    for path in drop.files:
        with path.open(encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f))
        assert sorted(header) == sorted(TEMPLATE + IDENTIFYING)
        assert [c for c in header if c in TEMPLATE] == TEMPLATE


def test_canaries_are_planted_in_the_files(big: PlantedDrop) -> None:
    text = "\n".join(p.read_text(encoding="utf-8-sig") for p in big.files)
    assert all(canary in text for canary in big.canaries)
    planted = set(big.canaries)
    for column in IDENTIFYING:
        assert set(all_cells(big, column)) <= planted
    assert all(re.fullmatch(r"[1-9]\d{6}", gmc) for gmc in all_cells(big, "GMC number"))
    free_text = "\n".join(all_cells(big, "three_words"))
    in_free_text = [c for c in big.canaries if c in free_text]
    assert in_free_text  # some names and phone numbers hide in free text too


def test_answers_look_like_real_exports(big: PlantedDrop) -> None:
    cells = [c for item in ITEMS for c in all_cells(big, item)]
    assert 0.01 < sum(c == "" for c in cells) / len(cells) < 0.06
    assert any(c in {"1", "2", "3", "4", "5"} for c in cells)
    assert any(c.startswith("\u00a0") for c in cells)
    assert any(c.isupper() for c in cells) and any(c != c.strip() for c in cells)
    with_bom = [p for p in big.files if p.read_bytes().startswith(b"\xef\xbb\xbf")]
    assert 0 < len(with_bom) < len(big.files)


def test_positive_rates_follow_the_pilot_without_reaching_100_percent(big: PlantedDrop) -> None:
    totals = big.expected.group_by("item").agg(pl.col("n_respondents", "n_positive").sum())
    for item, n, positive in totals.iter_rows():
        target = min(SEED_STUDY_POSITIVE[item] / 14, 0.95)
        assert abs(positive / n - target) < 0.04
    partly_negative = big.expected.filter(pl.col("n_positive") < pl.col("n_respondents"))
    assert set(partly_negative["item"]) == set(ITEMS)


def test_three_words_are_three_words(big: PlantedDrop) -> None:
    answers = [a.split(", ") for a in all_cells(big, "three_words")]
    assert all(len(words) == 3 and len(set(words)) == 3 for words in answers)
    assert {w for words in answers for w in words} >= VOCABULARY


def test_bad_file_has_its_three_faults_and_nothing_else_changes(tmp_path: Path) -> None:
    good = write_drop(tmp_path / "good")
    drop = write_drop(tmp_path / "bad", with_bad_file=True)
    (bad,) = drop.bad_files
    assert bad.parent == drop.files[0].parent and bad.name.endswith("-bad-rpg-feedback.csv")
    assert bad not in drop.files
    rows = read_rows(bad)
    assert "peer_suport" in rows[0] and "peer_support" not in rows[0]
    likert = [row[c] for row in rows for c in ITEMS if c != "peer_support"]
    assert likert.count("Agreed") == 1
    assert [row["training_day"] for row in rows].count("") == 1
    assert drop.expected.equals(good.expected)
    assert set(good.canaries) < set(drop.canaries)


def test_refuses_to_write_over_an_existing_drop(tmp_path: Path) -> None:
    write_drop(tmp_path)
    with pytest.raises(FileExistsError):
        write_drop(tmp_path)


def test_cli_summary_names_counts_never_canaries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    assert (
        main(
            [
                "--out",
                str(out),
                "--seed",
                "3",
                "--regions",
                "5",
                "--training-days",
                "2",
                "--with-bad-file",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    drop = write_drop(
        tmp_path / "again", seed=3, n_regions=5, n_training_days=2, with_bad_file=True
    )
    assert "10 files for 5 regions" in printed and str(out / "reflect-eval.toml") in printed
    assert not [c for c in drop.canaries if c in printed]


def test_cli_fresh_replaces_a_drop_but_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    assert main(["--out", str(out), "--regions", "5"]) == 0
    assert main(["--out", str(out), "--regions", "5"]) == 2  # no silent overwrite
    assert main(["--out", str(out), "--regions", "6", "--fresh"]) == 0
    assert len(list((out / "drop").iterdir())) == 6
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.docx").write_text("keep me")
    assert main(["--out", str(precious), "--fresh"]) == 2
    assert (precious / "thesis.docx").exists()


def test_committed_samples_are_current_and_have_one_fault_each(tmp_path: Path) -> None:
    written = write_samples(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in SAMPLES.glob("*.csv"))
    for path in written:
        assert path.read_bytes() == (SAMPLES / path.name).read_bytes(), path.name
    good = read_rows(SAMPLES / "good-rpg-feedback.csv")
    assert len(good) == 8 and all(code_of(row[i]) or not row[i] for row in good for i in ITEMS)
    assert "Agreed" in [
        row[i] for row in read_rows(SAMPLES / "bad-unknown-answer.csv") for i in ITEMS
    ]
    assert "peer_support" not in read_rows(SAMPLES / "bad-missing-column.csv")[0]
    assert "" in [row["training_day"] for row in read_rows(SAMPLES / "bad-blank-training-day.csv")]


def test_committed_tool_samples_and_broken_corpus_are_current(tmp_path: Path) -> None:
    from fixtures.broken import BROKEN, write_broken
    from fixtures.tool_exports import SAMPLE_TOOLS, write_tool_samples

    committed = SAMPLES.parent
    written = write_tool_samples(tmp_path)
    assert sorted(p.parent.name for p in written) == sorted(SAMPLE_TOOLS)
    for path in written:
        assert path.read_bytes() == (committed / path.parent.name / path.name).read_bytes(), path
    broken = write_broken(tmp_path / "broken")
    assert len(broken) == len(BROKEN) >= 15
    assert sorted(p.name for p in (committed / "broken").iterdir()) == sorted(BROKEN)
    for path in broken:
        assert path.read_bytes() == (committed / "broken" / path.name).read_bytes(), path.name
