"""Interval estimates for published proportions: Wilson intervals for one proportion, Newcombe's
hybrid score interval for a difference of two, and funnel-plot control limits around a target.

The published figures are small-area survey percentages, often from a few dozen respondents and
often at 0% or 100%, where the textbook Wald interval (p +/- z*sqrt(p(1-p)/n)) collapses to zero
width or runs outside [0, 1]. The Wilson score interval and the Newcombe hybrid built from it keep
close to their nominal coverage there, need no iteration, and stay inside the possible range.

Each method comes as a scalar function, which raises ValueError on impossible input, and as a
vectorised function over numpy arrays, which gives NaN (or None) for a unit with no respondents
or a missing count, so that a whole table can be computed at once.
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np
import numpy.typing as npt

__all__ = [
    "Z95",
    "Z998",
    "funnel_limits",
    "funnel_position",
    "funnel_positions",
    "newcombe_difference",
    "newcombe_differences",
    "wilson_interval",
    "wilson_intervals",
]

Z95 = 1.959963984540054
"""Standard normal quantile for a two-sided 95% interval (scipy.stats.norm.ppf(0.975))."""

Z998 = 3.090232306167813
"""Standard normal quantile for a two-sided 99.8% interval (scipy.stats.norm.ppf(0.999))."""

ArrayLike = npt.ArrayLike
FloatArray = npt.NDArray[np.float64]

BELOW = "below"
WITHIN = "within"
ABOVE = "above"


def _check_z(z: float) -> None:
    if not (math.isfinite(z) and z > 0):
        raise ValueError(f"z must be a positive finite normal quantile, got {z!r}")


def _check_count(k: float, n: float) -> None:
    """A scalar count must be a real proportion of a non-empty base: an error here is a bug."""
    if not (math.isfinite(n) and n > 0):
        raise ValueError(f"n must be a positive number of respondents, got {n!r}")
    if not (math.isfinite(k) and 0 <= k <= n):
        raise ValueError(f"k must lie between 0 and n={n!r}, got {k!r}")


def _valid_counts(k: FloatArray, n: FloatArray) -> npt.NDArray[np.bool_]:
    """Where an array count can be used; a count outside 0..n with a real base is refused."""
    usable = np.isfinite(k) & np.isfinite(n) & (n > 0)
    impossible = usable & ((k < 0) | (k > n))
    if impossible.any():
        raise ValueError("every k must lie between 0 and its n (NaN marks a missing count)")
    return usable


def _wilson_core(k: FloatArray, n: FloatArray, z: float) -> tuple[FloatArray, FloatArray]:
    """The Wilson limits on already validated arrays (n > 0, 0 <= k <= n)."""
    p = k / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denominator
    half_width = z * np.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denominator
    # At k = 0 and k = n the limits are exactly 0 and 1 in exact arithmetic; rounding must not
    # leave an interval that excludes the observed 0% or 100%.
    lower = np.where(k == 0, 0.0, np.clip(centre - half_width, 0.0, 1.0))
    upper = np.where(k == n, 1.0, np.clip(centre + half_width, 0.0, 1.0))
    return lower, upper


def wilson_interval(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for the proportion k/n, without continuity correction.

    Used instead of the Wald interval because it keeps near-nominal coverage for small n and for
    proportions at or near 0 and 1, and never leaves [0, 1] (Newcombe 1998, method 3).
    """
    _check_z(z)
    _check_count(k, n)
    lower, upper = _wilson_core(np.float64(k), np.float64(n), z)
    return float(lower), float(upper)


def wilson_intervals(k: ArrayLike, n: ArrayLike, z: float = Z95) -> tuple[FloatArray, FloatArray]:
    """Wilson intervals element by element, NaN where n <= 0 or k or n is missing (NaN).

    Lets a whole published table be given intervals at once while units with no respondents
    simply have none.
    """
    _check_z(z)
    k_arr, n_arr = np.broadcast_arrays(np.asarray(k, dtype=float), np.asarray(n, dtype=float))
    usable = _valid_counts(k_arr, n_arr)
    safe_n = np.where(usable, n_arr, 1.0)
    safe_k = np.where(usable, k_arr, 0.0)
    lower, upper = _wilson_core(safe_k, safe_n, z)
    return np.where(usable, lower, np.nan), np.where(usable, upper, np.nan)


