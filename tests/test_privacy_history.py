"""The privacy engine over whole histories of releases, against a plain exact audit.

The engine may audit incrementally and cleverly; the tests' attacker (`tests/attacker.py`) does
the simplest thing that is exactly right: one integer program over every figure of every release
so far. On random small histories (new training days, late files, any policy) the two must agree
on everything the engine publishes about what a reader can know: no protected count narrowed
too far, each audit record's interval, and the bounds printed beside each withheld figure, which
must themselves tell a reader nothing new."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from unittest.mock import patch

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from benchmarks.national_service import cells_of_release, participants_of, scenario
from schemas.stages import BOUND_COLUMNS
from tests.attacker import TestAttacker, breaches, groups_of
from transforms.load import create_restricted_tables
from transforms.participation import capped_too_far, protect_participation
from transforms.privacy import (
    OUTCOME_TABLES,
    AuditFailure,
    Policy,
    ProtectedRelease,
    engine,
    protect,
    resolve,
)
from transforms.privacy.audit import ItemModel
from transforms.privacy.tables import CELL_SCHEMA, PARTICIPANTS, PUBLISHED_TABLES, WITHDRAWN_FROM
from transforms.release import ProtectedEverything, protect_release, stored_audit

TABLE_KEYS = {table.name: table.keys for table in OUTCOME_TABLES}
WITNESSES = ("witness_lo", "witness_hi")
FIRST_DAY = dt.date(2026, 1, 7)


@dataclass(frozen=True)
class History:
    """Every cell that will ever arrive (arrival = the release that first includes it)."""

    cells: pl.DataFrame
    releases: int
    policy: Policy

    def __repr__(self) -> str:
        """Every cell, as the rows `cells_frame` takes: a failing example pastes into a test."""
        rows = ",\n    ".join(repr(row) for row in self.cells.rows())
        return f"History(cells_frame([\n    {rows},\n]), {self.releases}, {self.policy!r})"


def cells_frame(rows: list[tuple[object, ...]]) -> pl.DataFrame:
    """(item, region, training_day, arrival, n_respondents, n_positive[, withdrawn_from]) per
    cell; a withdrawal cell's counts are negative."""
    schema = CELL_SCHEMA | {WITHDRAWN_FROM: pl.Int64()}
    return pl.DataFrame([(*row, None)[:7] for row in rows], schema=schema, orient="row")


def arrived(cells: pl.DataFrame, release: int) -> pl.DataFrame:
    return cells.filter(pl.col("arrival") <= release)


# -- random histories ------------------------------------------------------------------------


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """Explicit overrides (as `two_releases` in test_privacy.py draws them), or, one time in
    four, a named preset."""
    preset = draw(st.sampled_from([None, None, None, "gmc-sdc", "opensafely", "acro"]))
    if preset is not None:
        return resolve(preset)
    min_cell = draw(st.integers(2, 10))
    return resolve(
        min_cell=min_cell,
        protection=draw(st.integers(1, min_cell)),
        protect_zeros=draw(st.booleans()),
        rounding=draw(st.sampled_from([1, 1, 5])),
    )


def positives(n: int) -> st.SearchStrategy[int]:
    """Any count of n, with the edges the rules care about (0, 1, n - 1, n) drawn often."""
    return st.one_of(st.integers(0, n), st.sampled_from(sorted({0, min(1, n), max(n - 1, 0), n})))


@dataclass(frozen=True)
class Group:
    """Respondents of one region's training day who arrived in one release; or, with `source`,
    `-n` respondents of an earlier group withdrawn (a replaced file) in this release."""

    region: str
    day: dt.date
    arrival: int
    n: int
    source: int | None = None


