"""Read a region's file into a frame of text cells, keeping each row's number as the region
sees it in its own tool (the header is row 1), so every problem can point at a real row."""

from __future__ import annotations

import csv
import io

import polars as pl

from transforms.problems import FileRejected, Problem

ROW = "__row"
"""Column holding the source row number; never stored, only used in reports."""

TEMPLATE_HEADER_ROWS = 1


def read_template(data: bytes) -> pl.DataFrame:
    """Read our CSV template (UTF-8, with or without BOM) as text, one row per respondent."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(
            [
                Problem(
                    row=None,
                    column=None,
                    found=f"bytes that are not UTF-8 text (at byte {exc.start})",
                    allowed="save the file as 'CSV UTF-8 (Comma delimited)'",
                )
            ]
        ) from None
    if text.strip() == "":
        raise FileRejected(
            [
                Problem(
                    None,
                    None,
                    "an empty file",
                    "the template's header row and one row per respondent",
                )
            ]
        )
    if "\x00" in text:
        raise FileRejected(
            [
                Problem(
                    None,
                    None,
                    "binary content, not a CSV file",
                    "a CSV file saved from the template",
                )
            ]
        )
    try:
        frame = pl.read_csv(
            io.StringIO(text),
            infer_schema=False,
            has_header=True,
            truncate_ragged_lines=False,
            raise_if_empty=True,
        )
    except pl.exceptions.PolarsError as exc:
        raise FileRejected(
            [
                Problem(
                    None,
                    None,
                    f"a CSV layout that cannot be read ({type(exc).__name__})",
                    "one header row and the same number of columns on every row",
                )
            ]
        ) from None
    header = next(csv.reader(io.StringIO(text)))
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise FileRejected(
            [Problem(1, c, "the same column header twice", "each column once") for c in duplicated]
        )
    return frame.with_row_index(ROW, offset=TEMPLATE_HEADER_ROWS + 1).with_columns(
        pl.col(ROW).cast(pl.Int64)
    )
