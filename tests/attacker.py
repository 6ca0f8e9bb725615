"""An attacker written for the tests, independent of `transforms.privacy`: it reads only the
published tables of every release (and which cells exist, which the tables themselves show) and
asks HiGHS, through `scipy.optimize.milp`, how far each count can move.

Each cell's unknowns are its positive and not-positive respondents, never negative. A
withdrawal cell (`withdrawn_from` not NULL: a replaced file's respondents taken out again) is
counted negatively in every sum and withdraws at least one respondent; the withdrawals from
one cell together take, answer by answer, no more than it holds (a file is replaced once). A
group of one withdrawal cell is asked about as the respondents it withdraws.
Optionally it also reads the bounds the tables publish beside each withheld figure, so a test
can check that they tell a reader nothing the figures did not."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy.optimize import Bounds, LinearConstraint, milp

KEYS = ("region", "training_day")
WITHDRAWN_FROM = "withdrawn_from"
BIG = 10**6
OPEN = BIG // 2
"""A maximum this large is held only by `BIG` itself (true counts here are hundreds at most,
and a cell held at BIG minus a few is BIG's artefact): no upper bound can be derived."""
PRESOLVE = False


@dataclass(frozen=True)
class Group:
    """A set of cells, by index into the attacker's cell list."""

    cells: tuple[int, ...]


class TestAttacker:
    __test__ = False

    def __init__(
        self,
        cells: pl.DataFrame,
        releases: Sequence[dict[str, pl.DataFrame]],
        rounding: int,
        *,
        bounds: bool = False,
        integer: bool = True,
    ) -> None:
        """`cells`: item, region, training_day, arrival of every cell (no counts);
        `releases[r]`: the published tables of release r + 1. With `bounds`, the published
        n_positive_min/max and n_respondents_min/max are read as constraints too (a NULL max
        is open above). With `integer` False it is a reader with only a linear-program solver:
        ends are the relaxation's optimum rounded inwards (counts are whole numbers)."""
        self.integer = integer
        if WITHDRAWN_FROM not in cells.columns:
            cells = cells.with_columns(pl.lit(None, pl.Int64).alias(WITHDRAWN_FROM))
        self.cells = cells.select("item", *KEYS, "arrival", WITHDRAWN_FROM).to_dicts()
        self.rounding = rounding
        rows: list[np.ndarray] = []
        lo: list[float] = []
        hi: list[float] = []
        for index in range(len(self.cells)):  # every cell a table shows holds someone
            rows.append(self._vector((index,), pos=True, neg=True, counted=False))
            lo.append(1)
            hi.append(BIG)
        withdrawn: dict[int, list[int]] = {}  # each source cell's withdrawals, all together
        for index, cell in enumerate(self.cells):
            if cell[WITHDRAWN_FROM] is None:
                continue
            source = [
                i
                for i, c in enumerate(self.cells)
                if c[WITHDRAWN_FROM] is None
                and (c["item"], c["region"], c["training_day"], c["arrival"])
                == (cell["item"], cell["region"], cell["training_day"], cell[WITHDRAWN_FROM])
            ]
            assert len(source) == 1, cell
            withdrawn.setdefault(source[0], []).append(index)
        for source, withdrawals in withdrawn.items():  # no more than was there
            for pos in (True, False):
                vector = self._vector((source,), pos=pos, neg=not pos, counted=False)
                rows.append(vector - self._vector(withdrawals, pos=pos, neg=not pos, counted=False))
                lo.append(0)
                hi.append(np.inf)
        for number, tables in enumerate(releases, start=1):
            for frame in tables.values():
                for row in frame.to_dicts():
                    members = self.members(row, number)
                    for column, pos in (("n_respondents", False), ("n_positive", True)):
                        readings = []
                        if row.get(column) is not None:
                            readings.append(self._reading(row[column]))
                        if bounds and row.get(f"{column}_min") is not None:
                            readings.append((row[f"{column}_min"], row[f"{column}_max"]))
                        for low, high in readings:
                            rows.append(self._vector(members, pos=True, neg=not pos))
                            lo.append(low)
                            hi.append(np.inf if high is None else high)
        self.matrix = np.array(rows)
        self.lo = np.array(lo, dtype=float)
        self.hi = np.array(hi, dtype=float)  # inf: open above (no constraint, not one at BIG)
        self._known: dict[tuple[tuple[int, ...], str], tuple[int, float]] = {}

    def members(self, row: dict[str, object], release: int) -> tuple[int, ...]:
        return tuple(
            i
            for i, cell in enumerate(self.cells)
            if cell["item"] == row["item"]
            and int(cell["arrival"]) <= release  # type: ignore[call-overload]
            and all(cell[k] == row[k] for k in KEYS if k in row)
        )

    def _reading(self, shown: object) -> tuple[int, int]:
        value = int(shown)  # type: ignore[call-overload]
        if self.rounding == 1:
            return value, value
        return max(0, value - self.rounding // 2), value + (self.rounding - 1) // 2

    def withdrawal(self, index: int) -> bool:
        return self.cells[index][WITHDRAWN_FROM] is not None

    def _vector(
        self, members: Sequence[int], *, pos: bool, neg: bool, counted: bool = True
    ) -> np.ndarray:
        """The sum of the members' counts: as a table counts them (`counted`: a withdrawal
        negatively), or each cell's own respondents."""
        vector = np.zeros(2 * len(self.cells))
        for i in members:
            sign = -1 if counted and self.withdrawal(i) else 1
            if pos:
                vector[2 * i] = sign
            if neg:
                vector[2 * i + 1] = sign
        return vector

    def interval(self, members: Sequence[int], measure: str) -> tuple[int, float]:
        """[min, max] of a group's positive, not_positive or respondents count (max inf when
        open). Remembered: the constraints never change once built."""
        key = (tuple(sorted(members)), measure)
        if key not in self._known:
            self._known[key] = self._solve(members, measure)
        return self._known[key]

    def _solve(self, members: Sequence[int], measure: str) -> tuple[int, float]:
        withdrawn = len(members) == 1 and self.withdrawal(members[0])
        objective = self._vector(
            members,
            pos=measure != "not_positive",
            neg=measure != "positive",
            counted=not withdrawn,
        )
        low = math.ceil(self._optimum(objective) - 1e-6)
        high = math.floor(-self._optimum(-objective) + 1e-6)
        return low, float("inf") if high >= OPEN else high

    def _optimum(self, objective: np.ndarray) -> float:
        """The least value of `objective` over every integer assignment the figures allow.
        HiGHS's presolve has been seen to call such a model infeasible when it is not (the true
        counts satisfy it), so it is solved without presolve: the models are tiny."""
        result = milp(
            objective,
            constraints=LinearConstraint(self.matrix, self.lo, self.hi),
            integrality=np.ones(len(objective)) if self.integer else np.zeros(len(objective)),
            bounds=Bounds(0, BIG),
            options={"presolve": PRESOLVE},
        )
        assert result.status == 0, result.message
        return float(result.fun)


def breaches(
    attacker: TestAttacker,
    groups: Sequence[tuple[str, tuple[int, ...], int, int, bool]],
    *,
    min_cell: int,
    protection: int,
    protect_zeros: bool,
) -> list[str]:
    """Groups (label, cells, n, k, is_published_row) whose protected counts the attacker
    narrows too far. A published row the rule protects must hide its positive and not-positive
    counts well (and its n when n < min_cell); any other group, each count that is protected."""
    found = []
    low_risk = 0 if protect_zeros else 1

    def risky(value: int, low: int, n: int) -> bool:
        return min_cell > 1 and n > 0 and low <= value <= min_cell - 1

    for label, members, n, k, is_row in groups:
        counts = {"positive": k, "not_positive": n - k, "respondents": n}
        protected_row = is_row and (
            n < min_cell or risky(k, low_risk, n) or risky(n - k, low_risk, n)
        )
        for measure, value in counts.items():
            low_end = 1 if measure == "respondents" else low_risk
            if measure == "respondents":
                needed = risky(n, 1, n)
            else:
                needed = protected_row or risky(value, low_end, n)
            if not needed:
                continue
            low, high = attacker.interval(members, measure)
            narrow = high - low < protection
            inside = min_cell > 1 and low >= low_end and high <= min_cell - 1
            if narrow or inside:
                found.append(f"{label} {measure}: [{low}, {high}]")
    return found


def groups_of(
    attacker: TestAttacker, data: pl.DataFrame, tables: dict[str, pl.DataFrame], release: int
) -> list[tuple[str, tuple[int, ...], int, int, bool]]:
    """Every published row of `release`, every cell that had arrived by then and every row's
    batch per arrival, with true counts (`data` holds the attacker's cells, in its order, with
    n_respondents and n_positive): the groups `breaches` must find well hidden."""
    counts = data.to_dicts()
    groups = []

    def add(label: str, members: tuple[int, ...], is_row: bool) -> None:
        n = sum(counts[i]["n_respondents"] for i in members)
        k = sum(counts[i]["n_positive"] for i in members)
        if len(members) == 1 and attacker.withdrawal(members[0]):
            n, k = -n, -k  # the respondents it withdraws
        if members:
            groups.append((label, members, n, k, is_row))

    for name, table in tables.items():
        for published in table.to_dicts():
            members = attacker.members(published, release)
            add(f"{name} {published}", members, True)
            for arrival in range(1, release + 1):
                batch = tuple(
                    i
                    for i in members
                    if counts[i]["arrival"] == arrival and not attacker.withdrawal(i)
                )
                if batch != members:
                    add(f"{name} {published} arrival {arrival}", batch, False)
    for index, cell in enumerate(counts):
        if cell["arrival"] <= release:
            add(f"cell {index}", (index,), False)
    for label, members in isolable(attacker, release):
        add(label, members, False)
    return groups


def isolable(attacker: TestAttacker, release: int) -> list[tuple[str, tuple[int, ...]]]:
    """Groups a reader can name though no table shows them: per item, the rest of the country
    beside each region, everyone at one training day date in every region, and each region's
    respondents; each as it stands now and as it stood at every earlier release."""
    found = []
    for as_of in range(1, release + 1):
        cells = [(i, c) for i, c in enumerate(attacker.cells) if int(c["arrival"]) <= as_of]
        for item in sorted({str(c["item"]) for _, c in cells}):
            mine = [(i, c) for i, c in cells if c["item"] == item]
            for region in sorted({str(c["region"]) for _, c in mine}):
                rest = tuple(i for i, c in mine if c["region"] != region)
                own = tuple(i for i, c in mine if c["region"] == region)
                found.append((f"{item} all but {region} as of {as_of}", rest))
                found.append((f"{item} {region} as of {as_of}", own))
            for day in sorted({c["training_day"] for _, c in mine}):
                same = tuple(i for i, c in mine if c["training_day"] == day)
                found.append((f"{item} everyone on {day} as of {as_of}", same))
    return [(label, members) for label, members in found if members]