@st.composite
def histories(
    draw: st.DrawFn, min_releases: int = 2, max_releases: int = 4, replacements: bool = True
) -> History:
    """1-3 regions, 1-2 items, 2-4 releases (or `min_releases` to `max_releases`). Each release each
    region may hold a new training day (a usual group of 5-20, or a tiny one of 1-4), and up to
    two training days of earlier releases get a late file of 1-4 respondents; a late file may
    be a corrected one (`replacements`), withdrawing some or all of the respondents of an
    earlier file of that day and bringing 1-20. Items share the respondents (n) but not the
    answers."""
    regions = [f"r{number}" for number in range(draw(st.integers(1, 3)))]
    items = ["i", "j"][: draw(st.integers(1, 2))]
    n_releases = draw(st.integers(min_releases, max_releases))
    groups: list[Group] = []
    left: dict[int, int] = {}
    """Per group, its respondents not yet withdrawn."""
    days: list[tuple[str, dt.date]] = []
    for release in range(1, n_releases + 1):
        late = draw(st.lists(st.sampled_from(days), max_size=2, unique=True)) if days else []
        for region, day in late:
            sources = [
                index
                for index, group in enumerate(groups)
                if (group.region, group.day) == (region, day)
                and group.arrival < release
                and left.get(index, 0) > 0
            ]
            n = draw(st.integers(1, 4))
            if replacements and sources and draw(st.booleans()):
                source = draw(st.sampled_from(sources))
                withdrawn = draw(st.integers(1, left[source]))
                left[source] -= withdrawn
                groups.append(Group(region, day, release, -withdrawn, source))
                n = draw(st.integers(1, 20))
            left[len(groups)] = n
            groups.append(Group(region, day, release, n))
        for index, region in enumerate(regions):
            if (release == 1 and index == 0) or draw(st.booleans()):
                day = FIRST_DAY + dt.timedelta(weeks=4 * (release - 1))
                n = draw(st.one_of(st.integers(5, 20), st.integers(1, 4)))
                days.append((region, day))
                left[len(groups)] = n
                groups.append(Group(region, day, release, n))
    rows = []
    for item in items:
        kept: dict[int, tuple[int, int]] = {}
        """Per group, its positive and not-positive respondents not yet withdrawn."""
        for index, group in enumerate(groups):
            if group.source is None:
                k = draw(positives(group.n))
                kept[index] = (k, group.n - k)
                rows.append((item, group.region, group.day, group.arrival, group.n, k, None))
                continue
            withdrawn = -group.n
            k_left, g_left = kept[group.source]
            k = draw(st.integers(max(0, withdrawn - g_left), min(withdrawn, k_left)))
            kept[group.source] = (k_left - k, g_left - (withdrawn - k))
            source_arrival = groups[group.source].arrival
            rows.append((item, group.region, group.day, group.arrival, group.n, -k, source_arrival))
    return History(cells_frame(rows), n_releases, draw(policies()))


def publish(history: History) -> list[ProtectedRelease]:
    """Releases 1.. in order, each given the figures of every earlier one; stops at the first
    refusal (earlier figures can pin a count down), which release 1 never may."""
    published: list[ProtectedRelease] = []
    for number in range(1, history.releases + 1):
        earlier = pl.concat([r.figures for r in published]) if published else None
        try:
            release = protect(
                arrived(history.cells, number),
                OUTCOME_TABLES,
                history.policy,
                release_no=number,
                history=earlier,
                previous_audit=published[-1].audit if published else None,
            )
        except AuditFailure as refused:
            assert number > 1, f"release 1 has no history to be pinned by: {refused}"
            note(f"release {number} refused: {refused}")
            event("a later release refused")
            break
        published.append(release)
    return published


# -- the plain exact audit -------------------------------------------------------------------


def closed(interval: tuple[int, float]) -> tuple[int, int | None]:
    """The tests' attacker's interval as the engine publishes one: NULL for open above."""
    low, high = interval
    return low, None if high == float("inf") else int(high)


def row_members(
    attacker: TestAttacker, table: str, key: dict[str, object], release: int
) -> tuple[int, ...]:
    """The cells a row of `table` sums in `release` (the table's own keys only, so a national
    row is every cell of its item)."""
    own = {"item": key["item"]} | {k: key[k] for k in TABLE_KEYS[table]}
    return attacker.members(own, release)


def audited_members(
    attacker: TestAttacker, record: dict[str, object], release: int
) -> tuple[int, ...]:
    """The cells an audit record is about: a table row (as published in release `as_of_release`,
    which is earlier than this one for a count an earlier release protected), one underlying
    cell, the cells of a table row that arrived in one release, every region's cells of one
    training-day date, or every region's but one."""
    where = str(record["table_name"])
    as_of = release if record.get("as_of_release") is None else int(record["as_of_release"])
    if where == "underlying_cell":
        keys = ("item", "region", "training_day", "arrival", WITHDRAWN_FROM)
        members = tuple(
            index
            for index, cell in enumerate(attacker.cells)
            if all(cell[k] == record.get(k) for k in keys)
        )
        assert len(members) == 1, record
        return members
    if where == "all regions but one":
        return tuple(
            index
            for index, cell in enumerate(attacker.cells)
            if cell["item"] == record["item"]
            and cell["region"] != record["region"]
            and int(cell["arrival"]) <= as_of  # type: ignore[call-overload]
        )
    if where == "everyone on a training day":
        return tuple(
            index
            for index, cell in enumerate(attacker.cells)
            if cell["item"] == record["item"]
            and cell["training_day"] == record["training_day"]
            and int(cell["arrival"]) <= as_of  # type: ignore[call-overload]
        )
    if where.endswith(" batch"):
        table = where.removesuffix(" batch")
        members = row_members(attacker, table, record, release)
        return tuple(
            i
            for i in members
            if attacker.cells[i]["arrival"] == record["arrival"] and not attacker.withdrawal(i)
        )
    assert where in TABLE_KEYS, record
    return row_members(attacker, where, record, as_of)


