"""Whatever bytes a region drops, reading ends in one of two ways: ingested, or rejected with a
reason a person can act on. Random bytes and random mutations of every good sample go through
the pure `prepare` path (no orchestrator, no warehouse)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.tool_exports import region_settings
from tests.readers import prepared
from transforms.ingest import Prepared

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
GOOD = {
    "template": SAMPLES / "template" / "good-rpg-feedback.csv",
    **{p.parent.name: p for p in SAMPLES.glob("*/2026-01-07-export.*")},
}
CATCH_ALL = "content that could not be read ("
"""The reason given when a reader raised something unforeseen: a bug, so never allowed here."""


def outcome_is_ingested_or_a_reason(p: Prepared) -> None:
    if p.problems:
        assert p.data is None
        for problem in p.problems:
            assert problem.found and problem.allowed
            assert CATCH_ALL not in problem.found, problem
    else:
        assert p.data is not None
        assert (
            p.data.n_responses == p.data.answers["response_no"].n_unique()
            or (p.data.answers.is_empty())
            or p.data.n_responses >= p.data.answers["response_no"].n_unique()
        )


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


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(sorted(GOOD)),
    st.binary(max_size=3000),
    st.sampled_from(["2026-01-07-export.csv", "2026-01-07-export.xlsx", "x.xls"]),
)
def test_random_bytes_are_rejected_with_a_reason(tool: str, data: bytes, name: str):
    p = run(tool, data, name)
    assert p.problems or p.data is not None


def test_every_good_sample_is_ingested_by_its_tools_settings():
    for tool, path in GOOD.items():
        p = run(tool, path.read_bytes(), path.name)
        assert p.problems == (), (tool, p.problems)
        assert p.data is not None and p.data.n_responses >= 7
