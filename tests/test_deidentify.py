"""De-identification keeps only what the instrument declares: coded answers, the training day,
and scrubbed words. Names, emails, numbers and the region's own columns never survive."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from faker import Faker

from schemas.instrument import Instrument
from tests.conftest import TEMPLATE_HEADER, template_csv
from transforms.deidentify import deidentify
from transforms.read import read_template
from transforms.scrub import redact_identifiers, words
from transforms.validate import validate_rows


def deidentified(rows, instrument, header=TEMPLATE_HEADER):
    valid = validate_rows(read_template(template_csv(rows, header=header)), instrument)
    return deidentify(valid.rows, instrument)


def test_answers_become_codes_in_long_form(instrument: Instrument):
    row = ["2026-01-07", "Strongly agree", "agree", "3", "", " Disagree ", "1", "5", ""]
    data = deidentified([row], instrument)
    assert data.answers.columns == ["response_no", "training_day", "item", "answer"]
    assert dict(zip(data.answers["item"], data.answers["answer"], strict=True)) == {
        "effective_use": 5,
        "keen_to_continue": 4,
        "adapt_to_challenges": 3,
        "peer_support": 2,
        "less_isolated": 1,
        "self_awareness": 5,
    }
    assert data.answers["training_day"].unique().to_list() == [dt.date(2026, 1, 7)]


def test_identifying_columns_are_dropped_and_named(instrument: Instrument):
    fake = Faker("en_GB")
    fake.seed_instance(7)
    header = ("Name", "Email", *TEMPLATE_HEADER, "GMC number", "Start time")
    name, email = fake.name(), fake.email()
    row = [name, email, "2026-01-07", *(["Agree"] * 7), "safe", "1234567", "2026-01-07 10:41:03"]
    data = deidentified([row], instrument, header=header)
    assert data.dropped_columns == ("Name", "Email", "GMC number", "Start time")
    for frame in (data.answers, data.words):
        text = frame.write_csv()
        for canary in (name, email, "1234567", "10:41"):
            assert canary not in text


def test_free_text_keeps_words_and_loses_people_and_numbers():
    fake = Faker("en_GB")
    fake.seed_instance(11)
    first, last = fake.first_name(), fake.last_name()
    texts = [
        f"Supportive, SAFE & useful, thanks Dr {last}!",
        f"call {first} on 07700 900123 or {fake.email()} or see www.example.org/x",
        "GMC 1234567, NHS 943 476 5919, thought-provoking",
    ]
    frame = pl.DataFrame({"response_no": [1, 2, 3], "text": texts})
    kept = words(frame, "text", ["response_no"]).words
    assert kept.filter(pl.col("response_no") == 1)["word"].to_list() == [
        "supportive",
        "safe",
        "useful",
        "thanks",
    ]
    everything = " ".join(kept["word"])
    for leaked in (first.lower(), last.lower(), "07700", "1234567", "example", "@"):
        assert leaked not in everything
    assert {"thought", "provoking"} <= set(kept["word"]), "a hyphen separates words"


def test_responses_are_numbered_within_the_file_not_by_source_row(instrument: Instrument):
    rows = [["2026-01-07", *(["Agree"] * 7), ""], [""] * 9, ["2026-01-07", *(["Agree"] * 7), ""]]
    data = deidentified(rows, instrument)
    assert sorted(data.answers["response_no"].unique().to_list()) == [1, 2]
    assert data.n_responses == 2


@pytest.mark.parametrize(
    "identifier",
    [
        "943 476 5919",  # NHS number, as printed
        "9434765919",  # NHS number, run together
        "943-476-5919",
        "1234567",  # GMC number
        "07700 900123",  # UK mobile
        "+44 7700 900123",
        "+447700900123",
        "(020) 7946 0018",
        "0161 496 0000",
    ],
)
def test_identifying_numbers_are_removed_on_purpose_not_by_accident(identifier: str):
    text = pl.DataFrame({"t": [f"kind{identifier}, call {identifier}."]})
    redacted = text.select(redact_identifiers(pl.col("t"))).item()
    digits = "".join(ch for ch in identifier if ch.isdigit())
    assert not any(ch.isdigit() for ch in redacted), redacted
    assert "kind" in redacted and "call" in redacted, "the words either side are kept"
    assert digits not in " ".join(words(text, "t", []).words["word"])


def test_ordinary_numbers_and_words_survive_redaction():
    text = pl.DataFrame({"t": ["in 2026 the group met 7 times, honest and safe"]})
    assert text.select(redact_identifiers(pl.col("t"))).item() == text.item()
