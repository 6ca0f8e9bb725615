"""The attacker's view of one item: exact integer intervals over every published figure of every
release, kept up to date while the engine decides this release's figures.

Every published figure is a *prefix* of a family: a table row's cells sorted by arrival, of
which release R saw those that had arrived by R. The attacker's best knowledge of a quantity
(a sum of cells' positive, not-positive or respondent counts) is the interval [min, max] of it
over every non-negative integer assignment of the cells that agrees with every figure (a
rounded figure is an interval) and gives every cell at least one respondent. A withdrawal cell
(a replaced file's respondents counted out again, `transforms.privacy.tables`) is the same with
the signs turned: its counts are zero or below, it withdraws at least one respondent, and the
withdrawals from one cell together take, answer by answer, no more than that cell holds.

One linear program per item holds the whole history, written in *differences from the truth*
(each cell's positive and not-positive counts as truth + up - down) and chained along each
family (each published prefix is a column, equal to the prefix before it plus the cells
between), so it stays as sparse as the cells themselves and a figure of this release is just
the bounds of one column. Counts that earlier releases pin down leave the program,
prefixes with nothing open between them share a column, and a figure that bounds nothing (a
prefix withheld in its release, or a row whose withholding this release cannot undo) has none:
its cells join the next prefix's row. Most rows of a long history are withheld rows of past
months (under `gmc-sdc` at release 101 one item's prefix columns go from 2,566 to 814), and
every solve costs in proportion to the program's size. An end of an interval is its linear
optimum rounded inwards (no integer point lies beyond it) once an integer assignment attains
that value:

- the assignment is kept as the end's *witness*: the linear optimum itself when it is an
  integer point, else the one nearest the truth (least total difference) that a second
  program finds attaining the rounded value. Replacing an integer optimum by the nearest
  one too would make later figures disagree with it a little less often, but costs more
  than it saves: a second program for every end, where only a witness that a release's
  figures contradict needs one (`carry`);
- when no integer point attains it, HiGHS solves the integer program for that end.

What makes a long history cheap is what is kept between questions and between releases:

- a figure made *tighter* (shown where it was withheld) leaves an end exactly where it was as
  long as the end's witness still agrees with it: the optimum over fewer assignments that
  still include the optimal one;
- a figure made *looser* (withheld) leaves an end where it was when the figure's column had no
  reduced cost at the end's optimum: the optimal basis stays optimal. Each end keeps the
  figures of this release it rests on (its *binding* figures); only those can widen it, which
  is also all the engine needs to try when it looks for a cover;
- the next release holds every figure of this one (they are history) plus the new ones, so an
  end can only move inwards: it is carried over when its witness agrees with the new figures,
  or when one program finds another integer assignment attaining it under them."""

from __future__ import annotations

import array
import contextlib
import itertools
import math
import os
import sys
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field, replace

import highspy
import numpy as np
from scipy import sparse

INF = highspy.kHighsInf
EPS = 1e-6
_DUAL, _PRIMAL = 1, 4
"""HiGHS's `simplex_strategy` values: the ends' program runs primal, the nearest point's dual."""
BOTH, POSITIVE, NEGATIVE = "respondents", "positive", "not_positive"
RECENT_RELEASES = 4
"""The releases whose cells a repair moves first (`ItemModel._recent_repair`): under
`opensafely` at release 60, one release repaired 1,083 of 1,497 broken ends, four 1,188 of
1,520 and six 1,196 of 1,520, each release in about the same time."""
WIDE_WITNESS = 40
"""Cells an end's whole linear optimum may change and still be kept as its witness; one that
changes more is traded for the assignment nearest the truth that attains the end (`_end`).
Under `opensafely` from the history saved at release 14, releases 15-30 took 156 s keeping
every optimum, 158 s with this and 169 s asking for the nearest point after every end."""

Witness = dict[int, tuple[int, int]]
"""An assignment the attacker must allow, as its difference from the truth per cell:
cell -> (positive difference, not-positive difference); cells not listed are as they are."""
_Entries = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Witnesses' changes as arrays: per change, the witness's place in its list, the cell, and
the positive and not-positive difference."""


@dataclass(frozen=True)
class Interval:
    lo: int
    hi: int | None
    """None: no upper bound can be derived."""

    @property
    def width(self) -> float:
        return float("inf") if self.hi is None else self.hi - self.lo


@dataclass
class Family:
    """One table row: its cells sorted by arrival and what each release published of them.
    `figures[m]` holds (n_lo, n_hi, k_lo, k_hi) for the prefix of the first m cells."""

    cells: np.ndarray
    arrivals: np.ndarray
    figures: dict[int, list[float]] = field(default_factory=dict)
    current: tuple[float, float, float, float] | None = None
    """This release's figure of the whole row (set by the engine as it decides)."""

    def figure(self, m: int) -> tuple[float, float, float, float] | None:
        earlier = self.figures.get(m)
        now = self.current if m == len(self.cells) else None
        if earlier is None:
            return now
        if now is None:
            return tuple(earlier)  # type: ignore[return-value]
        return (
            max(earlier[0], now[0]),
            min(earlier[1], now[1]),
            max(earlier[2], now[2]),
            min(earlier[3], now[3]),
        )

    def prefixes(self) -> list[int]:
        """Every prefix with a column: each earlier figure's, and the whole row."""
        return sorted({m for m in self.figures if 0 < m < len(self.cells)} | {len(self.cells)})


def bounds_of(figure: tuple[float, ...], measure: str) -> tuple[float, float]:
    n_lo, n_hi, k_lo, k_hi = figure
    if measure == BOTH:
        return n_lo, n_hi
    if measure == POSITIVE:
        return k_lo, k_hi
    return max(n_lo - k_hi, -INF), min(n_hi - k_lo, INF)


def exact(figure: tuple[float, ...] | None, measure: str) -> bool:
    if figure is None:
        return False
    if measure == NEGATIVE:
        return exact(figure, BOTH) and exact(figure, POSITIVE)
    lo, hi = bounds_of(figure, measure)
    return lo == hi and math.isfinite(lo)


@dataclass(frozen=True)
class Quantity:
    """A sum over cells (sorted) of one measure."""

    cells: tuple[int, ...]
    measure: str


@dataclass
class Known:
    """What is known of one quantity: its interval, and why it still holds."""

    interval: Interval
    low: Witness
    high: Witness | None
    """None: open above."""
    binding: frozenset[int] | None
    """Families whose figure of this release the ends rest on; None: any of them may."""
    exact: bool = True
    """False once a binding figure was loosened: the interval is still attained (the
    witnesses still agree with every figure), so it lies inside the exact one."""
    tight: bool = True
    """False for a certificate: its ends are values the attacker must allow (where a witness
    broke, the truth's or another standing witness's), not the least and most, which is
    proof enough that a protected count no table bounds is wide (`carry`)."""
    rising: int | None = None
    """Open above because this cell's count can rise without end (`ItemModel._rising`); None
    when closed, or open for another reason (a withdrawal's), which no figure is checked
    against."""


@dataclass
class _Recent:
    """The program of the recent cells (`ItemModel._recent_program`)."""

    highs: highspy.Highs
    variables: np.ndarray
    """Its columns, as the whole program's."""
    rows: np.ndarray
    """Its rows, as the whole program's (a target row may follow)."""
    matrix: sparse.csr_array
    """Those rows of the whole program, every column."""
    boundary: np.ndarray
    """Older prefix columns its rows hold."""
    before: tuple[sparse.csr_array, sparse.csr_array]
    """Per boundary column, its respondents' and its positive answers' terms over the cells
    (1 for each cell of its family before its prefix, in the measure it counts)."""
    free: np.ndarray
    """Per column of the whole program, whether it is one of `variables`."""
    moves: np.ndarray
    """Per variable, whether it is a cell's move (else a prefix)."""
    chain: np.ndarray
    """Per row, whether it chains a prefix to the one before it."""
    figures: int = 0
    """The count of figure changes its prefixes' bounds were last set at (`now`)."""
    _truth: dict[bool, highspy.HighsBasis] = field(default_factory=dict)

    def now(self, figures: int, lower: np.ndarray, upper: np.ndarray) -> _Recent:
        """The program under the figures as they stand: its shape does not change with them,
        only its prefixes' bounds (`lower`, `upper`: the whole program's columns'), set again
        when a figure has changed since they were last set."""
        if figures != self.figures:
            prefixes = np.flatnonzero(~self.moves).astype(np.int32)
            columns = self.variables[prefixes]
            self.highs.changeColsBounds(len(prefixes), prefixes, lower[columns], upper[columns])
            self.figures = figures
        return self

    def truth(self, target_row: bool) -> highspy.HighsBasis:
        """The recent cells at the truth (every move nonbasic at zero, each prefix basic, its
        chain row not), the older ones held: dual feasible, so the dual simplex walks only as
        far as the broken rows and the target need."""
        if target_row not in self._truth:
            self._truth[target_row] = _at_truth(self.moves, self.chain, target_row)
        return self._truth[target_row]


@dataclass(frozen=True)
class _End:
    value: int | None
    """None: unbounded."""
    witness: Witness | None
    binding: frozenset[int] | None


_OPEN = _End(None, None, frozenset())
"""An end with no bound: what the program finds when a count can rise without end."""


