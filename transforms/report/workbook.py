"""The GSS workbook: the published tables as a spreadsheet analysts can open without surprises.

gptables (ONS's implementation of the Government Statistical Service good-practice spreadsheet
guidance) does the layout: a Cover sheet, a Contents sheet, a Notes sheet, then one table per
sheet, each marked as an Excel table, no merged cells. This module adds what gptables leaves to
its caller:

- a withheld figure (a null in a numeric column) is written as the GSS shorthand ``[c]``, never a
  blank cell, and the notes sheet always explains ``[c]``;
- no cell is ever a formula or a hyperlink the data did not ask for: a free-text cell such as
  ``=1+1`` or ``[click](http://x)`` is stored as the literal text (xlsxwriter's
  ``strings_to_formulas``/``strings_to_urls`` are off, and table text bypasses gptables'
  markdown-link parsing);
- the file appears whole or not at all: it is written beside ``path`` and moved into place.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gptables
import pandas as pd
import polars as pl
from gptables.core.gptable import FormatList

WITHHELD = "[c]"
WITHHELD_NOTE = (
    "[c]: confidential, withheld so that a small group cannot be identified or its answers "
    "worked out from other figures"
)
COVER_SHEET = "Cover"
CONTENTS_SHEET = "Contents"
NOTES_SHEET = "Notes"

# Passed to xlsxwriter through gptables: text is text, whatever it starts with.
_WORKBOOK_OPTIONS: dict[str, bool] = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}
# The sheet name doubles as the Excel table name, so it must satisfy both (xlsxwriter only warns
# and drops the table when a table name is bad; the workbook would silently lose its structure).
_SHEET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}")
_CELL_LIKE = re.compile(r"[A-Za-z][A-Za-z]?[A-Da-d]?\d+|[RrCc]|[RrCc]\d+[RrCc]\d+")
_RESERVED = {
    name.casefold()
    for name in (COVER_SHEET, CONTENTS_SHEET, NOTES_SHEET, "contents_table", "notes_table")
}
_MAX_CELL_TEXT = 32_767  # Excel's limit; xlsxwriter would truncate longer text


@dataclass(frozen=True)
class Sheet:
    """One published table, one worksheet (GSS: one table per sheet)."""

    name: str  # sheet tab name, e.g. "Table_1" (GSS: short, no spaces)
    title: str  # e.g. "Percentage positive by region and item, release 3"
    subtitles: list[str]
    table: pl.DataFrame  # columns already named for readers; may hold None for withheld figures
    source: str = "reflect-eval published warehouse"
    instructions: str = (
        "This worksheet contains one table. "
        "Some cells refer to notes which can be found in the notes worksheet."
    )


@dataclass(frozen=True)
class Workbook:
    """What the analysts' workbook says: a cover, the notes, and the tables in order."""

    title: str  # cover title
    cover_lines: list[tuple[str, str]]  # (heading, paragraph) pairs for the cover sheet
    notes: list[tuple[str, str]]  # (note number like "[note 1]", note text)
    sheets: list[Sheet]


def write_workbook(workbook: Workbook, path: Path) -> None:
    """Write ``workbook`` to ``path`` as a GSS spreadsheet, replacing any file there atomically.

    Everything is checked before anything touches the disk, so a bad table raises ``ValueError``
    and leaves an existing file as it was.
    """
    path = Path(path)
    cover = _cover(workbook)
    notes = _notes_table(workbook.notes)
    tables = _tables(workbook.sheets)

    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with warnings.catch_warnings():
            # gptables expects notes to be cited as $$ref$$ in titles; ours are cited as literal
            # "[note n]" text, so every note looks unreferenced to it. That is expected here.
            warnings.filterwarnings("ignore", message="The following notes are not referenced")
            gptables.write_workbook(
                filename=str(tmp),
                sheets=tables,
                cover=cover,
                contentsheet_label=CONTENTS_SHEET,
                notes_table=notes,
                notesheet_label=NOTES_SHEET,
                auto_width=True,
                workbook_options=dict(_WORKBOOK_OPTIONS),
            )
        tmp.chmod(0o644)
        with tmp.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _cover(workbook: Workbook) -> gptables.Cover:
    """The cover sheet: gptables' fixed 'About these data' heading, then the caller's sections.

    gptables' Cover has no free headings, so each heading is a rich-text line in the cover
    subtitle style (the idiom of gptables' own survey example).
    """
    heading_format = dict(gptables.gptheme.cover_subtitle_format)
    about: list[Any] = []
    for heading, paragraph in workbook.cover_lines:
        about.extend([[heading_format, heading], paragraph])
    return gptables.Cover(title=workbook.title, about=about or None, cover_label=COVER_SHEET)


