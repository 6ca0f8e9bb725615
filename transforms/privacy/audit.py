"""The attacker's view of a release: integer programs over every published figure.

For a withheld quantity (a sum of cell unknowns) the attacker's best knowledge is the interval
[min, max] of that sum over every non-negative integer assignment of the cells that agrees with
every figure of this release and of every earlier one (a rounded figure is an interval), and
with the structure the tables themselves show (each cell holds at least one respondent). Both
ends are solved exactly by HiGHS (`scipy.optimize.milp`); if a solve hits its time limit the
best assignment found so far is used, which can only narrow the interval (the safe side)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

UNBOUNDED = 10**6
"""Upper bound on any unknown: an interval reaching it is open above."""
TIME_LIMIT_SECONDS = 5.0


@dataclass(frozen=True)
class Figure:
    """lo <= sum of `variables` <= hi: one published number (or a cell's existence)."""

    variables: tuple[int, ...]
    lo: int
    hi: int


@dataclass(frozen=True)
class Interval:
    lo: int
    hi: int | None
    """None: no upper bound can be derived."""

    @property
    def width(self) -> float:
        return float("inf") if self.hi is None else self.hi - self.lo


class Attacker:
    """All the published figures of one item as a constraint system, ready to be queried."""

    def __init__(self, n_variables: int, figures: list[Figure]) -> None:
        self.n = n_variables
        matrix = np.zeros((len(figures), n_variables))
        for row, figure in enumerate(figures):
            matrix[row, list(figure.variables)] = 1.0
        self.constraint = (
            LinearConstraint(matrix, [f.lo for f in figures], [f.hi for f in figures])
            if figures
            else None
        )

    def interval(self, variables: tuple[int, ...]) -> Interval:
        lo = self._optimum(variables, 1.0)
        hi = -self._optimum(variables, -1.0)
        return Interval(lo, None if hi >= UNBOUNDED else hi)

    def _optimum(self, variables: tuple[int, ...], sign: float) -> int:
        objective = np.zeros(self.n)
        objective[list(variables)] = sign
        result = milp(
            objective,
            constraints=self.constraint,
            integrality=np.ones(self.n),
            bounds=Bounds(0, UNBOUNDED),
            options={"time_limit": TIME_LIMIT_SECONDS},
        )
        if result.x is None:
            raise RuntimeError(f"attacker model unsolvable: {result.message}")
        return round(float(objective @ np.round(result.x)))
