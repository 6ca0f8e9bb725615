"""A region's export mapped onto the instrument: each item's column picked out by the header the
region configured, the training day found, partial and repeated responses set aside. Nothing
else leaves this module, so a region's own identifying columns are never stored, whatever
they are called."""

from __future__ import annotations

from dataclasses import dataclass, replace

import polars as pl

from schemas.config import Region
from schemas.instrument import Instrument
from transforms.dates import iso_day
from transforms.likert import tidy_text
from transforms.problems import FileRejected, Problem
from transforms.readers.tools import PARTIAL, ROW, Export, rows_where
from transforms.response_keys import keyed_hashes
from transforms.validate import TRAINING_DAY

KEY = "__key"
"""Keyed hash of the tool's response id; never leaves the restricted warehouse."""
FILENAME_DAY = r"^(\d{4}-\d{2}-\d{2})"


@dataclass(frozen=True)
class Mapped:
    rows: pl.DataFrame
    """ROW, KEY, training_day and one column per instrument item (as far as the file has them)."""
    headers: dict[str, str]
    """Each mapped column's header as in the region's file, for reports."""
    dropped_columns: tuple[str, ...]
    n_partial: int
    n_repeated: int
    """Rows whose response id occurs earlier in the same file."""


def map_export(
    export: Export, region: Region, instrument: Instrument, file_name: str, secret: bytes
) -> Mapped:
    """Pick the instrument's columns out of the export, or raise FileRejected naming the
    region's headers."""
    headers = {item: region.column_of(item) for item in instrument.item_ids}
    problems = [
        Problem(1, header, "the same column header more than once", "each column once")
        for header in sorted(set(headers.values()) & export.duplicated)
    ]
    present = {item: h for item, h in headers.items() if h in export.cells.columns}
    cells = rows_where(export.cells, ~pl.col(PARTIAL))
    n_partial = export.cells.height - cells.height
    day, day_header, day_problem = _training_day(export, region, cells, file_name)
    if day_problem:
        problems.append(day_problem)
    if problems:
        raise FileRejected(problems)
    rows = cells.select(
        ROW,
        _key(export, cells, present, secret),
        day.alias(TRAINING_DAY),
        *(_recoded(pl.col(h), region).alias(item) for item, h in present.items()),
    )
    if export.tool != "template":
        rows = rows.with_columns(iso_day(rows[TRAINING_DAY], export.tool))
    repeated = rows[KEY].is_not_null() & rows[KEY].is_duplicated() & ~rows[KEY].is_first_distinct()
    kept = {*present.values(), *([day_header] if day_header else [])}
    dropped = tuple(c for c in export.cells.columns if c not in kept and c not in (ROW, PARTIAL))
    return Mapped(
        rows=rows.filter(~repeated),
        headers={**headers, TRAINING_DAY: day_header or "file name"},
        dropped_columns=dropped,
        n_partial=n_partial,
        n_repeated=int(repeated.sum()),
    )


def _training_day(
    export: Export, region: Region, cells: pl.DataFrame, file_name: str
) -> tuple[pl.Expr, str | None, Problem | None]:
    kind = region.training_day
    if kind == "filename":
        day = pl.Series([file_name]).str.extract(FILENAME_DAY).item()
        if day is None:
            problem = Problem(
                None,
                None,
                f"a file name that does not start with the training day ({file_name!r})",
                "name the file after the training day, e.g. 2026-01-07-feedback.xlsx",
            )
            return pl.lit(None, pl.Utf8), None, problem
        return pl.lit(day), None, None
    header = export.completed if kind == "completed" else region.training_day_column
    if header is None or header not in cells.columns:
        what = "the completion time column" if kind == "completed" else f"column {header!r}"
        problem = Problem(
            1,
            header,
            f"no {what} for the training day",
            f"a {export.tool} export with {what}, or ask the operator to change training_day",
        )
        return pl.lit(None, pl.Utf8), None, problem
    return pl.col(header), header, None


def _key(export: Export, cells: pl.DataFrame, present: dict[str, str], secret: bytes) -> pl.Expr:
    if not export.response_id:
        return pl.lit(None, pl.Utf8).alias(KEY)
    parts = [pl.col(c).fill_null("") for c in export.response_id]
    if export.key_includes_answers:
        parts += [tidy_text(pl.col(c)).str.to_lowercase().fill_null("") for c in present.values()]
    ids = cells.select(pl.concat_str(parts, separator="\x1f").alias(KEY))[KEY]
    first = cells[export.response_id[0]]
    ids = pl.select(pl.when(first.is_not_null()).then(ids)).to_series().alias(KEY)
    return pl.lit(keyed_hashes(ids, secret))


def _recoded(column: pl.Expr, region: Region) -> pl.Expr:
    if not region.codes:
        return column
    tidied = tidy_text(column)
    return tidied.replace(region.codes)


def name_columns(problems: list[Problem], mapped_headers: dict[str, str]) -> list[Problem]:
    """Problems found on mapped columns, told with the region's headers."""
    named = []
    for problem in problems:
        header = mapped_headers.get(problem.column or "")
        if header is None or header == problem.column:
            named.append(problem)
        elif problem.found == "no column with this header":
            allowed = f"a column headed {header!r} (this region's column for {problem.column})"
            named.append(replace(problem, column=header, allowed=allowed))
        else:
            named.append(replace(problem, column=header))
    return named
