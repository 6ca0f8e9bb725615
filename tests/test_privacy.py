"""The privacy engine against attackers: each attack the field knows, written as an attacker
would, and random multi-region releases checked by the tests' own integer programs."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
from types import SimpleNamespace

import duckdb
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from fixtures.regional_drop import SEED_STUDY_POSITIVE, SEED_STUDY_SIZE
from tests.attacker import TestAttacker, breaches, groups_of
from transforms.load import create_restricted_tables
from transforms.privacy import OUTCOME_TABLES, AuditFailure, protect, resolve
from transforms.privacy.engine import (
    ALL_WITHHELD,
    COUNT_WITHHELD,
    SHOWN,
    _pins,
    _write_witness,
    primary_level,
    published_interval,
    rounded,
)
from transforms.privacy.policy import PRESETS, Policy, lowerings
from transforms.privacy.tables import CELL_SCHEMA
from transforms.themes import theme_words

DAY1, DAY2 = dt.date(2026, 1, 7), dt.date(2026, 2, 4)
GMC = resolve()


def cells(rows: list[tuple[str, dt.date, int, int, int]], item: str = "i") -> pl.DataFrame:
    """(region, training_day, arrival, n_respondents, n_positive) per cell."""
    return pl.DataFrame(
        [(item, *row) for row in rows],
        schema=CELL_SCHEMA,
        orient="row",
    )


def row(table: pl.DataFrame, **key: object) -> dict[str, object]:
    [found] = table.filter(*(pl.col(k) == v for k, v in key.items())).to_dicts()
    return found


# -- the primary rule at its boundaries ------------------------------------------------------


@pytest.mark.parametrize("min_cell", [3, 5])
@pytest.mark.parametrize(("offset", "level"), [(-1, COUNT_WITHHELD), (0, SHOWN), (1, SHOWN)])
def test_counts_and_complements_at_min_cell_boundaries(min_cell: int, offset: int, level: int):
    policy = resolve(min_cell=min_cell)
    count = min_cell + offset
    assert primary_level(30, count, policy) == level, "positive count"
    assert primary_level(30, 30 - count, policy) == level, "its complement"


@pytest.mark.parametrize(("offset", "level"), [(-1, ALL_WITHHELD), (0, SHOWN), (1, SHOWN)])
def test_denominator_at_min_cell_boundaries(offset: int, level: int):
    assert primary_level(3 + offset, 0, GMC) == level
    assert primary_level(3 + offset, 3 + offset, GMC) == level


def test_zeros_and_all_positive_are_protected_only_when_the_policy_says_so():
    assert primary_level(14, 14, GMC) == SHOWN
    assert primary_level(14, 0, GMC) == SHOWN
    zeros = resolve(protect_zeros=True)
    assert primary_level(14, 14, zeros) == COUNT_WITHHELD
    assert primary_level(14, 0, zeros) == COUNT_WITHHELD


def test_a_rounded_figure_is_read_as_the_interval_it_came_from():
    assert published_interval(13, 5) == (13, 17)  # shown as 15, which 13..17 all round to
    assert all(lo <= v <= hi for v in range(60) for lo, hi in [published_interval(v, 5)])
    assert published_interval(13, 1) == (13, 13)


# -- attacks, as an attacker would write them -------------------------------------------------


def test_national_minus_the_published_regions_gives_no_withheld_region():
    """Two regions fail the primary rule, so the national row can stay shown: national minus
    the shown regions is their sum, not either one, and the attacker agrees."""
    data = cells(
        [
            ("a", DAY1, 1, 14, 13),
            ("b", DAY1, 1, 20, 10),
            ("c", DAY1, 1, 12, 6),
            ("d", DAY1, 1, 16, 15),
        ]
    )
    out = protect(data, OUTCOME_TABLES, GMC, release_no=1).tables
    by_region, national = out["outcomes_by_region"], out["outcomes_national"]
    assert not national["suppressed"].item(), "the case under test: national is shown"
    assert set(by_region.filter(pl.col("suppressed"))["region"]) == {"a", "d"}
    shown = by_region.filter(~pl.col("suppressed"))
    difference = national["n_positive"].item() - shown["n_positive"].sum()
    assert difference == 13 + 15, "what a reader gets is the two withheld regions together"
    attacker = TestAttacker(data, [out], rounding=1)
    for region in ("a", "d"):
        members = attacker.members({"item": "i", "region": region}, 1)
        low, high = attacker.interval(members, "not_positive")
        assert high - low >= GMC.protection and not 1 <= low <= high <= 2, (region, low, high)
    days = out["outcomes_by_training_day"]
    assert row(days, region="a")["suppressed"] and row(days, region="d")["suppressed"]


def test_the_naive_release_leaks_and_the_test_attacker_sees_it():
    """Primary suppression alone: the region is national minus the others. The tests' attacker
    must catch that, or it could not vouch for anything."""
    data = cells([("a", DAY1, 1, 14, 13), ("b", DAY1, 1, 20, 10)])
    naive = {
        "outcomes_national": pl.DataFrame(
            {"item": ["i"], "n_respondents": [34], "n_positive": [23]}
        ),
        "outcomes_by_region": pl.DataFrame(
            {
                "region": ["a", "b"],
                "item": ["i", "i"],
                "n_respondents": [14, 20],
                "n_positive": [None, 10],
            }
        ),
    }
    attacker = TestAttacker(data, [naive], rounding=1)
    assert attacker.interval(attacker.members({"item": "i", "region": "a"}, 1), "positive") == (
        13,
        13,
    )


def test_a_region_total_minus_its_other_training_days_gives_no_withheld_day():
    data = cells([("a", DAY1, 1, 12, 9), ("a", DAY2, 1, 13, 12), ("b", DAY1, 1, 15, 8)])
    out = protect(data, OUTCOME_TABLES, GMC, release_no=1).tables
    days, regions = out["outcomes_by_training_day"], out["outcomes_by_region"]
    assert row(days, region="a", training_day=DAY2)["suppressed"]  # 12 of 13
    region_a, day1 = row(regions, region="a"), row(days, region="a", training_day=DAY1)
    recoverable = not region_a["suppressed"] and not day1["suppressed"]
    assert not recoverable, "region a minus its first day would be its second day's 12 of 13"
    attacker = TestAttacker(data, [out], rounding=1)
    day2 = attacker.members({"item": "i", "region": "a", "training_day": DAY2}, 1)
    low, high = attacker.interval(day2, "not_positive")
    assert high - low >= GMC.protection and not 1 <= low <= high <= 2


def test_this_release_minus_the_last_gives_no_late_response():
    """A late file adds one respondent (not positive) to a training day already published."""
    first = cells([("a", DAY1, 1, 10, 6), ("b", DAY1, 1, 12, 7)])
    release1 = protect(first, OUTCOME_TABLES, GMC, release_no=1)
    assert release1.n_suppressed == 0
    late = pl.concat([first, cells([("a", DAY1, 2, 1, 0)])])
    release2 = protect(late, OUTCOME_TABLES, GMC, release_no=2, history=release1.figures)
    before = row(release1.tables["outcomes_by_training_day"], region="a")
    after = row(release2.tables["outcomes_by_training_day"], region="a")
    differenced = all(
        after[c] is not None and before[c] is not None for c in ("n_respondents", "n_positive")
    )
    assert not differenced, "release 2 minus release 1 would show the late respondent's answer"
    attacker = TestAttacker(late, [release1.tables, release2.tables], rounding=1)
    batch = (late.height - 1,)  # the late cell
    for measure in ("positive", "not_positive"):
        low, high = attacker.interval(batch, measure)
        assert high - low >= GMC.protection, measure
    assert release2.audit.filter(pl.col("arrival") == 2).height > 0, "the audit names the batch"
    assert set(release2.audit.columns) >= {"interval_lo", "interval_hi"}
    assert "n_positive" not in release2.audit.columns


def _region_figure(n: int, k: int, level: int, rounding: int) -> tuple[float, ...]:
    """What a region row tells at `level`, as the engine reads it (n_lo, n_hi, k_lo, k_hi)."""
    hidden = (-float("inf"), float("inf"))
    n_read = published_interval(n, rounding) if level < ALL_WITHHELD else hidden
    k_read = published_interval(k, rounding) if level < COUNT_WITHHELD else hidden
    return (*n_read, *k_read)


def test_a_region_shown_last_month_hides_a_month_all_positive_up_front():
    """Under acro a region shown at 25 respondents, 12 positive, then joined by a day whose 12
    respondents were all positive: shown again, its not-positive count would tell that day's
    (0, a protected zero); hiding the positive count is enough, n may show."""
    acro = resolve("acro")
    earlier = list(_region_figure(25, 12, SHOWN, 1))
    n, k = np.array([12]), np.array([12])
    assert _pins(_region_figure(37, 24, SHOWN, 1), earlier, n, k, acro)
    assert not _pins(_region_figure(37, 24, COUNT_WITHHELD, 1), earlier, n, k, acro)
    first = cells([("a", DAY1, 1, 25, 12), ("b", DAY1, 1, 30, 15)])
    release1 = protect(first, OUTCOME_TABLES, acro, release_no=1)
    assert not row(release1.tables["outcomes_by_region"], region="a")["suppressed"]
    grown = pl.concat([first, cells([("a", DAY2, 2, 12, 12), ("b", DAY2, 2, 20, 10)])])
    release2 = protect(grown, OUTCOME_TABLES, acro, release_no=2, history=release1.figures)
    region_a = row(release2.tables["outcomes_by_region"], region="a")
    assert region_a["n_positive"] is None and region_a["n_respondents"] == 37


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    preset=st.sampled_from(sorted(PRESETS)),
    first=st.tuples(st.integers(1, 25), st.integers(0, 25)),
    since=st.lists(st.tuples(st.integers(1, 12), st.integers(0, 12)), min_size=1, max_size=3),
    level=st.sampled_from([SHOWN, COUNT_WITHHELD]),
)
@example(preset="acro", first=(25, 12), since=[(12, 12)], level=SHOWN)
@example(preset="gmc-sdc", first=(10, 5), since=[(1, 1)], level=SHOWN)
@example(preset="opensafely", first=(20, 10), since=[(3, 3), (2, 2)], level=SHOWN)
def test_a_row_is_withheld_up_front_only_when_its_two_figures_give_away_a_cell(
    preset: str, first: tuple[int, int], since: list[tuple[int, int]], level: int
) -> None:
    """The engine withholds a grown row before the audit when this release's figure of it, set
    against an earlier one, pins a cell that arrived in between (`_pins`). Whenever it does,
    the tests' attacker, reading those two figures alone, narrows a protected count of one of
    those cells: the audit would have refused the figure, so nothing is withheld that need not
    be. (Reading every other figure too only narrows further.)"""
    policy = resolve(preset)
    n1, k1 = first[0], min(first)
    arrived = [(n, min(n, k)) for n, k in since]
    n_now = n1 + sum(n for n, _ in arrived)
    k_now = k1 + sum(k for _, k in arrived)
    counts = np.array([n for n, _ in arrived]), np.array([k for _, k in arrived])
    earlier = list(_region_figure(n1, k1, SHOWN, policy.rounding))
    now = _region_figure(n_now, k_now, level, policy.rounding)
    pinned = _pins(now, earlier, *counts, policy)
    event("pinned" if pinned else "not pinned")
    if not pinned:
        return
    days = [DAY1 + dt.timedelta(days=7 * i) for i in range(len(arrived) + 1)]
    data = cells(
        [("a", days[0], 1, n1, k1)]
        + [("a", day, 2, n, k) for day, (n, k) in zip(days[1:], arrived, strict=True)]
    )

    def shown(value: int, hidden: bool) -> int | None:
        return None if hidden else rounded(value, policy.rounding)

    def region_table(n: int, k: int, at: int) -> dict[str, pl.DataFrame]:
        frame = pl.DataFrame(
            [("a", "i", shown(n, at >= ALL_WITHHELD), shown(k, at >= COUNT_WITHHELD))],
            schema={
                "region": pl.Utf8,
                "item": pl.Utf8,
                "n_respondents": pl.Int64,
                "n_positive": pl.Int64,
            },
            orient="row",
        )
        return {"outcomes_by_region": frame}

    attacker = TestAttacker(
        data.drop("n_respondents", "n_positive"),
        [region_table(n1, k1, SHOWN), region_table(n_now, k_now, level)],
        policy.rounding,
    )
    groups = [(f"cell {i}", (i,), n, k, False) for i, (n, k) in enumerate(arrived, start=1)]
    found = breaches(
        attacker,
        groups,
        min_cell=policy.min_cell,
        protection=policy.protection,
        protect_zeros=policy.protect_zeros,
    )
    assert found, f"{policy.describe()}: withheld up front, yet no cell is given away"


def test_a_release_the_history_already_gives_away_is_refused_without_values():
    """Published under the default, then the policy is raised to protect zeros: the 14 of 14
    already published cannot be taken back, so the next release is refused."""
    data = cells([("a", DAY1, 1, 14, 14)])
    release1 = protect(data, OUTCOME_TABLES, GMC, release_no=1)
    acro = resolve("acro")
    with pytest.raises(AuditFailure) as refused:
        protect(data, OUTCOME_TABLES, acro, release_no=2, history=release1.figures)
    message = str(refused.value)
    assert "release 2 refused" in message and "region=a" in message and "item i" in message
    assert "14" not in message, "an audit failure names the cell, never its counts"


# -- seed study under each preset ---------------------------------------------------------------


def seed_cells() -> pl.DataFrame:
    return pl.concat(
        [
            cells([("east-of-england", DAY1, 1, SEED_STUDY_SIZE, positive)], item=item)
            for item, positive in SEED_STUDY_POSITIVE.items()
        ]
    )


@pytest.mark.parametrize(
    ("preset", "shown_items", "n_shown"),
    [
        ("gmc-sdc", {"effective_use", "keen_to_continue", "learn_from_others", "less_isolated",
                     "self_awareness"}, 14),
        ("opensafely", set(), 15),
        ("acro", set(), 14),
    ],
)  # fmt: skip
def test_the_seed_study_under_each_preset(preset: str, shown_items: set[str], n_shown: int):
    """What the README's preset table promises: which items each shows, their counts exactly
    (rounded to 5 under opensafely: 14 is shown as 15), and a range for every withheld one."""
    policy = resolve(preset)
    out = protect(seed_cells(), OUTCOME_TABLES, policy, release_no=1).tables
    for table in out.values():
        shown = table.filter(~pl.col("suppressed"))
        assert set(shown["item"]) == shown_items
        assert set(table["n_respondents"]) == {n_shown}
        for item, positive in zip(shown["item"], shown["n_positive"], strict=True):
            assert positive == SEED_STUDY_POSITIVE[item]
        for withheld in table.filter(pl.col("suppressed")).iter_rows(named=True):
            true = SEED_STUDY_POSITIVE[withheld["item"]]
            assert withheld["n_positive"] is None and withheld["pct_positive"] is None
            assert withheld["n_positive_min"] <= true <= withheld["n_positive_max"]


# -- policies ------------------------------------------------------------------------------------


def test_presets_overrides_and_every_lowering_is_named():
    assert resolve() == Policy("gmc-sdc", 3, 2, False, 1)
    assert resolve("opensafely") == Policy("opensafely", 8, 7, True, 5)
    assert resolve("acro", min_cell=12).protection == 11
    assert lowerings(resolve()) == []
    assert lowerings(resolve(min_cell=2)) == ["min_cell = 2 is below the default of 3"]
    assert len(lowerings(resolve(protection=0))) == 1
    assert len(lowerings(resolve("opensafely", protect_zeros=False, rounding=1))) == 2


# -- random releases against the tests' own attacker -----------------------------------------


@st.composite
def two_releases(draw: st.DrawFn) -> tuple[pl.DataFrame, Policy]:
    n_regions = draw(st.integers(1, 3))
    days = [DAY1, DAY2][: draw(st.integers(1, 2))]
    items = ["i", "j"][: draw(st.integers(1, 2))]
    rows = []
    for item in items:
        for r in range(n_regions):
            for day in days:
                for arrival in (1, 2):
                    if arrival == 2 and not draw(st.booleans()):
                        continue
                    n = draw(st.integers(1, 20))
                    rows.append((item, f"r{r}", day, arrival, n, draw(st.integers(0, n))))
    preset = draw(st.sampled_from(["custom", "gmc-sdc", "opensafely", "acro"]))
    if preset == "custom":
        min_cell = draw(st.integers(2, 10))
        policy = resolve(
            min_cell=min_cell,
            protection=draw(st.integers(1, min_cell)),
            protect_zeros=draw(st.booleans()),
            rounding=draw(st.sampled_from([1, 1, 5])),
        )
    else:
        policy = resolve(preset)
    frame = pl.DataFrame(
        rows,
        schema=["item", "region", "training_day", "arrival", "n_respondents", "n_positive"],
        orient="row",
    )
    return frame, policy


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=two_releases())
def test_every_release_passes_an_independent_attacker_and_is_deterministic(case):
    data, policy = case
    first = data.filter(pl.col("arrival") == 1)
    release1 = protect(first, OUTCOME_TABLES, policy, release_no=1)
    release2 = protect(
        data,
        OUTCOME_TABLES,
        policy,
        release_no=2,
        history=release1.figures,
        previous_audit=release1.audit,  # as publish_release gives it: what release 1 protected
    )
    published = [release1.tables, release2.tables]
    for (number, seen), integer in itertools.product(((1, first), (2, data)), (True, False)):
        attacker = TestAttacker(seen.select("item", "region", "training_day", "arrival"),
                                published[:number], policy.rounding, integer=integer)  # fmt: skip
        found = breaches(
            attacker,
            groups_of(attacker, seen, published[number - 1], number),
            min_cell=policy.min_cell,
            protection=policy.protection,
            protect_zeros=policy.protect_zeros,
        )
        view = "integer" if integer else "linear"
        assert found == [], f"release {number} under {policy}, {view} attacker"

    shuffled = data.sample(fraction=1.0, shuffle=True, seed=random.Random(7).randint(0, 99))
    again = protect(shuffled.filter(pl.col("arrival") == 1), OUTCOME_TABLES, policy, release_no=1)
    for name, table in release1.tables.items():
        assert again.tables[name].equals(table), name


# -- theme words ---------------------------------------------------------------------------------


def words_warehouse(uses: list[tuple[int, int, str, str]]) -> duckdb.DuckDBPyConnection:
    """(submission_id, response_no, item, word) rows in a restricted warehouse in memory."""
    con = duckdb.connect()
    create_restricted_tables(con)
    for submission_id, response_no, item, word in uses:
        con.execute(
            "insert into free_text_words values (?, 'kss', DATE '2026-01-07', ?, ?, ?)",
            [submission_id, response_no, item, word],
        )
    return con


def test_a_word_used_by_one_person_is_never_published_however_often_they_use_it():
    uses = [(1, 1, "three_words", "lonely")]
    uses += [(1, 2, "three_words", "exhausted")] * 3  # one person, three times
    uses += [(1, 3, "three_words", "tired"), (1, 3, "other_text", "tired")]  # one person, twice
    uses += [(1, r, "three_words", "safe") for r in (1, 2, 3)]
    uses += [(2, 1, "three_words", "safe")]  # same response_no, another file: another person
    con = words_warehouse(uses)
    published = theme_words(con, min_cell=3).national
    assert published.to_dicts() == [{"word": "safe", "n_respondents": 4}]


@pytest.mark.parametrize(("users", "shown"), [(2, False), (3, True), (4, True)])
def test_theme_words_at_min_cell_boundaries(users: int, shown: bool):
    con = words_warehouse([(1, r, "three_words", "supportive") for r in range(1, users + 1)])
    assert (theme_words(con, min_cell=3).national.height == 1) is shown


def test_rounded_presets_show_counts_rounded_to_5_and_percentages_from_them():
    """opensafely: every shown count is a multiple of 5 within 2 of the truth, and the
    percentage is of the rounded counts (as OpenSAFELY publishes), never of the true ones."""
    data = cells([("a", DAY1, 1, 42, 23), ("b", DAY1, 1, 38, 29), ("c", DAY1, 1, 51, 17)])
    out = protect(data, OUTCOME_TABLES, resolve("opensafely"), release_no=1).tables
    truth = {"a": (42, 23), "b": (38, 29), "c": (51, 17)}
    shown = out["outcomes_by_region"].filter(~pl.col("suppressed"))
    assert shown.height == 3
    for row_ in shown.iter_rows(named=True):
        n, k = truth[row_["region"]]
        assert row_["n_respondents"] % 5 == 0 and abs(row_["n_respondents"] - n) <= 2
        assert row_["n_positive"] % 5 == 0 and abs(row_["n_positive"] - k) <= 2
        assert row_["pct_positive"] == pytest.approx(
            100 * row_["n_positive"] / row_["n_respondents"]
        )
    national = row(out["outcomes_national"], item="i")
    assert (national["n_respondents"], national["n_positive"]) == (130, 70)


@settings(max_examples=200, deadline=None)
@given(
    places=st.lists(
        st.tuples(
            st.text(min_size=1, max_size=12),
            st.one_of(st.none(), st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1))),
            st.integers(1, 500),
            st.one_of(st.none(), st.integers(0, 10_000)),
        ),
        min_size=1,
        max_size=8,
    ),
    data=st.data(),
)
def test_a_witness_is_written_as_the_json_of_its_changes(places, data):
    """The text a witness is kept as in the audit is the JSON of its changes in cell order,
    each [region, training_day, arrival, positive, not positive(, the cell withdrawn from)],
    whatever the region is called (commas, quotes, any script): the next release reads it back
    with `json.loads`, so it must be exactly that."""
    cells = [
        {"region": r, "training_day": d, "arrival": a, "withdrawn_from": w} for r, d, a, w in places
    ]
    changed = data.draw(st.sets(st.integers(0, len(cells) - 1), min_size=1))
    witness = {
        c: (data.draw(st.integers(-50, 50)), data.draw(st.integers(-50, 50))) for c in changed
    }
    model = SimpleNamespace(cells=cells, witness_texts={}, places=None)
    expected = [
        [r, None if d is None else str(d), a, *witness[c], *([] if w is None else [w])]
        for c, (r, d, a, w) in enumerate(places)
        if c in witness
    ]
    text = _write_witness(model, witness)  # type: ignore[arg-type]
    assert text == json.dumps(expected, separators=(",", ":"))
    assert json.loads(text) == expected
