"""The attacker's model of one item (`transforms.privacy.audit.ItemModel`): what it keeps
between questions must be exactly what still holds, so each rule of keeping is tested where it
must keep and where it must let go, against the interval a fresh model solves outright."""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st

from transforms.privacy import audit
from transforms.privacy.audit import (
    BOTH,
    INF,
    NEGATIVE,
    POSITIVE,
    Family,
    Interval,
    ItemModel,
    Known,
    Quantity,
)

OPEN = (-INF, INF)


def exact_figure(n: int, k: int) -> tuple[float, float, float, float]:
    return (float(n), float(n), float(k), float(k))


def count_withheld(n: int) -> tuple[float, float, float, float]:
    return (float(n), float(n), *OPEN)


def one_region(region_k: tuple[float, float]) -> ItemModel:
    """Two training days of one region, both in release 1: day a 6 of 10 (shown), day b 11 of
    12 (its count withheld); the region's n (22) shown and its positive count as given."""
    n, k = np.array([10, 12]), np.array([6, 11])
    families = [
        Family(np.array([0]), np.array([1]), current=exact_figure(10, 6)),
        Family(np.array([1]), np.array([1]), current=count_withheld(12)),
        Family(np.array([0, 1]), np.array([1, 1]), current=(22.0, 22.0, *region_k)),
    ]
    return ItemModel(np.array([1, 1]), n, k, families, release_no=1)


DAY_B = Quantity((1,), POSITIVE)


def test_a_figure_shown_that_the_witnesses_break_is_solved_again():
    model = one_region(OPEN)
    assert model.interval(DAY_B) == Interval(0, 12)
    model.set_current(2, exact_figure(22, 17))
    assert model.certified(DAY_B) is None, "day b's 0 and 12 are no longer possible"
    assert model.interval(DAY_B) == Interval(11, 11)


def test_a_figure_shown_that_agrees_with_the_witnesses_keeps_the_interval_unsolved():
    model = one_region((0.0, 30.0))  # the region's count as a loosely rounded figure
    assert model.interval(DAY_B) == Interval(0, 12)
    solves = model.solves
    model.set_current(0, exact_figure(10, 6))  # day a shown again as it was: nothing new
    model.set_current(2, (22.0, 22.0, 6.0, 18.0))  # tighter, but day b's 0 and 12 still fit
    assert model.interval(DAY_B) == Interval(0, 12)
    assert model.solves == solves
    assert model.interval(DAY_B) == one_region((6.0, 18.0)).interval(DAY_B)


def test_withholding_a_figure_an_end_rests_on_reopens_it_and_no_other():
    """Day b's count is the region's 17 minus day a's 6. A second region's day c (5 of 5,
    shown) rests on its own figure alone."""
    n, k = np.array([10, 12, 5]), np.array([6, 11, 5])
    families = [
        Family(np.array([0]), np.array([1]), current=exact_figure(10, 6)),
        Family(np.array([1]), np.array([1]), current=count_withheld(12)),
        Family(np.array([0, 1]), np.array([1, 1]), current=exact_figure(22, 17)),
        Family(np.array([2]), np.array([1]), current=exact_figure(5, 5)),
    ]
    model = ItemModel(np.array([1, 1, 1]), n, k, families, release_no=1)
    day_c = Quantity((2,), POSITIVE)
    assert model.interval(DAY_B) == Interval(11, 11)
    assert model.binding(DAY_B) == {0, 2}, "day a's figure and the region's pin day b"
    assert model.interval(day_c) == Interval(5, 5)
    assert model.binding(day_c) == {3}
    model.set_current(2, count_withheld(22))
    assert model.certified(DAY_B) == Interval(11, 11), "still attained: inside the exact one"
    assert model.interval(DAY_B) == Interval(0, 12)
    solves = model.solves
    assert model.interval(day_c) == Interval(5, 5)
    assert model.solves == solves, "day c does not rest on the region's figure"


def test_an_end_the_linear_program_reaches_only_at_a_fraction_is_settled_in_integers():
    """Three cells, each pair's positive count published as 0-1 (a rounded-looking interval):
    the linear program would put half a positive in each (1.5 in all); integers allow 1, and
    the end is settled by an integer point attaining it."""
    n, k = np.array([5, 5, 5]), np.array([1, 0, 0])
    pairs = [(0, 1), (1, 2), (0, 2)]
    families = [Family(np.array([c]), np.array([1]), current=count_withheld(5)) for c in range(3)]
    families += [
        Family(np.array(pair), np.array([1, 1]), current=(10.0, 10.0, 0.0, 1.0)) for pair in pairs
    ]
    model = ItemModel(np.array([1, 1, 1]), n, k, families, release_no=1)
    everyone = Quantity((0, 1, 2), POSITIVE)
    assert model.interval(everyone) == Interval(0, 1)
    high = model.known(everyone).high
    assert high is not None
    assert sum(k[c] + high.get(c, (0, 0))[0] for c in range(3)) == 1


FOUR_N, FOUR_K = np.array([6, 5, 4, 3]), np.array([3, 5, 0, 3])
RANGES = {(2, 3): (1.0, 3.0), (0, 1, 3): (9.0, 11.0), (1, 2): (5.0, 7.0)}


def four_cells(
    groups: dict[tuple[int, ...], tuple[float, float]],
) -> tuple[ItemModel, list[tuple[int, ...]]]:
    """Four cells of one release (n FOUR_N, positive FOUR_K), every n shown, the positive
    counts of `groups` published as ranges (as rounded figures are); and every integer
    assignment of the positive counts that agrees with them."""
    n, k = FOUR_N, FOUR_K
    families = [
        Family(np.array([c]), np.array([1]), current=count_withheld(int(n[c]))) for c in range(4)
    ]
    families += [
        Family(
            np.array(cells),
            np.ones(len(cells), dtype=np.int64),
            current=(float(n[list(cells)].sum()), float(n[list(cells)].sum()), *k_range),
        )
        for cells, k_range in groups.items()
    ]
    every = [
        assignment
        for assignment in itertools.product(*(range(int(size) + 1) for size in n))
        if all(lo <= sum(assignment[c] for c in cells) <= hi for cells, (lo, hi) in groups.items())
    ]
    return ItemModel(np.ones(4, dtype=np.int64), n, k, families, release_no=1), every