def withheld_measures(row: dict[str, object]) -> list[str]:
    """What a withheld row hides: its positive count and complement, and its n when NULL."""
    measures = ["positive", "not_positive"]
    return [*measures, "respondents"] if row["n_respondents"] is None else measures


def observe(what: str) -> None:
    """Count a case in Hypothesis's statistics (check_release also runs outside Hypothesis)."""
    with contextlib.suppress(InvalidArgument):
        event(what)


def check_release(history: History, published: list[ProtectedRelease], number: int) -> None:
    """Release `number` against the tests' attacker reading releases 1..number."""
    policy = history.policy
    seen = arrived(history.cells, number)
    tables = [release.tables for release in published[:number]]
    release = published[number - 1]
    where = f"release {number} under {policy.describe()}"
    structure = seen.drop("n_respondents", "n_positive")  # which cells exist, as tables show
    attacker = TestAttacker(structure, tables, policy.rounding)

    # (a) No protected count (of a row, a cell, or a row's batch of one arrival) is narrowed.
    found = breaches(
        attacker,
        groups_of(attacker, seen, release.tables, number),
        min_cell=policy.min_cell,
        protection=policy.protection,
        protect_zeros=policy.protect_zeros,
    )
    assert found == [], where

    # (b) Each audit record holds the interval of the same cells and measure: exactly, or, as a
    # certificate for a protected count whose bounds no table publishes, one inside it that
    # passes (so the exact one passes too).
    for record in release.audit.to_dicts():
        members = audited_members(attacker, record, number)
        expected = closed(attacker.interval(members, str(record["measure"])))
        got = (record["interval_lo"], record["interval_hi"])
        label = f"{where}: audit {record} vs plain audit {expected}"
        if record["exact"]:
            assert got == expected, label
            continue
        observe("a certificate instead of an exact interval")
        assert record["required"], label
        (lo, hi), (least, most) = got, expected
        assert hi is not None and least <= lo <= hi and (most is None or hi <= most), label
        low_end = 1 if record["measure"] == "respondents" else policy.risky_low
        inside = policy.min_cell > 1 and lo >= low_end and hi <= policy.min_cell - 1
        assert hi - lo >= policy.protection and not inside, label

    # (b') A certificate of a count within one training day still passes capped by any
    # participation figure of that day: each counts at least everyone who had answered the item
    # there by its release, after any replaced file.
    certificates = release.audit.filter(~pl.col("exact"))
    for item in certificates["item"].unique():
        answered = (
            pl.concat(
                [
                    arrived(history.cells, shown)
                    .filter(pl.col("item") == item)
                    .group_by("region", "training_day")
                    .agg(pl.col("n_respondents").sum().alias("n_hi"))
                    .with_columns(pl.lit(shown, pl.Int64).alias("release_no"))
                    for shown in range(1, number + 1)
                ]
            )
            .filter(pl.col("n_hi") > 0)
            .cast({"training_day": pl.Date})
        )
        mine = certificates.filter(pl.col("item") == item)
        assert not capped_too_far(mine, answered, policy, release_no=number), where

    # (c) Each withheld figure's published bounds are the plain attacker's interval; shown
    # figures have none.
    withheld: list[tuple[tuple[int, ...], list[str]]] = []
    for name, table in release.tables.items():
        for row in table.to_dicts():
            label = f"{where}: {name} {row}"
            assert (row["n_positive"] is None) == row["suppressed"], label
            if not row["suppressed"]:
                assert all(row[c] is None for c in BOUND_COLUMNS), label
                continue
            members = row_members(attacker, name, row, number)
            withheld.append((members, withheld_measures(row)))
            bounds = (row["n_positive_min"], row["n_positive_max"])
            assert bounds == closed(attacker.interval(members, "positive")), label
            bounds = (row["n_respondents_min"], row["n_respondents_max"])
            if row["n_respondents"] is None:
                assert bounds == closed(attacker.interval(members, "respondents")), label
            else:
                assert bounds == (None, None), label

    # (d) Reading the bounds as well reaches no withheld row, cell or batch any closer.
    informed = TestAttacker(structure, tables, policy.rounding, bounds=True)
    probes = [(members, m) for members, measures in withheld for m in measures]
    probes += [
        (audited_members(attacker, record, number), str(record["measure"]))
        for record in release.audit.to_dicts()
    ]
    for members, measure in probes:
        assert informed.interval(members, measure) == attacker.interval(members, measure), (
            f"{where}: the bounds tell a reader more about cells {members} ({measure})"
        )


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=histories())
def test_every_release_of_a_history_agrees_with_a_plain_exact_audit_of_all_releases(
    history: History,
) -> None:
    """What the engine publishes about a reader's knowledge (audit records, bounds) is what an
    integer program over the whole history finds, and no protected count is narrowed."""
    with counting_open_intervals_taken_over() as taken_open:
        published = publish(history)
    event(f"an interval open above taken over: {any(taken_open)}")
    event(f"{len(published)} of {history.releases} releases published")
    withdrawals = history.cells.filter(pl.col(WITHDRAWN_FROM).is_not_null())
    event("a file replaced" if withdrawals.height else "no file replaced")
    for number in range(1, len(published) + 1):
        check_release(history, published, number)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=histories(), rounding=st.sampled_from([1, 5]))
