"""Where the report goes and how it is written: beside the published file, each file whole or
not at all, made again from the published file alone by `reflect-eval report`."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from transforms.errors import PublishError


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    workbook: Path


def report_paths(published: Path) -> ReportFiles:
    """`published.duckdb` -> `published-report.html` and `published-report.xlsx` beside it."""
    stem = published.with_name(f"{published.stem}-report")
    return ReportFiles(stem.with_suffix(".html"), stem.with_suffix(".xlsx"))


def write_report(published: Path) -> ReportFiles:
    """Both files from `published` alone. Charts and the workbook need matplotlib and pandas,
    imported here so that commands that only name the files do not pay for them."""
    from transforms.report.page import render_page
    from transforms.report.published import read_published
    from transforms.report.spreadsheet import workbook
    from transforms.report.workbook import write_workbook

    paths = report_paths(published)
    content = read_published(published)
    try:
        _write_text(paths.html, render_page(content))
        write_workbook(workbook(content), paths.workbook)
    except (OSError, ValueError) as exc:
        raise PublishError(f"could not write the report beside {published}: {exc}") from None
    return paths


def _write_text(path: Path, text: str) -> None:
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(partial, 0o644)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
