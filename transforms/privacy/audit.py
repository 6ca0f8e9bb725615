"""The attacker's view of one item: exact integer intervals over every published figure of every
release, computed on small windows of time so that the cost of a release grows with the history
no faster than linearly.

Every published figure is a *prefix* of a family: a table row's cells sorted by arrival, of
which release R saw those that had arrived by R. The attacker's best knowledge of a withheld
quantity is the interval [min, max] of it over every non-negative integer assignment of the
cells that agrees with every figure (a rounded figure is an interval) and gives every cell at
least one respondent.

A quantity's cells arrived within a few releases, so it is solved on a window of releases
around them. Two linear programs bracket the truth on a window:

- *outer*: only what the figures say about the window's cells, with every other cell unknown:
  figures of one family that share the same cells outside the window are differenced (the
  outside part cancels), and a figure that reaches past the window bounds the window's part
  from above. Everything here follows from the figures, so the true interval lies inside.
- *inner*: every cell outside the window fixed at its true counts, all figures kept. One
  assignment the attacker must allow, so its interval lies inside the true one.

When the inner optimum is an integer point and equals the outer bound rounded inwards, that
end is exact. Otherwise the window doubles, up to the whole history, where both programs are
the attacker's own and HiGHS solves the integer program outright. A row of a table is solved
from its nearest exactly published earlier figure (the difference is a few cells), so region
and national rows stay on small windows too."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np

INF = highspy.kHighsInf
EPS = 1e-6
BOTH, POSITIVE, NEGATIVE = "respondents", "positive", "not_positive"


@dataclass(frozen=True)
class Interval:
    lo: int
    hi: int | None
    """None: no upper bound can be derived."""

    @property
    def width(self) -> float:
        return float("inf") if self.hi is None else self.hi - self.lo

    def shifted(self, offset: int) -> Interval:
        return Interval(self.lo + offset, None if self.hi is None else self.hi + offset)


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
        ms = set(self.figures)
        if self.current is not None:
            ms.add(len(self.cells))
        return sorted(ms)


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
    """A sum over cells of one measure; `family`/`m` when it is a prefix of a table row."""

    cells: tuple[int, ...]
    measure: str
    family: int | None = None
    m: int = 0


class ItemModel:
    """All cells and families of one item; answers exact intervals for the current pattern."""

    def __init__(
        self,
        arrivals: np.ndarray,
        n: np.ndarray,
        k: np.ndarray,
        families: list[Family],
        release_no: int,
    ) -> None:
        self.arrivals = arrivals
        self.n = n
        self.k = k
        self.families = families
        self.release_no = release_no
        self.first = int(arrivals.min()) if len(arrivals) else 1
        self.last = max(int(arrivals.max()) if len(arrivals) else 1, release_no)
        self.true = {BOTH: n, POSITIVE: k, NEGATIVE: n - k}
        self._by_arrival: dict[int, list[int]] = {}
        for index, family in enumerate(families):
            for arrival in set(family.arrivals.tolist()):
                self._by_arrival.setdefault(int(arrival), []).append(index)
        self._wide = [i for i, f in enumerate(families) if len(set(f.arrivals.tolist())) > 3]
        self._cache: dict[tuple[tuple[int, ...], str], tuple[Interval, tuple[int, int]]] = {}
        self._programs: dict[tuple[int, int, bool], tuple[_Program, _Program, dict[int, int]]] = {}
        self._windows: dict[tuple[tuple[int, ...], str], tuple[int, int]] = {}

    # -- the public questions ---------------------------------------------------------------

    def interval(self, quantity: Quantity) -> Interval:
        key = (quantity.cells, quantity.measure)
        if key not in self._cache:
            self._cache[key] = self._solve(quantity)
            self._windows[key] = self._cache[key][1]
        return self._cache[key][0]

    def carry(
        self, entries: dict[tuple[tuple[int, ...], str], tuple[Interval, tuple[int, int]]]
    ) -> None:
        """Intervals known from the last release that nothing of this one can move."""
        self._cache.update(entries)
        self._windows.update({key: window for key, (_, window) in entries.items()})

    def changed(self, family: int) -> None:
        """This release's figure of `family` changed: forget what it can move."""
        self._cache = {
            key: (interval, window)
            for key, (interval, window) in self._cache.items()
            if not self.moves(family, *window)
        }
        self._programs = {
            window: programs
            for window, programs in self._programs.items()
            if not self.moves(family, window[0], window[1])
        }

    def moves(self, family: int, t0: int, t1: int) -> bool:
        """Whether this release's figure of `family` can move an interval settled on the window
        [t0, t1]: not when none of the family's cells arrived in it, nor when the family was
        published exactly at some release after the window and before this one (that figure
        already says all this one can about the window's cells)."""
        of = self.families[family]
        b = int(np.searchsorted(of.arrivals, t0, side="left"))
        e = int(np.searchsorted(of.arrivals, t1, side="right"))
        if b == e:
            return False
        total = len(of.cells)
        return not any(
            e < m < total and exact(of.figures[m], BOTH) and exact(of.figures[m], POSITIVE)
            for m in of.figures
        )

    def snapshot(self) -> tuple[dict, dict]:  # type: ignore[type-arg]
        """What is known now; `restore` brings it back once the pattern is as it was."""
        return dict(self._cache), dict(self._programs)

    def restore(self, snapshot: tuple[dict, dict]) -> None:  # type: ignore[type-arg]
        self._cache, self._programs = dict(snapshot[0]), dict(snapshot[1])

    def last_window(self, quantity: Quantity) -> tuple[int, int] | None:
        """The window the quantity was last settled on, even if it has been reopened since."""
        return self._windows.get((quantity.cells, quantity.measure))

    def known(self, quantity: Quantity) -> bool:
        return (quantity.cells, quantity.measure) in self._cache

    def window_of(self, quantity: Quantity) -> tuple[int, int]:
        self.interval(quantity)
        return self._cache[(quantity.cells, quantity.measure)][1]

    # -- solving ----------------------------------------------------------------------------

    def outer(self, quantity: Quantity, window: tuple[int, int]) -> Interval | None:
        """What the figures alone say on `window`: the true interval lies inside. None when
        the window does not hold the quantity's cells."""
        programs = self._on_window(quantity, window)
        if programs is None:
            return None
        offset, program, objective = programs
        lo, hi = program[0].bounds(objective)
        return Interval(lo, hi).shifted(offset)

    def inner(self, quantity: Quantity, window: tuple[int, int]) -> Interval | None:
        """An interval inside the true one, from integer points the attacker must allow; None
        where no such end was found."""
        programs = self._on_window(quantity, window)
        if programs is None:
            return None
        offset, program, objective = programs
        lo, hi = program[1].attained(objective)
        if lo is None or hi is None:
            return None
        return Interval(lo, None if hi == math.inf else int(hi)).shifted(offset)

    def _on_window(
        self, quantity: Quantity, window: tuple[int, int]
    ) -> tuple[int, tuple[_Program, _Program], np.ndarray] | None:
        offset, cells = self._reduced(quantity)
        t0, t1 = window
        if not cells or any(not t0 <= self.arrivals[c] <= t1 for c in cells):
            return None
        whole = t0 <= self.first and t1 >= self.last
        outer, inner, position = self._programs_for(t0, t1, whole)
        return offset, (outer, inner), _objective(cells, quantity.measure, position, outer.n // 2)

    def _reduced(self, quantity: Quantity) -> tuple[int, tuple[int, ...]]:
        if quantity.family is None:
            return 0, quantity.cells
        return self._anchor(quantity)

    def _solve(self, quantity: Quantity) -> tuple[Interval, tuple[int, int]]:
        offset, cells = self._reduced(quantity)
        if quantity.measure == NEGATIVE and quantity.family is not None:
            family = self.families[quantity.family]
            figure = family.figure(quantity.m)
            if exact(figure, BOTH):
                positive = Quantity(quantity.cells, POSITIVE, quantity.family, quantity.m)
                k = self.interval(positive)
                n = int(bounds_of(figure, BOTH)[0])  # type: ignore[arg-type]
                window = self._cache[(positive.cells, POSITIVE)][1]
                hi = n - k.lo
                return Interval(n - (k.hi if k.hi is not None else n), hi), window
        if not cells:
            return Interval(offset, offset), (0, -1)
        arrivals = self.arrivals[list(cells)]
        start, end = int(arrivals.min()), int(arrivals.max())
        width = 1
        while True:
            t0, t1 = max(self.first, start - width), min(self.last, end + width)
            whole = t0 <= self.first and t1 >= self.last
            found = self._bracket(cells, quantity.measure, t0, t1, whole)
            if found is not None:
                return found.shifted(offset), (t0, t1)
            width *= 2

    def _anchor(self, quantity: Quantity) -> tuple[int, tuple[int, ...]]:
        """A row's count = an exactly published earlier prefix of it + the cells since."""
        family = self.families[quantity.family]  # type: ignore[index]
        best = 0
        for m in family.prefixes():
            if best < m < quantity.m and exact(family.figure(m), quantity.measure):
                best = m
        if best == 0:
            return 0, quantity.cells
        lo, _ = bounds_of(family.figure(best), quantity.measure)  # type: ignore[arg-type]
        rest = tuple(sorted(int(c) for c in family.cells[best : quantity.m]))
        return int(lo), rest

    def _bracket(
        self, cells: Sequence[int], measure: str, t0: int, t1: int, whole: bool
    ) -> Interval | None:
        outer, inner, position = self._programs_for(t0, t1, whole)
        objective = _objective(cells, measure, position, outer.n // 2)
        if whole:
            return outer.integer_interval(objective)
        lo_out, hi_out = outer.bounds(objective)
        lo_in, hi_in = inner.attained(objective)
        if lo_in is None or lo_in != lo_out:
            return None
        if hi_in == math.inf:
            return Interval(lo_in, None)
        if hi_in is None or hi_out is None or hi_in != hi_out:
            return None
        return Interval(lo_in, int(hi_in))

    def _programs_for(
        self, t0: int, t1: int, whole: bool
    ) -> tuple[_Program, _Program, dict[int, int]]:
        key = (t0, t1, whole)
        if key not in self._programs:
            local = np.flatnonzero((self.arrivals >= t0) & (self.arrivals <= t1))
            position = {int(c): j for j, c in enumerate(local)}
            outer = _Program(len(local))
            inner = _Program(len(local))
            for index in self._families_in(t0, t1):
                self._add_family(self.families[index], t0, t1, position, outer, inner, whole)
            self._programs[key] = (outer, inner, position)
        return self._programs[key]

    def _families_in(self, t0: int, t1: int) -> list[int]:
        found = set(self._wide)
        for arrival in range(t0, t1 + 1):
            found.update(self._by_arrival.get(arrival, ()))
        return sorted(found)

    def _add_family(
        self,
        family: Family,
        t0: int,
        t1: int,
        position: dict[int, int],
        outer: _Program,
        inner: _Program,
        whole: bool,
    ) -> None:
        b = int(np.searchsorted(family.arrivals, t0, side="left"))
        e = int(np.searchsorted(family.arrivals, t1, side="right"))
        if b == e:
            return
        local = [position[int(c)] for c in family.cells[b:e]]
        for measure in (BOTH, POSITIVE):
            true = self.true[measure][family.cells]
            cumulative = np.concatenate([[0], np.cumsum(true)])
            before = int(cumulative[b])
            group: list[tuple[int, float, float]] = []
            beyond_lo, beyond_hi, beyond_cap = -INF, INF, INF
            for m in family.prefixes():
                figure = family.figure(m)
                if figure is None:
                    continue
                lo, hi = bounds_of(figure, measure)
                if lo <= -INF and hi >= INF:
                    continue
                if m < b:
                    continue
                if m <= e:
                    group.append((m, lo, hi))
                    if m > b:
                        inner.add(local[: m - b], measure, lo - before, hi - before)
                    continue
                outside = int(cumulative[m]) - int(cumulative[e]) + before
                beyond_lo = max(beyond_lo, lo - outside)
                beyond_hi = min(beyond_hi, hi - outside)
                floor_outside = b + (m - e) if measure == BOTH else 0
                beyond_cap = min(beyond_cap, hi - floor_outside)
            if beyond_lo > -INF or beyond_hi < INF:
                inner.add(local, measure, beyond_lo, beyond_hi)
            if beyond_cap < INF and not whole:
                outer.add(local, measure, -INF, beyond_cap)
            if b == 0:
                for m, lo, hi in group:
                    if m > 0:
                        outer.add(local[:m], measure, lo, hi)
                continue
            floor_before = b if measure == BOTH else 0
            for m, _, hi in group:
                if m > b:
                    outer.add(local[: m - b], measure, -INF, hi - floor_before)
            pairs = (
                [(x, y) for i, x in enumerate(group) for y in group[i + 1 :]]
                if len(group) <= 8
                else list(itertools.pairwise(group))
            )
            for (m1, lo1, hi1), (m2, lo2, hi2) in pairs:
                outer.add(local[m1 - b : m2 - b], measure, lo2 - hi1, hi2 - lo1)
        for p in local:
            outer.exists(p)
            inner.exists(p)


def _objective(
    cells: Sequence[int], measure: str, position: dict[int, int], n_local: int
) -> np.ndarray:
    vector = np.zeros(2 * n_local)
    for cell in cells:
        j = position[int(cell)]
        if measure in (BOTH, POSITIVE):
            vector[2 * j] = 1.0
        if measure in (BOTH, NEGATIVE):
            vector[2 * j + 1] = 1.0
    return vector


_UNBOUNDED = (
    highspy.HighsModelStatus.kUnbounded,
    highspy.HighsModelStatus.kUnboundedOrInfeasible,
)


def _integral(point: np.ndarray) -> bool:
    return bool(np.abs(point - np.round(point)).max(initial=0.0) <= EPS)


class _Program:
    """Rows over the window's cells (positive and not-positive unknowns per cell)."""

    def __init__(self, n_cells: int) -> None:
        self.n = 2 * n_cells
        self.starts: list[int] = []
        self.index: list[int] = []
        self.lo: list[float] = []
        self.hi: list[float] = []
        self._seen: set[int] = set()
        self._highs: highspy.Highs | None = None

    def add(self, local: Sequence[int], measure: str, lo: float, hi: float) -> None:
        if not local or (lo <= -INF and hi >= INF):
            return
        self.starts.append(len(self.index))
        for j in local:
            if measure in (BOTH, POSITIVE):
                self.index.append(2 * j)
            if measure in (BOTH, NEGATIVE):
                self.index.append(2 * j + 1)
        self.lo.append(lo)
        self.hi.append(hi)

    def exists(self, j: int) -> None:
        if j not in self._seen:
            self._seen.add(j)
            self.add([j], BOTH, 1, INF)

    def _model(self) -> highspy.Highs:
        if self._highs is None:
            highs = highspy.Highs()
            highs.silent()
            highs.setOptionValue("presolve", "off")
            highs.addVars(self.n, np.zeros(self.n), np.full(self.n, INF))
            if self.lo:
                highs.addRows(
                    len(self.lo),
                    np.array(self.lo, dtype=float),
                    np.array(self.hi, dtype=float),
                    len(self.index),
                    np.array(self.starts, dtype=np.int32),
                    np.array(self.index, dtype=np.int32),
                    np.ones(len(self.index)),
                )
            self._highs = highs
        return self._highs

    def _optimise(self, objective: np.ndarray, sign: float) -> tuple[float | None, np.ndarray]:
        """(optimum of sign * objective, or None when unbounded; the optimal point)."""
        highs = self._model()
        highs.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), sign * objective)
        highs.run()
        status = highs.getModelStatus()
        if status in _UNBOUNDED:  # every program here holds the true counts: never infeasible
            return None, np.zeros(self.n)
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"attacker model: {highs.modelStatusToString(status)}")
        point = np.array(highs.getSolution().col_value)
        return float(sign * objective @ point), point

    def bounds(self, objective: np.ndarray) -> tuple[int, int | None]:
        """Integer bounds implied by the linear relaxation (the truth lies inside)."""
        low, _ = self._optimise(objective, 1.0)
        high, _ = self._optimise(objective, -1.0)
        assert low is not None
        return math.ceil(low - EPS), None if high is None else math.floor(-high + EPS)

    def attained(self, objective: np.ndarray) -> tuple[int | None, float | None]:
        """Each end when an integer point attains it, None where none was found; the upper
        end is infinite when it is unbounded (a ray from an integer point stays integer)."""
        ends: list[float | None] = []
        for sign in (1.0, -1.0):
            value, point = self._optimise(objective, sign)
            if value is None:
                ends.append(math.inf)
                continue
            ends.append(round(sign * value) if _integral(point) else None)
        low = ends[0]
        return (None if low is None else int(low)), ends[1]

    def integer_interval(self, objective: np.ndarray) -> Interval:
        """The whole history: the attacker's integer program itself."""
        ends: list[int | None] = []
        for sign in (1.0, -1.0):
            value, point = self._optimise(objective, sign)
            if value is None:
                ends.append(None)
                continue
            if not _integral(point):
                value = self._integer_optimum(objective, sign)
            ends.append(round(sign * value))
        assert ends[0] is not None
        return Interval(ends[0], ends[1])

    def _integer_optimum(self, objective: np.ndarray, sign: float) -> float:
        highs = self._model()
        highs.changeColsIntegrality(
            self.n,
            np.arange(self.n, dtype=np.int32),
            np.full(self.n, highspy.HighsVarType.kInteger),
        )
        try:
            highs.changeColsCost(self.n, np.arange(self.n, dtype=np.int32), sign * objective)
            highs.run()
            return float(sign * objective @ np.array(highs.getSolution().col_value))
        finally:
            highs.changeColsIntegrality(
                self.n,
                np.arange(self.n, dtype=np.int32),
                np.full(self.n, highspy.HighsVarType.kContinuous),
            )