def test_repairs_that_move_the_newest_cells_alone_agree_with_a_plain_exact_audit(
    history: History, rounding: int
) -> None:
    """The same, shown exactly or rounded to 5, where a broken witness is repaired first by
    moving its recent cells alone, and an end's point is looked for there first: here only
    the newest release's (`RECENT_RELEASES` = 1, against 4 by default), so that histories of
    a few releases hold cells the repair must keep as they were."""
    history = History(history.cells, history.releases, replace(history.policy, rounding=rounding))
    with (
        patch("transforms.privacy.audit.RECENT_RELEASES", 1),
        counting("_recent_repair") as repaired,
    ):
        published = publish(history)
    event(f"repaired by the newest cells: {sum(repaired) > 0}")
    for number in range(1, len(published) + 1):
        check_release(history, published, number)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=histories(min_releases=4, max_releases=6))
def test_longer_histories_agree_with_a_plain_exact_audit_where_ends_are_held_and_taken_over(
    history: History,
) -> None:
    """The same over 4-6 releases, where what one release decides is taken over by the next
    and the next again: an end held while the other was solved again (`_hold`), an interval
    open above taken over, an end mended or repaired twice. Two releases, most of the examples
    above, can hold none of that past its first carry."""
    with counting_open_intervals_taken_over() as taken_open, counting_held_ends() as held:
        published = publish(history)
    event(f"an interval open above taken over: {any(taken_open)}")
    event(f"an end held while the other was solved again: {any(held)}")
    event(f"{len(published)} of {history.releases} releases published")
    for number in range(1, len(published) + 1):
        check_release(history, published, number)


# -- a history worked by hand ----------------------------------------------------------------


def test_a_late_file_hides_its_training_day_and_the_bounds_say_only_what_was_known():
    """One region, the default policy (min_cell 3, protection 2, zeros shown):

    - release 1: training day 1 (10 respondents, 6 positive). Everything shown.
    - release 2: training day 2 (12 respondents, 11 positive). Its 1 not-positive is a
      protected count: the primary rule withholds day 2's positive count (its n, 12, shown).
      Region and national (the same cells: one region) would give it away as 17 - 6, so their
      positive counts are withheld too. A reader knows day 2 holds 0..12 positives, so the
      region and national hold 6 + (0..12) = 6..18.
    - release 3: a late file of 2 respondents (1 positive) for day 1. Its counts (1, 1 and
      n = 2) are all protected, and any shown n or positive count of a row holding it would,
      minus release 1's 10 and 6, give it away; so day 1, the region and national are withheld
      whole (a row whose n is withheld has its count withheld too). Day 2 has not changed and
      reads as in release 2. A reader still knows release 1's 6 of 10 for day 1 and that the
      late file holds someone, and nothing more about it: day 1 holds at least 6 positives and
      at least 10 + 1 = 11 respondents, with no upper bound; the region at least 6 + 0 + 0
      positives (day 1's, day 2's least, the late file's least) and 10 + 12 + 1 = 23
      respondents, open above.
    """
    day1, day2 = FIRST_DAY, FIRST_DAY + dt.timedelta(weeks=4)
    cells = cells_frame(
        [("i", "a", day1, 1, 10, 6), ("i", "a", day2, 2, 12, 11), ("i", "a", day1, 3, 2, 1)]
    )
    history = History(cells, 3, resolve())
    first, second, third = publish(history)

    def bounds(release: ProtectedRelease, table: str, **key: object) -> tuple[object, ...]:
        frame = release.tables[table]
        [row] = frame.filter(pl.lit(True), *(pl.col(k) == v for k, v in key.items())).to_dicts()
        shown = (row["n_respondents"], row["n_positive"])
        return (*shown, *(row[c] for c in BOUND_COLUMNS))

    days, regions, national = "outcomes_by_training_day", "outcomes_by_region", "outcomes_national"
    # (n shown, k shown, k min, k max, n min, n max)
    assert first.n_suppressed == 0
    assert bounds(second, days, training_day=day1) == (10, 6, None, None, None, None)
    assert bounds(second, days, training_day=day2) == (12, None, 0, 12, None, None)
    assert bounds(second, regions, region="a") == (22, None, 6, 18, None, None)
    assert bounds(second, national) == (22, None, 6, 18, None, None)
    assert (second.n_primary, second.n_complementary) == (1, 2)

    assert bounds(third, days, training_day=day1) == (None, None, 6, None, 11, None)
    assert bounds(third, days, training_day=day2) == (12, None, 0, 12, None, None)
    assert bounds(third, regions, region="a") == (None, None, 6, None, 23, None)
    assert bounds(third, national) == (None, None, 6, None, 23, None)
    assert (third.n_primary, third.n_complementary) == (1, 3)

    # The same history passes the whole differential check too.
    for number in (1, 2, 3):
        check_release(history, [first, second, third], number)


