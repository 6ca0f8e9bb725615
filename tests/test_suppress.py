"""Small-cell suppression: the primary rule on counts and complements, at its boundaries, and the
complementary rule that stops a withheld region being recovered from the national figure."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.errors import PublishError
from transforms.suppress import check_published, primary_rule, suppress

MIN_CELL = 5


def one_row(n: int, k: int) -> pl.DataFrame:
    return pl.DataFrame({"region": ["r"], "item": ["i"], "n_respondents": [n], "n_positive": [k]})


def is_suppressed(n: int, k: int, min_cell: int = MIN_CELL) -> bool:
    frame = one_row(n, k).with_columns(primary_rule(min_cell).alias("s"))
    return frame["s"].item()


@pytest.mark.parametrize(
    ("k", "suppressed"),
    [(0, False), (1, True), (MIN_CELL - 1, True), (MIN_CELL, False), (MIN_CELL + 1, False)],
)
def test_positive_count_boundaries(k: int, suppressed: bool):
    assert is_suppressed(20, k) is suppressed


@pytest.mark.parametrize(
    ("negatives", "suppressed"),
    [(0, False), (1, True), (MIN_CELL - 1, True), (MIN_CELL, False), (MIN_CELL + 1, False)],
)
def test_complement_boundaries(negatives: int, suppressed: bool):
    assert is_suppressed(20, 20 - negatives) is suppressed


@pytest.mark.parametrize(
    ("n", "suppressed"), [(MIN_CELL - 1, True), (MIN_CELL, False), (MIN_CELL + 1, False)]
)
def test_denominator_boundaries(n: int, suppressed: bool):
    assert is_suppressed(n, 0) is suppressed


def test_min_cell_one_publishes_everything():
    for n, k in [(1, 1), (2, 1), (14, 13), (3, 0)]:
        assert not is_suppressed(n, k, min_cell=1)


def tables(rows: list[tuple[str, str, int, int]]) -> tuple[pl.DataFrame, pl.DataFrame]:
    by_region = pl.DataFrame(
        rows, schema=["region", "item", "n_respondents", "n_positive"], orient="row"
    )
    national = by_region.group_by("item", maintain_order=True).agg(
        pl.col("n_respondents").sum(), pl.col("n_positive").sum()
    )
    return by_region, national


def test_a_suppressed_row_hides_counts_and_percentage_and_small_denominators():
    by_region, national = tables(
        [("a", "i", 14, 13), ("b", "i", 2, 2), ("c", "i", 30, 20), ("d", "i", 10, 5)]
    )
    shown, _ = suppress(by_region, national, min_cell=3)
    a, b, c, d = shown.sort("region").iter_rows(named=True)
    assert a["suppressed"] and a["n_positive"] is None and a["pct_positive"] is None
    assert a["n_respondents"] == 14
    assert b["suppressed"] and b["n_respondents"] is None
    assert d["suppressed"] and d["n_respondents"] is None, "b's size would be national - others"
    assert not c["suppressed"] and c["pct_positive"] == pytest.approx(200 / 3)


def test_national_minus_published_regions_does_not_recover_a_suppressed_region():
    by_region, national = tables(
        [("a", "i", 14, 13), ("b", "i", 20, 10), ("c", "i", 12, 6), ("d", "i", 30, 15)]
    )
    shown, national_shown = suppress(by_region, national, min_cell=3)
    published = shown.filter(~pl.col("suppressed"))
    assert not national_shown["suppressed"].item()
    assert shown.filter(pl.col("suppressed"))["region"].to_list() == ["a", "c"]
    attacker = national_shown["n_positive"].item() - published["n_positive"].sum()
    assert attacker == 13 + 6  # only the sum of two regions, not region a's 13


def test_suppression_is_deterministic_whatever_the_row_order():
    rows = [("a", "i", 14, 13), ("b", "i", 12, 6), ("c", "i", 12, 7), ("d", "i", 30, 15)]
    first, _ = suppress(*tables(rows), min_cell=3)
    second, _ = suppress(*tables(list(reversed(rows))), min_cell=3)
    assert first.sort("region").equals(second.sort("region"))
    assert first.filter(pl.col("suppressed"))["region"].sort().to_list() == ["a", "b"]


def test_the_last_gate_refuses_a_table_that_breaks_the_rule():
    unsafe = pl.DataFrame(
        {
            "item": ["i"],
            "n_respondents": [14],
            "n_positive": [13],
            "pct_positive": [92.9],
            "suppressed": [False],
        }
    )
    with pytest.raises(PublishError, match="min_cell = 3"):
        check_published(unsafe, min_cell=3, table="outcomes_national")


regions = st.lists(st.tuples(st.integers(0, 25), st.floats(0, 1)), min_size=1, max_size=7).map(
    lambda groups: [(n, round(n * p)) for n, p in groups]
)


@settings(max_examples=200, deadline=None)
@given(items=st.lists(regions, min_size=1, max_size=4), min_cell=st.integers(1, 11))
def test_no_published_row_breaks_the_rule_and_no_lone_region_is_withheld(items, min_cell):
    rows = [
        (f"r{r}", f"i{i}", n, k)
        for i, groups in enumerate(items)
        for r, (n, k) in enumerate(groups)
        if n > 0
    ]
    if not rows:
        return
    by_region, national = suppress(*tables(rows), min_cell=min_cell)
    check_published(by_region, min_cell=min_cell, table="by_region")
    check_published(national, min_cell=min_cell, table="national")
    for item, group in by_region.group_by("item"):
        national_row = national.filter(pl.col("item") == item[0])
        if not national_row["suppressed"].item():
            assert group["suppressed"].sum() != 1, "a lone withheld region = national - others"
        if national_row["n_respondents"].item() is not None:
            assert group["n_respondents"].null_count() != 1


def test_the_last_gate_reads_rounded_figures_as_rounded():
    rounded = pl.DataFrame(
        {
            "item": ["i", "j"],
            "n_respondents": [15, 20],
            "n_positive": [10, 20],
            "pct_positive": [66.7, 100.0],
            "suppressed": [False, False],
        }
    )
    check_published(rounded, min_cell=8, table="t", rounding=5)  # 15 - 10 = 5 is not a count
    with pytest.raises(PublishError, match="min_cell = 8"):
        check_published(rounded.with_columns(pl.lit(13).alias("n_respondents")), min_cell=8,
                        table="t", rounding=5)  # fmt: skip