def _newcombe_core(
    k1: FloatArray, n1: FloatArray, k2: FloatArray, n2: FloatArray, z: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Newcombe's method 10 on already validated arrays."""
    p1 = k1 / n1
    p2 = k2 / n2
    l1, u1 = _wilson_core(k1, n1, z)
    l2, u2 = _wilson_core(k2, n2, z)
    difference = p1 - p2
    lower = difference - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = difference + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    # In exact arithmetic l1 - u2 <= lower and upper <= u1 - l2, so the limits are within
    # [-1, 1]; the clip only removes rounding at the extremes.
    return difference, np.clip(lower, -1.0, 1.0), np.clip(upper, -1.0, 1.0)


def newcombe_difference(
    k1: float, n1: float, k2: float, n2: float, z: float = Z95
) -> tuple[float, float, float]:
    """The difference p1 - p2 with its interval by Newcombe's hybrid score method.

    Returns (difference, lower, upper). Method 10 of Newcombe (Stat Med 1998;17:873-890): the
    distances from each proportion to its Wilson limits are combined in quadrature, which keeps
    good coverage with small groups and at 0% or 100% where the Wald difference interval fails.
    """
    _check_z(z)
    _check_count(k1, n1)
    _check_count(k2, n2)
    values = (np.float64(k1), np.float64(n1), np.float64(k2), np.float64(n2))
    difference, lower, upper = _newcombe_core(*values, z)
    return float(difference), float(lower), float(upper)


def newcombe_differences(
    k1: ArrayLike, n1: ArrayLike, k2: ArrayLike, n2: ArrayLike, z: float = Z95
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Newcombe differences element by element: (difference, lower, upper) arrays.

    NaN in all three wherever either base is <= 0 or any input is missing, so one empty unit
    does not stop a whole comparison table being computed.
    """
    _check_z(z)
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (k1, n1, k2, n2)))
    k1_arr, n1_arr, k2_arr, n2_arr = arrays
    usable = _valid_counts(k1_arr, n1_arr) & _valid_counts(k2_arr, n2_arr)
    safe = [np.where(usable, a, fill) for a, fill in zip(arrays, (0.0, 1.0, 0.0, 1.0), strict=True)]
    results = _newcombe_core(*safe, z)
    difference, lower, upper = (np.where(usable, r, np.nan) for r in results)
    return difference, lower, upper


@overload
def funnel_limits(p0: float, n: float, z: float) -> tuple[float, float]: ...
@overload
def funnel_limits(
    p0: float | np.ndarray, n: np.ndarray, z: float
) -> tuple[FloatArray, FloatArray]: ...
def funnel_limits(
    p0: float | np.ndarray, n: float | np.ndarray, z: float
) -> tuple[float, float] | tuple[FloatArray, FloatArray]:
    """Funnel-plot control limits p0 +/- z*sqrt(p0(1-p0)/n), clipped to [0, 1].

    The limits are what a unit of n respondents could show by chance if its true proportion were
    the target p0, so a unit is judged against the spread expected at its own size rather than
    against a league table. A scalar n must be positive; in an array, NaN marks n <= 0 or NaN.
    With an array of n, p0 may be an array too (one target per unit; NaN: no target).
    """
    _check_z(z)
    if np.ndim(p0) > 0:
        p0_arr, n_arr = np.broadcast_arrays(np.asarray(p0, dtype=float), np.asarray(n, float))
        usable = np.isfinite(p0_arr) & (p0_arr >= 0) & (p0_arr <= 1)
        usable &= np.isfinite(n_arr) & (n_arr > 0)
        target = np.where(usable, p0_arr, 0.5)
        half = z * np.sqrt(target * (1.0 - target) / np.where(usable, n_arr, 1.0))
        lower = np.where(usable, np.clip(target - half, 0.0, 1.0), np.nan)
        upper = np.where(usable, np.clip(target + half, 0.0, 1.0), np.nan)
        return lower, upper
    if not (math.isfinite(p0) and 0.0 <= p0 <= 1.0):
        raise ValueError(f"p0 must be a proportion in [0, 1], got {p0!r}")
    if np.ndim(n) == 0:
        n_value = float(n)
        if not (math.isfinite(n_value) and n_value > 0):
            raise ValueError(f"n must be a positive number of respondents, got {n!r}")
        half_width = z * math.sqrt(p0 * (1.0 - p0) / n_value)
        return max(0.0, p0 - half_width), min(1.0, p0 + half_width)
    n_arr = np.asarray(n, dtype=float)
    usable = np.isfinite(n_arr) & (n_arr > 0)
    half_widths = z * np.sqrt(p0 * (1.0 - p0) / np.where(usable, n_arr, 1.0))
    lower = np.where(usable, np.clip(p0 - half_widths, 0.0, 1.0), np.nan)
    upper = np.where(usable, np.clip(p0 + half_widths, 0.0, 1.0), np.nan)
    return lower, upper


def funnel_position(k: float, n: float, p0: float, z: float) -> str:
    """Where the unit's k/n falls against its funnel limits: "below", "within" or "above".

    A proportion exactly on a limit counts as "within": only a strict excursion is flagged, so a
    unit at 100% is never "above" a target whose upper limit has been clipped to 1.
    """
    _check_count(k, n)
    lower, upper = funnel_limits(p0, float(n), z)
    proportion = k / n
    if proportion < lower:
        return BELOW
    if proportion > upper:
        return ABOVE
    return WITHIN


def funnel_positions(k: ArrayLike, n: ArrayLike, p0: float | np.ndarray, z: float) -> np.ndarray:
    """funnel_position element by element: an object array of str, None where n <= 0 or NaN
    (or p0, given per unit, is NaN).

    Lets the funnel flags for every unit in a table be set at once, leaving empty units unflagged.
    """
    k_arr, n_arr = np.broadcast_arrays(np.asarray(k, dtype=float), np.asarray(n, dtype=float))
    usable = _valid_counts(k_arr, n_arr)
    if np.ndim(p0) > 0:
        usable &= np.isfinite(np.asarray(p0, dtype=float))
    lower, upper = funnel_limits(p0, np.where(usable, n_arr, 1.0), z)
    proportion = k_arr / np.where(usable, n_arr, 1.0)
    positions = np.full(k_arr.shape, None, dtype=object)
    positions[usable] = WITHIN
    positions[usable & (proportion < lower)] = BELOW
    positions[usable & (proportion > upper)] = ABOVE
    return positions
