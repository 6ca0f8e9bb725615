"""Free text keeps only vocabulary words: ordinary English words that are no one's name. A name
nobody listed (rare, misspelt, a nickname, a hospice, another script) is dropped because it is
not an ordinary word, and what is held back is counted, never stored."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import duckdb
import pandera.errors
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fixtures.name_corpus import (
    GIVEN_NAMES,
    ORDINARY_WORDS_THAT_ARE_NAMES,
    SURNAMES,
    THEMES,
    corpus,
)
from schemas.stages import Words
from tests.conftest import answered_row, template_csv
from transforms.deidentify import deidentify
from transforms.load import SubmissionRecord, create_restricted_tables, record_submission
from transforms.read import read_template
from transforms.scrub import words
from transforms.themes import theme_words
from transforms.validate import validate_rows
from transforms.vocabulary import VOCABULARY_FILE, build, normalise, vocabulary

SENTENCE = "Dr {name}'s group felt safe, supportive and reassuring; thanks to {name}!"
FRAME_WORDS = {"group", "felt", "safe", "supportive", "reassuring", "thanks"}


def scrubbed(texts: list[str]):
    frame = pl.DataFrame({"response_no": list(range(1, len(texts) + 1)), "text": texts})
    return words(frame, "text", ["response_no"])


@pytest.mark.parametrize("name", corpus())
def test_no_name_of_the_corpus_is_stored_and_the_sentence_around_it_is(name: str):
    kept = scrubbed([SENTENCE.format(name=name)])
    assert set(kept.words["word"]) == FRAME_WORDS, f"{name!r} left {set(kept.words['word'])}"
    assert kept.n_held_back >= 2, "each mention of the name is counted as held back"


def test_the_pilots_words_and_common_words_that_are_also_names_stay():
    kept = scrubbed([" ".join(THEMES), " ".join(ORDINARY_WORDS_THAT_ARE_NAMES)])
    assert kept.words["word"].to_list() == [
        *THEMES,
        *(w.lower() for w in ORDINARY_WORDS_THAT_ARE_NAMES),
    ]
    assert kept.n_held_back == 0


@pytest.mark.parametrize(
    ("written", "form"),
    [
        ("Patel\u2019s", "patel"),  # possessive, typographic apostrophe
        ("İbrahim", "ibrahim"),  # one word, not "i" and "brahim"
        ("S\u0430fe", "safe"),  # a Cyrillic a in a Latin word
        ("\uff33\uff21\uff26\uff25", "safe"),  # fullwidth letters, folded by NFKC
        ("Zoë", "zoe"),
        ("Ибрагим", "ibragim"),
    ],
)
def test_words_are_normalised_before_they_are_matched(written: str, form: str):
    assert normalise(written) == form


def test_a_confusable_letter_neither_hides_a_name_nor_loses_a_word():
    kept = scrubbed(["S\u0430rah said it was s\u0430fe"])
    assert kept.words["word"].to_list() == ["said", "safe"]
    assert kept.n_held_back == 1


def test_hyphenated_names_lose_every_part():
    kept = scrubbed(["Okafor-Williams and Patel-Hughes were helpful"])
    assert kept.words["word"].to_list() == ["helpful"]
    assert kept.n_held_back == 4


def test_the_committed_vocabulary_is_exactly_what_the_packages_give():
    """Nobody edits the word list by hand: `python -m transforms.vocabulary` writes it."""
    assert VOCABULARY_FILE.read_text(encoding="utf-8").split() == build()


def test_the_vocabulary_has_no_name_of_the_corpus():
    names = {normalise(n) for group in (*GIVEN_NAMES.values(), *SURNAMES.values()) for n in group}
    assert not names & vocabulary()


vocabulary_words = st.sampled_from(sorted(vocabulary()))
hostile_words = st.sampled_from(corpus())
anything = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.one_of(vocabulary_words, hostile_words, anything), max_size=12)))
def test_no_word_outside_the_vocabulary_is_ever_stored(answers: list[list[str]]):
    texts = [" ".join(parts) for parts in answers]
    kept = scrubbed(texts)
    stored = set(kept.words["word"])
    assert stored <= vocabulary()
    assert not stored & {normalise(n) for n in corpus()} - {
        w.lower() for w in ORDINARY_WORDS_THAT_ARE_NAMES
    }


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(), st.lists(st.one_of(vocabulary_words, hostile_words, anything), max_size=6)
        ),
        min_size=1,
        max_size=8,
    ),
    st.lists(st.integers(0, 7), max_size=30),
)
def test_a_text_many_respondents_wrote_gives_each_of_them_the_words_it_gives_one(
    answers: list[list[str] | None], repeats: list[int]
):
    """Each distinct text is taken apart once: the words and held-back words of every row are
    those of its text alone, in the rows' order."""
    texts = [None if parts is None else " ".join(parts) for parts in answers]
    written = texts + [texts[i % len(texts)] for i in repeats]
    together = scrubbed(written)
    alone = [scrubbed([text]) for text in written]
    expected_words = [(n, w) for n, one in enumerate(alone, 1) for w in one.words["word"]]
    assert list(together.words.iter_rows()) == expected_words
    held = [n for n, one in enumerate(alone, 1) for _ in range(one.n_held_back)]
    assert together.held_back["response_no"].to_list() == held


def test_the_words_stage_schema_refuses_a_word_outside_the_vocabulary():
    frame = pl.DataFrame(
        {"response_no": [1, 2], "training_day": [dt.date(2026, 1, 7)] * 2, "item": ["x"] * 2},
        schema_overrides={"response_no": pl.Int32},
    ).with_columns(word=pl.Series(["safe", "sarah"]))
    with pytest.raises(pandera.errors.SchemaError, match="in_the_vocabulary"):
        Words.validate(frame)
    Words.validate(frame.head(1))


def test_four_respondents_naming_a_colleague_publish_only_the_ordinary_word(instrument):
    """The review's case: "Dr Patel's group, Hephzibah, safe" from four people reaches neither
    the restricted warehouse nor the published theme words, and the ledger counts it."""
    rows = [answered_row(words="Dr Patel's group, Hephzibah, safe") for _ in range(4)]
    valid = validate_rows(read_template(template_csv(rows)), instrument)
    data = deidentify(valid.rows, instrument)
    assert data.n_words_held_back == 8
    con = duckdb.connect()
    create_restricted_tables(con)
    record = SubmissionRecord("kss", "day1.csv", "0" * 64, "ingested", n_responses=4)
    record_submission(con, replace(record, n_words_held_back=data.n_words_held_back), data)
    stored = con.sql("select distinct word from free_text_words order by word").fetchall()
    assert stored == [("group",), ("safe",)]
    assert con.sql("select n_words_held_back from submissions").fetchall() == [(8,)]
    assert theme_words(con, min_cell=3).national.to_dicts() == [
        {"word": "group", "n_respondents": 4},
        {"word": "safe", "n_respondents": 4},
    ]
