"""Header-row logic per survey tool: how many header rows, what each column is called as the
region sees it, which columns identify a response, when it was completed, which rows are
partial. Small and ours; the grid underneath is read by polars and calamine (`grid.py`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import polars as pl

from transforms.readers.grid import refuse

ROW = "__row"
"""Column holding the source row number as the region sees it; never stored."""
PARTIAL = "__partial"
"""True for a row the tool marks as unfinished, a preview or an import; left out and counted."""

TOOLS = ("template", "ms-forms", "google-forms", "surveymonkey", "qualtrics", "redcap")
SURVEYMONKEY_SINGLE = {"Response", "Open-Ended Response", ""}
QUALTRICS_LEFT_OUT_STATUS = [
    "1",
    "2",
    "4",
    "8",
    "Survey Preview",
    "Survey Test",
    "Imported",
    "Spam",
]
FALSE = ["0", "false", "False", "FALSE"]
REDCAP_COMPLETE = ["2", "Complete"]


@dataclass(frozen=True)
class Layout:
    """What a tool's header rows say about its columns."""

    header_rows: int
    names: list[str]
    response_id: tuple[str, ...] = ()
    """Columns that together identify a response in the tool; () when it has no id."""
    completed: str | None = None
    """The column holding the completion time."""
    partial: pl.Expr | None = None
    key_includes_answers: bool = False
    """Google Forms has no response id: a timestamp plus the answers stand in for one."""


@dataclass(frozen=True)
class Export:
    """A region's file with its header rows read: text cells named as in the region's file."""

    tool: str
    cells: pl.DataFrame
    """One column per header (made unique), plus ROW and PARTIAL."""
    header_rows: int
    response_id: tuple[str, ...]
    completed: str | None
    duplicated: frozenset[str]
    """Headers that occur more than once: a problem only if an item is mapped to one."""
    key_includes_answers: bool = False


def _row(grid: pl.DataFrame, i: int) -> list[str]:
    if grid.height <= i:
        return [""] * grid.width
    return [(cell or "").strip() for cell in grid.row(i)]


def _has(names: Sequence[str], *wanted: str) -> bool:
    return all(w in names for w in wanted)


def _first(names: Sequence[str], *candidates: str) -> str | None:
    return next((c for c in candidates if c in names), None)


def _in(column: str, values: list[str]) -> pl.Expr:
    return pl.col(column).str.strip_chars().is_in(values).fill_null(False)


def template(grid: pl.DataFrame) -> Layout:
    return Layout(1, _row(grid, 0))


def ms_forms(grid: pl.DataFrame) -> Layout:
    names = _row(grid, 0)
    return Layout(1, names, ("ID",) if "ID" in names else (), _first(names, "Completion time"))


def google_forms(grid: pl.DataFrame) -> Layout:
    names = _row(grid, 0)
    ids = tuple(c for c in ("Timestamp", "Email Address") if c in names)
    return Layout(1, names, ids, _first(names, "Timestamp"), key_includes_answers=True)


def surveymonkey(grid: pl.DataFrame) -> Layout:
    """Row 2 names a matrix row or a choice; under a single-column question it says `Response`,
    so the question text of row 1 names the column."""
    questions, answers = _row(grid, 0), _row(grid, 1)
    names = [
        a if a not in SURVEYMONKEY_SINGLE else q for q, a in zip(questions, answers, strict=True)
    ]
    ids = ("Respondent ID",) if "Respondent ID" in names else ()
    return Layout(2, names, ids, _first(names, "End Date"))


def qualtrics(grid: pl.DataFrame) -> Layout:
    """Row 1 the column names, row 2 the question text, row 3 (since 2016) ImportId JSON."""
    names = _row(grid, 0)
    third = _row(grid, 2)
    header_rows = 3 if any(c.startswith("{") and "ImportId" in c for c in third) else 2
    id_column = _first(names, "ResponseId", "ResponseID", "V1")
    status, finished = _first(names, "Status"), _first(names, "Finished")
    partial = pl.lit(False)
    if status:
        partial = partial | _in(status, QUALTRICS_LEFT_OUT_STATUS)
    if finished:
        partial = partial | _in(finished, FALSE)
    completed = _first(names, "RecordedDate", "EndDate", "V9")
    return Layout(header_rows, names, (id_column,) if id_column else (), completed, partial)


