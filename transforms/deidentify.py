"""Keep only what the instrument declares: the training day, coded answers and scrubbed words.

Everything else in a region's file (names, emails, GMC numbers, timestamps, its own extra
columns) is dropped here and reported by column name only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from schemas.instrument import Instrument
from schemas.stages import Answers, Words
from transforms.likert import code_of_tidied
from transforms.scrub import words
from transforms.validate import FILE, TRAINING_DAY


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
    marked = rows.with_columns(pl.lit(0, pl.Int32).alias(FILE))
    return deidentify_files(marked, instrument, files=[0])[0]


def deidentify_files(
    rows: pl.DataFrame, instrument: Instrument, *, files: Sequence[int]
) -> dict[int, Deidentified]:
    """`deidentify` for the rows of many files at once (`FILE` says whose each row is), each
    file's respondents numbered from 1 as if it were alone; per file of `files` (one with no
    rows has none)."""
    declared = {TRAINING_DAY, *instrument.item_ids}
    dropped = tuple(c for c in rows.columns if c not in declared and not c.startswith("__"))
    keys = [FILE, "response_no", TRAINING_DAY]
    coded = rows.select(
        pl.col(FILE),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over(FILE).alias("response_no"),
        pl.col(TRAINING_DAY).str.strptime(pl.Date, "%Y-%m-%d"),
        *(code_of_tidied(pl.col(item), instrument).alias(item) for item in instrument.likert_items),
        *(pl.col(item) for item in instrument.free_text_items),
    )
    answers = (
        coded.unpivot(
            index=keys, on=list(instrument.likert_items), variable_name="item", value_name="answer"
        )
        .drop_nulls("answer")
        .sort(keys, maintain_order=True)
    )
    scrubbed = {item: words(coded, item, keys) for item in instrument.free_text_items}
    free_text = [s.words.with_columns(pl.lit(item).alias("item")) for item, s in scrubbed.items()]
    kept_words = (
        pl.concat(free_text).select(*keys, "item", "word")
        if free_text
        else pl.DataFrame(schema={FILE: pl.Int32(), **Words.empty_schema()})
    )
    Answers.validate(answers.drop(FILE))
    Words.validate(kept_words.drop(FILE))
    held_back = (
        pl.concat([s.held_back.select(FILE) for s in scrubbed.values()])
        if scrubbed
        else pl.DataFrame(schema={FILE: pl.Int32()})
    )
    counts = dict(coded.group_by(FILE).len().iter_rows())
    answers_of = _by_file(answers, files)
    words_of = _by_file(kept_words, files)
    held_of = dict(held_back.group_by(FILE).len().iter_rows())
    empty_answers = answers.drop(FILE).clear()
    empty_words = kept_words.drop(FILE).clear()
    return {
        int(file): Deidentified(
            answers=answers_of.get((file,), empty_answers),
            words=words_of.get((file,), empty_words),
            n_responses=int(counts.get(file, 0)),
            dropped_columns=dropped,
            n_words_held_back=int(held_of.get(file, 0)),
        )
        for file in files
    }


def _by_file(rows: pl.DataFrame, files: Sequence[int]) -> dict[tuple[int], pl.DataFrame]:
    """Each file's rows, FILE dropped; one file's are the frame itself (no copy of a large one)."""
    if len(files) == 1:
        return {(files[0],): rows.drop(FILE)} if rows.height else {}
    return rows.partition_by(FILE, as_dict=True, include_key=False)  # type: ignore[return-value]