class _Assignments:
    """Every witness a count was known by, indexed by the cells it changes, with how many
    counts known now hold it: the assignments already standing that `ItemModel._attained`
    looks among, gathered per cell with numpy instead of walking every count of every cell.
    Witnesses are numbered in the order they are learnt, so the lowest number attaining a
    value is the first learnt. Those carried over are filed at once, sorted by cell, in the
    order the carry takes them (`load`); those learnt later, cell by cell as they come
    (`hold`). Every witness filed is kept to the end of the release, so no id is reused."""

    def __init__(self, n_cells: int) -> None:
        self._number: dict[int, int] = {}
        """id(witness) -> its number."""
        self.witnesses: list[Witness] = []
        self.holders = np.zeros(1024, dtype=np.int32)
        """Per witness, how many counts known now hold it."""
        self.held_by: list[dict[_Key, None]] = []
        """Per witness, the counts known now that hold it, in the order they were learnt."""
        self._start = np.zeros(n_cells + 1, dtype=np.int64)
        self._filed = (np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.int32))
        self._later: list[tuple[array.array, array.array, array.array] | None] = [None] * n_cells

    def load(
        self, witnesses: Sequence[Witness | None], entries: _Entries, keep: np.ndarray
    ) -> None:
        """File the carried witnesses `keep` marks (the ones that agree with this release's
        figures, in the order the carry will take them) with their changes, `entries`."""
        position, cells, dk, dg = entries
        numbers = np.full(len(witnesses), -1, dtype=np.int64)
        for at, witness in enumerate(witnesses):
            if witness and keep[at] and id(witness) not in self._number:
                numbers[at] = self._file(witness)
        first = numbers[position] >= 0  # a witness met again was filed where first met
        number = numbers[position][first]
        cells = cells[first]
        old_cells = np.repeat(np.arange(len(self._start) - 1), np.diff(self._start))
        number = np.concatenate([self._filed[0], number])
        cells = np.concatenate([old_cells, cells])
        dk = np.concatenate([self._filed[1], dk[first]])
        dg = np.concatenate([self._filed[2], dg[first]])
        order = np.lexsort((number, cells))
        self._filed = (
            number[order].astype(np.int32),
            dk[order].astype(np.int32),
            dg[order].astype(np.int32),
        )
        self._start[1:] = np.cumsum(np.bincount(cells, minlength=len(self._start) - 1))

    def hold(self, witness: Witness | None, key: _Key) -> None:
        if not witness:
            return
        number = self._number.get(id(witness))
        if number is None:
            number = self._file(witness)
            for cell, (dk, dg) in witness.items():
                later = self._later[cell]
                if later is None:
                    later = (array.array("i"), array.array("i"), array.array("i"))
                    self._later[cell] = later
                later[0].append(number)
                later[1].append(dk)
                later[2].append(dg)
        self.holders[number] += 1
        self.held_by[number][key] = None

    def let_go(self, witness: Witness | None, key: _Key) -> None:
        if witness:
            number = self._number[id(witness)]
            self.holders[number] -= 1
            self.held_by[number].pop(key, None)

    def breaking(self, cells: Sequence[int], row: tuple[float, float, float, float]) -> list[int]:
        """The held witnesses that change `cells`, a row's, so that the row no longer agrees
        with its figure `row` (as differences from the truth), in number order."""
        numbers, dk, dg = self.changes(cells)
        if not len(numbers):
            return []
        numbers, where = np.unique(numbers, return_inverse=True)
        moved_k = np.bincount(where, weights=dk, minlength=len(numbers))
        moved_n = moved_k + np.bincount(where, weights=dg, minlength=len(numbers))
        fits = (
            (row[0] - EPS <= moved_n)
            & (moved_n <= row[1] + EPS)
            & (row[2] - EPS <= moved_k)
            & (moved_k <= row[3] + EPS)
        )
        return numbers[~fits].tolist()

    def changes(self, cells: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every held witness changing any of `cells`: (its number, the positive and the
        not-positive change) per cell it changes among them."""
        start, (number, dk, dg) = self._start, self._filed
        where = np.asarray(cells, dtype=np.int64)
        first, lengths = start[where], start[where + 1] - start[where]
        total = int(lengths.sum())
        parts: list[tuple[np.ndarray, ...]] = []
        if total:
            at = np.repeat(first - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
            parts.append((number[at], dk[at], dg[at]))
        for cell in cells:
            later = self._later[cell]
            if later is not None:
                parts.append(tuple(np.frombuffer(x, dtype=np.int32) for x in later))
        if not parts:
            empty = np.zeros(0, dtype=np.int32)
            return empty, empty, empty
        found = [np.concatenate(column) for column in zip(*parts, strict=True)]
        held = self.holders[found[0]] > 0
        return found[0][held], found[1][held], found[2][held]

    def _file(self, witness: Witness) -> int:
        number = len(self.witnesses)
        self._number[id(witness)] = number
        self.witnesses.append(witness)
        self.held_by.append({})
        if number >= len(self.holders):
            self.holders = np.concatenate([self.holders, np.zeros_like(self.holders)])
        return number


def _first_highs_in_silence() -> None:
    """HiGHS prints its banner to standard output when a process makes its first model, before
    any option can silence it, so it would head every run's output; made here, at import, with
    that output sent nowhere for the moment it takes, later models print nothing."""
    if sys.stdout is not None:
        sys.stdout.flush()
    try:
        kept = os.dup(1)
    except OSError:  # no standard output to protect
        highspy.Highs()
        return
    try:
        with open(os.devnull, "wb") as nowhere:
            os.dup2(nowhere.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(kept, 1)
        os.close(kept)


_first_highs_in_silence()
_Key = tuple[tuple[int, ...], str]
_UNBOUNDED = (
    highspy.HighsModelStatus.kUnbounded,
    highspy.HighsModelStatus.kUnboundedOrInfeasible,
)


class ItemModel:
    """All cells and families of one item; answers exact intervals for the current pattern."""

    def __init__(
        self,
        arrivals: np.ndarray,
        n: np.ndarray,
        k: np.ndarray,
        families: list[Family],
        release_no: int,
        *,
        sources: np.ndarray | None = None,
        settled: Collection[int] = (),
        rounding: int = 1,
    ) -> None:
        """`n` and `k` are each cell's true counts (negative for a withdrawal cell); `sources`,
        per cell, the cell a withdrawal cell withdraws from (-1: an ordinary cell); `settled`,
        families whose figure of this release is already decided (`set_current` will not
        change it); `rounding`, the base shown counts are rounded to (1: shown exactly)."""
        self.arrivals = arrivals
        self.settled = frozenset(settled)
        self.sources = np.full(len(arrivals), -1, dtype=np.int64) if sources is None else sources
        self.withdrawal = self.sources >= 0
        self.families = families
        self.release_no = release_no
        self.rounding = rounding
        self.true = {BOTH: n, POSITIVE: k, NEGATIVE: n - k}
        self.n_cells = len(arrivals)
        self._cum = [
            {m: np.concatenate([[0], np.cumsum(self.true[m][f.cells])]) for m in (BOTH, POSITIVE)}
            for f in families
        ]
        self.families_of: list[list[int]] = [[] for _ in range(self.n_cells)]
        for index, family in enumerate(families):
            for cell in family.cells:
                self.families_of[int(cell)].append(index)
        self._position: dict[int, dict[int, int]] = {}
        self._recent: _Recent | bool | None = None
        """The recent cells' program; False: no cell is recent; None: not built yet."""
        self._figure_changes = 0
        """How many times a figure of this release has changed (`_set_bounds`)."""
        self._highs, self._near = self._build()
        self._truth: dict[bool, highspy.HighsBasis] = {}
        self._objective: np.ndarray = np.zeros(0, dtype=np.int32)
        self._rows_now: list[tuple[float, float, float, float]] | None = None
        """Per family, its whole row's figure as differences from the truth; None: not worked
        out since a figure last changed."""
        self._known: dict[_Key, Known] = {}
        self._assignments = _Assignments(self.n_cells)
        self._spans: dict[int, tuple[Witness, int, int]] = {}
        """Per witness (by id, kept with it), the first and last release of the cells it changes."""
        self._rising_at: defaultdict[int, dict[_Key, None]] = defaultdict(dict)
        """Per cell, the counts open above because it can rise. Counts are kept in dicts used
        as sets, in the order they were learnt: a set of counts named by strings is iterated
        in an order each interpreter draws afresh, and so were witnesses picked among equals
        (from one run to the next, though never an interval or a figure)."""
        self._by_family: defaultdict[int, dict[_Key, None]] = defaultdict(dict)
        self._open: dict[_Key, None] = {}
        """Open above with no cell known to rise: any tighter figure may close them."""
        self._unscreened: dict[_Key, None] = {}
        self._held: dict[tuple[_Key, float], tuple[int, Witness]] = {}
        """Per (count, end: 1.0 least, -1.0 most), an end carried from the last release whose
        other end moved, and the assignment attaining it (`_hold`)."""
        self._journal: list[tuple[str, _Key, Known]] | None = None
        """Changes to what is known since `savepoint`; None: not noted."""
        self.solves = 0

    # -- the public questions ---------------------------------------------------------------

    def interval(self, quantity: Quantity) -> Interval:
        """The exact interval under the current figures."""
        return self._exact(quantity).interval

    def certified(self, quantity: Quantity) -> Interval | None:
        """An interval the attacker must allow (inside the exact one), if one is at hand."""
        known = self.certificate(quantity)
        return None if known is None else known.interval

    def certificate(self, quantity: Quantity) -> Known | None:
        """What is known of the quantity, exact or not (its interval lies inside the exact one)."""
        return self._known.get((quantity.cells, quantity.measure))

    def standing(self, quantity: Quantity) -> Known:
        """The least and most the quantity takes under the assignments already standing (the
        truth and every kept witness touching its cells), with those assignments: all agree
        with the current figures, so the interval lies inside the exact one. No program runs."""
        least, most = self._attained((quantity.cells, quantity.measure))
        return Known(Interval(least[0], most[0]), least[1], most[1], frozenset(), tight=False)

    def keep(self, quantity: Quantity, known: Known) -> None:
        """Keep a certificate found elsewhere (`standing`) until the figures break it."""
        self._remember((quantity.cells, quantity.measure), known)

    def known(self, quantity: Quantity) -> Known:
        return self._exact(quantity)

    def binding(self, quantity: Quantity) -> frozenset[int] | None:
        """The families whose figure of this release can widen the quantity's interval (None:
        any might)."""
        return self._exact(quantity).binding

    def span(self, quantity: Quantity, known: Known | None = None) -> tuple[int, int]:
        """The releases whose cells the quantity and its witnesses (the exact interval's, unless
        `known` is given) touch."""
        known = self._exact(quantity) if known is None else known
        arrivals = self.arrivals[list(quantity.cells)]
        first, last = int(arrivals.min()), int(arrivals.max())
        for witness in (known.low, known.high):
            if witness:
                spanned = self._spans.get(id(witness))
                if spanned is None or spanned[0] is not witness:
                    changed = self.arrivals[list(witness)]
                    spanned = (witness, int(changed.min()), int(changed.max()))
                    self._spans[id(witness)] = spanned
                first, last = min(first, spanned[1]), max(last, spanned[2])
        if known.rising is not None:
            rising = int(self.arrivals[known.rising])
            first, last = min(first, rising), max(last, rising)
        return first, last

    def trial(self, quantity: Quantity, family: int, figure: tuple[float, ...]) -> Interval:
        """The exact interval were `family` to publish `figure` instead; nothing is kept."""
        before = self.families[family].current
        self._set_bounds(family, figure)
        try:
            return self._solve(quantity, kept=False).interval
        finally:
            self._set_bounds(family, before)

    def set_current(self, family: int, figure: tuple[float, float, float, float]) -> None:
        """This release now publishes `figure` for `family`: keep what still holds."""
        of = self.families[family]
        before = of.figure(len(of.cells))
        self._set_bounds(family, figure)
        after = of.figure(len(of.cells))
        old = _as_bounds(before)
        new = _as_bounds(after)
        looser = new[0] < old[0] or new[1] > old[1] or new[2] < old[2] or new[3] > old[3]
        tighter = new[0] > old[0] or new[1] < old[1] or new[2] > old[2] or new[3] < old[3]
        if looser:
            for key in {**self._by_family.get(family, {}), **self._unscreened}:
                known = self._known[key]
                if known.exact and self._journal is not None:
                    self._journal.append(("inexact", key, known))
                known.exact = False
        if tighter:
            row = self._deviation_bounds(family, len(of.cells), after)
            touched = dict(self._open)
            for cell in of.cells:
                touched.update(self._rising_at.get(int(cell), {}))
            broken: set[int] = set()  # ids of the witnesses the figure no longer allows
            for number in self._assignments.breaking(of.cells, row):
                touched.update(self._assignments.held_by[number])
                broken.add(id(self._assignments.witnesses[number]))
            for key in touched:
                known = self._known.get(key)
                if known is None:
                    continue
                if known.high is None:
                    if known.rising is None or id(known.low) in broken:
                        self._forget(key)
                    elif not self._can_rise(known.rising, key[1]):
                        self._forget(key)
                        rising = self._rising(*key)
                        if rising is not None:
                            self._remember(key, replace(known, rising=rising))
                elif id(known.low) in broken or id(known.high) in broken:
                    self._forget(key)

    def savepoint(self) -> None:
        """From here on, note every change to what is known, so `rollback` can undo it."""
        self._journal = []

    def release(self) -> None:
        """Keep what was learnt since the savepoint."""
        self._journal = None

    def rollback(self) -> None:
        """Back to what was known at the savepoint, once the figures are back as they were
        then: what was learnt under other figures goes, what was lost comes back (it held
        under these figures, so it holds again)."""
        journal, self._journal = self._journal or [], None
        for change, key, known in reversed(journal):
            if change == "remembered":
                self._forget(key)
            elif change == "forgot":
                self._remember(key, known)
            else:
                known.exact = True

    def carry(
        self,
        entries: dict[_Key, Known],
        enough: Callable[[_Key, Interval], bool] | None = None,
    ) -> int:
        """Intervals from the last release. This release holds every figure the last one did,
        plus its own, so an end can only have moved inwards: where its witness agrees with this
        release's figures of every row holding a cell it changes, the end stands; otherwise an
        integer assignment attaining the same end under today's figures keeps it standing (one
        program, not the two of solving it again: first over the recent cells alone, the
        older ones held as the broken witness had them, `_recent_repair`; only when that has
        no answer, over the whole history). Either way nothing this release decides can move
        it back out.

        Before any program, a broken end looks among the assignments already standing (the
        truth, and the witnesses of counts sharing a cell; `_standing`): one attaining the same
        end keeps it exact. `enough` says when an interval the attacker must allow is proof
        enough for a quantity (no table publishes its bounds, and it passes): there the
        farthest value those assignments attain takes a broken end's place, and the interval
        is kept as a certificate, not as exact. Returns how many intervals were taken over."""
        usable = sorted(
            ((key, known) for key, known in entries.items() if known.high is not None),
            key=lambda entry: entry[0][1] == NEGATIVE,  # may borrow the positive count's witness
        )
        open_ = [(key, known) for key, known in entries.items() if known.high is None]
        witnesses = [w for _, known in usable for w in (known.low, known.high)] + [
            known.low for _, known in open_
        ]
        changes = self._entries(witnesses)
        agrees = self._agree(witnesses, changes)
        self._assignments.load(witnesses, changes, agrees)
        taken = 0
        for number, (key, known) in enumerate(usable):
            low = known.low if agrees[2 * number] else None
            high = known.high if agrees[2 * number + 1] else None
            standing = self._standing(key, known, low, high, enough)
            if standing is not None:
                self._remember(key, standing)
                taken += 1
        for number, (key, known) in enumerate(open_, start=2 * len(usable)):
            standing = self._standing_open(key, known, agrees[number], enough)
            if standing is not None:
                self._remember(key, standing)
                taken += 1
        return taken

    def _standing_open(
        self,
        key: _Key,
        known: Known,
        agrees: bool,
        enough: Callable[[_Key, Interval], bool] | None,
    ) -> Known | None:
        """A carried interval open above, under today's figures: it stays open while a cell
        of it can still rise without end, and its low end stands as a closed one's does."""
        rising = self._rising(*key)
        if rising is None:
            return None
        lo = known.interval.lo
        low = known.low if agrees else None
        if low is None:
            standing = self.standing(Quantity(*key))
            if standing.interval.lo == lo:
                low = standing.low
            elif enough is not None and enough(key, Interval(standing.interval.lo, None)):
                interval = Interval(standing.interval.lo, None)
                return Known(interval, standing.low, None, frozenset(), tight=False, rising=rising)
            else:
                low = self._mended(known.low, key) or self._repaired(key, lo, known.low)
                if low is None:
                    return None
        return Known(known.interval, low, None, frozenset(), tight=known.tight, rising=rising)

    def _rising(self, cells: tuple[int, ...], measure: str) -> int | None:
        """A cell of the quantity whose count in it can rise without end under the current
        figures, so the quantity has no upper bound, found with no program: an ordinary cell
        no withdrawal touches that no figure holding it bounds above (an earlier figure that
        pins a count of it is such a figure; one that pins its positive count alone leaves its
        not-positive answers, and so its n, free to rise). Without withdrawals, a quantity is
        open above only so: every count is at 0 or above, so a row bounded above holds each of
        its cells' rising counts to a finite most. None when no such cell (the program
        decides)."""
        for cell in cells:
            if cell not in self._linked and self._can_rise(cell, measure):
                return cell
        return None

    def _can_rise(self, cell: int, measure: str) -> bool:
        """Whether `cell`'s count in `measure` can rise without end: every prefix of every row
        holding it is withheld above in n (and in positives, for the positive count). A
        not-positive count rises n alone; a count of respondents rises by either, and
        rising by the not-positive answers asks the least of the figures."""
        for family in self.families_of[cell]:
            of = self.families[family]
            at = self._positions(family)[cell]
            for m in of.prefixes():
                if m <= at:
                    continue
                _, n_hi, _, k_hi = _as_bounds(of.figure(m))
                if n_hi < INF or (measure == POSITIVE and k_hi < INF):
                    return False
        return True

    def _entries(self, witnesses: list[Witness | None]) -> _Entries:
        """The witnesses' changes as arrays, in one pass."""
        sizes = [len(witness) if witness else 0 for witness in witnesses]
        total = sum(sizes)
        given = [witness for witness in witnesses if witness]
        rows = np.repeat(np.arange(len(witnesses)), sizes)
        cells = np.fromiter(itertools.chain.from_iterable(given), dtype=np.int64, count=total)
        changes = np.fromiter(
            itertools.chain.from_iterable(itertools.chain.from_iterable(w.values() for w in given)),
            dtype=np.int64,
            count=2 * total,
        ).reshape(-1, 2)
        return rows, cells, changes[:, 0], changes[:, 1]

    def _agree(self, witnesses: list[Witness | None], entries: _Entries) -> np.ndarray:
        """Per witness, whether it agrees with every family's figure of its whole row, for all
        of them at once: a family's change is the witness's changes summed over its cells, and
        a family it leaves unchanged stands at the truth, which every figure allows."""
        agrees = np.ones(len(witnesses), dtype=bool)
        rows, cells, dk, dg = entries
        if not len(rows):
            return agrees
        shape = (len(witnesses), self.n_cells)
        members = self._membership()
        lo_n, hi_n, lo_k, hi_k = self._whole_bounds()
        dn = np.add(dk, dg)
        for values, lo, hi in ((dn, lo_n, hi_n), (dk, lo_k, hi_k)):
            change = (sparse.csr_array((values, (rows, cells)), shape=shape) @ members).tocoo()
            moved = change.data != 0
            witness, family, delta = change.row[moved], change.col[moved], change.data[moved]
            outside = (delta < lo[family] - EPS) | (delta > hi[family] + EPS)
            agrees[witness[outside]] = False
        links, truths = self._links()
        if links.shape[1]:  # a withdrawal added since may leave too little to withdraw from
            for values, truth in zip((dk, dg), truths, strict=True):
                change = (sparse.csr_array((values, (rows, cells)), shape=shape) @ links).tocoo()
                below = truth[change.col] + change.data < -EPS
                agrees[change.row[below]] = False
        return agrees

    def _links(self) -> tuple[sparse.csr_array, tuple[np.ndarray, ...]]:
        """Cells x cells withdrawn from: 1 for the source and each of its withdrawals; and per
        source, what it and its withdrawals hold together (positive, not positive)."""
        groups = [[source, *withdrawals] for source, withdrawals in self._withdrawn_from().items()]
        cells = [c for group in groups for c in group]
        columns = [j for j, group in enumerate(groups) for _ in group]
        matrix = sparse.csr_array(
            (np.ones(len(cells), dtype=np.int64), (cells, columns)),
            shape=(self.n_cells, len(groups)),
        )
        totals = tuple(
            np.array([self.true[m][group].sum() for group in groups], dtype=np.int64)
            for m in (POSITIVE, NEGATIVE)
        )
        return matrix, totals

    def _membership(self) -> sparse.csr_array:
        """Cells x families: 1 where the family's row holds the cell."""
        families = [f for f, of in enumerate(self.families) for _ in of.cells]
        cells = [int(c) for of in self.families for c in of.cells]
        return sparse.csr_array(
            (np.ones(len(cells), dtype=np.int64), (cells, families)),
            shape=(self.n_cells, len(self.families)),
        )

    def _whole_bounds(self) -> tuple[np.ndarray, ...]:
        """Per family, its whole row's figure as differences from the truth (n, then k)."""
        bounds = np.array(self._row_figures(), dtype=float).reshape(-1, 4)
        return bounds[:, 0], bounds[:, 1], bounds[:, 2], bounds[:, 3]

    def _row_figures(self) -> list[tuple[float, float, float, float]]:
        """Per family, its whole row's figure as differences from the truth (n lo, n hi, k lo,
        k hi), worked out once while the figures stand: carry asks it of every row a broken
        witness changes, each time it mends one."""
        if self._rows_now is None:
            self._rows_now = [self._row_figure(f) for f in range(len(self.families))]
        return self._rows_now

    def _row_figure(self, family: int) -> tuple[float, float, float, float]:
        """One family's whole row's figure as differences from the truth, worked out now."""
        of = self.families[family]
        return self._deviation_bounds(family, len(of.cells), of.figure(len(of.cells)))

    def _standing(
        self,
        key: _Key,
        known: Known,
        low: Witness | None,
        high: Witness | None,
        enough: Callable[[_Key, Interval], bool] | None,
    ) -> Known | None:
        """A carried interval under today's figures, given its witnesses that still agree (None:
        broken). A broken end stands when an assignment already standing attains it; else, where
        `enough` allows, that assignment's value takes its place; else it is repaired."""
        lo, hi = known.interval.lo, known.interval.hi
        if low is None or high is None:
            standing = self.standing(Quantity(*key))
            least, most = standing.interval.lo, standing.interval.hi
            if low is None and least == lo:
                low = standing.low
            if high is None and most == hi:
                high = standing.high
        while low is None or high is None:
            if enough is not None:
                short = Interval(lo if low is not None else least, hi if high is not None else most)
                if enough(key, short):
                    return Known(
                        short,
                        standing.low if low is None else low,
                        standing.high if high is None else high,
                        frozenset(),
                        tight=False,
                    )
            if low is None:
                low = self._mended(known.low, key) or self._repaired(key, lo, known.low)
                if low is None:
                    self._hold(key, known, 1.0, high, hi)
                    return None
            else:
                high = self._mended(known.high, key) or self._repaired(key, hi, known.high)
                if high is None:
                    self._hold(key, known, -1.0, low, lo)
                    return None
        return Known(known.interval, low, high, frozenset(), tight=known.tight)

    def _hold(
        self, key: _Key, known: Known, moved: float, witness: Witness | None, end: int | None
    ) -> None:
        """A carried interval one end of which has moved: the other end, when it stands, is
        held so that solving the interval again runs the program for the moved end alone."""
        if witness is not None and end is not None and known.tight:
            self._held[(key, -moved)] = (end, witness)

    def _held_end(self, key: _Key, sign: float, truth: int) -> _End | None:
        """An end held from the last release (`_hold`) whose assignment still agrees with
        every row's figure: it is still the end, as carried ends are (nothing this release
        decides can move it back out, and the assignment attains it)."""
        held = self._held.get((key, sign))
        if held is None:
            return None
        end, witness = held
        for family, (dn, dk) in self._changes(witness).items():
            if not _agrees(self._row_figure(family), dn, dk):
                return None
        return _End(end - truth, witness, frozenset())

    def _attained(self, key: _Key) -> tuple[tuple[int, Witness], tuple[int, Witness]]:
        """The least and the most the quantity takes under assignments already standing, each
        with the first assignment attaining it: the truth, then every witness of a count
        known now that changes a cell of it, in the order they were first learnt (the same
        day's positive count's fewest is its not-positive count's most when n is shown).
        Gathered cell by cell in numpy (`_Assignments`): walking each cell's counts' witnesses
        in Python took 2.4 s of `opensafely`'s release 101 on one thread, and held the
        interpreter that the other item's thread waited on."""
        cells, measure = key
        single = len(cells) == 1
        sign = -1 if single and self.withdrawal[cells[0]] else 1
        truth = sign * int(self.true[measure][list(cells)].sum())
        least: tuple[int, Witness] = (truth, {})
        most = least
        numbers, dk, dg = self._assignments.changes(cells)
        if not len(numbers):
            return least, most
        values = {POSITIVE: dk, NEGATIVE: dg, BOTH: dk + dg}[measure].astype(np.int64)
        if not single:  # one value per witness: its changes summed over the quantity's cells
            numbers, where = np.unique(numbers, return_inverse=True)
            values = np.bincount(where, weights=values, minlength=len(numbers))
            values = np.rint(values).astype(np.int64)
        values = sign * values
        witnesses = self._assignments.witnesses
        low, high = int(values.min()), int(values.max())
        if low < 0:
            least = (truth + low, witnesses[int(numbers[values == low].min())])
        if high > 0:
            most = (truth + high, witnesses[int(numbers[values == high].min())])
        return least, most

    def _mended(self, witness: Witness, key: _Key) -> Witness | None:
        """A carried witness that a row's new figure disagrees with, mended with no program.
        A row that grew in this release holds cells that arrived in it, which no earlier figure
        holds: moving one of them, outside the quantity, so that every row holding it agrees
        leaves the quantity's value, and so the end, as it was. Repeated while any row the
        witness changes disagrees. Only under rounding: there most carried witnesses a release
        breaks are broken so, by a total shown again with its new month that rounds to a
        window the old difference falls outside. None when some row has no such cell with
        room."""
        if self.rounding == 1 or not witness or not self._linked.isdisjoint(witness):
            return None
        mended = dict(witness)
        inside = set(key[0])
        rows = self._row_figures()
        changes = self._changes(mended)
        for _ in range(len(witness) + 4):
            broken = [f for f in sorted(changes) if not _agrees(rows[f], *changes[f])]
            if not broken:
                return mended
            move = self._mending_move(mended, changes, broken, inside)
            if move is None:
                return None
            cell, change = move  # a cell the witness left as it was
            mended[cell] = change
            self._add_change(changes, cell, change)
        return None

    def _changes(self, witness: Witness) -> dict[int, tuple[int, int]]:
        """Per row holding a cell the witness changes, its change in n and positive count."""
        changes: dict[int, tuple[int, int]] = {}
        for cell, change in witness.items():
            self._add_change(changes, cell, change)
        return changes

    def _add_change(
        self, changes: dict[int, tuple[int, int]], cell: int, change: tuple[int, int]
    ) -> None:
        """Add one cell's (positive, not-positive) change to its rows' changes in `changes`."""
        up_k, up_g = change
        for family in self.families_of[cell]:
            dn, dk = changes.get(family, (0, 0))
            changes[family] = (dn + up_k + up_g, dk + up_k)

    def _mending_move(
        self,
        witness: Witness,
        changes: dict[int, tuple[int, int]],
        broken: list[int],
        inside: set[int],
    ) -> tuple[int, tuple[int, int]] | None:
        """The least change of one new cell of the first broken row after which every row
        holding the cell agrees: (cell, its positive and not-positive change). Each row's
        figure, less the witness's change on it, bounds the cell's change in n and in positive
        answers; the cell's own counts stay at 0 or above and its n at 1 or above. Other broken
        rows with another such cell to mend them by wait their turn."""
        family = broken[0]
        free = self._movable(family, witness, inside)
        later = {f for f in broken[1:] if len(self._movable(f, witness, inside)) > 1}
        rows = self._row_figures()
        for cell in free:
            k = int(self.true[POSITIVE][cell])
            g = int(self.true[NEGATIVE][cell])
            lo_k, hi_k, lo_n, hi_n = -k, INF, 1 - k - g, INF
            for f in self.families_of[cell]:
                if f in later:
                    continue
                dn, dk = changes.get(f, (0, 0))
                f_lo_n, f_hi_n, f_lo_k, f_hi_k = rows[f]
                lo_n, hi_n = max(lo_n, f_lo_n - dn), min(hi_n, f_hi_n - dn)
                lo_k, hi_k = max(lo_k, f_lo_k - dk), min(hi_k, f_hi_k - dk)
            up_k = _inside(0, lo_k, min(hi_k, hi_n + g))
            up_n = _inside(up_k, max(lo_n, up_k - g), hi_n)
            if (
                lo_k - EPS <= up_k <= hi_k + EPS
                and lo_n - EPS <= up_n <= hi_n + EPS
                and up_n - up_k >= -g
            ):
                return cell, shared_change(up_k, up_n - up_k)
        return None

    def _movable(self, family: int, witness: Witness, inside: set[int]) -> list[int]:
        """`family`'s cells new this release that a mend may move: outside the quantity, not
        yet changed by the witness, and free of earlier figures and withdrawals."""
        of = self.families[family]
        return [
            int(c)
            for c in of.cells[of.arrivals == self.release_no]
            if c not in inside and c not in witness and c in self._plain
        ]

    def _repaired(self, key: _Key, end: int | None, broken: Witness) -> Witness | None:
        """An integer assignment attaining `end` under today's figures: the broken witness
        with only its recent cells moved (`_recent_repair`); else, or when that has none, the
        nearest the truth, rounded or shown exactly. Every run of a program costs in
        proportion to its size before its first step (HiGHS checks the model and its answer
        each time: 1.1 ms for no step at all on `opensafely`'s largest whole program at
        release 101), so a failed try over the recent cells costs a fraction of a nearest
        point. Under `acro` at release 101 the recent cells repaired 945 of 1,946 broken
        ends, and releases 61 and 101 from saved histories took 13% and 6% less time, back to
        back, with the same figures (other witnesses, though, so a run from release 1 takes
        another way: see the README's cost section). In an earlier engine, at releases 31-32,
        trying them first under `acro` had made those releases slower (16.3 s against
        15.2-15.8 s)."""
        columns, signs, truth = self._signed(*key)
        if end is None or not len(columns):
            return None
        found = self._recent_repair(broken, columns, signs, end - truth)
        if found is not None:
            return found
        return self._nearest(columns, signs, end - truth)

    def _recent_repair(
        self, broken: Witness, columns: np.ndarray, signs: np.ndarray, target: int
    ) -> Witness | None:
        """The broken witness with every cell older than the last `RECENT_RELEASES` releases
        as it had them and the recent ones moved as little as the new figures and the target
        need, if any such assignment exists: one program over the recent cells alone
        (`_recent_program`), which stays the same size however long the history grows. Every
        row holding a recent cell or a prefix chained to one is in it, with the older cells'
        part as the witness gives it; every other row holds older cells only, and the witness
        agreed with it. So the answer is an integer point of the whole program, and the end
        it attains stands. Under `opensafely` at release 60 this repaired 1,188 of 1,520
        broken ends, at a fraction of the whole history's nearest point each. None when no
        such assignment attains the end (the old cells must move too)."""
        recent = self._recent_program()
        if recent is None:
            return None
        highs = recent.highs
        point = np.zeros(self._highs.getNumCol())
        cells, values = self._as_columns(broken)
        point[cells] = values
        moved_k, moved_n = np.zeros(self.n_cells), np.zeros(self.n_cells)
        for cell, (up_k, up_g) in broken.items():
            moved_k[cell], moved_n[cell] = up_k, up_k + up_g
        n_terms, k_terms = recent.before
        point[recent.boundary] = n_terms @ moved_n + k_terms @ moved_k
        point[recent.variables] = 0.0
        held = recent.matrix @ point
        highs.changeRowsBounds(
            len(recent.rows),
            np.arange(len(recent.rows), dtype=np.int32),
            self._row_lo[recent.rows] - held,
            self._row_hi[recent.rows] - held,
        )
        moving = recent.free[columns]
        rest = float(signs @ point[columns])
        if moving.any():
            where = np.searchsorted(recent.variables, columns[moving]).astype(np.int32)
            highs.addRow(target - rest, target - rest, len(where), where, signs[moving])
        elif abs(rest - target) > EPS:
            return None
        try:
            solved = self._run_from_truth(highs, recent.truth(bool(moving.any())))
            if solved is None:
                return None
            moves = np.flatnonzero(recent.moves).astype(np.int32)
            if not _integral(solved[moves]):
                with self._integers(highs, moves):
                    highs.run()
                    self.solves += 1
                    if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                        return None
                    solved = np.round(_array(highs.getSolution().col_value))
        finally:
            if moving.any():
                highs.deleteRows(1, np.array([highs.getNumRow() - 1], dtype=np.int32))
        point[recent.variables] = solved
        found = self._witness(point)
        # every row the answer changes is checked whole: a row of old cells alone is
        # outside the program, and stands only because its figure repeats the last one's
        rows = self._row_figures()
        changes = self._changes(found)
        if not all(_agrees(rows[f], *changes[f]) for f in changes):
            return None
        return found

    def _as_columns(self, witness: Witness) -> tuple[np.ndarray, np.ndarray]:
        """The witness as values of the cell columns: each difference as a move up or down."""
        columns: list[int] = []
        values: list[float] = []
        for cell, (up_k, up_g) in witness.items():
            k_terms, g_terms = self._k_terms[cell], self._g_terms[cell]
            if k_terms:
                columns += [k_terms[0][0], k_terms[1][0]]
                values += [max(up_k, 0), max(-up_k, 0)]
            if g_terms and g_terms[0][1] > 0:  # else its n is pinned: the k columns say it
                columns += [g_terms[0][0], g_terms[1][0]]
                values += [max(up_g, 0), max(-up_g, 0)]
        return np.array(columns, dtype=np.int64), np.array(values, dtype=float)

    def _positions(self, family: int) -> dict[int, int]:
        """Each cell of the family's row, and its place in it."""
        found = self._position.get(family)
        if found is None:
            found = {int(c): i for i, c in enumerate(self.families[family].cells)}
            self._position[family] = found
        return found

    def _recent_program(self) -> _Recent | None:
        """The program of `_recent_repair` under the current figures, built on first use: the
        moves of cells that arrived in the last `RECENT_RELEASES` releases, the prefix
        columns their chain rows carry them to (and the chains after those), and the rows
        holding any of them. The older columns these rows hold (the prefix each chain starts
        from, older cells between) are the *boundary*: each repair sets them, as the broken
        witness has them, into the rows' bounds. None when no cell is recent."""
        if self._recent is False:
            return None
        if isinstance(self._recent, _Recent):
            return self._recent.now(self._figure_changes, self._column_lo, self._column_hi)
        cell_columns = self.n_cell_columns
        recent = self.arrivals > self.release_no - RECENT_RELEASES
        moving = set(np.flatnonzero(recent[self._column_cell[:cell_columns]]).tolist())
        frontier = list(moving)
        held: set[int] = set()
        by_column = self._row_columns
        while frontier:
            column = frontier.pop()
            for row in by_column.indices[by_column.indptr[column] : by_column.indptr[column + 1]]:
                if row in held:
                    continue
                held.add(int(row))
                head = int(self._head[row])
                if head >= 0 and head not in moving:
                    moving.add(head)
                    frontier.append(head)
        if not moving:
            self._recent = False
            return None
        variables = np.array(sorted(moving), dtype=np.int64)
        rows = np.array(sorted(held), dtype=np.int64)
        free = np.zeros(self._highs.getNumCol(), dtype=bool)
        free[variables] = True
        matrix = self._rows[rows]
        boundary = np.array(
            [c for c in np.unique(matrix.indices) if not free[c] and c >= cell_columns],
            dtype=np.int64,
        )
        before = self._older_cells(boundary)
        inside = matrix[:, variables].tocsr()
        highs = _program(self._column_lo[variables], self._column_hi[variables], _DUAL)
        highs.addRows(
            len(rows),
            self._row_lo[rows],
            self._row_hi[rows],
            inside.nnz,
            inside.indptr.astype(np.int32),
            inside.indices.astype(np.int32),
            inside.data.astype(float),
        )
        moves = variables < cell_columns
        highs.changeColsCost(
            len(variables), np.arange(len(variables), dtype=np.int32), moves.astype(float)
        )
        chain = np.asarray(self._chain, dtype=bool)[rows]
        self._recent = _Recent(
            highs,
            variables,
            rows,
            matrix,
            boundary,
            before,
            free,
            moves,
            chain,
            figures=self._figure_changes,
        )
        return self._recent

    def _older_cells(self, boundary: np.ndarray) -> tuple[sparse.csr_array, sparse.csr_array]:
        """Per prefix column in `boundary`, the cells before its prefix in its family, once
        for the count it holds: the respondents' (measure slot 0) and the positive answers'."""
        parts: list[tuple[list[int], list[int]]] = [([], []), ([], [])]
        for at, column in enumerate(boundary.tolist()):
            family, slot, m = self._prefix_of[column]
            cells = self.families[family].cells[:m].tolist()
            parts[slot][0].extend([at] * len(cells))
            parts[slot][1].extend(cells)
        shape = (len(boundary), self.n_cells)
        n_terms, k_terms = (
            sparse.csr_array(
                (np.ones(len(at)), (np.array(at, dtype=np.int64), np.array(cells, dtype=np.int64))),
                shape=shape,
            )
            for at, cells in parts
        )
        return n_terms, k_terms

    # -- keeping what is known --------------------------------------------------------------

    def _exact(self, quantity: Quantity) -> Known:
        key = (quantity.cells, quantity.measure)
        known = self._known.get(key)
        if known is None or not known.exact or not known.tight:
            if known is not None:
                self._forget(key)
            known = self._solve(quantity, kept=True)
            self._remember(key, known)
        return known

    def _remember(self, key: _Key, known: Known) -> None:
        if self._journal is not None:
            self._journal.append(("remembered", key, known))
        replaced = self._known.get(key)
        if replaced is not None:
            self._assignments.let_go(replaced.low, key)
            self._assignments.let_go(replaced.high, key)
            if replaced.rising is not None:
                self._rising_at[replaced.rising].pop(key, None)
        self._known[key] = known
        self._assignments.hold(known.low, key)
        self._assignments.hold(known.high, key)
        if known.rising is not None:
            self._rising_at[known.rising][key] = None
        by_family = self._by_family
        for family in known.binding or ():
            by_family[family][key] = None
        if known.high is None and known.rising is None:
            self._open[key] = None
        if known.binding is None:
            self._unscreened[key] = None

    def _forget(self, key: _Key) -> None:
        known = self._known.pop(key)
        self._assignments.let_go(known.low, key)
        self._assignments.let_go(known.high, key)
        if self._journal is not None:
            self._journal.append(("forgot", key, known))
        if known.rising is not None:
            self._rising_at[known.rising].pop(key, None)
        for family in known.binding or ():
            self._by_family[family].pop(key, None)
        self._open.pop(key, None)
        self._unscreened.pop(key, None)

    # -- the program ------------------------------------------------------------------------

    def _pinned(self, measure: str) -> np.ndarray:
        """Cells whose `measure` earlier releases pin down: the only cell not yet pinned
        between two prefixes of a family published exactly for it. Every assignment holds it
        at the truth."""
        pinned = np.zeros(self.n_cells, dtype=bool)
        spans = []
        for family in self.families:
            shown = sorted(m for m, f in family.figures.items() if exact(tuple(f), measure))
            spans += [family.cells[a:b] for a, b in itertools.pairwise([0, *shown])]
        while True:
            found = False
            for span in spans:
                free = span[~pinned[span]]
                if len(free) == 1:
                    pinned[free[0]] = True
                    found = True
            if not found:
                return pinned

    def _cell_columns(self) -> tuple[list[float], list[float]]:
        """Each cell's positive and not-positive differences as terms over its columns: none
        when both counts are pinned, two when its n or its positive count is (the other
        difference follows), four otherwise. Returns the columns' bounds: an ordinary cell's
        counts stay at 0 or above; a withdrawal cell's (negative) counts at 0 or below, and no
        lower than the cell it withdraws from allows (rows of `_build`)."""
        n_pinned, k_pinned = self._pinned(BOTH), self._pinned(POSITIVE)
        k_true = self.true[POSITIVE]
        g_true = self.true[NEGATIVE]
        lower: list[float] = []
        upper: list[float] = []
        self._k_terms: list[list[tuple[int, float]]] = []
        self._g_terms: list[list[tuple[int, float]]] = []
        self._holds_someone: list[int] = []
        """Cells whose n can move: each keeps at least one respondent."""
        plain: set[int] = set()
        for cell in range(self.n_cells):
            a = len(lower)
            k, g = float(k_true[cell]), float(g_true[cell])
            withdrawal = bool(self.withdrawal[cell])
            # up, down: an ordinary count can rise freely and fall to 0; a withdrawal's the
            # other way round
            k_room = [-k, INF] if withdrawal else [INF, k]
            g_room = [-g, INF] if withdrawal else [INF, g]
            if n_pinned[cell] and k_pinned[cell]:
                self._k_terms.append([])
                self._g_terms.append([])
            elif n_pinned[cell]:
                lower += [0.0, 0.0]
                upper += [min(k_room[0], g_room[1]), min(k_room[1], g_room[0])]
                self._k_terms.append([(a, 1.0), (a + 1, -1.0)])
                self._g_terms.append([(a, -1.0), (a + 1, 1.0)])
            elif k_pinned[cell]:
                lower += [0.0, 0.0]
                upper += g_room
                self._k_terms.append([])
                self._g_terms.append([(a, 1.0), (a + 1, -1.0)])
                self._holds_someone.append(cell)
            else:
                if not withdrawal:
                    plain.add(cell)
                lower += [0.0, 0.0, 0.0, 0.0]
                upper += [*k_room, *g_room]
                self._k_terms.append([(a, 1.0), (a + 1, -1.0)])
                self._g_terms.append([(a + 2, 1.0), (a + 3, -1.0)])
                self._holds_someone.append(cell)
        self._n_terms = [_combined(k, g) for k, g in zip(self._k_terms, self._g_terms, strict=True)]
        self._linked = frozenset(
            cell for source, cells in self._withdrawn_from().items() for cell in (source, *cells)
        )
        """Withdrawal cells and the cells they draw on (their rows bind them together)."""
        self._plain = frozenset(plain - self._linked)
        """Cells whose counts move freely: no earlier figure pins either, and none is linked."""
        self.n_cell_columns = len(lower)
        self._column_cell = np.zeros(len(lower), dtype=np.int64)
        self._column_k = np.zeros(len(lower), dtype=np.int64)
        self._column_g = np.zeros(len(lower), dtype=np.int64)
        for cell in range(self.n_cells):
            for column, value in self._k_terms[cell]:
                self._column_cell[column] = cell
                self._column_k[column] = int(value)
            for column, value in self._g_terms[cell]:
                self._column_cell[column] = cell
                self._column_g[column] = int(value)
        return lower, upper

    def _withdrawn_from(self) -> dict[int, list[int]]:
        """Per cell that withdrawals draw on, those withdrawal cells."""
        found: dict[int, list[int]] = {}
        for cell in np.flatnonzero(self.withdrawal):
            found.setdefault(int(self.sources[cell]), []).append(int(cell))
        return found

    def _terms(self, cell: int, measure: str) -> list[tuple[int, float]]:
        if measure == POSITIVE:
            return self._k_terms[cell]
        if measure == NEGATIVE:
            return self._g_terms[cell]
        return self._n_terms[cell]

    def _build(self) -> tuple[highspy.Highs, highspy.Highs]:
        """Columns: each cell's differences from the truth that earlier releases leave open,
        then per family whose cells hold any, one per published prefix and measure
        (respondents, positives) that can move: its difference from the truth. Rows: each
        prefix equals the one before it plus the cells between; each cell holds someone.

        The same program twice: one for the ends, one for the nearest points (`_nearest`).
        A count's most starts from the basis its least stopped at (`_end`); a nearest point
        starts from the truth's basis, and deleting its target row afterwards leaves HiGHS no
        basis at all, so on one program every end after a nearest point started cold (under
        `opensafely` at release 60, 511 such ends took 159 steps each, the others 29)."""
        lower, upper = self._cell_columns()
        self._cell_lower = np.array(lower, dtype=float)
        self._cell_upper = np.array(upper, dtype=float)
        columns = len(lower)
        n_true = self.true[BOTH]
        starts: list[int] = []
        index: list[int] = []
        values: list[float] = []
        row_lo: list[float] = []
        row_hi: list[float] = []

        self._chain: list[bool] = []
        """Per row, whether it chains a prefix column to the one before it."""
        heads: list[int] = []
        self._prefix_of: dict[int, tuple[int, int, int]] = {}

        def row(
            entries: list[tuple[int, float]], lo: float, hi: float, chain: bool = False
        ) -> None:
            self._chain.append(chain)
            heads.append(entries[0][0] if chain else -1)
            starts.append(len(index))
            for column, value in entries:
                index.append(column)
                values.append(value)
            row_lo.append(lo)
            row_hi.append(hi)

        for cell in self._holds_someone:
            if self.withdrawal[cell]:  # withdraws someone: n <= -1
                row(self._n_terms[cell], -INF, -1.0 - float(n_true[cell]))
            else:
                row(self._n_terms[cell], 1.0 - float(n_true[cell]), INF)
        for source, withdrawals in self._withdrawn_from().items():
            # no more withdrawn, answer by answer, than the source cell holds
            for measure in (POSITIVE, NEGATIVE):
                members = [source, *withdrawals]
                terms = _combined(*(self._terms(c, measure) for c in members))
                if terms:
                    truth = float(self.true[measure][members].sum())
                    row(terms, -truth, INF)
        self._whole: list[tuple[int, int]] = []
        """Per family, the columns of its whole row (respondents, positives); -1: none."""
        self._whole_earlier: list[list[float]] = []
        """Per family, what earlier prefixes sharing the whole row's columns bound them to."""
        self._unbounded: set[tuple[int, int]] = set()
        """(family, measure slot) of a settled family's whole row left out: it bounds nothing."""
        for number, family in enumerate(self.families):
            whole = [-1, -1]
            earlier = [-INF, INF, -INF, INF]
            for slot, measure in enumerate((BOTH, POSITIVE)):
                if not any(self._terms(int(c), measure) for c in family.cells):
                    continue
                previous, column = 0, -1
                terms: list[tuple[int, float]] = []
                for m in family.prefixes():
                    terms += [
                        (c, -v)
                        for cell in family.cells[previous:m]
                        for c, v in self._terms(int(cell), measure)
                    ]
                    lo, hi = self._deviation_bounds(number, m, family.figure(m))[2 * slot :][:2]
                    previous = m
                    last = m == len(family.cells)
                    held = (lo, hi) if not last else (-INF, INF)
                    if terms and lo == -INF and hi == INF and (not last or number in self.settled):
                        # a prefix withheld for good bounds nothing: its cells join the next row
                        if last:
                            self._unbounded.add((number, slot))
                            earlier[2 * slot], earlier[2 * slot + 1] = -INF, INF
                        continue
                    if not terms:  # the same sum as the prefix before (or the truth)
                        if column >= 0:
                            lower[column], upper[column] = (
                                max(lower[column], lo),
                                min(upper[column], hi),
                            )
                            earlier[2 * slot] = max(earlier[2 * slot], held[0])
                            earlier[2 * slot + 1] = min(earlier[2 * slot + 1], held[1])
                        continue
                    entries = [(columns, 1.0), *([(column, -1.0)] if column >= 0 else []), *terms]
                    row(entries, 0.0, 0.0, chain=True)
                    terms = []
                    column = columns
                    self._prefix_of[column] = (number, slot, m)
                    columns += 1
                    lower.append(lo)
                    upper.append(hi)
                    earlier[2 * slot], earlier[2 * slot + 1] = held
                whole[slot] = -1 if (number, slot) in self._unbounded else column
            self._whole.append((whole[0], whole[1]))
            self._whole_earlier.append(earlier)
        programs = []
        for strategy in (_PRIMAL, _DUAL):
            highs = _program(np.array(lower, dtype=float), np.array(upper, dtype=float), strategy)
            if row_lo:
                highs.addRows(
                    len(row_lo),
                    np.array(row_lo, dtype=float),
                    np.array(row_hi, dtype=float),
                    len(index),
                    np.array(starts, dtype=np.int32),
                    np.array(index, dtype=np.int32),
                    np.array(values, dtype=float),
                )
            programs.append(highs)
        ends, near = programs
        moves = np.arange(self.n_cell_columns, dtype=np.int32)
        near.changeColsCost(len(moves), moves, np.ones(len(moves)))  # fewest changes
        self._whole_columns = np.array(self._whole, dtype=np.int64).reshape(-1, 2)
        self._rows = sparse.csr_array(
            (np.array(values, dtype=float), np.array(index, dtype=np.int64), [*starts, len(index)]),
            shape=(len(row_lo), columns),
        )
        self._row_columns = self._rows.tocsc()
        self._row_lo = np.array(row_lo, dtype=float)
        self._row_hi = np.array(row_hi, dtype=float)
        self._head = np.array(heads, dtype=np.int64)
        self._column_lo = np.array(lower, dtype=float)
        self._column_hi = np.array(upper, dtype=float)
        return ends, near

    def _deviation_bounds(
        self, family: int, m: int, figure: tuple[float, ...] | None
    ) -> tuple[float, float, float, float]:
        n_lo, n_hi, k_lo, k_hi = _as_bounds(figure)
        n = float(self._cum[family][BOTH][m])
        k = float(self._cum[family][POSITIVE][m])
        return (
            n_lo - n if n_lo > -INF else -INF,
            n_hi - n if n_hi < INF else INF,
            k_lo - k if k_lo > -INF else -INF,
            k_hi - k if k_hi < INF else INF,
        )

    def _set_bounds(self, family: int, figure: tuple[float, float, float, float] | None) -> None:
        of = self.families[family]
        of.current = figure
        self._rows_now = None
        m = len(of.cells)
        lo_n, hi_n, lo_k, hi_k = self._deviation_bounds(family, m, of.figure(m))
        earlier = self._whole_earlier[family]
        lo_n, hi_n = max(lo_n, earlier[0]), min(hi_n, earlier[1])
        lo_k, hi_k = max(lo_k, earlier[2]), min(hi_k, earlier[3])
        for slot, lo, hi in ((0, lo_n, hi_n), (1, lo_k, hi_k)):
            if (family, slot) in self._unbounded and (lo > -INF or hi < INF):
                raise RuntimeError(f"attacker model: family {family} was settled unbounded")
        pairs = [
            (column, lo, hi)
            for column, lo, hi in zip(self._whole[family], (lo_n, lo_k), (hi_n, hi_k), strict=True)
            if column >= 0
        ]
        self._figure_changes += 1
        for column, lo, hi in pairs:
            self._column_lo[column], self._column_hi[column] = lo, hi
        if pairs:
            for highs in (self._highs, self._near):
                highs.changeColsBounds(
                    len(pairs),
                    np.array([c for c, _, _ in pairs], dtype=np.int32),
                    np.array([lo for _, lo, _ in pairs], dtype=float),
                    np.array([hi for _, _, hi in pairs], dtype=float),
                )

    def _solve(self, quantity: Quantity, *, kept: bool) -> Known:
        """The exact interval under the current figures; `kept`: the answer will be remembered
        (a positive count it rests on is remembered too), else it is a trial's."""
        complement = self._complement(quantity)
        if complement is not None:
            total, positive, family = complement
            known = self._exact(positive) if kept else self._solve(positive, kept=False)
            lo, hi = known.interval.lo, known.interval.hi
            assert hi is not None, "a positive count under a published total is bounded"
            binding = None if known.binding is None else known.binding | family
            return Known(Interval(total - hi, total - lo), known.high, known.low, binding)  # type: ignore[arg-type]
        columns, signs, truth = self._signed(quantity.cells, quantity.measure)
        if not len(columns):
            return Known(Interval(truth, truth), {}, {}, frozenset())
        key = (quantity.cells, quantity.measure)
        low = self._held_end(key, 1.0, truth) or self._end(columns, signs, 1.0)
        rising = self._rising(quantity.cells, quantity.measure)
        if rising is not None:
            high = _OPEN
        else:
            high = self._held_end(key, -1.0, truth) or self._end(columns, signs, -1.0)
        assert low.value is not None and low.witness is not None
        binding = (
            None if low.binding is None or high.binding is None else low.binding | high.binding
        )
        return Known(
            Interval(truth + low.value, None if high.value is None else truth + high.value),
            low.witness,
            high.witness,
            binding,
            rising=rising,
        )

    def _complement(self, quantity: Quantity) -> tuple[int, Quantity, frozenset[int]] | None:
        """A not-positive count whose cells' total is published exactly is that total less the
        positive count: (total, the positive count, the family whose figure says so when it is
        this release's)."""
        if quantity.measure != NEGATIVE:
            return None
        cells = quantity.cells
        if len(cells) == 1 and self.withdrawal[cells[0]]:
            return None
        for family in self.families_of[cells[0]]:
            of = self.families[family]
            m = len(cells)
            if m > len(of.cells) or tuple(sorted(int(c) for c in of.cells[:m])) != cells:
                continue
            figure = of.figure(m)
            if exact(figure, BOTH):
                current = frozenset([family]) if m == len(of.cells) else frozenset()
                positive = Quantity(cells, POSITIVE)
                return int(bounds_of(figure, BOTH)[0]), positive, current  # type: ignore[arg-type]
        return None

    def _signed(self, cells: Sequence[int], measure: str) -> tuple[np.ndarray, np.ndarray, int]:
        """A quantity as an objective over the columns, and its true value. A withdrawal cell
        on its own is asked about as the group of respondents it withdraws: its counts
        negated, which are never below zero."""
        columns, signs = self._objective_of(cells, measure)
        truth = int(self.true[measure][list(cells)].sum())
        if len(cells) == 1 and self.withdrawal[cells[0]]:
            return columns, -signs, -truth
        return columns, signs, truth

    def _objective_of(self, cells: Sequence[int], measure: str) -> tuple[np.ndarray, np.ndarray]:
        weights: dict[int, float] = {}
        for cell in cells:
            for column, value in self._terms(int(cell), measure):
                weights[column] = weights.get(column, 0.0) + value
        used = sorted(c for c, v in weights.items() if v)
        return np.array(used, dtype=np.int32), np.array([weights[c] for c in used])

    def _end(
        self,
        columns: np.ndarray,
        signs: np.ndarray,
        sign: float,
    ) -> _End:
        """One end (sign +1: least, -1: most) of the objective, as a difference from the truth.
        No integer point lies beyond the linear optimum rounded inwards, so an integer point
        attaining that settles the end (and what the linear optimum rests on, it rests on):
        the optimum itself when it is one, else the nearest that attains the rounded value;
        only when none is found does the integer program decide.

        A count's least starts from the truth's basis, its most from where its least stopped.
        Started instead from where the last count's most stopped, the least walked back from
        that count's far end first: under `opensafely` at release 101 ends took 137 steps on
        average, against 97 so, and the release 26.0 s against 23.7 s; `acro`'s releases 1-25
        took 89.5 s against 72.8 s, `gmc-sdc`'s 1-40 52.8 s against 48.0 s, with fewer ends to
        solve (32,406 against 39,376: its vertex is nearer the truth). After a fractional
        optimum the next end starts from the truth's basis as well: started from a fractional
        vertex, the next optimum was fractional too, and so needed a nearest point, nearly
        every time (under `opensafely` at release 60, 1,460 of 1,461).

        A whole optimum is a vertex, which can move counts the end does not need moved as far
        as their figures allow, and its witness is held in memory, written to the audit, and
        checked, and broken, by every later figure holding one of its cells. One that changes
        more than `WIDE_WITNESS` cells is traded for the nearest point: under `opensafely`
        from the history saved at release 59, participation's low ends in release 60's audit
        changed 456 cells on average, and 31 with this."""
        highs = self._highs
        self._cost(columns, sign * signs)
        if sign > 0:
            _start_at(highs, self._truth_basis(target_row=False))
        highs.run()
        self.solves += 1
        status = highs.getModelStatus()
        if status in _UNBOUNDED:  # the truth is always feasible: unbounded, not infeasible
            return _OPEN
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"attacker model: {highs.modelStatusToString(status)}")
        solution = highs.getSolution()
        point = _array(solution.col_value)
        value = float(signs @ point[columns])
        duals = np.abs(_array(solution.col_dual)[self._whole_columns])
        duals[self._whole_columns < 0] = 0.0
        binding = frozenset(np.flatnonzero((duals > EPS).any(axis=1)).tolist())
        target = math.ceil(value - EPS) if sign > 0 else math.floor(value + EPS)
        if abs(value - target) > EPS or not _integral(point[: self.n_cell_columns]):
            nearest = self._near_point(columns, signs, target)
            _start_at(highs, self._truth_basis(target_row=False))
            if nearest is None:
                return self._integer_end(columns, signs, sign)
            return _End(target, nearest, binding)
        witness = self._witness(point)
        if len(witness) > WIDE_WITNESS:
            nearer = self._near_point(columns, signs, target)
            if nearer is not None and len(nearer) < len(witness):
                witness = nearer
        return _End(target, witness, binding)

    def _near_point(self, columns: np.ndarray, signs: np.ndarray, target: int) -> Witness | None:
        """An assignment attaining an end, near the truth: one moving only the recent cells
        when there is one (`_recent_repair` of the truth), else the nearest over the whole
        history. Any integer point attaining the end is a witness of it."""
        found = self._recent_repair({}, columns, signs, target)
        return found if found is not None else self._nearest(columns, signs, target)

    def _cost(self, columns: np.ndarray, costs: np.ndarray) -> None:
        highs = self._highs
        if len(self._objective):
            highs.changeColsCost(
                len(self._objective), self._objective, np.zeros(len(self._objective))
            )
        highs.changeColsCost(len(columns), columns, costs)
        self._objective = columns

    def _nearest(self, columns: np.ndarray, signs: np.ndarray, target: int) -> Witness | None:
        """Of the assignments attaining `target`, one nearest the truth (fewest changes), so
        that later figures rarely disagree with it; when that program stops at a fraction, an
        integer one next to it. None when neither is found.

        It starts at the truth, by the dual simplex: there every move is zero and costs one,
        so the basis is dual feasible and only the target row is violated, and the walk is as
        short as the answer is near. Started instead from wherever the last program stopped,
        the primal simplex first had to find any point attaining the target: under
        `opensafely` at release 15, 161 iterations a program against 67, and the release in
        half the time. It runs on a program of its own (`_build`)."""
        highs = self._near
        highs.addRow(float(target), float(target), len(columns), columns, signs)
        row = highs.getNumRow() - 1
        try:
            point = self._run_from_truth(highs, self._truth_basis())
            if point is None:
                return None
            if _integral(point[: self.n_cell_columns]):
                return self._witness(point)
            return self._rounded(point[: self.n_cell_columns])
        finally:
            highs.deleteRows(1, np.array([row], dtype=np.int32))

    def _run_from_truth(self, highs: highspy.Highs, truth: highspy.HighsBasis) -> np.ndarray | None:
        """The program solved from the truth's basis: its point, or None when it has no optimum
        (the target cannot be attained)."""
        _start_at(highs, truth)
        highs.run()
        self.solves += 1
        if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return _array(highs.getSolution().col_value)

    def _truth_basis(self, *, target_row: bool = True) -> highspy.HighsBasis:
        """The truth as a basis of the program (with a target row last, or without): every
        move nonbasic at zero, each prefix column basic (its chain row, nonbasic, fixes it),
        every other row basic, the target row too."""
        if target_row not in self._truth:
            moves = np.arange(self._near.getNumCol()) < self.n_cell_columns
            self._truth[target_row] = _at_truth(moves, self._chain, target_row)
        return self._truth[target_row]

    def _rounded(self, point: np.ndarray) -> Witness | None:
        """An integer assignment that keeps every whole move of `point` and settles its
        fractional ones by the integer program over them alone, which presolve cuts to a few
        columns; every row of the model holds, so it is a point of the whole program. Rounded
        figures leave such halves: under `opensafely` at release 15 this settled 1,098 of
        1,136, at a sixth of the whole integer program's cost each. None when it has no
        solution. It runs on the nearest point's program, with its target row."""
        highs = self._near
        whole = np.abs(point - np.round(point)) <= EPS
        fixed = np.flatnonzero(whole).astype(np.int32)
        free = np.flatnonzero(~whole).astype(np.int32)
        values = np.round(point[fixed])
        highs.changeColsBounds(len(fixed), fixed, values, values)
        try:
            with self._integers(highs, free):
                highs.run()
                self.solves += 1
                if highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                    return None
                return self._witness(_array(highs.getSolution().col_value))
        finally:
            highs.changeColsBounds(
                len(fixed), fixed, self._cell_lower[fixed], self._cell_upper[fixed]
            )

    @contextlib.contextmanager
    def _integers(self, highs: highspy.Highs, columns: np.ndarray) -> Iterator[None]:
        """The program with `columns` integer for the length of the block, and presolve on,
        which takes a quarter of the integer program's time (the linear ones go without)."""
        kinds = highspy.HighsVarType
        highs.changeColsIntegrality(len(columns), columns, np.full(len(columns), kinds.kInteger))
        highs.setOptionValue("presolve", "on")
        try:
            yield
        finally:
            highs.setOptionValue("presolve", "off")
            highs.changeColsIntegrality(
                len(columns), columns, np.full(len(columns), kinds.kContinuous)
            )

    def _witness(self, point: np.ndarray) -> Witness:
        moves = np.round(point[: self.n_cell_columns]).astype(np.int64)
        changes: dict[int, tuple[int, int]] = {}
        for column in np.flatnonzero(moves):
            cell = int(self._column_cell[column])
            dk, dg = changes.get(cell, (0, 0))
            step = int(moves[column])
            changes[cell] = (
                dk + step * int(self._column_k[column]),
                dg + step * int(self._column_g[column]),
            )
        return {
            cell: shared_change(*change) for cell, change in changes.items() if change != (0, 0)
        }

    def _integer_end(self, columns: np.ndarray, signs: np.ndarray, sign: float) -> _End:
        """The attacker's integer program for one end, when the linear one stops at a fraction."""
        highs = self._highs
        with self._integers(highs, np.arange(self.n_cell_columns, dtype=np.int32)):
            self._cost(columns, sign * signs)
            highs.run()
            self.solves += 1
            status = highs.getModelStatus()
            if status != highspy.HighsModelStatus.kOptimal:
                raise RuntimeError(f"attacker model: {highs.modelStatusToString(status)}")
            point = np.round(_array(highs.getSolution().col_value))
            return _End(round(float(signs @ point[columns])), self._witness(point), None)