def redcap(grid: pl.DataFrame) -> Layout:
    """Raw field names or labels; a record repeats per event and repeat instance."""
    names = _row(grid, 0)
    raw = ("record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance")
    labelled = ("Record ID", "Event Name", "Repeat Instrument", "Repeat Instance")
    ids = tuple(c for c in (raw if "record_id" in names else labelled) if c in names)
    stamp = next((c for c in names if c.endswith("_timestamp") or c == "Survey Timestamp"), None)
    done = next((c for c in names if c.endswith("_complete") or c == "Complete?"), None)
    partial = pl.lit(False)
    if stamp:
        partial = partial | _in(stamp, ["[not completed]"])
    if done:
        partial = partial | ~_in(done, REDCAP_COMPLETE)
    return Layout(1, names, ids, stamp, partial)


LAYOUTS: dict[str, Callable[[pl.DataFrame], Layout]] = {
    "template": template,
    "ms-forms": ms_forms,
    "google-forms": google_forms,
    "surveymonkey": surveymonkey,
    "qualtrics": qualtrics,
    "redcap": redcap,
}


def _shapes(first: list[str]) -> list[str]:
    """Every tool whose header shape row 1 has."""
    found = []
    if "training_day" in first:
        found.append("template")
    if _has(first, "ID", "Start time", "Completion time"):
        found.append("ms-forms")
    if first[:1] == ["Timestamp"]:
        found.append("google-forms")
    if _has(first, "Respondent ID", "Collector ID"):
        found.append("surveymonkey")
    if (("ResponseId" in first or "ResponseID" in first) and "Finished" in first) or _has(
        first, "V1", "V10"
    ):
        found.append("qualtrics")
    if first[:1] in (["record_id"], ["Record ID"]):
        found.append("redcap")
    return found


def detect(grid: pl.DataFrame) -> str:
    """The one tool whose header shape the file has; an ambiguous file is rejected, not guessed."""
    found = _shapes(_row(grid, 0))
    if len(found) == 1:
        return found[0]
    allowed = f"an export straight from one of: {', '.join(TOOLS)}; or set the region's source"
    if not found:
        raise refuse("a header row that matches no known survey tool's export", allowed)
    raise refuse(f"a header row that matches several tools ({', '.join(found)})", allowed)


def check_shape(grid: pl.DataFrame, tool: str) -> None:
    """A file that is plainly another tool's export is named as such, not misread."""
    found = _shapes(_row(grid, 0))
    if len(found) == 1 and found[0] != tool:
        raise refuse(
            f"an export from {found[0]}, but this region is set up for {tool}",
            f"an export from {tool}, or ask the operator to change the region's source",
        )


def _letters(index: int) -> str:
    """A column's letters as a spreadsheet shows them: 0 -> A, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def rows_where(frame: pl.DataFrame, condition: pl.Expr) -> pl.DataFrame:
    """The rows meeting `condition`; the frame itself when all do (no copy of a large export)."""
    keep = frame.select(condition).to_series()
    return frame if keep.all() else frame.filter(keep)


def read_export(grid: pl.DataFrame, tool: str) -> Export:
    """Name the grid's columns as the region sees them and number its rows as in its tool."""
    layout = LAYOUTS[tool](grid)
    names = [n or f"(blank header, column {_letters(i)})" for i, n in enumerate(layout.names)]
    unique, seen, duplicated = [], {}, set()
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            duplicated.add(name)
        unique.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    cells = (
        grid.rename(dict(zip(grid.columns, unique, strict=True)))
        .with_row_index(ROW, offset=1)
        .with_columns(pl.col(ROW).cast(pl.Int64))
        .slice(layout.header_rows)
    )
    cells = rows_where(cells, pl.concat_str(pl.col(unique), ignore_nulls=True).str.contains(r"\S"))
    cells = cells.with_columns(
        (layout.partial if layout.partial is not None else pl.lit(False)).alias(PARTIAL)
    )
    return Export(
        tool=tool,
        cells=cells,
        header_rows=layout.header_rows,
        response_id=layout.response_id,
        completed=layout.completed,
        duplicated=frozenset(duplicated),
        key_includes_answers=layout.key_includes_answers,
    )
