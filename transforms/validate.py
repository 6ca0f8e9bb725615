"""Check a region's rows against the instrument and collect every problem at once.

The schema is a pandera model built from the instrument definition, so a new survey version
needs no code. Rows with no answer at all (blank lines, partial responses) are left out and
counted, not rejected."""

from __future__ import annotations

from dataclasses import dataclass

import pandera.polars as pa
import polars as pl

from schemas.instrument import Instrument
from transforms.likert import accepted_answers, code_of_tidied, tidy_columns, tidy_text
from transforms.problems import FileRejected, Problem, quoted
from transforms.readers.tools import ROW, rows_where

TRAINING_DAY = "training_day"
FILE = "__file"
"""Whose row it is, when many files are checked together (`check_files`)."""
WHOLE_FRAME = -1
"""The file of a problem found in no one row (a column's type): the frame as a whole."""
ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"
TRAINING_DAY_ALLOWED = "allowed: the date of the training day written YYYY-MM-DD, e.g. 2026-01-07"


@dataclass(frozen=True)
class ValidRows:
    """Rows that passed, with text tidied; how many rows were left out as unanswered."""

    rows: pl.DataFrame
    n_left_out: int


def _iso_date(column: pl.Expr) -> pl.Expr:
    return column.str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def template_rows_schema(instrument: Instrument) -> pa.DataFrameSchema:
    """The read stage: one row per respondent, text cells tidied (`tidy_columns`: the answer
    check codes them as they are), before de-identification."""

    def training_day_is_iso(data: pa.PolarsData) -> pl.LazyFrame:
        day = pl.col(data.key)
        ok = day.is_null() | (day.str.contains(ISO_DATE) & _iso_date(day).is_not_null())
        return data.lazyframe.select(ok)

    def answer_is_accepted(data: pa.PolarsData) -> pl.LazyFrame:
        cell = pl.col(data.key)
        return data.lazyframe.select(
            cell.is_null() | code_of_tidied(cell, instrument).is_not_null()
        )

    columns: dict[str, pa.Column] = {
        TRAINING_DAY: pa.Column(
            str,
            nullable=False,
            checks=pa.Check(training_day_is_iso, error=TRAINING_DAY_ALLOWED),
            description="Date of the training day the group met",
        ),
    }
    likert_allowed = accepted_answers(instrument)
    for item in instrument.likert_items:
        columns[item] = pa.Column(
            str, nullable=True, checks=pa.Check(answer_is_accepted, error=likert_allowed)
        )
    for item in instrument.free_text_items:
        columns[item] = pa.Column(str, nullable=True, description="Free text: scrubbed to words")
    return pa.DataFrameSchema(columns, strict=False, name=f"{instrument.id} rows")


def required_columns(instrument: Instrument) -> tuple[str, ...]:
    return (TRAINING_DAY, *instrument.item_ids)


def validate_rows(frame: pl.DataFrame, instrument: Instrument) -> ValidRows:
    """Return the answered rows, or raise FileRejected listing every problem found: missing
    columns and the faults in every column that is there."""
    required = required_columns(instrument)
    missing = [c for c in required if c not in frame.columns]
    problems = [
        Problem(
            1, c, "no column with this header", f"the header row must include: {','.join(required)}"
        )
        for c in missing
    ]
    checked = check_files(frame.with_columns(pl.lit(0, pl.Int32).alias(FILE)), instrument)
    problems += checked.problems.get(0, []) + checked.problems.get(WHOLE_FRAME, [])
    if problems:
        raise FileRejected(problems)
    return ValidRows(rows=checked.rows.drop(FILE), n_left_out=checked.n_left_out.get(0, 0))


@dataclass(frozen=True)
class CheckedFiles:
    """Many files' rows checked as one frame (`FILE` says whose each row is)."""

    rows: pl.DataFrame
    """The answered rows, text tidied, FILE kept."""
    n_left_out: dict[int, int]
    problems: dict[int, list[Problem]]
    """Per file with any, its problems in the order one file alone would list them
    (`WHOLE_FRAME`: of no one row)."""


def check_files(frame: pl.DataFrame, instrument: Instrument) -> CheckedFiles:
    """Check the rows of many files at once: every check runs once over all of them, not once
    per file, and each problem goes back to its file with the file's own row number. A column
    no file has is not checked (`validate_rows` reports it missing)."""
    required = required_columns(instrument)
    missing = [c for c in required if c not in frame.columns]
    present = [c for c in required if c in frame.columns]
    items = [c for c in instrument.item_ids if c in frame.columns]
    tidied = tidy_columns(frame, present)
    answered = (
        rows_where(tidied, pl.any_horizontal(pl.col(items).is_not_null())) if items else tidied
    )
    anything = pl.any_horizontal(
        (pl.col(c) if c in present else tidy_text(pl.col(c))).is_not_null()
        for c in frame.columns
        if c not in (ROW, FILE)
    )
    n_left_out: dict[int, int] = {}
    if items:
        written = tidied.filter(anything).group_by(FILE).len()
        kept = answered.group_by(FILE).len().rename({"len": "kept"})
        for file, n, k in written.join(kept, on=FILE, how="left").fill_null(0).iter_rows():
            if n - k:
                n_left_out[int(file)] = int(n - k)
    problems: dict[int, list[Problem]] = {}
    try:
        template_rows_schema(instrument).remove_columns(missing).validate(answered, lazy=True)
    except pa.errors.SchemaErrors as exc:
        for file, problem in _problems(exc.failure_cases, answered):
            problems.setdefault(file, []).append(problem)
    return CheckedFiles(answered, n_left_out, problems)


def _problems(failure_cases: pl.DataFrame, rows: pl.DataFrame) -> list[tuple[int, Problem]]:
    located = failure_cases.join(
        rows.select(ROW, FILE).with_row_index("index").with_columns(pl.col("index").cast(pl.Int32)),
        on="index",
        how="left",
    )
    problems = []
    for case in located.select("failure_case", "column", "check", ROW, FILE).iter_rows(named=True):
        if case["check"] == "not_nullable":
            allowed = (
                TRAINING_DAY_ALLOWED if case["column"] == TRAINING_DAY else "a value is required"
            )
        else:
            allowed = case["check"]
        file = WHOLE_FRAME if case[FILE] is None else int(case[FILE])
        problem = Problem(case[ROW], case["column"], quoted(case["failure_case"]), allowed)
        problems.append((file, problem))
    return problems