def _array(values: list[float]) -> np.ndarray:
    """A solution's values (HiGHS hands them over as a list) as an array: a third quicker than
    `np.asarray`, on a path every program's answer takes with the interpreter held."""
    return np.fromiter(values, dtype=float, count=len(values))


def _program(lower: np.ndarray, upper: np.ndarray, strategy: int) -> highspy.Highs:
    """An empty linear program over columns with these bounds, as every program here runs."""
    highs = highspy.Highs()
    highs.disableCallbacks()  # none is used; on, each solve waits on the interpreter lock
    highs.silent()
    highs.setOptionValue("threads", 1)  # items run on threads of their own
    highs.setOptionValue("presolve", "off")
    highs.setOptionValue("simplex_strategy", strategy)
    highs.addVars(len(lower), lower, upper)
    return highs


def _start_at(highs: highspy.Highs, truth: highspy.HighsBasis) -> None:
    """The program set to start its next run at the truth's basis."""
    if highs.setBasis(truth) != highspy.HighsStatus.kOk:
        raise RuntimeError("attacker model: the truth's basis was refused")


def _at_truth(moves: Sequence[bool], chain: Sequence[bool], target_row: bool) -> highspy.HighsBasis:
    """The basis of the truth: every move (per column, whether it is a cell's move, else a
    prefix) nonbasic at zero, each prefix basic, its chain row (per row, whether it chains a
    prefix) nonbasic, every other row basic, a target row last too."""
    status = highspy.HighsBasisStatus
    basis = highspy.HighsBasis()
    basis.col_status = [status.kLower if m else status.kBasic for m in moves]
    basis.row_status = [status.kLower if c else status.kBasic for c in chain] + [
        status.kBasic
    ] * target_row
    basis.valid = True
    basis.alien = False  # HiGHS checks it is a basis instead of completing one
    return basis