def earlier_count_history() -> pl.DataFrame:
    """The cells of the test below: release 3's national figures would give away the count
    release 2 withheld from its national row."""
    day1, day2, day3 = (FIRST_DAY + dt.timedelta(weeks=4 * w) for w in range(3))
    return cells_frame(
        [
            ("i", "r0", day1, 1, 5, 0),
            ("i", "r1", day1, 1, 5, 0),
            ("i", "r2", day1, 1, 5, 1),
            ("i", "r0", day1, 2, 1, 0),
            ("i", "r1", day1, 2, 1, 0),
            ("i", "r0", day2, 2, 5, 0),
            ("i", "r0", day3, 3, 5, 2),
        ]
    )


def test_a_count_withheld_in_an_earlier_release_is_not_given_away_by_a_later_one():
    """min_cell 2, protection 1, zeros shown. Release 1: three regions' first training day (0,
    0 and 1 positive of 5). Release 2: a late respondent each for r0 and r1 (not positive) and
    r0's second day (0 of 5): the national row, 1 positive of 22, has its count withheld by the
    primary rule. Release 3: r0's third day, 2 of 5, shown; national 27 respondents, 3 positive,
    shown. 27 - 22 - 5 = 0, so no one else arrived, and release 2's national count would be
    3 - 2 = 1: exactly the count release 2 withheld. Every cell and batch keeps an interval
    [0, 1] or wider, so only carrying release 2's protected count into release 3's audit (the
    engine reads it from release 2's audit) stops release 3 from giving it away."""
    cells = earlier_count_history()
    policy = resolve(min_cell=2, protection=1)
    published = publish(History(cells, 3, policy))
    assert len(published) == 3
    [national2] = published[1].tables["outcomes_national"].to_dicts()
    assert national2["n_positive"] is None, "release 2 withholds the national 1 of 22"
    attacker = TestAttacker(
        cells.drop("n_respondents", "n_positive"), [r.tables for r in published], policy.rounding
    )
    members = row_members(attacker, "outcomes_national", national2, 2)
    low, high = attacker.interval(members, "positive")
    assert high - low >= policy.protection, f"release 2's national count is now [{low}, {high}]"


