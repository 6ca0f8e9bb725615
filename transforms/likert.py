"""How a Likert answer written by a person becomes a code on the instrument's scale."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from schemas.instrument import Instrument

BLANK_OR_SPACE = r"[\s\u00a0\u2007\u202f]+"


def tidy_text(column: pl.Expr) -> pl.Expr:
    """Stray, repeated and non-breaking spaces folded to one; an empty cell becomes null."""
    tidied = column.str.replace_all(BLANK_OR_SPACE, " ").str.strip_chars()
    return pl.when(tidied != "").then(tidied)


def tidy_columns(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """`tidy_text` of each text column, worked out once per distinct cell where cells repeat: a
    Likert column holds a few dozen spellings however many rows it has."""
    tidied = []
    for name in columns:
        cells = frame.get_column(name)
        distinct = cells.unique()
        if cells.dtype != pl.Utf8 or 4 * distinct.len() >= cells.len():
            tidied.append(frame.select(tidy_text(pl.col(name))).to_series())
            continue
        spellings = distinct.drop_nulls()
        clean = pl.select(tidy_text(pl.lit(spellings))).to_series()
        tidied.append(cells.replace_strict(spellings, clean, return_dtype=pl.Utf8))
    return frame.with_columns(tidied)


def answer_codes(instrument: Instrument) -> dict[str, int]:
    """Every accepted spelling (label in lower case, or the code itself) and its code 1..5."""
    labels = {label.lower(): code for code, label in enumerate(instrument.scale.labels, start=1)}
    codes = {str(code): code for code in range(1, len(instrument.scale.labels) + 1)}
    return labels | codes


def answer_code(column: pl.Expr, instrument: Instrument) -> pl.Expr:
    """The answer's code, or null when the cell is blank or not an accepted answer."""
    return code_of_tidied(tidy_text(column), instrument)


def code_of_tidied(column: pl.Expr, instrument: Instrument) -> pl.Expr:
    """`answer_code` of a cell `tidy_text` has tidied already (validated rows are)."""
    return column.str.to_lowercase().replace_strict(
        answer_codes(instrument), default=None, return_dtype=pl.Int8
    )


def accepted_answers(instrument: Instrument) -> str:
    labels = ", ".join(instrument.scale.labels)
    return f"allowed: {labels} (any case), or the codes 1-5, or a blank cell"