@pytest.mark.parametrize("recent_first", [False, True], ids=["whole history", "recent cells"])
def test_an_end_whose_nearest_point_is_a_fraction_is_settled_next_to_it(monkeypatch, recent_first):
    """Four cells, every n shown, the positive counts of three groups published as ranges (as
    rounded figures are). For some ends the linear program's nearest point attaining them is a
    fraction; an integer point next to it (its whole moves kept) settles each end without the
    whole integer program, and the intervals are those of every integer assignment. Every
    cell here is recent, so an end's point is first looked for over the recent cells, which
    settle their own fractions; without that look, the whole history's nearest point does."""
    model, every = four_cells(RANGES)
    k = FOUR_K
    rounded = []
    settle = ItemModel._rounded

    def counted(self: ItemModel, point: np.ndarray) -> object:
        found = settle(self, point)
        rounded.append(found)
        return found

    def refuse(*args: object) -> None:
        raise AssertionError("the whole integer program was asked")

    settled = []
    integers = ItemModel._integers

    def settling(self: ItemModel, highs: object, columns: np.ndarray) -> object:
        settled.append(highs)
        return integers(self, highs, columns)  # type: ignore[arg-type]

    monkeypatch.setattr(ItemModel, "_rounded", counted)
    monkeypatch.setattr(ItemModel, "_integer_end", refuse)
    monkeypatch.setattr(ItemModel, "_integers", settling)
    if not recent_first:
        monkeypatch.setattr(ItemModel, "_recent_repair", lambda *args: None)
    for cell in range(4):
        values = [assignment[cell] for assignment in every]
        quantity = Quantity((cell,), POSITIVE)
        assert model.interval(quantity) == Interval(min(values), max(values))
        known = model.known(quantity)
        for end, witness in ((min(values), known.low), (max(values), known.high)):
            assert witness is not None
            assignment = tuple(int(k[c]) + witness.get(c, (0, 0))[0] for c in range(4))
            assert assignment in every and assignment[cell] == end, "the witness attains the end"
    if recent_first:
        assert not rounded, "the recent cells settled every end"
        assert settled, "some recent point was a fraction, settled next to it"
    else:
        assert rounded and all(found is not None for found in rounded)


def test_the_nearest_assignment_is_walked_to_from_the_truth():
    """The program for the assignment nearest the truth that attains a value starts at the
    truth, wherever the last program stopped: asked for the truth's own value it takes no
    step and answers the truth. For every other value its answer attains it, agrees with
    every figure and, when the linear program's optimum is whole, changes no more than the
    nearest of every integer assignment that attains it."""
    model, every = four_cells({**RANGES, (0, 2): OPEN})
    k = FOUR_K
    steps: list[int] = []
    run = model._near.run

    def counted() -> object:
        status = run()
        steps.append(model._near.getInfo().simplex_iteration_count)
        return status

    model._near.run = counted  # type: ignore[method-assign]
    for cell in range(4):
        columns, signs, truth = model._signed((cell,), POSITIVE)
        model.interval(Quantity((cell,), POSITIVE))  # the last program stops at an end
        assert model._nearest(columns, signs, 0) == {}
        assert steps[-1] == 0, "no step from the truth"
        for value in sorted({assignment[cell] for assignment in every}):
            model.interval(Quantity(((cell + 1) % 4,), POSITIVE))
            witness = model._nearest(columns, signs, value - truth)
            assert witness is not None
            assignment = tuple(int(k[c]) + witness.get(c, (0, 0))[0] for c in range(4))
            assert assignment in every and assignment[cell] == value
            point = np.asarray(model._near.getSolution().col_value)[: model.n_cell_columns]
            if np.allclose(point, np.round(point)):
                nearest = min(
                    sum(abs(a - int(t)) for a, t in zip(other, k, strict=True))
                    for other in every
                    if other[cell] == value
                )
                assert sum(abs(up) for up, _ in witness.values()) == nearest


