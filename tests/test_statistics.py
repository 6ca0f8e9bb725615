"""Interval estimates for published proportions, checked against the worked examples printed in
Newcombe's two 1998 Statistics in Medicine papers, against funnel limits worked by hand, and by
properties that must hold for every count a survey can produce."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import norm

from transforms.statistics import (
    Z95,
    Z998,
    funnel_limits,
    funnel_position,
    funnel_positions,
    newcombe_difference,
    newcombe_differences,
    wilson_interval,
    wilson_intervals,
)

PUBLISHED = 1e-4 / 2  # the papers print 4 decimal places: agree to within half a unit in the 4th
HAND = 1e-6


def test_the_normal_quantiles_are_those_of_a_two_sided_95_and_99_8_percent_interval():
    assert norm.ppf(0.975) == pytest.approx(Z95, abs=1e-15)
    assert norm.ppf(0.999) == pytest.approx(Z998, abs=1e-15)


# Newcombe RG. Two-sided confidence intervals for the single proportion: comparison of seven
# methods. Stat Med 1998;17:857-872. Table I, method 3 (score interval without continuity
# correction).
@pytest.mark.parametrize(
    ("k", "n", "lower", "upper"),
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0000, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_reproduces_newcombe_1998_table_1(k, n, lower, upper):
    assert wilson_interval(k, n) == pytest.approx((lower, upper), abs=PUBLISHED)


def test_wilson_interval_of_none_or_all_reaches_exactly_0_or_1():
    assert wilson_interval(0, 20)[0] == 0.0
    assert wilson_interval(20, 20)[1] == 1.0


def test_wilson_interval_widens_with_the_confidence_level():
    lower95, upper95 = wilson_interval(81, 263, Z95)
    lower998, upper998 = wilson_interval(81, 263, Z998)
    assert lower998 < lower95 < 81 / 263 < upper95 < upper998


@pytest.mark.parametrize(("k", "n"), [(0, 0), (1, 0), (1, -5), (-1, 10), (11, 10), (math.nan, 10)])
def test_wilson_interval_refuses_an_impossible_count(k, n):
    with pytest.raises(ValueError):
        wilson_interval(k, n)


# Newcombe RG. Interval estimation for the difference between independent proportions:
# comparison of eleven methods. Stat Med 1998;17:873-890. Table II, method 10 (hybrid score
# interval built from Wilson intervals without continuity correction).
@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "difference", "lower", "upper"),
    [
        (56, 70, 48, 80, 0.2000, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.6000, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.5714, 0.0582, 0.8062),
        (5, 56, 0, 29, 0.0893, -0.0381, 0.1926),
        (0, 10, 0, 20, 0.0000, -0.1611, 0.2775),
        (10, 10, 0, 20, 1.0000, 0.6791, 1.0000),
    ],
)
def test_newcombe_difference_reproduces_newcombe_1998_table_2(
    k1, n1, k2, n2, difference, lower, upper
):
    expected = (difference, lower, upper)
    assert newcombe_difference(k1, n1, k2, n2) == pytest.approx(expected, abs=PUBLISHED)


def test_newcombe_difference_changes_sign_when_the_groups_are_swapped():
    difference, lower, upper = newcombe_difference(56, 70, 48, 80)
    swapped = newcombe_difference(48, 80, 56, 70)
    assert swapped == pytest.approx((-difference, -upper, -lower), abs=1e-12)


def test_newcombe_difference_refuses_an_empty_group():
    with pytest.raises(ValueError):
        newcombe_difference(3, 10, 0, 0)
    with pytest.raises(ValueError):
        newcombe_difference(11, 10, 3, 10)


def test_funnel_limits_at_95_percent_match_the_hand_calculation():
    # p0 = 0.9, n = 14: sqrt(0.9 * 0.1 / 14) = sqrt(0.006428571...) = 0.080178373
    # 1.959963985 * 0.080178373 = 0.157146723
    # lower = 0.9 - 0.157146723 = 0.742853277
    # upper = 0.9 + 0.157146723 = 1.057146723, clipped to 1
    lower, upper = funnel_limits(0.9, 14, Z95)
    assert lower == pytest.approx(0.742853277, abs=HAND)
    assert upper == 1.0


def test_funnel_limits_at_99_8_percent_match_the_hand_calculation():
    # 3.090232306 * 0.080178373 = 0.247769797
    # lower = 0.9 - 0.247769797 = 0.652230203
    # upper = 0.9 + 0.247769797 = 1.147769797, clipped to 1
    lower, upper = funnel_limits(0.9, 14, Z998)
    assert lower == pytest.approx(0.652230203, abs=HAND)
    assert upper == 1.0


def test_funnel_limits_are_clipped_at_0_for_a_low_target():
    # p0 = 0.05, n = 10: 1.959963985 * sqrt(0.05 * 0.95 / 10) = 1.959963985 * 0.068920244
    # = 0.135081195; lower = 0.05 - 0.135081195 < 0, clipped to 0; upper = 0.185081195
    lower, upper = funnel_limits(0.05, 10, Z95)
    assert lower == 0.0
    assert upper == pytest.approx(0.185081195, abs=HAND)


def test_funnel_limits_narrow_as_the_unit_grows():
    small = funnel_limits(0.6, 20, Z95)
    large = funnel_limits(0.6, 2000, Z95)
    assert small[0] < large[0] < 0.6 < large[1] < small[1]


def test_funnel_limits_refuse_an_impossible_target_or_an_empty_unit():
    with pytest.raises(ValueError):
        funnel_limits(1.2, 14, Z95)
    with pytest.raises(ValueError):
        funnel_limits(0.9, 0, Z95)


def test_a_unit_at_10_of_14_is_below_a_90_percent_target_at_95_but_not_at_99_8_percent():
    # 10/14 = 0.714286: under the 95% lower limit 0.742853, over the 99.8% lower limit 0.652230
    assert funnel_position(10, 14, 0.9, Z95) == "below"
    assert funnel_position(10, 14, 0.9, Z998) == "within"


def test_a_unit_at_100_percent_is_within_when_the_upper_limit_is_clipped_to_1():
    assert funnel_position(14, 14, 0.9, Z95) == "within"
    assert funnel_position(14, 14, 0.9, Z998) == "within"


def test_a_unit_far_over_a_low_target_is_above():
    # p0 = 0.2, n = 100: upper = 0.2 + 1.959964 * 0.04 = 0.278399; 40/100 = 0.4 is above it
    assert funnel_position(40, 100, 0.2, Z95) == "above"


def test_a_proportion_exactly_on_a_limit_is_within():
    # p0 = 0.5, n = 100, z = 2: limits 0.5 -/+ 2 * 0.05 = 0.4 and 0.6 exactly
    assert funnel_position(40, 100, 0.5, 2.0) == "within"
    assert funnel_position(60, 100, 0.5, 2.0) == "within"
    assert funnel_position(39, 100, 0.5, 2.0) == "below"
    assert funnel_position(61, 100, 0.5, 2.0) == "above"


K = np.array([81, 15, 0, 1, 20, 7])
N = np.array([263, 148, 20, 29, 20, 12])


def test_wilson_intervals_agree_with_the_scalar_function():
    lower, upper = wilson_intervals(K, N)
    for i, (k, n) in enumerate(zip(K, N, strict=True)):
        assert (lower[i], upper[i]) == pytest.approx(wilson_interval(k, n), abs=1e-12)


def test_wilson_intervals_are_nan_for_an_empty_unit_or_a_missing_count():
    lower, upper = wilson_intervals([3.0, 0.0, math.nan, 3.0, 2.0], [0.0, -1.0, 10.0, math.nan, 8])
    assert np.isnan(lower[:4]).all()
    assert np.isnan(upper[:4]).all()
    assert (lower[4], upper[4]) == pytest.approx(wilson_interval(2, 8), abs=1e-12)


def test_wilson_intervals_refuse_a_count_larger_than_its_base():
    with pytest.raises(ValueError):
        wilson_intervals([5, 11], [10, 10])


def test_newcombe_differences_agree_with_the_scalar_function():
    k1 = np.array([56, 9, 6, 5, 0, 10])
    n1 = np.array([70, 10, 7, 56, 10, 10])
    k2 = np.array([48, 3, 2, 0, 0, 0])
    n2 = np.array([80, 10, 7, 29, 20, 20])
    difference, lower, upper = newcombe_differences(k1, n1, k2, n2)
    for i in range(len(k1)):
        expected = newcombe_difference(k1[i], n1[i], k2[i], n2[i])
        assert (difference[i], lower[i], upper[i]) == pytest.approx(expected, abs=1e-12)


def test_newcombe_differences_are_nan_when_either_group_is_empty_or_missing():
    k1 = np.array([0, 3, math.nan, 3, 4])
    n1 = np.array([0, 10, 10, 10, 9])
    k2 = np.array([2, 0, 1, 1, 1])
    n2 = np.array([10, 0, 10, math.nan, 9])
    results = newcombe_differences(k1, n1, k2, n2)
    for values in results:
        assert np.isnan(values[:4]).all()
    assert tuple(r[4] for r in results) == pytest.approx(newcombe_difference(4, 9, 1, 9), abs=1e-12)


def test_funnel_limits_on_an_array_agree_with_the_scalar_function_and_are_nan_for_no_one():
    n = np.array([14, 50, 0, 400])
    lower, upper = funnel_limits(0.9, n, Z95)
    for i in (0, 1, 3):
        assert (lower[i], upper[i]) == pytest.approx(funnel_limits(0.9, int(n[i]), Z95))
    assert math.isnan(lower[2])
    assert math.isnan(upper[2])


def test_funnel_positions_agree_with_the_scalar_function_and_are_none_for_no_one():
    k = np.array([10, 14, 40, 3, math.nan, 0])
    n = np.array([14, 14, 50, 0, 20, 20])
    positions = funnel_positions(k, n, 0.9, Z95)
    assert list(positions) == ["below", "within", "below", None, None, "below"]
    for i in (0, 1, 2, 5):
        assert positions[i] == funnel_position(k[i], n[i], 0.9, Z95)
    assert list(funnel_positions(k[:2], n[:2], 0.9, Z998)) == ["within", "within"]


@st.composite
def counts(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(min_value=1, max_value=500))
    return draw(st.integers(min_value=0, max_value=n)), n


@given(counts())
def test_wilson_interval_contains_the_observed_proportion_and_lies_in_0_1(count):
    k, n = count
    lower, upper = wilson_interval(k, n)
    assert 0.0 <= lower <= k / n <= upper <= 1.0


@given(counts(), counts())
def test_newcombe_interval_contains_the_observed_difference_and_lies_in_minus_1_1(first, second):
    (k1, n1), (k2, n2) = first, second
    difference, lower, upper = newcombe_difference(k1, n1, k2, n2)
    assert difference == k1 / n1 - k2 / n2
    assert -1.0 <= lower <= difference <= upper <= 1.0
