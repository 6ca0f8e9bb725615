"""Write the analysts' warehouse: aggregates only, replaced in one rename so readers never see a
half-written file and a failed run leaves the last good release in place."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandera.polars as pa
import polars as pl

from schemas.instrument import Instrument
from schemas.stages import (
    BOUND_COLUMNS,
    OutcomesByRegion,
    OutcomesByTrainingDay,
    OutcomesNational,
    OutcomesNationalByTrainingDay,
    Participation,
    RegionComparison,
    ThemeWords,
    ThemeWordsByRegion,
    ThemeWordsHeldBack,
)
from transforms.analysis import INTERVAL_COLUMNS, region_comparison, with_intervals
from transforms.errors import PublishError
from transforms.sql import sql
from transforms.suppress import check_published

_WITHHELD = "(NULL when withheld)"
_BOUND = (
    "as any reader can already derive from this and earlier releases, so publishing it adds nothing"
)
TABLE_COMMENTS = {
    "outcomes_by_region": "Per region and item: respondents and positive answers, suppressed",
    "outcomes_national": "Per item over all regions: respondents and positive answers, suppressed",
    "outcomes_by_training_day": (
        "Per region, training day and item: respondents and positive answers, suppressed"
    ),
    "outcomes_national_by_training_day": (
        "Per training-day date and item, all regions that met that day together: respondents "
        "and positive answers, suppressed (the national trend)"
    ),
    "participation": (
        "Per region and training day: respondents who answered at least one item; protected and "
        "audited like the outcome tables"
    ),
    "region_comparison": (
        "Per region and item: the region against the rest of the country (national less the "
        "region), worked out from the published figures only; withheld where either is"
    ),
    "theme_words": "Free-text words used by at least min_cell distinct respondents, all regions",
    "theme_words_by_region": (
        "Per region, free-text words used by at least min_cell distinct respondents there; a "
        "region's figure is held back where national less the regions shown would leave fewer "
        "than min_cell"
    ),
    "theme_words_held_back": (
        "How many distinct words were held back, all regions (region NULL) and per region: a "
        "count of words, never the words"
    ),
    "items": "The instrument's Likert items, their statements and curriculum competencies",
    "release": "Which release this file is and the privacy rule it was published under",
    "competency_summary": (
        "View: each item under its curriculum competency, all regions (region NULL) and per "
        "region, as the outcome tables show it (no new aggregate)"
    ),
    "latest_release": "View: this file's release, policy, coverage and how much is withheld",
    "region_item_matrix": (
        "View: regions down (all regions first, region NULL), one column per item holding "
        "pct_positive (NULL when withheld)"
    ),
}
COLUMN_COMMENTS = {
    "region": "Region id: its drop folder's name",
    "training_day": "The day the group met (no time of day)",
    "item": "Instrument item id (see items)",
    "n_respondents": "Respondents who answered the item (NULL when below min_cell)",
    "n_positive": "Of those, answered Agree or Strongly agree (NULL when suppressed)",
    "pct_positive": "100 * n_positive / n_respondents, unrounded (NULL when suppressed)",
    "suppressed": "True when the counts are withheld to protect a small group",
    "n_positive_min": (
        f"Withheld n_positive: the least it can be, {_BOUND} (NULL on a shown figure)"
    ),
    "n_positive_max": (
        f"Withheld n_positive: the most it can be, {_BOUND} (NULL: no upper bound, or a shown "
        "figure)"
    ),
    "n_respondents_min": (
        f"Withheld n_respondents: the least it can be, {_BOUND} (NULL when n_respondents is shown)"
    ),
    "n_respondents_max": (
        f"Withheld n_respondents: the most it can be, {_BOUND} (NULL: no upper bound, or "
        "n_respondents is shown)"
    ),
    "ci_low": (
        "Wilson 95% interval of pct_positive, low end, in percent; computed from the published "
        f"counts, rounded ones under a rounding policy {_WITHHELD}"
    ),
    "ci_high": (
        "Wilson 95% interval of pct_positive, high end, in percent; computed from the published "
        f"counts, rounded ones under a rounding policy {_WITHHELD}"
    ),
    "rest_n_respondents": (
        f"All other regions: national n_respondents less the region's {_WITHHELD}"
    ),
    "rest_n_positive": (
        "All other regions: national n_positive less the region's (kept between 0 and "
        f"rest_n_respondents, which rounding can leave slightly off) {_WITHHELD}"
    ),
    "rest_pct_positive": f"100 * rest_n_positive / rest_n_respondents {_WITHHELD}",
    "difference": f"pct_positive less rest_pct_positive, in percentage points {_WITHHELD}",
    "difference_ci_low": (
        "Newcombe hybrid score 95% interval of the difference (method 10, Newcombe 1998), low "
        f"end, in percentage points {_WITHHELD}"
    ),
    "difference_ci_high": (
        "Newcombe hybrid score 95% interval of the difference, high end, in percentage points "
        f"{_WITHHELD}"
    ),
    "national_pct_positive": f"The funnel's centre: pct_positive of all regions {_WITHHELD}",
    "funnel_95_low": f"Funnel plot 95% lower limit for the region's n, in percent {_WITHHELD}",
    "funnel_95_high": f"Funnel plot 95% upper limit for the region's n, in percent {_WITHHELD}",
    "funnel_998_low": f"Funnel plot 99.8% lower limit for the region's n, in percent {_WITHHELD}",
    "funnel_998_high": (
        f"Funnel plot 99.8% upper limit for the region's n, in percent {_WITHHELD}"
    ),
    "funnel_95": (
        f"Where pct_positive sits against the 95% limits: below, within, above {_WITHHELD}"
    ),
    "funnel_998": (
        f"Where pct_positive sits against the 99.8% limits: below, within, above {_WITHHELD}"
    ),
    "withheld": "True when the region's or the national figure is withheld, so no comparison",
    "word": "One vocabulary word from free-text answers (names and rare words never reach here)",
    "n_words_held_back": (
        "Distinct words used fewer than min_cell times there, or held back so that national less "
        "the regions leaves no small group"
    ),
    "statement": "The item's statement as respondents read it",
    "competency": "Curriculum competency the item maps to (number and title)",
    "release_no": "This release's number: releases are numbered 1, 2, ... as published",
    "published_at": "When this release was published (UTC)",
    "instrument": "The survey instrument and version the figures use",
    "min_cell": "The small-cell threshold: fewer than this many is never shown",
    "n_submissions": "Files ingested so far across all regions",
    "policy": (
        "The disclosure-control policy, in full (preset, min_cell, protection, zeros, rounding)"
    ),
    "n_regions": "Regions with any figure in this release",
    "n_training_days": "Distinct training-day dates covered",
    "first_training_day": "The earliest training day covered",
    "latest_training_day": "The latest training day covered",
    "n_figures": "Rows of the four outcome tables",
    "n_withheld": "Of those, rows withheld (primary or as cover)",
}
_TABLE_COLUMN_COMMENTS = {
    ("participation", "n_respondents"): (
        "Respondents who answered at least one item (NULL when withheld)"
    ),
    ("participation", "suppressed"): "True when the count is withheld to protect a small group",
    ("theme_words", "n_respondents"): "Distinct respondents, all regions, who used the word",
    ("theme_words_by_region", "n_respondents"): "Distinct respondents in the region who used it",
    ("theme_words_held_back", "region"): "Region id; NULL: all regions together",
    ("competency_summary", "region"): "Region id; NULL: all regions together",
    ("region_item_matrix", "region"): "Region id; NULL: all regions together",
}


@dataclass(frozen=True)
class Release:
    release_no: int
    published_at: datetime
    instrument: str
    min_cell: int
    n_submissions: int


def publishable_tables(
    by_region: pl.DataFrame,
    national: pl.DataFrame,
    instrument: Instrument,
    *,
    min_cell: int,
    rounding: int = 1,
    by_training_day: pl.DataFrame | None = None,
    national_by_training_day: pl.DataFrame | None = None,
    theme_words: pl.DataFrame | None = None,
    theme_words_by_region: pl.DataFrame | None = None,
    theme_words_held_back: pl.DataFrame | None = None,
    participation: pl.DataFrame | None = None,
) -> dict[str, pl.DataFrame]:
    """The published stage, checked: pandera models and the small-cell gate, before any write.
    Intervals and the region comparison are worked out here from the protected figures."""
    outcomes = {
        "outcomes_by_region": _checked(OutcomesByRegion, _outcome(by_region, _COLUMNS[0])),
        "outcomes_national": _checked(OutcomesNational, _outcome(national, _COLUMNS[2])),
    }
    if by_training_day is not None:
        outcomes["outcomes_by_training_day"] = _checked(
            OutcomesByTrainingDay, _outcome(by_training_day, _COLUMNS[1])
        )
    if national_by_training_day is not None:
        outcomes["outcomes_national_by_training_day"] = _checked(
            OutcomesNationalByTrainingDay, _outcome(national_by_training_day, _COLUMNS[3])
        )
    for name, frame in outcomes.items():
        check_published(frame, min_cell=min_cell, table=name, rounding=rounding)
    items = pl.DataFrame(
        {
            "item": [i.id for i in instrument.items if i.kind == "likert"],
            "statement": [i.statement for i in instrument.items if i.kind == "likert"],
            "competency": [
                f"{i.competency} {instrument.competencies[i.competency]}"
                for i in instrument.items
                if i.kind == "likert"
            ],
        }
    )
    comparison = _checked(
        RegionComparison,
        region_comparison(outcomes["outcomes_by_region"], outcomes["outcomes_national"]),
    )
    tables = {**outcomes, "region_comparison": comparison, "items": items}
    if participation is not None:
        shown = _checked(Participation, participation.select(_PARTICIPATION))
        check_published(
            shown.with_columns(n_positive=pl.col("n_respondents")),
            min_cell=min_cell,
            table="participation",
            rounding=rounding,
        )
        tables["participation"] = shown
    words = {
        "theme_words": (theme_words, ThemeWords, ("word", "n_respondents")),
        "theme_words_by_region": (
            theme_words_by_region,
            ThemeWordsByRegion,
            ("region", "word", "n_respondents"),
        ),
    }
    for name, (frame, model, columns) in words.items():
        if frame is None:
            continue
        checked = _checked(model, frame.select(columns))
        if checked.filter(pl.col("n_respondents") < min_cell).height:
            raise PublishError(f"{name}: a word below min_cell = {min_cell}; nothing was published")
        tables[name] = checked
    if theme_words_held_back is not None:
        tables["theme_words_held_back"] = _checked(ThemeWordsHeldBack, theme_words_held_back)
    return tables


def _checked(model: type[pa.DataFrameModel], frame: pl.DataFrame) -> pl.DataFrame:
    """A published stage's model, failing as a refused release: the message names the table's
    model and the check, never a value (the failure cases hold counts that were withheld)."""
    try:
        return model.validate(frame)  # type: ignore[return-value]
    except (pa.errors.SchemaError, pa.errors.SchemaErrors) as exc:
        check = getattr(getattr(exc, "check", None), "name", None) or "its schema"
        raise PublishError(
            f"{model.__name__}: the published stage failed {check}; nothing was published"
        ) from None


def _outcome(frame: pl.DataFrame, columns: tuple[str, ...]) -> pl.DataFrame:
    return with_intervals(frame.select(columns[: -len(INTERVAL_COLUMNS)])).select(columns)


_OUTCOME = (
    "item",
    "n_respondents",
    "n_positive",
    "pct_positive",
    "suppressed",
    *BOUND_COLUMNS,
    *INTERVAL_COLUMNS,
)
"""A contract with analysts: new columns are appended, existing ones never renamed or moved."""
_COLUMNS = (
    ("region", *_OUTCOME),
    ("region", "training_day", *_OUTCOME),
    _OUTCOME,
    ("training_day", *_OUTCOME),
)
_PARTICIPATION = (
    "region",
    "training_day",
    "n_respondents",
    "suppressed",
    "n_respondents_min",
    "n_respondents_max",
)


@dataclass(frozen=True)
class WrittenRelease:
    """A complete release file beside the published one, not yet in place."""

    partial: Path
    sha256: str


def write_release(
    tables: dict[str, pl.DataFrame], release: Release, path: Path, *, policy: str | None = None
) -> WrittenRelease:
    """Write every table to a new file beside `path`; `put_in_place` then renames it over."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    release_frame = pl.DataFrame(
        {
            "release_no": [release.release_no],
            "published_at": [release.published_at],
            "instrument": [release.instrument],
            "min_cell": [release.min_cell],
            "n_submissions": [release.n_submissions],
            "policy": [policy],
        },
        schema_overrides={"policy": pl.Utf8},
    )
    try:
        con = duckdb.connect(str(partial))
        try:
            for name, frame in {**tables, "release": release_frame}.items():
                con.register("publish_frame", frame)
                con.execute(_CREATE[name])  # names from the fixed allow-list below
                con.unregister("publish_frame")
            for statement in _views(tables):
                con.execute(statement)
            for statement in _comments(con):
                con.execute(statement)
            con.execute("checkpoint")
        finally:
            con.close()
        digest = hashlib.sha256(partial.read_bytes()).hexdigest()
    except (duckdb.Error, OSError) as exc:
        partial.unlink(missing_ok=True)
        raise PublishError(f"could not write {partial}: {type(exc).__name__}") from None
    return WrittenRelease(partial, digest)


