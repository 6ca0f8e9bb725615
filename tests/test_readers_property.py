"""Whatever bytes a region drops, reading ends in one of two ways: ingested, or rejected with a
reason a person can act on. Random bytes and random mutations of every good sample go through
the pure `prepare` path (no orchestrator, no warehouse)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.tool_exports import region_settings
from tests.conftest import TEMPLATE_HEADER, template_csv
from tests.readers import prepared
from transforms.ingest import Prepared
from transforms.vocabulary import vocabulary

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
GOOD = {
    "template": SAMPLES / "template" / "good-rpg-feedback.csv",
    **{p.parent.name: p for p in SAMPLES.glob("*/2026-01-07-export.*")},
}
CATCH_ALL = "content that could not be read ("
"""The reason given when a reader raised something unforeseen: a bug, so never allowed here."""


def outcome_is_ingested_or_a_reason(p: Prepared) -> None:
    """Exactly one of: rejected with reasons a person can act on (none of them the catch-all
    that means a reader raised something unforeseen), or ingested with de-identified rows
    that hold to their contracts."""
    if p.problems:
        assert p.data is None
        for problem in p.problems:
            assert problem.found and problem.allowed
            assert CATCH_ALL not in problem.found, problem
    else:
        assert p.data is not None
        answered = p.data.answers["response_no"]
        assert answered.is_empty() or (answered.min(), answered.max()) >= (1, 1)
        assert answered.is_empty() or answered.max() <= p.data.n_responses
        assert p.data.answers["answer"].is_between(1, 5).all()
        assert set(p.data.words["word"]) <= vocabulary()


def workbook(rows: list[list[str]]) -> bytes:
    """An .xlsx as a spreadsheet program writes it, every cell a string (a formula stays text)."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write_string(r, c, value)
    book.close()
    return buffer.getvalue()


def run(tool: str, data: bytes, name: str) -> Prepared:
    with tempfile.TemporaryDirectory() as scratch:
        p = prepared(Path(scratch), data, name, **region_settings(tool))  # type: ignore[arg-type]
    outcome_is_ingested_or_a_reason(p)
    return p


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes, str]:
    tool = draw(st.sampled_from(sorted(GOOD)))
    data = bytearray(GOOD[tool].read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "delete", "repeat"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=40))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 200))]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 300))]
    return tool, bytes(data), GOOD[tool].name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_samples_are_ingested_or_rejected_with_a_reason(case: tuple[str, bytes, str]):
    tool, data, name = case
    run(tool, data, name)


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(sorted(GOOD)),
    st.binary(max_size=3000),
    st.sampled_from(["2026-01-07-export.csv", "2026-01-07-export.xlsx", "x.xls"]),
)
def test_random_bytes_are_rejected_with_a_reason(tool: str, data: bytes, name: str):
    p = run(tool, data, name)
    assert p.problems, "random bytes are never a survey export"


LABELS = ["Strongly agree", "agree", " Disagree ", "NEITHER AGREE NOR DISAGREE", "1", "5", ""]
hostile_text = st.text(
    st.one_of(st.characters(exclude_categories=("Cs", "Cc")), st.sampled_from("\n\t\",;'=")),
    max_size=60,
)
"""Anything a person can type or paste into a form: other scripts, emoji, quotes, separators,
new lines, formulas. (Control characters are a file's bytes gone wrong: the first checks
take a text with many of them for binary, which the random-bytes test covers.)"""
invalid_answer = hostile_text.map(lambda text: "x" + text)
"""Never an accepted answer: no label or code starts with x."""


@st.composite
def templates(draw: st.DrawFn) -> tuple[list[list[str]], set[tuple[int, str]]]:
    """A well-formed template file whose cells are hostile: answers valid or not, free text
    anything at all (formulas, quotes, new lines, other scripts, control characters). Returns
    the rows and the (row, column) of every cell that must be reported."""
    rows, bad = [], set()
    for number in range(2, 2 + draw(st.integers(1, 6))):  # row 1 is the header
        day = draw(st.sampled_from(["2026-01-07", "2026-01-07", "x" + draw(hostile_text)]))
        if day != "2026-01-07":
            bad.add((number, "training_day"))
        row = [day]
        for column in TEMPLATE_HEADER[1:-1]:
            answer = draw(st.one_of(st.sampled_from(LABELS), invalid_answer))
            if answer.startswith("x"):
                bad.add((number, column))
            row.append(answer)
        words = draw(st.one_of(hostile_text, st.just('=HYPERLINK("http://x")'), st.just("")))
        rows.append([*row, words])
    return rows, bad


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(templates(), st.booleans(), st.sampled_from(["csv", "xlsx"]))
def test_well_formed_files_with_hostile_cells_are_judged_cell_by_cell(
    case: tuple[list[list[str]], set[tuple[int, str]]], bom: bool, kind: str
):
    """Past the first checks: each invalid cell is reported at its row and column, and a file
    with none is ingested with exactly its answered rows."""
    rows, bad = case
    if kind == "csv":
        data, name = template_csv(rows, bom=bom), "2026-01-07-export.csv"
    else:
        data, name = workbook([list(TEMPLATE_HEADER), *rows]), "2026-01-07-export.xlsx"
    p = run("template", data, name)
    if bad:
        reported = {(q.row, q.column) for q in p.problems}
        assert bad <= reported, (bad - reported, p.problems)
        assert reported <= bad, "only the invalid cells"
    else:
        assert p.problems == ()
        answered = sum(any(a.strip() for a in row[1:-1]) for row in rows)
        assert p.data is not None and p.data.n_responses == answered


def test_every_good_sample_is_ingested_by_its_tools_settings():
    for tool, path in GOOD.items():
        p = run(tool, path.read_bytes(), path.name)
        assert p.problems == (), (tool, p.problems)
        assert p.data is not None and p.data.n_responses >= 7