def test_the_audit_the_warehouse_keeps_carries_over_as_the_one_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Release 2 given release 1's audit as the restricted warehouse stores and returns it
    (witnesses as text, dates and all) publishes exactly what it publishes given the audit in
    memory, and takes over the same intervals instead of solving them again."""
    cells = scenario(2, 4)
    policy = resolve()
    first = protect(arrived(cells, 1), OUTCOME_TABLES, policy, release_no=1)
    assert first.audit["witness_lo"].is_not_null().all()
    con = duckdb.connect(str(tmp_path / "restricted.duckdb"))
    create_restricted_tables(con)
    con.register("audit_frame", first.audit)
    con.execute("insert into release_audit by name select 1 as release_no, * from audit_frame")
    taken: list[int] = []
    carry = ItemModel.carry

    def counted(self: ItemModel, entries: dict, *rest: object) -> int:  # type: ignore[type-arg]
        taken.append(carry(self, entries, *rest))  # type: ignore[arg-type]
        return taken[-1]

    monkeypatch.setattr(ItemModel, "carry", counted)
    second = {}
    for source, audit in (("memory", first.audit), ("warehouse", stored_audit(con, 1))):
        taken.clear()
        second[source] = release_two(cells, first, policy, audit)
        second[source + " taken"] = sum(taken)
    assert second["memory taken"] == second["warehouse taken"] > 0
    assert_same_release(second["memory"], second["warehouse"])


def test_witnesses_hold_each_change_once_however_many_cells_make_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Witnesses read back from the last audit and witnesses the programs find hold each
    (positive, not positive) change as one shared object: after release 100 under
    `opensafely` the audit's witnesses held 3.1 million changes of 571 values, and each
    witness holding its own copies was most of a release's memory."""
    cells, policy = scenario(2, 4), resolve("opensafely")
    changes: list[tuple[int, int]] = []
    carry, found = ItemModel.carry, ItemModel._witness

    def carried(self: ItemModel, entries: dict, *rest: object) -> int:  # type: ignore[type-arg]
        for known in entries.values():
            for witness in (known.low, known.high):
                changes.extend((witness or {}).values())
        return carry(self, entries, *rest)  # type: ignore[arg-type]

    def witness(self: ItemModel, point: object) -> dict[int, tuple[int, int]]:
        made = found(self, point)  # type: ignore[arg-type]
        changes.extend(made.values())
        return made

    monkeypatch.setattr(ItemModel, "carry", carried)
    monkeypatch.setattr(ItemModel, "_witness", witness)
    assert len(publish(History(cells, 2, policy))) == 2
    assert len(changes) > 10 * len(set(changes)), "a history whose witnesses share changes"
    assert len({id(change) for change in changes}) == len(set(changes))


def benchmark_releases(months: int, regions: int, policy: Policy) -> list[ProtectedEverything]:
    """The benchmark's first months, each release protected as `publish_release` does: given
    every earlier release's figures and the last one's audit."""
    cells = scenario(months, regions)
    history, audit, done = None, None, []
    for number in range(1, months + 1):
        arrived_now = cells_of_release(cells, number)
        release = protect_release(
            arrived_now,
            participants_of(arrived_now),
            policy,
            release_no=number,
            history=history,
            previous_audit=audit,
        )
        history = release.figures if history is None else pl.concat([history, release.figures])
        audit = release.audit
        done.append(release)
    return done


@contextlib.contextmanager
def counting(method: str, looked_at: Callable[..., bool] = lambda *_: True) -> Iterator[list[bool]]:
    """Per call of `ItemModel.<method>` that `looked_at` (given its arguments) counts, whether
    it found something."""
    found_by: list[bool] = []
    original = getattr(ItemModel, method)

    def counted(model: ItemModel, *args: object) -> object:
        found = original(model, *args)
        if looked_at(model, *args):
            found_by.append(found is not None)
        return found

    with patch.object(ItemModel, method, counted):
        yield found_by


def counting_open_intervals_taken_over() -> contextlib.AbstractContextManager[list[bool]]:
    """Per interval open above that a release was given, whether it was taken over."""
    return counting("_standing_open")


def counting_held_ends() -> contextlib.AbstractContextManager[list[bool]]:
    """Per end held from the last release that a release looked at, whether it still stood."""
    return counting("_held_end", lambda model, key, sign, *_: (key, sign) in model._held)


def test_participation_witnesses_change_few_cells() -> None:
    """The benchmark's first five months (13 regions, `opensafely`): participation's
    witnesses in the audit change fewer than 20 cells on average. Kept as the linear program
    left them they changed 42 here and 439 by release 58, each held in memory, written
    to the audit and checked against every later figure holding one of its cells."""
    audit = benchmark_releases(5, 13, resolve("opensafely"))[-1].audit
    witnesses = audit.filter(pl.col("item") == PARTICIPANTS).select(
        pl.col(column).str.json_decode(pl.List(pl.List(pl.Utf8))).list.len() for column in WITNESSES
    )
    assert witnesses.height > 50
    for column in WITNESSES:
        assert witnesses[column].mean() < 20, column  # type: ignore[operator]


