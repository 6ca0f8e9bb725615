"""The HTML report: one self-contained page (inline SVG and CSS, no script, no network) an
analyst or a training programme director can open from an email attachment.

Every figure comes from the published file; withheld figures show the range any reader can
already derive, or `[c]` (GSS's mark for confidential) when no percentage range exists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jinja2
import polars as pl

from transforms.report.charts import Point, TrendDay, funnel_svg, trend_svg
from transforms.report.published import Published

CONFIDENTIAL = "[c]"
ALL_REGIONS = "all regions"


def render_page(published: Published) -> str:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("transforms.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template("report.html.j2").render(**page_context(published))


def page_context(published: Published) -> dict[str, Any]:
    items = published.table("items")
    by_region = published.table("outcomes_by_region")
    national = published.table("outcomes_national")
    regions = sorted(by_region["region"].unique().to_list())
    return {
        "release": published.release,
        "regions": regions,
        "headline": _headline(items, by_region, national, regions),
        "funnels": [_funnel(item, published) for item in items.iter_rows(named=True)],
        "trends": [_trend(item, published) for item in items.iter_rows(named=True)],
        "participation": _participation(published.table("participation"), regions),
        "words": published.table("theme_words").to_dicts(),
        "words_by_region": _words_by_region(published.table("theme_words_by_region"), regions),
        "held_back": {
            (row["region"] or "all regions"): row["n_words_held_back"]
            for row in published.table("theme_words_held_back").iter_rows(named=True)
        },
    }


def percent_text(row: Mapping[str, Any]) -> str:
    """'93%', a withheld figure's derivable range '86-100%' ('≥86%' when open above), or [c]."""
    if row["pct_positive"] is not None:
        return f"{row['pct_positive']:.0f}%"
    low, high = pct_range(row)
    if low is None:
        return CONFIDENTIAL
    if high is None:
        return f"≥{low:.0f}%"
    return f"{low:.0f}%" if round(low) == round(high) else f"{low:.0f}-{high:.0f}%"


def pct_range(row: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """The percentages a withheld positive count's bounds give over a shown n."""
    n, k_lo, k_hi = row["n_respondents"], row["n_positive_min"], row["n_positive_max"]
    if not n or k_lo is None:
        return None, None
    return 100 * k_lo / n, None if k_hi is None else min(100.0, 100 * k_hi / n)


def interval_text(row: Mapping[str, Any]) -> str:
    if row["ci_low"] is None:
        return ""
    return f"{row['ci_low']:.0f}-{row['ci_high']:.0f}"


def _cell(row: Mapping[str, Any] | None, region: str) -> dict[str, Any]:
    if row is None:
        return {"text": "no answers", "detail": "", "withheld": False, "region": region}
    shown = row["pct_positive"] is not None
    detail = (
        f"{row['n_positive']}/{row['n_respondents']}, 95% CI {interval_text(row)}"
        if shown
        else "withheld: derivable range"
        if pct_range(row)[0] is not None
        else "withheld"
    )
    return {"text": percent_text(row), "detail": detail, "withheld": not shown, "region": region}


def _headline(
    items: pl.DataFrame, by_region: pl.DataFrame, national: pl.DataFrame, regions: list[str]
) -> list[dict[str, Any]]:
    cells = {(r["region"], r["item"]): r for r in by_region.iter_rows(named=True)}
    overall = {r["item"]: r for r in national.iter_rows(named=True)}
    return [
        {
            "item": item["item"],
            "statement": item["statement"],
            "competency": item["competency"],
            "regions": [_cell(cells.get((region, item["item"])), region) for region in regions],
            "national": _cell(overall.get(item["item"]), ALL_REGIONS),
        }
        for item in items.iter_rows(named=True)
    ]


def _funnel(item: Mapping[str, Any], published: Published) -> dict[str, Any]:
    rows = (
        published.table("region_comparison").filter(pl.col("item") == item["item"]).sort("region")
    )
    shown = rows.filter(~pl.col("withheld"))
    national = published.table("outcomes_national").filter(pl.col("item") == item["item"])
    centre = national["pct_positive"][0] if national.height else None
    points = [Point(r["region"], r["n_respondents"], r["pct_positive"]) for r in shown.to_dicts()]
    description = "; ".join(
        f"{p.label}: {p.pct:.0f}% of {p.n}, {r['funnel_95']} the 95% limits"
        for p, r in zip(points, shown.to_dicts(), strict=True)
    )
    withheld = rows.filter(pl.col("withheld"))["region"].to_list()
    svg = (
        funnel_svg(
            f"Funnel plot: {item['statement']}",
            centre,
            points,
            f"National {centre:.0f}% positive. " + (description or "No region shown."),
        )
        if centre is not None
        else None
    )
    return {
        "item": item["item"],
        "statement": item["statement"],
        "svg": svg,
        "rows": shown.to_dicts(),
        "withheld": withheld,
    }


def _trend(item: Mapping[str, Any], published: Published) -> dict[str, Any]:
    rows = (
        published.table("outcomes_national_by_training_day")
        .filter(pl.col("item") == item["item"])
        .sort("training_day")
        .to_dicts()
    )
    days = []
    for row in rows:
        withheld = row["pct_positive"] is None
        low, high = pct_range(row) if withheld else (row["ci_low"], row["ci_high"])
        days.append(TrendDay(str(row["training_day"]), row["pct_positive"], low, high, withheld))
    description = "; ".join(
        f"{day.label}: {percent_text(row)}" for day, row in zip(days, rows, strict=True)
    )
    svg = trend_svg(f"National trend: {item['statement']}", days, description) if days else None
    table = [
        {
            "day": str(row["training_day"]),
            "text": percent_text(row),
            "interval": interval_text(row),
            "n": row["n_respondents"],
        }
        for row in rows
    ]
    return {"item": item["item"], "statement": item["statement"], "svg": svg, "rows": table}


def _participation(frame: pl.DataFrame, regions: list[str]) -> dict[str, Any]:
    days = sorted({str(d) for d in frame["training_day"].to_list()})
    cells = {(r["region"], str(r["training_day"])): r for r in frame.iter_rows(named=True)}

    def text(region: str, day: str) -> str:
        row = cells.get((region, day))
        if row is None:
            return ""
        if row["n_respondents"] is not None:
            return str(row["n_respondents"])
        low, high = row["n_respondents_min"], row["n_respondents_max"]
        if low is None:
            return CONFIDENTIAL
        return f"≥{low}" if high is None else f"{low}-{high}" if low != high else str(low)

    return {
        "days": days,
        "rows": [{"region": r, "cells": [text(r, d) for d in days]} for r in regions],
    }


def _words_by_region(frame: pl.DataFrame, regions: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "region": region,
            "words": frame.filter(pl.col("region") == region)
            .select("word", "n_respondents")
            .to_dicts(),
        }
        for region in regions
    ]
