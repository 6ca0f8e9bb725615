"""Write the analysts' warehouse: aggregates only, replaced in one rename so readers never see a
half-written file and a failed run leaves the last good release in place."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

from schemas.instrument import Instrument
from schemas.stages import (
    BOUND_COLUMNS,
    OutcomesByRegion,
    OutcomesByTrainingDay,
    OutcomesNational,
    ThemeWords,
)
from transforms.errors import PublishError
from transforms.suppress import check_published

TABLE_COMMENTS = {
    "outcomes_by_region": "Per region and item: respondents and positive answers, suppressed",
    "outcomes_national": "Per item over all regions: respondents and positive answers, suppressed",
    "outcomes_by_training_day": (
        "Per region, training day and item: respondents and positive answers, suppressed"
    ),
    "theme_words": "Free-text words used by at least min_cell distinct respondents",
    "items": "The instrument's Likert items, their statements and curriculum competencies",
    "release": "Which release this file is and the privacy rule it was published under",
}
COLUMN_COMMENTS = {
    "region": "Region id: its drop folder's name",
    "training_day": "The day the group met (no time of day)",
    "item": "Instrument item id",
    "n_respondents": "Respondents who answered the item (NULL when below min_cell)",
    "n_positive": "Of those, answered Agree or Strongly agree (NULL when suppressed)",
    "pct_positive": "100 * n_positive / n_respondents, unrounded (NULL when suppressed)",
    "suppressed": "True when the counts are withheld to protect a small group",
    "n_positive_min": (
        "Withheld n_positive: the least it can be, as any reader can already derive from this and "
        "earlier releases, so publishing it adds nothing (NULL on a shown figure)"
    ),
    "n_positive_max": (
        "Withheld n_positive: the most it can be, as any reader can already derive from this and "
        "earlier releases, so publishing it adds nothing (NULL: no upper bound, or a shown figure)"
    ),
    "n_respondents_min": (
        "Withheld n_respondents: the least it can be, as any reader can already derive from this "
        "and earlier releases, so publishing it adds nothing (NULL when n_respondents is shown)"
    ),
    "n_respondents_max": (
        "Withheld n_respondents: the most it can be, as any reader can already derive from this "
        "and earlier releases, so publishing it adds nothing (NULL: no upper bound, or "
        "n_respondents is shown)"
    ),
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
    theme_words: pl.DataFrame | None = None,
) -> dict[str, pl.DataFrame]:
    """The published stage, checked: pandera models and the small-cell gate, before any write."""
    outcomes = {
        "outcomes_by_region": OutcomesByRegion.validate(by_region.select(_COLUMNS[0])),
        "outcomes_national": OutcomesNational.validate(national.select(_COLUMNS[2])),
    }
    if by_training_day is not None:
        outcomes["outcomes_by_training_day"] = OutcomesByTrainingDay.validate(
            by_training_day.select(_COLUMNS[1])
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
    tables = {**outcomes, "items": items}
    if theme_words is not None:
        words = ThemeWords.validate(theme_words.select("word", "n_respondents"))
        if words.filter(pl.col("n_respondents") < min_cell).height:
            raise PublishError(
                f"theme_words: a word below min_cell = {min_cell}; nothing was published"
            )
        tables["theme_words"] = words
    return tables


_OUTCOME = ("item", "n_respondents", "n_positive", "pct_positive", "suppressed", *BOUND_COLUMNS)
"""A contract with analysts: new columns are appended, existing ones never renamed or moved."""
_COLUMNS = (("region", *_OUTCOME), ("region", "training_day", *_OUTCOME), _OUTCOME)


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
            for statement in _comments(tables):
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


_PUBLISHED = (
    "outcomes_by_region",
    "outcomes_national",
    "outcomes_by_training_day",
    "theme_words",
    "items",
    "release",
)
_CREATE = {name: f"create table {name} as select * from publish_frame" for name in _PUBLISHED}
_OUTCOME_TABLES = ("outcomes_by_region", "outcomes_national", "outcomes_by_training_day")


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comments(tables: dict[str, pl.DataFrame]) -> list[str]:
    """DuckDB takes no parameters in COMMENT ON; every name and text here is a constant of this
    module, chosen by the tables present."""
    present = [name for name in _PUBLISHED if name in tables or name == "release"]
    return [f"comment on table {name} is {_quoted(TABLE_COMMENTS[name])}" for name in present] + [
        f"comment on column {table}.{column} is {_quoted(text)}"
        for table in _OUTCOME_TABLES
        if table in tables
        for column, text in COLUMN_COMMENTS.items()
        if column in tables[table].columns
    ]
