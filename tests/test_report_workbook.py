"""The GSS workbook, written for real and read back with openpyxl: layout, [c], literal text."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from transforms.report.workbook import WITHHELD, WITHHELD_NOTE, Sheet, Workbook, write_workbook

HYPERLINK = '=HYPERLINK("http://x","y")'
FREE_TEXT = [
    HYPERLINK,
    "=1+1",
    "+1",
    "-2",
    "@SUM(A1)",
    "[click](http://evil.example)",
    "http://a.b",
]


def _region_table() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "Region": ["North", "South", "East"],
            "Respondents": [14, None, 9],
            "Percentage positive": [92.9, None, 55.5],
        }
    )


def _free_text_table() -> pl.DataFrame:
    return pl.DataFrame({"Three words": FREE_TEXT, "Mentions": list(range(1, len(FREE_TEXT) + 1))})


def _workbook(notes: list[tuple[str, str]] | None = None) -> Workbook:
    return Workbook(
        title="Reflective practice groups: survey results, release 3",
        cover_lines=[
            ("What these tables show", "Answers from peer-led reflective practice groups."),
            ("Withheld figures", "A figure shown as [c] is withheld to protect confidentiality."),
        ],
        notes=[("[note 1]", "Release 3 covers the spring cohort only.")]
        if notes is None
        else notes,
        sheets=[
            Sheet(
                name="Table_1",
                title="Percentage positive by region, release 3 [note 1]",
                subtitles=["All items combined"],
                table=_region_table(),
            ),
            Sheet(
                name="Table_2",
                title="Words used to describe the groups",
                subtitles=[],
                table=_free_text_table(),
            ),
        ],
    )


def _rows_from(ws: openpyxl.worksheet.worksheet.Worksheet, header: str) -> list[list[object]]:
    """The table on a sheet: the rows from the one whose first cell is ``header`` down."""
    rows = [[cell.value for cell in row] for row in ws.iter_rows()]
    start = next(i for i, row in enumerate(rows) if row[0] == header)
    return rows[start:]


@pytest.fixture
def written(tmp_path: Path) -> Path:
    path = tmp_path / "report.xlsx"
    write_workbook(_workbook(), path)
    return path


def test_sheets_are_cover_contents_notes_then_the_tables_in_order(written: Path) -> None:
    book = openpyxl.load_workbook(written)
    assert book.sheetnames == ["Cover", "Contents", "Notes", "Table_1", "Table_2"]
    cover = [row[0] for row in book["Cover"].iter_rows(values_only=True)]
    assert cover[0] == "Reflective practice groups: survey results, release 3"
    assert cover[cover.index("What these tables show") + 1] == (
        "Answers from peer-led reflective practice groups."
    )
    assert "Withheld figures" in cover


def test_contents_lists_and_links_each_table_sheet(written: Path) -> None:
    contents = openpyxl.load_workbook(written)["Contents"]
    rows = _rows_from(contents, "Sheet name")
    assert rows == [
        ["Sheet name", "Table description"],
        ["Table_1", "Percentage positive by region, release 3 [note 1]"],
        ["Table_2", "Words used to describe the groups"],
    ]
    links = {cell.value: cell.hyperlink.location for cell in contents["A"] if cell.hyperlink}
    assert links == {"Table_1": "'Table_1'!A1", "Table_2": "'Table_2'!A1"}


def test_values_read_back_with_c_where_the_input_was_null(written: Path) -> None:
    book = openpyxl.load_workbook(written)
    rows = _rows_from(book["Table_1"], "Region")
    assert rows == [
        ["Region", "Respondents", "Percentage positive"],
        ["North", 14, 92.9],
        ["South", WITHHELD, WITHHELD],
        ["East", 9, 55.5],
    ]
    table = book["Table_1"].tables["Table_1"]
    assert table.ref == "A5:C8"  # the Excel table covers header and data, nothing else


def test_notes_sheet_holds_the_callers_notes_and_the_c_note(written: Path) -> None:
    notes = _rows_from(openpyxl.load_workbook(written)["Notes"], "Note number")
    assert notes == [
        ["Note number", "Note text"],
        [1, "Release 3 covers the spring cohort only."],
        [2, WITHHELD_NOTE],
    ]
    assert WITHHELD_NOTE.startswith("[c]: confidential")


def test_a_note_the_caller_wrote_for_c_is_not_repeated(tmp_path: Path) -> None:
    own = "[c]: withheld (fewer than 5 answered)."
    path = tmp_path / "report.xlsx"
    write_workbook(_workbook([("[note 1]", "Spring only."), ("[note 2]", own)]), path)
    notes = _rows_from(openpyxl.load_workbook(path)["Notes"], "Note number")
    assert notes[1:] == [[1, "Spring only."], [2, own]]


def test_free_text_is_stored_as_literal_strings_never_formulas_or_links(written: Path) -> None:
    book = openpyxl.load_workbook(written)
    sheet = book["Table_2"]
    cells = [row[0] for row in sheet.iter_rows() if row[0].value in FREE_TEXT]
    assert [cell.value for cell in cells] == FREE_TEXT
    for cell in cells:
        assert cell.data_type == "s", cell.value
        assert cell.hyperlink is None, cell.value
    by_text = {cell.value: cell for cell in cells}
    assert by_text[HYPERLINK].data_type == "s"
    assert by_text["=1+1"].data_type == "s"

    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
    with zipfile.ZipFile(written) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/sheet"):
                assert not re.search(rb"<f[ >]", archive.read(name)), name


def test_no_merged_cells_anywhere(written: Path) -> None:
    book = openpyxl.load_workbook(written)
    for ws in book.worksheets:
        assert not ws.merged_cells.ranges, ws.title


def test_writing_over_a_file_replaces_it_whole_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"an older, longer file that is not a workbook at all " * 10_000)
    write_workbook(_workbook(), path)
    assert zipfile.is_zipfile(path)
    assert openpyxl.load_workbook(path).sheetnames[-1] == "Table_2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx"]
    assert path.stat().st_mode & 0o777 == 0o644


def test_a_refused_table_leaves_the_existing_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    write_workbook(_workbook(), path)
    before = path.read_bytes()
    bad = Sheet("Table_3", "Labels", [], pl.DataFrame({"Region": ["North", None], "n": [1, 2]}))
    broken = Workbook("t", [], [], [bad])
    with pytest.raises(ValueError, match="only numeric columns may hold withheld"):
        write_workbook(broken, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.xlsx"]


@pytest.mark.parametrize(
    ("notes", "sheet_name", "message"),
    [
        ([("[note 2]", "out of order")], "Table_1", "notes must be"),
        ([], "Table 1", "sheet name"),
        ([], "Notes", "used by the workbook itself"),
        ([], "AB12", "look like a cell reference"),
    ],
)
def test_notes_and_sheet_names_that_would_mislead_are_refused(
    tmp_path: Path, notes: list[tuple[str, str]], sheet_name: str, message: str
) -> None:
    sheet = Sheet(sheet_name, "t", [], _region_table())
    with pytest.raises(ValueError, match=message):
        write_workbook(Workbook("t", [], notes, [sheet]), tmp_path / "report.xlsx")
    assert list(tmp_path.iterdir()) == []