def _notes_table(notes: list[tuple[str, str]]) -> pd.DataFrame:
    """The notes sheet's table, with a note explaining [c] unless the caller wrote one.

    gptables numbers the notes sheet 1, 2, ... by position (the first column is only a key), so
    the caller's labels must be "[note 1]", "[note 2]", ... in order or titles citing them would
    point at the wrong note.
    """
    for position, (label, text) in enumerate(notes, start=1):
        if label != f"[note {position}]":
            raise ValueError(
                f"note {position} is labelled {label!r}: notes must be '[note 1]', '[note 2]', "
                "... in order, because the notes sheet numbers them by position"
            )
        if not text.strip():
            raise ValueError(f"note {label} has no text")
    rows = list(notes)
    if not any(text.lstrip().startswith(WITHHELD) for _, text in rows):
        rows.append((f"[note {len(rows) + 1}]", WITHHELD_NOTE))
    return pd.DataFrame(
        {"Note reference": [label for label, _ in rows], "Note text": [text for _, text in rows]}
    )


def _tables(sheets: list[Sheet]) -> dict[str, gptables.GPTable]:
    """One GPTable per sheet, keyed by tab name in the caller's order."""
    if not sheets:
        raise ValueError("a workbook needs at least one table sheet")
    tables: dict[str, gptables.GPTable] = {}
    seen: set[str] = set()
    for sheet in sheets:
        _check_sheet_name(sheet.name, seen)
        seen.add(sheet.name.casefold())
        tables[sheet.name] = gptables.GPTable(
            table=_to_pandas(sheet),
            table_name=sheet.name,
            title=sheet.title,
            subtitles=list(sheet.subtitles),
            instructions=sheet.instructions,
            source=sheet.source,
            # No index columns: gptables rewrites $$...$$ in index cells as note references,
            # and these cells can hold free text.
            index_columns={},
            legend=[],
            additional_formatting=[],
        )
    return tables


def _check_sheet_name(name: str, seen: set[str]) -> None:
    """Refuse a tab name Excel or the GSS guidance would not accept, before writing anything."""
    if not _SHEET_NAME.fullmatch(name) or _CELL_LIKE.fullmatch(name):
        raise ValueError(
            f"sheet name {name!r} must be 1-31 letters, digits or underscores, start with a "
            "letter and not look like a cell reference (e.g. 'Table_1')"
        )
    if name.casefold() in _RESERVED:
        raise ValueError(f"sheet name {name!r} is used by the workbook itself")
    if name.casefold() in seen:
        raise ValueError(f"sheet name {name!r} is used twice (Excel ignores case)")


def _to_pandas(sheet: Sheet) -> pd.DataFrame:
    """The table as gptables takes it: numbers stay numbers, nulls become [c], text is literal.

    Built from Python values rather than ``to_pandas()`` so integers with withheld neighbours
    are not turned into floats and no NaN reaches gptables (which would write a blank cell).
    """
    table = sheet.table
    if table.height == 0 or table.width == 0:
        raise ValueError(f"sheet {sheet.name}: the table is empty")
    columns: dict[str, pd.Series] = {}
    for column in table.columns:
        series = table.get_column(column)
        if series.dtype == pl.Null or series.dtype.is_numeric():
            values = [_figure(value, sheet.name, column) for value in series.to_list()]
        else:
            try:
                text = series.cast(pl.String)
            except pl.exceptions.PolarsError as error:
                raise ValueError(
                    f"sheet {sheet.name}, column {column!r}: {series.dtype} cannot be written "
                    "as text"
                ) from error
            values = [_text(value, sheet.name, column) for value in text.to_list()]
        columns[column] = pd.Series(values, dtype=object)
    return pd.DataFrame(columns)


def _figure(value: Any, sheet: str, column: str) -> Any:
    """A numeric cell: the number, or [c] when it was withheld."""
    if value is None:
        return WITHHELD
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(
            f"sheet {sheet}, column {column!r}: {value} is not a figure; withheld figures are "
            "null, not NaN"
        )
    return value


def _text(value: str | None, sheet: str, column: str) -> FormatList:
    """A text cell, kept literal.

    Wrapped as gptables rich text with no extra formatting: gptables then writes the string as
    it is, instead of turning '[text](url)' into a hyperlink, blanking whitespace or refusing a
    cell of punctuation. A null or blank label is refused: only figures may be withheld.
    """
    if value is None or not value.strip():
        raise ValueError(
            f"sheet {sheet}, column {column!r}: a text cell is null or blank; only numeric "
            "columns may hold withheld (null) values"
        )
    if len(value) > _MAX_CELL_TEXT:
        raise ValueError(
            f"sheet {sheet}, column {column!r}: text longer than Excel's {_MAX_CELL_TEXT} "
            "characters"
        )
    return FormatList([{}, value])
