"""The instrument definition and the config file are data contracts: read, checked, frozen."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.config import DEFAULT_MIN_CELL, load_config
from schemas.instrument import Instrument, load_instrument
from transforms.errors import ConfigError
from transforms.privacy.policy import Policy


def test_instrument_declares_the_pilot_items_and_their_competencies(instrument: Instrument):
    assert instrument.likert_items == (
        "effective_use",
        "keen_to_continue",
        "adapt_to_challenges",
        "learn_from_others",
        "peer_support",
        "less_isolated",
        "self_awareness",
    )
    assert instrument.free_text_items == ("three_words",)
    assert instrument.scale.positive_codes == (4, 5)
    assert set(instrument.competencies) == {"5.1", "5.3", "10.1"}
    assert instrument.competencies["10.1"] == "Learning and Self-Development"


def test_an_unknown_instrument_is_a_config_error():
    with pytest.raises(ConfigError, match="no-such-survey"):
        load_instrument("no-such-survey")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "reflect-eval.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_relative_paths_are_taken_from_the_config_files_folder(tmp_path: Path):
    config = load_config(
        write(
            tmp_path,
            '[paths]\ndrop = "in"\nwarehouse = "out"\n'
            '[regions.kss]\nname = "Kent, Surrey and Sussex"\n',
        )
    )
    assert config.drop_dir == tmp_path.resolve() / "in"
    assert config.restricted_path == tmp_path.resolve() / "out" / "restricted.duckdb"
    assert config.published_path == tmp_path.resolve() / "out" / "published.duckdb"
    assert config.privacy.min_cell == DEFAULT_MIN_CELL == 3
    assert not config.privacy.lowered


@pytest.mark.parametrize(
    ("privacy", "expected"),
    [
        ("", Policy("gmc-sdc", 3, 2, False, 1)),
        ('policy = "opensafely"', Policy("opensafely", 8, 7, True, 5)),
        ('policy = "acro"\nprotection = 12', Policy("acro", 10, 12, True, 1)),
        ('policy = "acro"\nmin_cell = 12', Policy("acro", 12, 11, True, 1)),
    ],
)
def test_a_named_policy_with_overrides_on_top(tmp_path: Path, privacy: str, expected: Policy):
    text = f'[privacy]\n{privacy}\n[regions.kss]\nname = "KSS"\n'
    config = load_config(write(tmp_path, text))
    assert config.privacy.rules == expected
    assert not config.privacy.lowered


def test_lowering_a_preset_is_marked_as_lowered(tmp_path: Path):
    text = '[privacy]\npolicy = "opensafely"\nrounding = 1\n[regions.kss]\nname = "KSS"\n'
    assert load_config(write(tmp_path, text)).privacy.lowered


def test_min_cell_one_is_allowed_but_marked_as_lowered(tmp_path: Path):
    config = load_config(write(tmp_path, '[privacy]\nmin_cell = 1\n[regions.kss]\nname = "KSS"\n'))
    assert config.privacy.lowered


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[privacy]\nmin_cell = 0\n[regions.kss]\nname = "K"\n', "privacy.min_cell"),
        ('[privacy]\nmin_cel = 5\n[regions.kss]\nname = "K"\n', "privacy.min_cel"),
        ('[regions."Kent Surrey"]\nname = "K"\n', "lowercase letters"),
        ("[paths]\n", "regions"),
        ("[regions.kss\n", "not valid TOML"),
        ('[privacy]\npolicy = "strict"\n[regions.kss]\nname = "K"\n', "privacy.policy"),
        ('[privacy]\nrounding = 0\n[regions.kss]\nname = "K"\n', "privacy.rounding"),
        ('[regions.kss]\nname = "K"\nsource = "typeform"\n', "regions.kss.source"),
        ('[regions.kss]\nname = "K"\ntraining_day = "yesterday"\n', "regions.kss.training_day"),
        ('[regions.kss]\nname = "K"\nmax_file_mb = 0\n', "regions.kss.max_file_mb"),
        ('[regions.kss]\nname = "K"\n[regions.kss.items]\nusefulness = "Q1"\n', "usefulness"),
        ('[regions.kss]\nname = "K"\n[regions.kss.codes]\n"1" = "Meh"\n', "regions.kss.codes"),
    ],
)
def test_a_bad_config_names_the_key_at_fault(tmp_path: Path, text: str, message: str):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_a_missing_config_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "absent.toml")


def test_a_region_of_an_old_config_reads_the_template(tmp_path: Path):
    region = load_config(write(tmp_path, '[regions.kss]\nname = "KSS"\n')).regions["kss"]
    assert region.source == "template"
    assert region.training_day == "column:training_day"
    assert region.training_day_column == "training_day"
    assert region.column_of("peer_support") == "peer_support"
    assert region.codes == {} and region.max_file_mb == 25


def test_a_survey_tool_region_maps_items_to_its_headers(tmp_path: Path):
    text = (
        '[regions.wales]\nname = "Wales"\nsource = "qualtrics"\ntraining_day = "filename"\n'
        '[regions.wales.items]\neffective_use = "Q1_1"\n'
        '[regions.wales.codes]\n"1" = "strongly agree"\n'
    )
    region = load_config(write(tmp_path, text)).regions["wales"]
    assert region.column_of("effective_use") == "Q1_1"
    assert region.column_of("peer_support") == "peer_support"
    assert region.training_day_column is None
