"""The report's charts as inline SVG (matplotlib, no network, no script): a funnel plot per item
and the national trend over training days. Each carries a title and a description for screen
readers; the report puts the numbers beside every chart as a table too."""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np

from transforms.statistics import Z95, Z998, funnel_limits

REGION_COLOUR = "#1f5fa8"
"""Points and intervals: the report's screenshot test looks for this colour."""
LIMIT_COLOUR = "#b35806"
WITHHELD_COLOUR = "#9e9e9e"
MAX_DATE_LABELS = 14
"""Dates named under the trend at most: every day is still plotted, and listed in its table."""

plt.rcParams.update(
    {
        "svg.fonttype": "none",
        "svg.hashsalt": "reflect-eval",
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


_FUNNEL_MARGINS = {"left": 0.11, "right": 0.98, "bottom": 0.14, "top": 0.97}
_TREND_MARGINS = {"left": 0.11, "right": 0.98, "bottom": 0.27, "top": 0.96}
"""Fixed margins for the charts' fixed sizes and fonts, room for the axis labels and the
slanted dates: laying each chart out to fit (`tight_layout`) cost a third of the report's time."""


@dataclass(frozen=True)
class Point:
    label: str
    n: int
    pct: float


@dataclass(frozen=True)
class TrendDay:
    label: str
    pct: float | None
    low: float | None
    high: float | None
    """The interval: Wilson 95% for a shown figure, the derivable range for a withheld one."""
    withheld: bool


def funnel_svg(title: str, national_pct: float, points: Sequence[Point], description: str) -> str:
    """Regions' % positive against their n, inside 95% and 99.8% limits around the national rate."""
    figure, axes = plt.subplots(figsize=(5.2, 3.4))
    figure.subplots_adjust(**_FUNNEL_MARGINS)
    top = max([p.n for p in points] + [10]) * 1.15
    n = np.linspace(1, top, 200)
    p0 = national_pct / 100
    for z, style, label in ((Z95, "--", "95% limits"), (Z998, ":", "99.8% limits")):
        low, high = funnel_limits(p0, n, z)
        axes.plot(n, 100 * low, style, color=LIMIT_COLOUR, linewidth=1, label=label)
        axes.plot(n, 100 * high, style, color=LIMIT_COLOUR, linewidth=1)
    axes.axhline(national_pct, color="#444444", linewidth=0.8, label="national")
    axes.scatter([p.n for p in points], [p.pct for p in points], color=REGION_COLOUR, zorder=3)
    for p in points:
        axes.annotate(p.label, (p.n, p.pct), textcoords="offset points", xytext=(4, 3), fontsize=7)
    axes.set_xlabel("respondents in the region")
    axes.set_ylabel("% positive")
    axes.set_xlim(0, top)
    axes.set_ylim(max(0, min([p.pct for p in points] + [national_pct]) - 25), 101)
    axes.legend(fontsize=7, loc="lower right", frameon=False)
    return _svg(figure, title, description)


def trend_svg(title: str, days: Sequence[TrendDay], description: str) -> str:
    """National % positive per training day with its interval; withheld days as grey ranges."""
    figure, axes = plt.subplots(figsize=(5.2, 2.8))
    figure.subplots_adjust(**_TREND_MARGINS)
    for withheld, colour, width in ((True, WITHHELD_COLOUR, 6), (False, REGION_COLOUR, 1.5)):
        ranges = [
            (i, d.low, d.high)
            for i, d in enumerate(days)
            if d.withheld == withheld and d.low is not None and d.high is not None
        ]
        if ranges:
            x, low, high = zip(*ranges, strict=True)
            axes.vlines(x, low, high, color=colour, linewidth=width)
    shown = [(i, d.pct) for i, d in enumerate(days) if d.pct is not None]
    if shown:
        axes.plot(*zip(*shown, strict=True), "o-", color=REGION_COLOUR, linewidth=1, markersize=4)
    step = max(1, math.ceil(len(days) / MAX_DATE_LABELS))
    ticks = range(0, len(days), step)
    axes.set_xticks(ticks, [days[i].label for i in ticks], rotation=30, ha="right", fontsize=7)
    axes.set_ylabel("% positive")
    axes.set_ylim(max(0, min([d.low for d in days if d.low is not None] + [100]) - 10), 101)
    return _svg(figure, title, description)


def _svg(figure: plt.Figure, title: str, description: str) -> str:
    """The figure as an <svg> element labelled for assistive technology (no XML prologue)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(figure)
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    label = f"<title>{escape(title)}</title><desc>{escape(description)}</desc>"
    return re.sub(r"<svg\b", '<svg role="img"', text, count=1).replace(">", ">" + label, 1)
