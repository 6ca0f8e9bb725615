"""Keep only what the instrument declares: the training day, coded answers and scrubbed words.

Everything else in a region's file (names, emails, GMC numbers, timestamps, its own extra
columns) is dropped here and reported by column name only."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from schemas.instrument import Instrument
from schemas.stages import Answers, Words
from transforms.likert import answer_code
from transforms.scrub import words
from transforms.validate import TRAINING_DAY


@dataclass(frozen=True)
class Deidentified:
    answers: pl.DataFrame
    """One row per answered Likert item: response_no, training_day, item, answer (1..5)."""
    words: pl.DataFrame
    """One row per kept free-text word: response_no, training_day, item, word."""
    n_responses: int
    dropped_columns: tuple[str, ...]
    n_words_held_back: int = 0
    """Free-text words not stored because they are not in the vocabulary (names among them)."""
    keys: pl.DataFrame | None = None
    """response_no and key_hash (keyed hash of the tool's response id), when the tool has ids."""


def deidentify(rows: pl.DataFrame, instrument: Instrument) -> Deidentified:
    """Turn validated rows into de-identified long tables; no other column survives."""
    declared = {TRAINING_DAY, *instrument.item_ids}
    dropped = tuple(c for c in rows.columns if c not in declared and not c.startswith("__"))
    keys = ["response_no", TRAINING_DAY]
    coded = rows.select(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("response_no"),
        pl.col(TRAINING_DAY).str.strptime(pl.Date, "%Y-%m-%d"),
        *(answer_code(pl.col(item), instrument).alias(item) for item in instrument.likert_items),
        *(pl.col(item) for item in instrument.free_text_items),
    )
    answers = (
        coded.unpivot(
            index=keys, on=list(instrument.likert_items), variable_name="item", value_name="answer"
        )
        .drop_nulls("answer")
        .sort(keys)
    )
    scrubbed = {item: words(coded, item, keys) for item in instrument.free_text_items}
    free_text = [s.words.with_columns(pl.lit(item).alias("item")) for item, s in scrubbed.items()]
    kept_words = (
        pl.concat(free_text).select(*keys, "item", "word")
        if free_text
        else pl.DataFrame(schema=Words.empty_schema())
    )
    return Deidentified(
        answers=Answers.validate(answers),
        words=Words.validate(kept_words),
        n_responses=coded.height,
        dropped_columns=dropped,
        n_words_held_back=sum(s.n_held_back for s in scrubbed.values()),
    )
