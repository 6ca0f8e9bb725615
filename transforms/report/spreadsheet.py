"""The published tables laid out for the GSS workbook: readers' column names, `[c]` where a
figure is withheld (a null), `[x]` where a column does not apply (a shown figure has no
derivable range), no free text but vocabulary words."""

from __future__ import annotations

from typing import Any

import polars as pl

from transforms.report.page import percent_text
from transforms.report.published import Published
from transforms.report.workbook import WITHHELD_NOTE, Sheet, Workbook

NOT_APPLICABLE = "[x]"
_OUTCOME = {
    "item": "Item",
    "n_respondents": "Answered",
    "n_positive": "Positive",
    "pct_positive": "Percentage positive",
    "ci_low": "95% CI lower (percent)",
    "ci_high": "95% CI upper (percent)",
}


def workbook(published: Published) -> Workbook:
    release = published.release
    edition = f"Release {release['release_no']}, published {release['published_at']:%d %B %Y}"
    policy = f"Disclosure control: {release['policy']} [note 2]"
    return Workbook(
        title="Peer-led reflective practice groups: outcome survey",
        cover_lines=[
            (
                "About these data",
                "Anonymous surveys of palliative medicine specialty registrars after peer-led "
                "reflective practice (Balint-style) groups, by training region and training day.",
            ),
            ("This release", f"{edition}. {policy}."),
            (
                "Withheld figures",
                "A figure that could identify a small group, or be worked out from other "
                "figures, is withheld and marked [c]; where a range can already be read from the "
                "published figures it is given beside it.",
            ),
        ],
        notes=[
            ("[note 1]", WITHHELD_NOTE),
            (
                "[note 2]",
                f"Policy {release['policy']}: no count below {release['min_cell']} is shown, "
                "and none can be derived by subtraction from this or earlier releases.",
            ),
            ("[note 3]", "[x]: not applicable (a shown figure needs no derivable range)."),
            (
                "[note 4]",
                "Confidence intervals are Wilson 95% intervals; the difference from the rest of "
                "the country uses Newcombe's hybrid score interval (1998, method 10).",
            ),
        ],
        sheets=[
            _sheet("Table_1", "Percentage positive by region and item", _headline(published)),
            _sheet(
                "Table_2",
                "Outcomes by region [note 1] [note 4]",
                _outcomes(published.table("outcomes_by_region"), ["region"]),
            ),
            _sheet(
                "Table_3",
                "Outcomes, all regions [note 1] [note 4]",
                _outcomes(published.table("outcomes_national"), []),
            ),
            _sheet(
                "Table_4",
                "Outcomes by training day, all regions [note 1] [note 4]",
                _outcomes(published.table("outcomes_national_by_training_day"), ["training_day"]),
            ),
            _sheet(
                "Table_5",
                "Each region against the rest of the country [note 1] [note 4]",
                _comparison(published.table("region_comparison")),
            ),
            _sheet(
                "Table_6",
                "Participation by region and training day [note 1]",
                _participation(published.table("participation")),
            ),
            _sheet(
                "Table_7",
                "Theme words, all regions and by region",
                _words(published),
            ),
        ],
    )


def _sheet(name: str, title: str, table: pl.DataFrame) -> Sheet:
    return Sheet(name=name, title=title, subtitles=[], table=table)


def _headline(published: Published) -> pl.DataFrame:
    rows = published.table("outcomes_by_region").to_dicts()
    rows += [r | {"region": "All regions"} for r in published.table("outcomes_national").to_dicts()]
    return pl.DataFrame(
        [
            {"Region": r["region"], "Item": r["item"], "Percentage positive": percent_text(r)}
            for r in rows
        ]
    )


def _outcomes(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    def derivable(row: dict[str, Any], count: str) -> str:
        if row[count] is not None:
            return NOT_APPLICABLE
        low, high = row[f"{count}_min"], row[f"{count}_max"]
        if low is None:
            return "none"
        return f"{low} or more" if high is None else f"{low} to {high}"

    names = {"region": "Region", "training_day": "Training day"}
    return pl.DataFrame(
        [
            {names[k]: str(row[k]) for k in keys}
            | {label: row[column] for column, label in _OUTCOME.items()}
            | {
                "Positive: derivable range": derivable(row, "n_positive"),
                "Answered: derivable range": derivable(row, "n_respondents"),
            }
            for row in frame.to_dicts()
        ],
        schema_overrides={"Percentage positive": pl.Float64},
    )


def _comparison(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        pl.col("region").alias("Region"),
        pl.col("item").alias("Item"),
        pl.col("n_respondents").alias("Answered"),
        pl.col("pct_positive").alias("Percentage positive"),
        pl.col("rest_n_respondents").alias("Rest of country: answered"),
        pl.col("rest_pct_positive").alias("Rest of country: percentage positive"),
        pl.col("difference").alias("Difference (points)"),
        pl.col("difference_ci_low").alias("Difference 95% CI lower"),
        pl.col("difference_ci_high").alias("Difference 95% CI upper"),
        pl.col("funnel_95").fill_null("[c]").alias("Funnel plot, 95% limits"),
        pl.col("funnel_998").fill_null("[c]").alias("Funnel plot, 99.8% limits"),
    )


def _participation(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        pl.col("region").alias("Region"),
        pl.col("training_day").cast(pl.Utf8).alias("Training day"),
        pl.col("n_respondents").alias("Took part"),
    )


def _words(published: Published) -> pl.DataFrame:
    national = published.table("theme_words").select(
        pl.lit("All regions").alias("Region"), "word", "n_respondents"
    )
    by_region = published.table("theme_words_by_region").select("region", "word", "n_respondents")
    return pl.concat([national, by_region.rename({"region": "Region"})]).rename(
        {"word": "Word", "n_respondents": "Respondents who used it"}
    )