@pytest.mark.parametrize(
    "groups",
    [
        {(0, 1, 2, 3): (11.0, 11.0)},
        {(1, 2): (5.0, 5.0)},
        {(0, 1, 2, 3): (9.0, 13.0), (1, 2): (4.0, 6.0)},
    ],
)
def test_a_wide_optimum_is_witnessed_by_the_assignment_nearest_the_truth_that_attains_it(
    groups: dict[tuple[int, ...], tuple[float, float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An end's linear optimum is a vertex, which can move counts the end does not need moved
    as far as their figures allow. Whole, it settles the end, but one that changes more than
    `WIDE_WITNESS` cells is not kept as its witness (here every optimum counts as wide): for
    every end, no integer assignment attaining it changes fewer positive answers."""
    monkeypatch.setattr(audit, "WIDE_WITNESS", 0)
    model, every = four_cells(groups)
    for cell in range(4):
        quantity = Quantity((cell,), POSITIVE)
        model.interval(quantity)
        known = model.known(quantity)
        for witness in (known.low, known.high):
            assert witness is not None
            assignment = tuple(int(k) + witness.get(c, (0, 0))[0] for c, k in enumerate(FOUR_K))
            changed = sum(abs(up) for up, _ in witness.values())
            fewest = min(
                sum(abs(a - int(k)) for a, k in zip(other, FOUR_K, strict=True))
                for other in every
                if other[cell] == assignment[cell]
            )
            assert assignment in every
            assert changed == fewest, f"cell {cell}: {changed} changes where {fewest} attain it"


def test_a_nearest_point_leaves_the_ends_program_where_it_stopped():
    """The nearest point runs on a program of its own, so an end asked again after one starts
    from the basis the last end stopped at and takes no step (on one shared program, deleting
    the nearest point's target row left no basis, and the end started cold)."""
    model, every = four_cells({**RANGES, (0, 2): OPEN})
    quantity = Quantity((1,), POSITIVE)
    columns, signs, _ = model._signed(quantity.cells, quantity.measure)
    model._end(columns, signs, -1.0)
    far = max(assignment[0] for assignment in every) - int(FOUR_K[0])
    near_columns, near_signs, _ = model._signed((0,), POSITIVE)
    assert model._nearest(near_columns, near_signs, far) is not None
    assert model._highs.getBasis().valid
    model._end(columns, signs, -1.0)
    assert model._highs.getInfo().simplex_iteration_count == 0


def test_the_next_release_takes_over_only_intervals_its_figures_agree_with():
    """Release 2 adds day c (5 of 5, shown) to the region. Day b's interval from release 1
    (0-12) holds while the region's count stays withheld; once the region is shown (22 of 27)
    its witnesses no longer fit, the interval is not taken over, and it is 11 exactly."""
    first = one_region(OPEN)
    known = first.known(DAY_B)
    carried = {((1,), POSITIVE): Known(known.interval, known.low, known.high, frozenset())}
    still_withheld = release_two_of_one_region(count_withheld(27))
    assert still_withheld.carry(carried) == 1
    assert still_withheld.interval(DAY_B) == Interval(0, 12)
    shown = release_two_of_one_region(exact_figure(27, 22))
    assert shown.carry(carried) == 0
    assert shown.interval(DAY_B) == Interval(11, 11)


def test_an_end_whose_witness_no_longer_fits_is_taken_over_when_another_assignment_attains_it():
    """Release 2 adds day c (5 of 5, shown) and day d (4 of 20, count withheld), and shows the
    region whole (26 of 47). Release 1's witnesses for day b (0 and 12 positives) changed the
    region's count, so they no longer fit; but day d can make up the difference (15 or 3 of
    its 20), so both ends stand, and are taken over with new witnesses, not solved again."""
    first = one_region(OPEN)
    known = first.known(DAY_B)
    n, k = np.array([10, 12, 5, 20]), np.array([6, 11, 5, 4])
    families = [
        Family(np.array([0]), np.array([1]), current=exact_figure(10, 6)),
        Family(np.array([1]), np.array([1]), current=count_withheld(12)),
        Family(np.array([2]), np.array([2]), current=exact_figure(5, 5)),
        Family(np.array([3]), np.array([2]), current=count_withheld(20)),
        Family(
            np.array([0, 1, 2, 3]),
            np.array([1, 1, 2, 2]),
            {2: [22.0, 22.0, *OPEN]},
            current=exact_figure(47, 26),
        ),
    ]
    second = ItemModel(np.array([1, 1, 2, 2]), n, k, families, release_no=2)
    carried = {((1,), POSITIVE): Known(known.interval, known.low, known.high, frozenset())}
    assert second.carry(carried) == 1
    taken = second.known(DAY_B)
    assert taken.interval == Interval(0, 12)
    assert taken.low != known.low and taken.high != known.high, "new witnesses"
    assert taken.low[3][0] == 11 and taken.high[3][0] == -1, "day d makes up the difference"
    fresh = ItemModel(np.array([1, 1, 2, 2]), n, k, families, release_no=2)
    assert fresh.interval(DAY_B) == Interval(0, 12)


def test_an_interval_one_end_of_which_moved_is_solved_again_for_that_end_alone(monkeypatch):
    """Release 2 adds day c (5 of 5, shown) and shows the region's n (27) and that it had at
    most 21 positive answers. Day b's most (12 in release 1) is now 21 - 6 - 5; its fewest
    (0) still stands, on release 1's assignment, so only the most is solved again."""
    first = one_region(OPEN)
    known = first.known(DAY_B)
    carried = {((1,), POSITIVE): Known(known.interval, known.low, known.high, frozenset())}
    held = release_two_of_one_region((27.0, 27.0, 0.0, 21.0))
    assert held.carry(carried) == 0
    assert held.interval(DAY_B) == Interval(0, 10)
    monkeypatch.setattr(ItemModel, "_hold", lambda *_: None)
    whole = release_two_of_one_region((27.0, 27.0, 0.0, 21.0))
    assert whole.carry(carried) == 0
    assert whole.interval(DAY_B) == Interval(0, 10)
    assert held.solves == whole.solves - 1


def test_an_end_held_is_solved_again_once_a_figure_disagrees_with_its_assignment():
    """Day b's fewest (0) is held, as above, on release 1's assignment, in which the region has
    6 + 0 + 5 = 11 positive answers. Before day b is asked about, the release narrows the
    region's count to 15-21 (a greedy pass giving back a withholding does so): the held
    assignment no longer fits, and day b's fewest is 15 - 6 - 5 = 4, as a model never given
    release 1's answer finds."""
    first = one_region(OPEN)
    known = first.known(DAY_B)
    carried = {((1,), POSITIVE): Known(known.interval, known.low, known.high, frozenset())}
    held = release_two_of_one_region((27.0, 27.0, 0.0, 21.0))
    assert held.carry(carried) == 0
    held.set_current(3, (27.0, 27.0, 15.0, 21.0))
    assert held.interval(DAY_B) == Interval(4, 10)
    assert release_two_of_one_region((27.0, 27.0, 15.0, 21.0)).interval(DAY_B) == Interval(4, 10)


def two_regions_at_release_six(day_b: tuple[int, float, float], day_c_shown: bool) -> ItemModel:
    """Release 6 of two regions, under rounding. Region r: day a (release 1, 6 of 10, count
    withheld), day b (release 2: n, its positives, shown or withheld as given), day c (release
    5, 4 of 20, its count shown only when `day_c_shown`) and day d (release 6, 3 of 5, shown);
    releases 2 and 5 showed r's n and withheld its count, release 6 shows r whole with its
    6 + 11 + 4 + 3 = 24 positives (as a range the rounding could give). Region s: day e
    (release 1, 3 of 8, count withheld), all it has. Cells: a, b, e, c, d."""
    b_n, b_lo, b_hi = day_b
    n, k = np.array([10, b_n, 8, 20, 5]), np.array([6, 11, 3, 4, 3])
    families = [
        Family(np.array([0]), np.array([1]), current=count_withheld(10)),
        Family(np.array([1]), np.array([2]), current=(float(b_n), float(b_n), b_lo, b_hi)),
        Family(np.array([2]), np.array([1]), current=count_withheld(8)),
        Family(
            np.array([3]),
            np.array([5]),
            current=exact_figure(20, 4) if day_c_shown else count_withheld(20),
        ),
        Family(np.array([4]), np.array([6]), current=exact_figure(5, 3)),
        Family(
            np.array([0, 1, 3, 4]),
            np.array([1, 2, 5, 6]),
            {2: [10.0 + b_n, 10.0 + b_n, *OPEN], 3: [30.0 + b_n, 30.0 + b_n, *OPEN]},
            current=(35.0 + b_n, 35.0 + b_n, 24.0, 24.0),
        ),
        Family(np.array([2]), np.array([1]), current=count_withheld(8)),
    ]
    return ItemModel(np.array([1, 2, 1, 5, 6]), n, k, families, release_no=6, rounding=5)


DAY_A = Quantity((0,), POSITIVE)


def agrees_with_every_figure(model: ItemModel, witness: dict[int, tuple[int, int]]) -> bool:
    """Whether the assignment fits every prefix every release published, counted by hand."""
    n = model.true[BOTH] + np.array([sum(witness.get(c, (0, 0))) for c in range(model.n_cells)])
    k = model.true[POSITIVE] + np.array([witness.get(c, (0, 0))[0] for c in range(model.n_cells)])
    for family in model.families:
        for m in {*family.figures, len(family.cells)}:
            n_lo, n_hi, k_lo, k_hi = family.figure(m)  # type: ignore[misc]
            cells = family.cells[:m]
            if not (n_lo <= n[cells].sum() <= n_hi and k_lo <= k[cells].sum() <= k_hi):
                return False
    return bool((k >= 0).all() and (n - k >= 0).all() and (n >= 1).all())


def test_a_broken_end_is_repaired_by_moving_only_the_recent_cells(monkeypatch):
    """Day a's interval from release 2 (0-10) was attained by witnesses that moved region r's
    count, which release 6 now shows: both break. Day d, new this release, is shown, so no
    mend; but day c, a release older, can make up the difference (10 or 0 of its 20), so both
    ends stand. The program that repairs them holds every older cell as the broken witness had
    it (day e's move too, which the nearest point to the truth would not make) and moves day c
    alone. No program over the whole history."""
    model = two_regions_at_release_six((12, 11.0, 11.0), day_c_shown=False)
    low = {0: (-6, 6), 2: (2, -2)}
    carried = {(DAY_A.cells, POSITIVE): Known(Interval(0, 10), low, {0: (4, -4)}, frozenset())}

    def whole_history(*args: object) -> None:
        raise AssertionError("the recent cells were enough")

    monkeypatch.setattr(model, "_nearest", whole_history)
    assert model.carry(carried) == 1
    taken = model.known(DAY_A)
    assert taken.interval == Interval(0, 10)
    assert taken.low == {0: (-6, 6), 2: (2, -2), 3: (6, -6)}
    assert taken.high == {0: (4, -4), 3: (-4, 4)}
    assert agrees_with_every_figure(model, taken.low) and agrees_with_every_figure(
        model, taken.high
    )
    fresh = two_regions_at_release_six((12, 11.0, 11.0), day_c_shown=False)
    assert fresh.interval(DAY_A) == Interval(0, 10)


def test_a_broken_end_the_recent_cells_cannot_repair_is_repaired_over_the_whole_history():
    """As above, but day c's count is shown (nothing recent can move) and day b's withheld (20
    respondents): only day b, older than the last four releases, can make up the difference
    (17 or 7 of its 20). The whole history's nearest point repairs both ends."""
    model = two_regions_at_release_six((20, *OPEN), day_c_shown=True)
    assert model._recent_repair({0: (-6, 6)}, *model._signed(DAY_A.cells, POSITIVE)[:2], -6) is None
    low = {0: (-6, 6), 2: (2, -2)}
    carried = {(DAY_A.cells, POSITIVE): Known(Interval(0, 10), low, {0: (4, -4)}, frozenset())}
    assert model.carry(carried) == 1
    taken = model.known(DAY_A)
    assert taken.interval == Interval(0, 10)
    assert taken.low == {0: (-6, 6), 1: (6, -6)} and taken.high == {0: (4, -4), 1: (-4, 4)}
    fresh = two_regions_at_release_six((20, *OPEN), day_c_shown=True)
    assert fresh.interval(DAY_A) == Interval(0, 10)


def rounded_release_two(
    day_c: tuple[int, int],
    day_c_figure: tuple[float, float, float, float],
    region: tuple[float, float, float, float],
) -> ItemModel:
    """`one_region` with its positive count rounded to 15-19 (so day b holds 9-12, its fewest
    17 - 2), a release later under rounding to 5: day c (n, positive) has joined the region,
    whose figure is as given."""
    n, k = np.array([10, 12, day_c[0]]), np.array([6, 11, day_c[1]])
    families = [
        Family(np.array([0]), np.array([1]), current=exact_figure(10, 6)),
        Family(np.array([1]), np.array([1]), current=count_withheld(12)),
        Family(np.array([2]), np.array([2]), current=day_c_figure),
        Family(
            np.array([0, 1, 2]),
            np.array([1, 1, 2]),
            {2: [22.0, 22.0, 15.0, 19.0]},
            current=region,
        ),
    ]
    return ItemModel(np.array([1, 1, 2]), n, k, families, release_no=2, rounding=5)


def mended_day_b(second: ItemModel) -> Known:
    """Day b's interval of release 1 carried into `second`, checked to need no program."""
    known = one_region((15.0, 19.0)).known(DAY_B)
    assert known.interval == Interval(9, 12) and known.low == {1: (-2, 2)}
    carried = {((1,), POSITIVE): Known(known.interval, known.low, known.high, frozenset())}
    assert second.carry(carried) == 1
    assert second.solves == 0
    taken = second.known(DAY_B)
    assert taken.tight and taken.interval == Interval(9, 12)
    assert taken.high == known.high, "the most still agrees"
    return taken


def test_a_witness_a_rounded_total_no_longer_allows_is_mended_by_the_least_move_of_a_new_day():
    """Release 2 adds day c (2 of 5, count withheld) and rounds the region's new count (19) to
    18-22: day b's fewest-witness leaves it at 17, outside. One more positive answer on day c,
    the least that brings the region back to 18, mends it: the end stands with no program,
    and it is the exact one."""
    figures = ((5, 2), count_withheld(5), (27.0, 27.0, 18.0, 22.0))
    taken = mended_day_b(rounded_release_two(*figures))
    assert taken.low == {1: (-2, 2), 2: (1, -1)}, "one answer on day c, not two"
    assert rounded_release_two(*figures).interval(DAY_B) == Interval(9, 12)


def test_a_mend_moves_n_too_when_the_new_day_has_no_other_answer_to_give():
    """As above, but day c is 5 of 5 and its n is rounded too (3-7), and so is the region's
    (25-29; its positive count 22 to 22-26). Day b's fewest leaves the region at 20: day c
    needs two more positive answers and has no not-positive one to turn, so its n rises by
    two, which its own figure and the region's allow. Still no program."""
    figures = ((5, 5), (3.0, 7.0, *OPEN), (25.0, 29.0, 22.0, 26.0))
    taken = mended_day_b(rounded_release_two(*figures))
    assert taken.low == {1: (-2, 2), 2: (2, 0)}
    assert rounded_release_two(*figures).interval(DAY_B) == Interval(9, 12)


def release_two_of_one_region(region: tuple[float, float, float, float]) -> ItemModel:
    """`one_region` a release later: day c (5 of 5, shown) has joined the region, whose n
    (27) and positive count are as given; release 1 showed its n (22) and withheld its count."""
    n, k = np.array([10, 12, 5]), np.array([6, 11, 5])
    families = [
        Family(np.array([0]), np.array([1]), current=exact_figure(10, 6)),
        Family(np.array([1]), np.array([1]), current=count_withheld(12)),
        Family(np.array([2]), np.array([2]), current=exact_figure(5, 5)),
        Family(np.array([0, 1, 2]), np.array([1, 1, 2]), {2: [22.0, 22.0, *OPEN]}, current=region),
    ]
    return ItemModel(np.array([1, 1, 2]), n, k, families, release_no=2)


def test_a_broken_end_falls_back_to_the_truth_where_an_interval_inside_the_exact_one_is_enough():
    """Release 2 shows the region's positive count as 15-30 (day b's 0 no longer fits; its 12
    does). For a count no table bounds, an interval the attacker must allow that passes is proof
    enough: the truth (11) takes the broken end's place, without a program, and the interval
    is kept as a certificate, not as exact; asked for exactly, it is solved."""
    first = one_region(OPEN)
    known = first.known(DAY_B)
    assert known.interval == Interval(0, 12)
    carried = {((1,), POSITIVE): Known(known.interval, known.low, known.high, frozenset())}
    region = (27.0, 27.0, 15.0, 30.0)

    model = release_two_of_one_region(region)
    assert model.carry(carried, lambda key, interval: interval.width >= 1) == 1
    assert model.solves == 0
    certificate = model.certificate(DAY_B)
    assert certificate is not None and not certificate.tight
    assert certificate.interval == Interval(11, 12)
    assert certificate.low == {} and certificate.high == known.high
    assert (
        model.interval(DAY_B)
        == Interval(4, 12)
        == release_two_of_one_region(region).interval(DAY_B)
    )

    demanding = release_two_of_one_region(region)
    assert demanding.carry(carried, lambda key, interval: interval.width >= 5) == 0, (
        "0 is out of reach now, so the end is not carried but solved again"
    )
    assert demanding.interval(DAY_B) == Interval(4, 12)


def test_a_broken_end_that_another_count_s_witness_attains_stands_without_a_program():
    """Day b's n is shown, so its fewest positives (0) is its most not-positive answers (12):
    the assignment that is the positive count's low witness is the not-positive count's high
    one. When the not-positive count's own witness breaks (it moved day c, now shown), the
    positive count's, still standing, keeps the end exact, and no program runs."""
    first = one_region(OPEN)
    positive = first.known(DAY_B)
    assert positive.low == {1: (-11, 11)}
    not_positive = Quantity((1,), NEGATIVE)
    carried = {
        ((1,), NEGATIVE): Known(
            Interval(0, 12), {1: (1, -1)}, {1: (-11, 11), 2: (-1, 1)}, frozenset()
        ),
        ((1,), POSITIVE): Known(positive.interval, positive.low, positive.high, frozenset()),
    }
    model = release_two_of_one_region(count_withheld(27))
    assert model.carry(carried) == 2
    assert model.solves == 0
    taken = model.known(not_positive)
    assert taken.tight and taken.interval == Interval(0, 12) and taken.high == positive.low
    assert model.solves == 0
    assert release_two_of_one_region(count_withheld(27)).interval(not_positive) == Interval(0, 12)


def test_a_count_s_standing_values_come_from_the_witnesses_kept_with_no_program():
    """Day b's positive count solved (0 and 12) leaves its assignments standing. Day b's n is
    shown, so under them its not-positive count takes 12 and 0, the truth 1: the interval the
    standing assignments give, with no program, and here the exact one too."""
    model = one_region(OPEN)
    positive = model.known(DAY_B)
    solves = model.solves
    standing = model.standing(Quantity((1,), NEGATIVE))
    assert model.solves == solves
    assert (
        standing.interval == Interval(0, 12) == one_region(OPEN).interval(Quantity((1,), NEGATIVE))
    )
    assert not standing.tight
    assert standing.low == positive.high and standing.high == positive.low
    assert model.standing(Quantity((0,), POSITIVE)).interval == Interval(6, 6), (
        "day a is shown: nothing standing moves it"
    )


def four_days_two_regions() -> ItemModel:
    """Region r's days 0-1 and region s's days 2-3, every day's count withheld, each region's
    n and positive count shown and the national positive count only as 27-31: an attacker moves
    answers between days, and across regions within the national window, so the witnesses
    each change several cells, some inside a given group of days and some outside it."""
    n, k = np.array([10, 12, 8, 9]), np.array([6, 11, 5, 7])
    families = [
        *(Family(np.array([c]), np.array([1]), current=count_withheld(n[c])) for c in range(4)),
        Family(np.array([0, 1]), np.array([1, 1]), current=exact_figure(22, 17)),
        Family(np.array([2, 3]), np.array([1, 1]), current=exact_figure(17, 12)),
        Family(np.arange(4), np.ones(4, dtype=int), current=(39.0, 39.0, 27.0, 31.0)),
    ]
    return ItemModel(np.ones(4, dtype=int), n, k, families, release_no=1)


@pytest.mark.parametrize(
    "cells, measure",
    [
        ((0, 2), POSITIVE),
        ((1, 3), POSITIVE),
        ((1, 2, 3), POSITIVE),
        ((0, 3), NEGATIVE),
        ((0, 1, 3), NEGATIVE),
        ((0, 1, 2), BOTH),
    ],
)
def test_a_count_of_many_cells_stands_at_every_kept_witness_s_change_inside_it(cells, measure):
    """A count of several cells takes, under each kept witness, the truth plus that witness's
    changes of the count's own cells, and none of its changes elsewhere: the standing interval
    is the least and most of those over the truth and every witness touching the count, and
    its witnesses attain its ends."""
    model = four_days_two_regions()
    kept = [model.known(Quantity((c,), m)) for c in range(4) for m in (POSITIVE, NEGATIVE)]
    witnesses = [w for known in kept for w in (known.low, known.high) if w]
    assert any(len(w) > 1 and not set(w) <= set(cells) for w in witnesses)
    per_k, per_g = {POSITIVE: (1, 0), NEGATIVE: (0, 1), BOTH: (1, 1)}[measure]
    true = {POSITIVE: [6, 11, 5, 7], NEGATIVE: [4, 1, 3, 2], BOTH: [10, 12, 8, 9]}[measure]
    truth = sum(true[c] for c in cells)

    def value(witness: dict[int, tuple[int, int]]) -> int:
        return truth + sum(per_k * w[0] + per_g * w[1] for c, w in witness.items() if c in cells)

    values = [truth, *(value(w) for w in witnesses if set(w) & set(cells))]
    solves = model.solves
    standing = model.standing(Quantity(cells, measure))
    assert model.solves == solves
    assert standing.interval == Interval(min(values), max(values))
    assert value(standing.low) == min(values) and value(standing.high) == max(values)
    assert standing.interval.lo >= (exact := model.interval(Quantity(cells, measure))).lo
    assert standing.interval.hi <= exact.hi


REGION_FIGURES = {
    4: [exact_figure(22, 17), count_withheld(22), (22.0, 22.0, 15.0, 19.0)],
    5: [exact_figure(17, 12), count_withheld(17), (17.0, 17.0, 10.0, 14.0)],
    6: [(39.0, 39.0, 27.0, 31.0), exact_figure(39, 29), count_withheld(39)],
}
"""Figures each region (4, 5) and the nation (6) of `four_days_two_regions` may show, all
true: exactly, its count withheld, or its count within a window."""
GROUPS = [(c,) for c in range(4)] + [(0, 2), (1, 3), (1, 2, 3), (0, 1, 2, 3)]


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.one_of(
            st.tuples(
                st.just("ask"), st.sampled_from(GROUPS), st.sampled_from([POSITIVE, NEGATIVE, BOTH])
            ),
            st.tuples(st.just("show"), st.sampled_from([4, 5, 6]), st.integers(0, 2)),
            st.tuples(st.just("try"), st.sampled_from([4, 5, 6]), st.integers(0, 2)),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_the_standing_assignments_are_the_witnesses_of_the_counts_known_now(steps):
    """Whatever was asked, shown, tried and undone (a trial's figure is set, its counts asked,
    then everything put back, as pruning does), a count's standing values are the least and
    most it takes under the truth and the witnesses of the counts known at that moment, and
    no other: a witness whose count was forgotten (a figure it broke) is not looked at, one
    brought back by a rollback is. The assignments named attain the values."""
    model = four_days_two_regions()
    for step in steps:
        note(str(step))
        if step[0] == "ask":
            model.known(Quantity(step[1], step[2]))
        elif step[0] == "show":
            model.set_current(step[1], REGION_FIGURES[step[1]][step[2]])
        else:
            before = model.families[step[1]].current
            model.savepoint()
            model.set_current(step[1], REGION_FIGURES[step[1]][step[2]])
            for cells in GROUPS[:4]:
                model.known(Quantity(cells, POSITIVE))
            model.set_current(step[1], before)
            model.rollback()
        kept = [w for known in model._known.values() for w in (known.low, known.high) if w]
        for cells, measure in itertools.product(GROUPS, (POSITIVE, NEGATIVE, BOTH)):
            values = [
                value_under({}, cells, measure),
                *(value_under(w, cells, measure) for w in kept),
            ]
            standing = model.standing(Quantity(cells, measure))
            assert standing.interval == Interval(min(values), max(values)), (cells, measure)
            assert value_under(standing.low, cells, measure) == min(values)
            assert value_under(standing.high, cells, measure) == max(values)
            for witness in (standing.low, standing.high):
                assert witness == {} or any(witness is w for w in kept)


@pytest.mark.parametrize("national", REGION_FIGURES[6])
def test_the_standing_assignments_after_a_carry_are_the_witnesses_taken_over(national):
    """The witnesses a release takes over are filed all at once: a count's standing values are
    then the least and most under the truth and every witness of the counts taken over (those
    a figure broke and nothing stood in for are not), as they are for counts learnt one by one."""
    first = four_days_two_regions()
    entries = {}
    for cells, measure in itertools.product(GROUPS, (POSITIVE, NEGATIVE, BOTH)):
        known = first.known(Quantity(cells, measure))
        entries[(cells, measure)] = Known(known.interval, known.low, known.high, frozenset())
    second = four_days_two_regions()
    second.set_current(6, national)
    second.carry(entries)
    kept = [w for known in second._known.values() for w in (known.low, known.high) if w]
    assert kept
    for cells, measure in itertools.product(GROUPS, (POSITIVE, NEGATIVE, BOTH)):
        values = [value_under({}, cells, measure), *(value_under(w, cells, measure) for w in kept)]
        standing = second.standing(Quantity(cells, measure))
        assert standing.interval == Interval(min(values), max(values)), (cells, measure)
        assert value_under(standing.low, cells, measure) == min(values)
        assert value_under(standing.high, cells, measure) == max(values)


def value_under(witness: dict[int, tuple[int, int]], cells: tuple[int, ...], measure: str) -> int:
    """A count of `four_days_two_regions` under an assignment: the truth plus its changes there."""
    true = {POSITIVE: [6, 11, 5, 7], NEGATIVE: [4, 1, 3, 2], BOTH: [10, 12, 8, 9]}[measure]
    per_k, per_g = {POSITIVE: (1, 0), NEGATIVE: (0, 1), BOTH: (1, 1)}[measure]
    return sum(true[c] for c in cells) + sum(
        per_k * dk + per_g * dg for c, (dk, dg) in witness.items() if c in cells
    )


def test_a_figure_withheld_for_good_leaves_the_program_and_no_interval_moves():
    """One region over two releases: day a shown (4, 2 positive), day b withheld whole, day c
    (release 2) its count withheld; the region withheld in release 1 and shown (9, 5) in
    release 2; days b and c together (another table) 0-2 positive in release 1 when only day b
    had arrived, withheld now. Release 1's withheld figure and the settled days' open figures
    bound nothing, so they get no column; the figure of 0-2 does. Every interval is still that
    of every integer assignment."""
    n, k = np.array([4, 3, 2]), np.array([2, 1, 2])

    def model(settled: tuple[int, ...]) -> ItemModel:
        families = [
            Family(np.array([0]), np.array([1]), current=exact_figure(4, 2)),
            Family(np.array([1]), np.array([1]), current=(*OPEN, *OPEN)),
            Family(np.array([2]), np.array([2]), current=count_withheld(2)),
            Family(
                np.array([0, 1, 2]),
                np.array([1, 1, 2]),
                {2: [*OPEN, *OPEN]},
                current=exact_figure(9, 5),
            ),
            Family(np.array([1, 2]), np.array([1, 2]), {1: [*OPEN, 0.0, 2.0]}, current=OPEN * 2),
        ]
        return ItemModel(np.array([1, 1, 2]), n, k, families, release_no=2, settled=settled)

    every = [
        (k0, k1, k2)
        for k0, k1, k2 in itertools.product(range(5), range(4), range(3))
        if k0 == 2 and k0 + k1 + k2 == 5 and k1 <= 2
    ]
    lean, full = model(settled=(1, 2)), model(settled=())
    assert lean._highs.getNumCol() < full._highs.getNumCol()
    for cell in (1, 2):
        values = [assignment[cell] for assignment in every]
        quantity = Quantity((cell,), POSITIVE)
        assert lean.interval(quantity) == full.interval(quantity)
        assert lean.interval(quantity) == Interval(min(values), max(values))
    assert lean.interval(Quantity((1,), BOTH)) == Interval(3, 3), "9 - 4 - 2"


def test_a_settled_figure_that_is_shown_after_all_is_refused():
    """A family settled as withheld has no column to bound: showing it instead would be a
    constraint the attacker's model silently lacks, so it is an error, not a no-op."""
    n, k = np.array([4, 3]), np.array([2, 1])
    families = [
        Family(np.array([0]), np.array([1]), current=exact_figure(4, 2)),
        Family(np.array([1]), np.array([1]), current=(*OPEN, *OPEN)),
        Family(np.array([0, 1]), np.array([1, 1]), current=(7.0, 7.0, *OPEN)),
    ]
    model = ItemModel(np.array([1, 1]), n, k, families, release_no=1, settled=(1,))
    model.set_current(1, (*OPEN, *OPEN))  # as it was: nothing to bound
    with pytest.raises(RuntimeError, match="settled"):
        model.set_current(1, exact_figure(3, 1))


def withheld_day_b(
    region: tuple[float, float, float, float], day_a: tuple[float, ...]
) -> ItemModel:
    """Release 1 of one region: day a (6 of 10) and day b (11 of 12, withheld whole), each
    figure as given."""
    n, k = np.array([10, 12]), np.array([6, 11])
    families = [
        Family(np.array([0]), np.array([1]), current=day_a),  # type: ignore[arg-type]
        Family(np.array([1]), np.array([1]), current=(*OPEN, *OPEN)),
        Family(np.array([0, 1]), np.array([1, 1]), current=region),
    ]
    return ItemModel(np.array([1, 1]), n, k, families, release_no=1)


DAY_B_N = Quantity((1,), BOTH)


def release_two_of_withheld_day_b(region: tuple[float, float, float, float]) -> ItemModel:
    """`withheld_day_b` (day a shown) a release later: day c (5 of 5, shown) has joined the
    region, whose figure is as given; release 1 withheld the region whole."""
    n, k = np.array([10, 12, 5]), np.array([6, 11, 5])
    families = [
        Family(np.array([0]), np.array([1]), current=exact_figure(10, 6)),
        Family(np.array([1]), np.array([1]), current=(*OPEN, *OPEN)),
        Family(np.array([2]), np.array([2]), current=exact_figure(5, 5)),
        Family(np.array([0, 1, 2]), np.array([1, 1, 2]), {2: [*OPEN, *OPEN]}, current=region),
    ]
    return ItemModel(np.array([1, 1, 2]), n, k, families, release_no=2)


def test_a_count_no_figure_bounds_above_is_open_and_its_open_end_needs_no_program(monkeypatch):
    """Day b's n: no figure holding it is bounded above, so it is open above, found by looking
    at the figures. The program finds the same interval, with one program more."""
    looked = withheld_day_b((*OPEN, *OPEN), exact_figure(10, 6))
    known = looked.known(DAY_B_N)
    assert known.interval == Interval(1, None)
    assert known.high is None and known.rising == 1
    monkeypatch.setattr(ItemModel, "_rising", lambda *_: None)
    solved = withheld_day_b((*OPEN, *OPEN), exact_figure(10, 6))
    assert solved.interval(DAY_B_N) == Interval(1, None)
    assert looked.solves == solved.solves - 1


def test_an_open_count_stays_open_while_figures_hold_its_rising_cell_unbounded():
    """Showing day a's count (a row without day b) leaves day b's n open with no program;
    showing the region's n (a row holding day b) closes it: 22 - 10."""
    model = withheld_day_b((*OPEN, *OPEN), count_withheld(10))
    assert model.interval(DAY_B_N) == Interval(1, None)
    solves = model.solves
    model.set_current(0, exact_figure(10, 6))
    assert model.certified(DAY_B_N) == Interval(1, None)
    assert model.solves == solves
    model.set_current(2, (22.0, 22.0, *OPEN))
    assert model.certified(DAY_B_N) is None, "the region's n bounds day b"
    assert model.interval(DAY_B_N) == Interval(12, 12)


def test_an_open_count_closes_when_a_figure_bounds_its_rising_cell_and_its_witness_still_fits():
    """Day b's positive count, open above, its fewest (0) on an assignment taking 11 answers
    from day b. Showing the region's positive count as at most 17 leaves that assignment
    agreeing (17 - 11 = 6 positive answers, within it) but bounds day b's: the open interval
    is let go on its rising cell alone, and is 0-11 (17 less day a's 6)."""
    model = withheld_day_b((*OPEN, *OPEN), exact_figure(10, 6))
    day_b = Quantity((1,), POSITIVE)
    assert model.interval(day_b) == Interval(0, None)
    model.set_current(2, (-INF, INF, 0.0, 17.0))
    assert model.certified(day_b) is None
    assert model.interval(day_b) == Interval(0, 11)


def test_the_next_release_takes_over_an_open_interval_only_while_it_is_still_open():
    """Release 2 adds day c (5 of 5, shown). Day b's n, open in release 1, is taken over with
    no program while the region's n stays withheld; once the region's n is shown (27) it is
    not, and it is 27 - 10 - 5."""
    first = withheld_day_b((*OPEN, *OPEN), exact_figure(10, 6))
    known = first.known(DAY_B_N)
    carried = {((1,), BOTH): Known(known.interval, known.low, None, frozenset())}
    still_withheld = release_two_of_withheld_day_b((*OPEN, *OPEN))
    assert still_withheld.carry(carried) == 1
    assert still_withheld.interval(DAY_B_N) == Interval(1, None)
    assert still_withheld.solves == 0
    shown = release_two_of_withheld_day_b((27.0, 27.0, *OPEN))
    assert shown.carry(carried) == 0
    assert shown.interval(DAY_B_N) == Interval(12, 12)


def test_an_open_interval_whose_low_end_no_longer_fits_is_solved_again():
    """Release 2 adds day c (5 of 5, shown) and tells that the region had 20-25 positive
    answers, its n still withheld. Day b's n stays open above, but release 1's assignment for
    its fewest (1) leaves the region at most 6 + 1 + 5 positive answers: it no longer fits,
    and day b, holding at least 20 - 6 - 5 positive answers, had at least 9 respondents."""
    first = withheld_day_b((*OPEN, *OPEN), exact_figure(10, 6))
    known = first.known(DAY_B_N)
    assert known.interval == Interval(1, None)
    second = release_two_of_withheld_day_b((*OPEN, 20.0, 25.0))
    carried = {((1,), BOTH): Known(known.interval, known.low, None, frozenset())}
    assert second.carry(carried) == 0
    assert second.interval(DAY_B_N) == Interval(9, None)


@st.composite
def small_models(draw: st.DrawFn) -> tuple[Callable[[], ItemModel], list[Quantity]]:
    """Two or three cells over two releases; each cell's own row and one or two rows of several
    cells, each figure withheld, its n shown, its count alone bounded, shown or shown within a
    window (as rounding does); a row that grew may carry release 1's figure of its first
    cells. Every figure holds the truth. The quantities: each cell's and each row's, in every
    measure. Returns a maker of the model (each call a model of its own) and the quantities."""
    size = draw(st.integers(2, 3))
    n = np.array(draw(st.lists(st.integers(1, 9), min_size=size, max_size=size)))
    k = np.array([draw(st.integers(0, int(v))) for v in n])
    arrivals = np.array(sorted(draw(st.lists(st.integers(1, 2), min_size=size, max_size=size))))

    def figure(cells: list[int]) -> list[float]:
        total_n, total_k = float(n[cells].sum()), float(k[cells].sum())
        kind = draw(st.sampled_from(["withheld", "n shown", "count bounded", "shown", "window"]))
        below, above = draw(st.integers(0, 2)), draw(st.integers(0, 2))
        if kind == "withheld":
            return [*OPEN, *OPEN]
        if kind == "n shown":
            return [total_n, total_n, *OPEN]
        if kind == "count bounded":
            return [*OPEN, max(0.0, total_k - below), total_k + above]
        if kind == "shown":
            return [total_n, total_n, total_k, total_k]
        return [total_n - below, total_n + above, max(0.0, total_k - below), total_k + above]

    rows = [[cell] for cell in range(size)]
    rows += draw(
        st.lists(
            st.lists(st.integers(0, size - 1), min_size=2, max_size=size, unique=True).map(sorted),
            min_size=1,
            max_size=2,
        )
    )
    figures = []
    for cells in rows:
        earlier = {}
        first = [c for c in cells if arrivals[c] == 1]
        if 0 < len(first) < len(cells) and draw(st.booleans()):
            earlier[len(first)] = figure(first)
        figures.append((earlier, tuple(figure(cells))))

    note(f"n={n.tolist()} k={k.tolist()} arrivals={arrivals.tolist()}")
    note(f"rows and their figures (earlier, current): {list(zip(rows, figures, strict=True))}")

    def make() -> ItemModel:
        families = [
            Family(np.array(cells), arrivals[cells], dict(earlier), current=current)  # type: ignore[arg-type]
            for cells, (earlier, current) in zip(rows, figures, strict=True)
        ]
        return ItemModel(arrivals, n, k, families, release_no=2)

    quantities = [
        Quantity(tuple(cells), measure) for cells in rows for measure in (BOTH, POSITIVE, NEGATIVE)
    ]
    return make, quantities


@settings(max_examples=150, deadline=None)
@given(drawn=small_models())
def test_a_count_is_found_open_above_by_looking_exactly_when_the_program_finds_it_open(
    drawn: tuple[Callable[[], ItemModel], list[Quantity]],
) -> None:
    """Without withdrawals, a count is open above exactly when one of its cells' counts can
    rise with no figure holding it bounded above: the interval is the program's either way."""
    make, quantities = drawn
    looked = make()
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(ItemModel, "_rising", lambda *_: None)
        solved = make()
        by_program = [solved.interval(q) for q in quantities]
    event(f"open above: {sum(i.hi is None for i in by_program) > 0}")
    for quantity, expected in zip(quantities, by_program, strict=True):
        known = looked.known(quantity)
        assert known.interval == expected, quantity
        if expected.hi is None:
            assert known.rising is not None, quantity


def test_making_and_solving_models_prints_nothing():
    """HiGHS prints a banner when a process makes its first model; it would head the output of
    every run (`reflect-eval run`, `make demo`)."""
    code = (
        "import numpy as np\n"
        "from transforms.privacy.audit import POSITIVE, Family, ItemModel, Quantity\n"
        "family = Family(np.array([0]), np.array([1]), current=(5.0, 5.0, 2.0, 2.0))\n"
        "model = ItemModel(np.array([1]), np.array([5]), np.array([2]), [family], release_no=1)\n"
        "assert model.interval(Quantity((0,), POSITIVE)).lo == 2\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert (done.stdout, done.stderr) == ("", "")
