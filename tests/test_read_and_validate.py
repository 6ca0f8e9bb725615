"""A region's template file is read as text and checked; every problem is listed at once, with
the row and column as the region sees them."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.instrument import Instrument
from tests.conftest import TEMPLATE_HEADER, answered_row, template_csv
from transforms.likert import tidy_columns, tidy_text
from transforms.problems import FileRejected, Problem
from transforms.read import ROW, read_template
from transforms.validate import validate_rows


def problems_of(data: bytes, instrument: Instrument) -> list[Problem]:
    with pytest.raises(FileRejected) as rejected:
        validate_rows(read_template(data), instrument)
    return rejected.value.problems


def test_a_good_file_with_a_bom_reads_with_source_row_numbers(instrument: Instrument):
    frame = read_template(template_csv([answered_row(), answered_row()], bom=True))
    assert frame.columns[1:] == list(TEMPLATE_HEADER)
    assert frame[ROW].to_list() == [2, 3]
    assert validate_rows(frame, instrument).rows.height == 2


def test_answers_match_whatever_the_case_spacing_or_code(instrument: Instrument):
    spellings = [" strongly agree", "AGREE", "Neither\u00a0agree  nor disagree", "1", "5", ""]
    rows = [["2026-01-07", s, s, s, s, s, s, s, ""] for s in spellings]
    assert validate_rows(read_template(template_csv(rows)), instrument).rows.height == 5


def test_unanswered_rows_are_left_out_and_counted_not_rejected(instrument: Instrument):
    partial = ["2026-01-07", *([""] * 8)]
    blank = [""] * 9
    data = template_csv([answered_row(), partial, blank, answered_row()])
    valid = validate_rows(read_template(data + b"\r\n\r\n"), instrument)
    assert valid.rows[ROW].to_list() == [2, 5]
    assert valid.n_left_out == 1


def test_every_problem_is_listed_with_its_row_and_column(instrument: Instrument):
    rows = [
        answered_row(),
        answered_row(answer="Agreed"),
        ["", "Agree", "", "", "", "", "", "", ""],
        answered_row(day="2026-02-30"),
        answered_row(day="7/1/2026"),
    ]
    problems = problems_of(template_csv(rows), instrument)
    located = {(p.row, p.column) for p in problems}
    assert {(3, item) for item in instrument.likert_items} <= located
    assert (4, "training_day") in located
    assert (5, "training_day") in located
    assert (6, "training_day") in located
    assert len(problems) == 7 + 3
    agreed = next(p for p in problems if p.row == 3)
    assert agreed.found == "'Agreed'"
    assert "Strongly agree" in agreed.allowed
    blank_day = next(p for p in problems if p.row == 4)
    assert blank_day.found == "a blank cell"
    assert "YYYY-MM-DD" in blank_day.allowed


def test_a_missing_column_is_named(instrument: Instrument):
    header = [c if c != "peer_support" else "peer_suport" for c in TEMPLATE_HEADER]
    problems = problems_of(template_csv([answered_row()], header=header), instrument)
    assert [(p.row, p.column) for p in problems] == [(1, "peer_support")]
    assert "training_day,effective_use" in problems[0].allowed


def test_a_missing_column_does_not_hide_the_faults_in_the_others(instrument: Instrument):
    header = [c if c != "peer_support" else "peer_suport" for c in TEMPLATE_HEADER]
    rows = [answered_row(answer="Agreed"), answered_row(day="")]
    problems = problems_of(template_csv(rows, header=header), instrument)
    located = {(p.row, p.column) for p in problems}
    assert (1, "peer_support") in located
    assert (2, "effective_use") in located
    assert (3, "training_day") in located


@pytest.mark.parametrize(
    ("data", "found"),
    [
        (b"", "an empty file"),
        (b"\x00\x01\x02binary junk\x00", "binary"),
        (b"training_day,effective_use\n2026-01-07,Agree,extra,cells\n", "cannot be read"),
    ],
)
def test_unreadable_files_are_rejected_with_a_reason(data: bytes, found: str):
    with pytest.raises(FileRejected) as rejected:
        read_template(data)
    assert found in rejected.value.problems[0].found


def test_a_repeated_header_is_a_problem_not_a_silent_rename():
    header = [*TEMPLATE_HEADER, "peer_support"]
    with pytest.raises(FileRejected) as rejected:
        read_template(template_csv([[*answered_row(), "Agree"]], header=header))
    assert [(p.row, p.column) for p in rejected.value.problems] == [(1, "peer_support")]


def test_validation_keeps_cells_as_text_and_does_not_reorder(instrument: Instrument):
    rows = [answered_row(day=f"2026-01-{d:02d}") for d in range(1, 10)]
    valid = validate_rows(read_template(template_csv(rows)), instrument)
    assert valid.rows["training_day"].dtype == pl.Utf8
    assert valid.rows["training_day"].to_list() == [f"2026-01-{d:02d}" for d in range(1, 10)]


def test_windows_1252_from_excel_is_decoded_not_rejected(instrument: Instrument):
    """Issue 3: Excel's "CSV (Comma delimited)" writes Windows-1252; it is read, and a wrong
    answer in it is reported as the region typed it."""
    rows = [answered_row(words="café, naïve, calm"), answered_row(answer="Agrée")]
    data = template_csv(rows).decode("utf-8").encode("cp1252")
    frame = read_template(data)
    assert frame["three_words"].to_list()[0] == "café, naïve, calm"
    problems = problems_of(data, instrument)
    assert {(p.row, p.found) for p in problems} == {(3, "'Agrée'")}


spaces = st.sampled_from([" ", "  ", "\t", "\u00a0", "\u2007", "\u202f", "\n", ""])
cells = st.one_of(
    st.none(),
    st.lists(st.one_of(spaces, st.sampled_from(["Agree", "agree", "1", "x"])), max_size=5).map(
        "".join
    ),
    st.text(max_size=6),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(cells, min_size=1, max_size=12), st.lists(st.integers(0, 11), max_size=60))
def test_tidying_each_distinct_cell_once_tidies_every_cell_as_tidy_text_does(
    written: list[str | None], repeats: list[int]
):
    column = written + [written[i % len(written)] for i in repeats]
    frame = pl.DataFrame(
        {"answer": column, "other": column}, schema={"answer": pl.Utf8, "other": pl.Utf8}
    )
    expected = frame.with_columns(tidy_text(pl.col("answer")))
    assert tidy_columns(frame, ["answer"]).equals(expected)
