"""Read our template CSV into a frame of text cells, keeping each row's number as the region
sees it in its spreadsheet (the header is row 1), so every problem can point at a real row.

Other tools' exports are read by `transforms/readers/`; this is the template's short path."""

from __future__ import annotations

import polars as pl

from transforms.problems import FileRejected, Problem
from transforms.readers.grid import read_grid
from transforms.readers.tools import PARTIAL, ROW, read_export

__all__ = ["ROW", "read_template"]


def read_template(data: bytes) -> pl.DataFrame:
    """Read a template file (UTF-8 with or without BOM, or Windows-1252) as text, one row per
    respondent; a repeated header is a problem, not a silent rename."""
    export = read_export(read_grid(data), "template")
    if export.duplicated:
        raise FileRejected(
            [
                Problem(1, c, "the same column header twice", "each column once")
                for c in sorted(export.duplicated)
            ]
        )
    return export.cells.drop(PARTIAL)