def test_participation_is_protected_beside_the_outcome_tables_and_publishes_the_same():
    """`protect_release` starts participation's first pass before the outcome tables and
    lets them run together (the outcome tables here wait until it has started, which they
    would wait for in vain were it run after them). What it publishes is what participation
    protected after the outcome tables and checked against them publishes."""
    import transforms.release as release_module

    cells, policy = scenario(3, 4), resolve("opensafely")
    started = threading.Event()
    alone, outcomes_protect = release_module.protect_participation_alone, release_module.protect

    def participation_first(*args: object, **kwargs: object) -> ProtectedRelease:
        started.set()
        return alone(*args, **kwargs)  # type: ignore[arg-type]

    def outcomes_once_participation_started(*args: object, **kwargs: object) -> ProtectedRelease:
        assert started.wait(timeout=30), "participation did not start beside the outcome tables"
        return outcomes_protect(*args, **kwargs)  # type: ignore[arg-type]

    history, audit = None, None
    for number in range(1, 4):
        arrived_now = cells_of_release(cells, number)
        participants = participants_of(arrived_now)
        started.clear()
        with patch.multiple(
            release_module,
            protect_participation_alone=participation_first,
            protect=outcomes_once_participation_started,
        ):
            both = protect_release(
                arrived_now,
                participants,
                policy,
                release_no=number,
                history=history,
                previous_audit=audit,
            )

        outcomes = protect(
            arrived_now,
            PUBLISHED_TABLES,
            policy,
            release_no=number,
            history=history,
            previous_audit=part_of(audit, pl.col("item") != PARTICIPANTS),
        )
        participation = protect_participation(
            participants,
            policy,
            release_no=number,
            history=history,
            previous_audit=part_of(audit, pl.col("item") == PARTICIPANTS),
            outcomes=outcomes,
        )
        assert_same_release(both.outcomes, outcomes)
        assert_same_release(both.participation, participation)
        history = both.figures if history is None else pl.concat([history, both.figures])
        audit = both.audit


def test_intervals_open_above_are_taken_over_and_the_releases_are_the_same() -> None:
    """Participation's withheld days are open above under `opensafely` (no figure bounds how
    many took part): the next release takes them over while they are still open, instead of
    solving them again (releases 2-5 of the benchmark, 4 regions), and publishes and keeps
    what solving them again does."""
    policy = resolve("opensafely")
    with counting_open_intervals_taken_over() as taken:
        carried = benchmark_releases(5, 4, policy)
    with patch.object(ItemModel, "_standing_open", lambda *_: None):
        solved = benchmark_releases(5, 4, policy)
    assert sum(taken) >= 20, f"{sum(taken)} of {len(taken)} open intervals taken over"
    keys = ["table_name", "item", "region", "training_day", "arrival", "measure", "as_of_release"]

    def intervals(release: ProtectedEverything, exact_only: bool) -> pl.DataFrame:
        audit = release.audit.filter("exact") if exact_only else release.audit
        columns = [*keys, "interval_lo", "interval_hi"] if exact_only else keys
        return audit.select(columns).sort(keys, nulls_last=True)

    for one, other in zip(carried, solved, strict=True):
        assert one.figures.equals(other.figures)
        pairs = [(one.outcomes, other.outcomes), (one.participation, other.participation)]
        for mine, theirs in pairs:
            for name, table in mine.tables.items():
                assert table.equals(theirs.tables[name]), name
        # the same counts protected, each exact interval the same; witnesses may differ
        assert intervals(one, exact_only=False).equals(intervals(other, exact_only=False))
        assert intervals(one, exact_only=True).equals(intervals(other, exact_only=True))


def part_of(audit: pl.DataFrame | None, own: pl.Expr) -> pl.DataFrame | None:
    return None if audit is None else audit.filter(own)