def shared_change(dk: int, dg: int) -> tuple[int, int]:
    """A cell's change in a witness (positive, not positive), one object per value: witnesses
    hold millions of changes of a few hundred values (under `opensafely` after release 100,
    3.1 million of 571; a participation witness changes some 700 cells)."""
    change = (dk, dg)
    return _CHANGES.setdefault(change, change)


_CHANGES: dict[tuple[int, int], tuple[int, int]] = {}


def _agrees(row: tuple[float, float, float, float], dn: int, dk: int) -> bool:
    """Whether moving a row by dn respondents and dk positive answers keeps it inside its
    figure (as differences from the truth: n lo, n hi, k lo, k hi)."""
    return row[0] - EPS <= dn <= row[1] + EPS and row[2] - EPS <= dk <= row[3] + EPS


def _inside(value: int, lo: float, hi: float) -> int:
    """The integer nearest `value` within [lo, hi] (either may be infinite)."""
    if lo > -INF:
        value = max(value, math.ceil(lo - EPS))
    if hi < INF:
        value = min(value, math.floor(hi + EPS))
    return value


def _combined(*terms: list[tuple[int, float]]) -> list[tuple[int, float]]:
    """The sum of linear terms, without the columns that cancel."""
    weights: dict[int, float] = {}
    for column, value in itertools.chain(*terms):
        weights[column] = weights.get(column, 0.0) + value
    return [(c, v) for c, v in sorted(weights.items()) if v]


def _as_bounds(figure: tuple[float, ...] | None) -> tuple[float, float, float, float]:
    if figure is None:
        return -INF, INF, -INF, INF
    return (float(figure[0]), float(figure[1]), float(figure[2]), float(figure[3]))


def _integral(point: np.ndarray) -> bool:
    return bool(np.abs(point - np.round(point)).max(initial=0.0) <= EPS)