def put_in_place(written: WrittenRelease, path: Path) -> None:
    """One rename: analysts see the old release or the new one, never a mix."""
    try:
        os.replace(written.partial, path)
    except OSError as exc:
        raise PublishError(f"could not replace {path}: {exc.strerror}") from None


def tables_in(path: Path) -> set[str]:
    """The tables a published file holds (none when it cannot be read)."""
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return set()
    try:
        return {
            name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()
        }
    finally:
        con.close()


def new_release(
    previous: int, instrument: Instrument, *, min_cell: int, n_submissions: int
) -> Release:
    return Release(
        release_no=previous + 1,
        published_at=datetime.now(UTC),
        instrument=instrument.id,
        min_cell=min_cell,
        n_submissions=n_submissions,
    )


PUBLISHED_FILE_TABLES = (
    "outcomes_by_region",
    "outcomes_national",
    "outcomes_by_training_day",
    "outcomes_national_by_training_day",
    "participation",
    "region_comparison",
    "theme_words",
    "theme_words_by_region",
    "theme_words_held_back",
    "items",
    "release",
)
_CREATE = {
    name: f"create table {name} as select * from publish_frame" for name in PUBLISHED_FILE_TABLES
}


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _views(tables: dict[str, pl.DataFrame]) -> list[str]:
    """The views analysts' common questions need, over the tables just written."""
    if "outcomes_by_training_day" not in tables:
        return []
    columns = [
        f"max(pct_positive) filter (where item = {_quoted(item)}) as {_identifier(item)}"
        for item in tables["items"]["item"]
    ]
    matrix = (
        "create or replace view region_item_matrix as "
        "select region, " + ", ".join(columns) + " from ("
        "select null::varchar as region, item, pct_positive from outcomes_national "
        "union all select region, item, pct_positive from outcomes_by_region"
        ") group by region order by region nulls first"
    )
    return [sql("competency_summary"), sql("latest_release"), matrix]


def _comments(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table, view and column of the file, described where analysts look first
    (`duckdb_tables()`, `duckdb_views()`, `duckdb_columns()`). DuckDB takes no parameters in
    COMMENT ON: every name comes from the file's own catalogue of this module's tables and
    views, every text from this module. A column without a description is a bug here."""
    relations = con.execute(
        "select table_name, 'table' from duckdb_tables() where not internal "
        "union all select view_name, 'view' from duckdb_views() where not internal"
    ).fetchall()
    statements = []
    for name, kind in relations:
        statements.append(
            f"comment on {kind} {_identifier(name)} is {_quoted(TABLE_COMMENTS[name])}"
        )
        for (column,) in con.execute(
            "select column_name from duckdb_columns() where table_name = ? and not internal",
            [name],
        ).fetchall():
            text = _TABLE_COLUMN_COMMENTS.get((name, column)) or COLUMN_COMMENTS.get(column)
            if text is None and name == "region_item_matrix":
                text = f"pct_positive of item {column} (NULL when withheld)"
            if text is None:
                raise PublishError(f"{name}.{column} has no description; nothing was published")
            statements.append(
                f"comment on column {_identifier(name)}.{_identifier(column)} is {_quoted(text)}"
            )
    return statements
