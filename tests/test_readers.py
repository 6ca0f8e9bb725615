"""Each survey tool's export, written inline as the tool writes it, read with row numbers and
column headers as the region sees them; partial and repeated responses set aside and counted."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from fixtures.broken import lying_workbook
from tests.readers import STATEMENTS, csv_bytes, prepared
from transforms.dates import iso_day
from transforms.problems import FileRejected
from transforms.readers.grid import read_grid, separator
from transforms.readers.tools import ROW, detect, read_export

ITEMS = list(STATEMENTS)
AGREE = ["Agree"] * 7


def problems(p) -> set[tuple[int | None, str | None]]:
    return {(q.row, q.column) for q in p.problems}


def xlsx(rows: list[list[object]], *, extra_sheet: bool = True) -> bytes:
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet("Sheet1")
    when = book.add_format({"num_format": "m/d/yy h:mm:ss"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, datetime):
                sheet.write_datetime(r, c, value, when)
            else:
                sheet.write(r, c, value)
    if extra_sheet:
        book.add_worksheet("Notes").write(0, 0, "Anything else the owner keeps here")
    book.close()
    return buf.getvalue()


# --- the grid: what the file really is, and its text -------------------------------------------


def test_bom_windows_1252_and_semicolons_all_read_the_same():
    rows = [["training_day", "three_words"], ["2026-01-07", "café, calm"]]
    expected = [["training_day", "three_words"], ["2026-01-07", "café, calm"]]
    for data in (
        b"\xef\xbb\xbf" + csv_bytes(rows),
        csv_bytes(rows, encoding="cp1252"),
        csv_bytes(rows, delimiter=";", encoding="cp1252"),
        csv_bytes(rows, delimiter="\t"),
    ):
        grid = read_grid(data)
        assert [list(grid.row(i)) for i in range(2)] == expected


def test_separator_ignores_commas_inside_quotes():
    assert separator('"a, b";"c, d";e\n') == ";"
    assert separator("a,b;c,d\n") == ","


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "password-protected"),
        (b"<html><body><table><tr><td>ID</td></tr></table></body></html>", "web page"),
        (b"\xef\xbb\xbf<!DOCTYPE html><html></html>", "web page"),
        (b"PK\x03\x04 truncated", "damaged"),
        (bytes(range(256)) * 4, "binary"),
        (b"  \r\n ", "empty"),
    ],
)
def test_files_that_are_not_exports_are_refused_with_a_reason(data: bytes, reason: str):
    with pytest.raises(FileRejected) as rejected:
        read_grid(data)
    [problem] = rejected.value.problems
    assert reason in problem.found and problem.allowed


def test_a_zip_bomb_is_refused_before_it_is_unzipped():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 20_000_000)
    with pytest.raises(FileRejected) as rejected:
        read_grid(buf.getvalue())
    assert "out of proportion" in rejected.value.problems[0].found


@pytest.mark.parametrize("padding", [20_000_000, 300_000_000])
def test_a_workbook_whose_sheet_lies_about_its_size_is_refused_while_it_is_inflated(padding: int):
    """The sheet declares 4 kB and holds `padding` bytes: counting stops at the limit (100 times
    the file's size), so 300 MB are never inflated to find out."""
    data = lying_workbook([["training_day", "effective_use"], ["2026-01-07", "Agree"]], padding)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert sum(m.file_size for m in archive.infolist()) < 20_000, "the sizes it declares"
    with pytest.raises(FileRejected) as rejected:
        read_grid(data)
    assert "out of proportion" in rejected.value.problems[0].found


def test_a_zip_that_is_not_a_workbook_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(FileRejected, match="problem"):
        read_grid(buf.getvalue())


def test_xlsx_date_time_cells_read_as_iso_text_and_extra_sheets_are_ignored():
    data = xlsx([["ID", "Completion time"], [1, datetime(2026, 1, 7, 10, 15)], [2, 46029.5]])
    grid = read_grid(data)
    assert grid.height == 3
    assert grid.row(1) == ("1", "2026-01-07 10:15:00")


# --- header rows per tool -----------------------------------------------------------------------


def test_detect_names_each_tool_from_its_header_shape():
    shapes = {
        "template": ["training_day", "effective_use"],
        "ms-forms": ["ID", "Start time", "Completion time", "Email", "Name"],
        "google-forms": ["Timestamp", "Email Address", "Q [Row]"],
        "surveymonkey": ["Respondent ID", "Collector ID", "Start Date", "End Date"],
        "qualtrics": ["StartDate", "Status", "Finished", "ResponseId", "Q1_1"],
        "redcap": ["record_id", "rpg_feedback_timestamp", "effective_use"],
    }
    for tool, header in shapes.items():
        assert detect(read_grid(csv_bytes([header]))) == tool


@pytest.mark.parametrize(
    ("header", "found"),
    [
        (["Name", "Answer"], "matches no known survey tool"),
        (["Respondent ID", "Collector ID", "training_day"], "several tools"),
    ],
)
def test_an_unknown_or_ambiguous_header_is_rejected_not_guessed(header: list[str], found: str):
    with pytest.raises(FileRejected) as rejected:
        detect(read_grid(csv_bytes([header, ["1", "2", "3"][: len(header)]])))
    assert found in rejected.value.problems[0].found


def test_surveymonkey_names_matrix_columns_by_row_2_and_single_columns_by_row_1():
    row1 = [
        "Respondent ID",
        "Collector ID",
        "End Date",
        "Email Address",
        "How was it?",
        "",
        "Words",
    ]
    row2 = ["", "", "", "", "Useful", "Safe", "Open-Ended Response"]
    data = [row1, row2, ["11", "9", "01/07/2026 10:00:00 AM", "a@b.c", "Agree", "Agree", "calm"]]
    export = read_export(read_grid(csv_bytes(data)), "surveymonkey")
    assert export.cells.columns[1:-1] == [
        "Respondent ID", "Collector ID", "End Date", "Email Address", "Useful", "Safe", "Words"
    ]  # fmt: skip
    assert export.cells[ROW].to_list() == [3]
    assert export.response_id == ("Respondent ID",)


def test_a_blank_header_is_named_by_its_spreadsheet_column():
    data = csv_bytes([["training_day", *[""] * 27], ["2026-01-07", *["x"] * 27]])
    columns = read_export(read_grid(data), "template").cells.columns
    assert columns[2] == "(blank header, column B)"
    assert columns[28] == "(blank header, column AB)"
    assert columns[3] == "(blank header, column C)"


def test_trailing_blank_rows_are_not_respondents():
    data = csv_bytes([["training_day", "effective_use"], ["2026-01-07", "Agree"], ["", ""]])
    export = read_export(read_grid(data + b",\r\n\r\n"), "template")
    assert export.cells[ROW].to_list() == [2]


# --- whole files through prepare: mapping, problems, partial and repeated responses --------------


def ms_forms_rows() -> list[list[object]]:
    head = ["ID", "Start time", "Completion time", "Email", "Name", "Last modified time"]
    start = datetime(2026, 1, 7, 10, 0)
    done = datetime(2026, 1, 7, 10, 9)
    return [
        [*head, "Your name", *STATEMENTS.values()],
        [1, start, done, "anonymous", "", "", "Ann Example", *AGREE, "calm, open, safe"],
        [2, start, done, "anonymous", "", "", "Bo Example", *["strongly agree"] * 7, ""],
        [3, start, done, "anonymous", "", "", "", *[""] * 8],
        [2, start, done, "anonymous", "", "", "Bo Example", *["strongly agree"] * 7, ""],
    ]


def test_ms_forms_xlsx_is_mapped_by_statement_and_dated_by_completion(tmp_path: Path):
    p = prepared(
        tmp_path,
        xlsx(ms_forms_rows()),
        "export.xlsx",
        source="ms-forms",
        training_day="completed",
        items=STATEMENTS,
    )
    assert p.problems == ()
    assert p.data is not None
    assert p.data.n_responses == 2
    assert p.n_left_out == 1 and p.n_repeated == 1
    assert p.data.answers["training_day"].unique().to_list() == [datetime(2026, 1, 7).date()]
    assert "Your name" in p.data.dropped_columns and "Email" in p.data.dropped_columns
    assert p.data.keys is not None and p.data.keys.height == 2


def test_problems_name_the_regions_header_and_row_as_in_their_tool(tmp_path: Path):
    rows = ms_forms_rows()
    rows[2][7] = "Agreed"
    rows[1][8] = "5"
    p = prepared(tmp_path, xlsx(rows), "export.xlsx", source="ms-forms", items=STATEMENTS,
                 training_day="column:Completion time")  # fmt: skip
    assert problems(p) == {(3, STATEMENTS["effective_use"])}
    assert p.problems[0].found == "'Agreed'"


def test_a_mapped_column_missing_is_named_as_the_region_configured_it(tmp_path: Path):
    rows = [r[:-1] for r in ms_forms_rows()]
    p = prepared(tmp_path, xlsx(rows), "2026-01-07.xlsx", source="ms-forms", items=STATEMENTS,
                 training_day="filename")  # fmt: skip
    [problem] = p.problems
    assert (problem.row, problem.column) == (1, STATEMENTS["three_words"])
    assert "three_words" in problem.allowed


def test_training_day_from_the_file_name(tmp_path: Path):
    data = xlsx(ms_forms_rows())
    p = prepared(tmp_path, data, "2026-02-04 feedback.xlsx", source="ms-forms",
                 items=STATEMENTS, training_day="filename")  # fmt: skip
    assert p.data is not None
    assert str(p.data.answers["training_day"][0]) == "2026-02-04"
    bad = prepared(tmp_path, data, "feedback.xlsx", source="ms-forms",
                   items=STATEMENTS, training_day="filename")  # fmt: skip
    assert "does not start with the training day" in bad.problems[0].found


def test_google_forms_grid_columns_and_locale_timestamps(tmp_path: Path):
    grid = {i: f"Please rate [{STATEMENTS[i]}]" for i in ITEMS[:7]}
    header = ["Timestamp", "Email Address", *grid.values(), "Three words"]
    rows = [
        header,
        ["2026/01/07 1:43:01 PM GMT", "x@y.z", *AGREE, "calm"],
        ["1/7/2026 13:44:00", "w@y.z", *AGREE, ""],
        ["1/7/2026 13:44:00", "w@y.z", *AGREE, ""],
    ]
    p = prepared(tmp_path, csv_bytes(rows), source="google-forms", training_day="completed",
                 items={**grid, "three_words": "Three words"})  # fmt: skip
    assert p.problems == ()
    assert p.data is not None and p.data.n_responses == 2 and p.n_repeated == 1
    assert {str(d) for d in p.data.answers["training_day"]} == {"2026-01-07"}


def test_qualtrics_three_header_rows_codes_partial_and_preview(tmp_path: Path):
    q = [f"Q1_{i}" for i in range(1, 8)] + ["Q2"]
    fixed = [
        "StartDate",
        "Status",
        "IPAddress",
        "Progress",
        "Finished",
        "RecordedDate",
        "ResponseId",
    ]
    rows = [
        [*fixed, *q],
        ["Start Date", "Response Type", "IP Address", "Progress", "Finished", "Recorded Date",
         "Response ID", *[f"Q1 - {STATEMENTS[i]}" for i in ITEMS[:7]], "Q2 - words"],
        [*(f'{{"ImportId":"{c}"}}' for c in fixed), *(f'{{"ImportId":"QID{c}"}}' for c in q)],
        ["2026-01-07 10:00:00", "0", "10.0.0.1", "100", "1", "2026-01-07 10:05:00", "R_1",
         *["4"] * 7, "calm"],
        ["2026-01-07 10:00:00", "0", "10.0.0.2", "60", "0", "2026-01-07 10:05:00", "R_2",
         *["4"] * 7, ""],
        ["2026-01-07 10:00:00", "1", "", "100", "1", "2026-01-07 10:05:00", "R_3", *["5"] * 7, ""],
        ["2026-01-07 10:00:00", "0", "10.0.0.4", "100", "1", "2026-01-07 10:05:00", "R_4",
         *["6"] * 7, ""],
    ]  # fmt: skip
    p = prepared(tmp_path, csv_bytes(rows), source="qualtrics", training_day="completed",
                 items=dict(zip(ITEMS, q, strict=True)))  # fmt: skip
    assert {(r, c) for r, c in problems(p)} == {(7, c) for c in q[:7]}
    labels = ["Strongly agree", "Agree", "Neither agree nor disagree", "Disagree"]
    reversed_codes = {str(code): label for code, label in enumerate(labels, start=1)}
    reversed_codes |= {"5": "Strongly disagree", "6": "Strongly disagree"}
    p = prepared(tmp_path, csv_bytes(rows), source="qualtrics", training_day="completed",
                 items=dict(zip(ITEMS, q, strict=True)), codes=reversed_codes)  # fmt: skip
    assert p.problems == ()
    assert p.data is not None and p.data.n_responses == 2 and p.n_left_out == 2
    assert sorted(set(p.data.answers["answer"].to_list())) == [1, 2]


def test_redcap_raw_partial_surveys_are_left_out(tmp_path: Path):
    header = ["record_id", "redcap_survey_identifier", "rpg_timestamp", *ITEMS, "rpg_complete"]
    rows = [
        header,
        ["1", "", "2026-01-07 10:00", *["5"] * 7, "calm", "2"],
        ["2", "", "[not completed]", *["4"] * 7, "", "0"],
        ["3", "", "2026-01-07 10:02", *["4"] * 7, "", "2"],
    ]
    p = prepared(tmp_path, csv_bytes(rows), source="redcap", training_day="completed")
    assert p.problems == ()
    assert p.data is not None and p.data.n_responses == 2 and p.n_left_out == 1


def test_an_export_from_another_tool_is_named_not_misread(tmp_path: Path):
    header = ["Respondent ID", "Collector ID", "Start Date", "End Date"]
    p = prepared(tmp_path, csv_bytes([header, ["", "", "", ""]]), source="qualtrics")
    assert "an export from surveymonkey" in p.problems[0].found
    template_region = prepared(tmp_path, xlsx(ms_forms_rows()), "export.xlsx")
    [problem] = template_region.problems
    assert problem.found == "an export from ms-forms, but this region is set up for template"


def test_over_size_files_are_refused_unread(tmp_path: Path):
    data = csv_bytes([["training_day", *ITEMS]] + [["2026-01-07", *AGREE, "x"]] * 5000)
    p = prepared(tmp_path, data, max_file_mb=0.01)
    assert p.problems[0].found == "a file of 280 kB"
    assert "up to 10 kB (the region's max_file_mb)" in p.problems[0].allowed


def test_auto_says_which_tool_it_chose(tmp_path: Path):
    header = ["record_id", "rpg_timestamp", *ITEMS, "rpg_complete"]
    data = csv_bytes([header, ["1", "2026-01-07 10:00", *["5"] * 7, "calm", "2"]])
    p = prepared(tmp_path, data, source="auto", training_day="completed")
    assert p.source == "redcap, detected" and p.problems == ()


def test_the_keyed_hash_depends_on_the_secret_and_never_holds_the_id(tmp_path: Path):
    from transforms.response_keys import keyed_hashes, load_or_create_secret

    path = tmp_path / "w" / "response-keys.secret"
    secret = load_or_create_secret(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret(path) == secret
    ids = pl.Series("id", ["R_1", None])
    hashed = keyed_hashes(ids, secret)
    assert hashed[1] is None and "R_1" not in hashed[0]
    assert hashed[0] != keyed_hashes(ids, b"x" * 32)[0]


def test_a_long_report_lists_the_first_problems_and_counts_the_rest(tmp_path: Path):
    from transforms.drop import MAX_REPORTED_PROBLEMS, DroppedFile, rejection_report

    header = ["Respondent ID", "Collector ID", "End Date", "Email Address", "Q", *[""] * 7]
    row2 = ["", "", "", "", *STATEMENTS.values()]
    rows = [[str(10**10 + i), "9", "01/07/2026 10:00:00 AM", "a@b.c", *["Agreed"] * 7, ""]
            for i in range(40)]  # fmt: skip
    p = prepared(tmp_path, csv_bytes([header, row2, *rows]), source="surveymonkey",
                 training_day="completed", items=STATEMENTS)  # fmt: skip
    assert len(p.problems) == 280 > MAX_REPORTED_PROBLEMS
    assert (p.problems[0].row, p.problems[0].column) in {(3, s) for s in STATEMENTS.values()}
    report = rejection_report(DroppedFile("r", tmp_path / "x.csv"), list(p.problems), "Region")
    assert "Problems: 280" in report
    assert report.count("found 'Agreed'") == MAX_REPORTED_PROBLEMS
    assert "- ... and 80 more problems not listed" in report
    assert "a@b.c" not in report


def test_a_damaged_response_key_is_the_operators_error_not_the_regions(tmp_path: Path):
    from schemas.instrument import load_instrument
    from tests.readers import config_for
    from transforms.drop import DroppedFile
    from transforms.errors import ConfigError
    from transforms.ingest import prepare

    (tmp_path / "warehouse").mkdir()
    (tmp_path / "warehouse" / "response-keys.secret").write_bytes(b"short")
    path = tmp_path / "export.csv"
    path.write_bytes(csv_bytes([["training_day", *ITEMS], ["2026-01-07", *AGREE, "calm"]]))
    with pytest.raises(ConfigError, match="restore it"):
        prepare(DroppedFile("r", path), config_for(tmp_path), load_instrument())


def test_utf16_with_a_bom_reads_as_utf8_does():
    """Excel's "Unicode Text" and some tools write UTF-16 with a byte-order mark."""
    text = csv_bytes([["training_day", "three_words"], ["2026-01-07", "calme, sûr, 安全"]])
    as_utf8 = read_grid(text)
    for bom, encoding in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        utf16 = bom + text.decode("utf-8").encode(encoding)
        assert read_grid(utf16).equals(as_utf8)


@pytest.mark.parametrize(
    ("values", "tool", "expected"),
    [
        (["31/08/2026"], "template", ["2026-08-31"]),  # only day-first can be right
        (["8/31/2026"], "template", ["2026-08-31"]),  # only month-first can be right
        (["01/02/2026"], "ms-forms", ["2026-01-02"]),  # ambiguous: the tool's habit (US)
        (["01/02/2026"], "template", ["2026-02-01"]),  # ambiguous: the UK habit
        (["01/02/2026", "13/02/2026"], "ms-forms", ["2026-02-01", "2026-02-13"]),  # 13 settles it
        (["02/01/26", "12/31/26"], "template", ["2026-02-01", "2026-12-31"]),  # 31 settles it
        (["2026/05/20 1:43:01 PM GMT+1"], "google-forms", ["2026-05-20"]),
        (["46029"], "template", ["2026-01-07"]),  # an Excel serial number
        (["7th Jan"], "template", ["7th Jan"]),  # not a date: left for the validator to report
    ],
)
def test_slashed_dates_are_read_one_way_per_column(values: list[str], tool: str, expected):
    assert iso_day(pl.Series("d", values), tool).to_list() == expected