def test_an_audit_kept_before_certificates_is_taken_over_as_exact(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A warehouse made before certificates has no `exact` column: every interval it kept was
    exact. Release 1 made as an engine without certificates made it (no interval inside the
    exact one is ever enough), release 2 given its audit without the column publishes and
    keeps the same as given it with the column."""
    cells = scenario(2, 4)
    policy = resolve("opensafely")
    with monkeypatch.context() as before_certificates:
        before_certificates.setattr(engine, "_enough", lambda model, policy: lambda *_: False)
        first = protect(arrived(cells, 1), OUTCOME_TABLES, policy, release_no=1)
    assert first.audit["exact"].all()
    now = release_two(cells, first, policy, first.audit)
    assert not now.audit["exact"].all(), "release 2 keeps certificates"
    assert_same_release(now, release_two(cells, first, policy, first.audit.drop("exact")))


def test_a_first_release_keeps_certificates_where_the_standing_assignments_are_enough():
    """With nothing carried over, a protected count the assignments already standing show wide
    enough is kept as a certificate, not solved (`_still_passes`); each is one the plain
    attacker's interval holds and passes (check_release)."""
    cells = scenario(2, 4)
    policy = resolve("opensafely")
    first = protect(arrived(cells, 1), OUTCOME_TABLES, policy, release_no=1)
    certificates = first.audit.filter(~pl.col("exact"))
    assert certificates.height > 0 and certificates["required"].all()
    check_release(History(cells, 1, policy), [first], 1)


def release_two(
    cells: pl.DataFrame, first: ProtectedRelease, policy: Policy, audit: pl.DataFrame
) -> ProtectedRelease:
    """Release 2 of `cells` after `first`, given `audit` as release 1's."""
    return protect(
        arrived(cells, 2),
        OUTCOME_TABLES,
        policy,
        release_no=2,
        history=first.figures,
        previous_audit=audit,
    )


def assert_same_release(one: ProtectedRelease, other: ProtectedRelease) -> None:
    assert one.audit.equals(other.audit)
    for name, table in one.tables.items():
        assert table.equals(other.tables[name]), name


def test_an_audit_without_witnesses_still_keeps_earlier_counts_protected():
    """A warehouse made before witnesses were kept returns release 2's audit with them NULL:
    none of its intervals can be taken over, but the count release 2 withheld from its
    national row is still protected in release 3, exactly as with the full audit."""
    cells = earlier_count_history()
    policy = resolve(min_cell=2, protection=1)
    first, second, _ = publish(History(cells, 3, policy))
    blank = second.audit.with_columns(pl.lit(None, pl.Utf8).alias(c) for c in WITNESSES)
    third = protect(
        arrived(cells, 3),
        OUTCOME_TABLES,
        policy,
        release_no=3,
        history=pl.concat([first.figures, second.figures]),
        previous_audit=blank,
    )
    attacker = TestAttacker(
        cells.drop("n_respondents", "n_positive"),
        [first.tables, second.tables, third.tables],
        policy.rounding,
    )
    [national2] = second.tables["outcomes_national"].to_dicts()
    low, high = attacker.interval(
        row_members(attacker, "outcomes_national", national2, 2), "positive"
    )
    assert high - low >= policy.protection, f"release 2's national count is now [{low}, {high}]"


@pytest.mark.parametrize("preset", ["gmc-sdc", "opensafely"])
def test_items_protected_on_threads_give_the_release_one_at_a_time_gives(
    preset: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Items share no cell, so protecting them side by side must not change one figure, bound
    or audit record, whichever finishes first."""
    cells, policy = scenario(3, 5), resolve(preset)
    runs: dict[int, list[ProtectedRelease]] = {}
    for workers in (1, 4):
        monkeypatch.setattr(engine, "_workers", lambda workers=workers: workers)
        runs[workers] = publish(History(cells, 3, policy))
        assert len(runs[workers]) == 3
    for one, many in zip(runs[1], runs[4], strict=True):
        assert one.audit.equals(many.audit)
        assert one.figures.equals(many.figures)
        for name, table in one.tables.items():
            assert table.equals(many.tables[name]), name


def test_items_started_heaviest_first_give_what_lightest_first_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Items start in the order of the witnesses they take over (`engine._carried_work`),
    heaviest first, only to keep both threads busy to the end: started the other way round,
    every figure, bound and audit record of each release is the same."""
    cells, policy = scenario(3, 5), resolve("opensafely")
    monkeypatch.setattr(engine, "_workers", lambda: 1)  # items start one after another
    started: list[str] = []
    model = engine._model
    monkeypatch.setattr(engine, "_model", lambda item, *a: started.append(item) or model(item, *a))
    heaviest_first = publish(History(cells, 3, policy))
    heaviest_order, started[:] = list(started), []
    work = engine._carried_work
    monkeypatch.setattr(engine, "_carried_work", lambda records: -work(records))
    lightest_first = publish(History(cells, 3, policy))
    assert started != heaviest_order, "the items started in the same order both times"
    for one, other in zip(heaviest_first, lightest_first, strict=True):
        assert one.audit.equals(other.audit)
        assert one.figures.equals(other.figures)
        for name, table in one.tables.items():
            assert table.equals(other.tables[name]), name


ROOT = Path(__file__).resolve().parents[1]
AUDIT_OF_THREE_RELEASES = """
import hashlib, sys
from benchmarks.national_service import scenario
from tests.test_privacy_history import History, publish
from transforms.privacy import resolve

for release in publish(History(scenario(3, 5), 3, resolve(sys.argv[1]))):
    audit = release.audit.sort(release.audit.columns)
    print(hashlib.sha1(audit.write_csv().encode()).hexdigest())
"""


@pytest.mark.parametrize("preset", ["gmc-sdc", "opensafely"])
def test_the_same_releases_give_the_same_audit_in_any_interpreter(preset: str) -> None:
    """Each interpreter orders its sets of strings afresh (`PYTHONHASHSEED`); the audit,
    witnesses included, must not follow that order, or a release protected again, and the
    next release that carries its witnesses, would be audited differently."""
    audits = []
    for seed in ("1", "2"):
        run = subprocess.run(
            [sys.executable, "-c", AUDIT_OF_THREE_RELEASES, preset],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            check=True,
        )
        audits.append(run.stdout.split())
    assert len(audits[0]) == 3
    assert audits[0] == audits[1]
