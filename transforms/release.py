"""A release: counts from the restricted warehouse, suppressed once, last, then published."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from schemas.config import Config
from schemas.instrument import Instrument
from transforms.aggregate import outcome_counts
from transforms.publish import new_release, publishable_tables, put_in_place, write_release
from transforms.suppress import suppress


@dataclass(frozen=True)
class ReleaseSummary:
    release_no: int
    published: bool
    path: Path
    cells: int
    suppressed: int


def needs_release(con: duckdb.DuckDBPyConnection, config: Config, n_ingested: int) -> bool:
    """Publish when something new came in, the file is missing, or the privacy rule changed."""
    if n_ingested or not config.published_path.exists():
        return True
    last = con.execute(
        "select min_cell, instrument from releases order by release_no desc limit 1"
    ).fetchall()
    return last != [(config.privacy.min_cell, config.instrument)]


def publish_release(
    con: duckdb.DuckDBPyConnection, config: Config, instrument: Instrument
) -> ReleaseSummary:
    """Aggregate, suppress, check and write; the release is recorded before it is put in place,
    so the history never misses a release that analysts could have seen."""
    min_cell = config.privacy.min_cell
    counts = outcome_counts(con, instrument)
    by_region, national = suppress(
        counts["outcomes_by_region"], counts["outcomes_national"], min_cell=min_cell
    )
    tables = publishable_tables(by_region, national, instrument, min_cell=min_cell)
    [(previous,)] = con.execute("select coalesce(max(release_no), 0) from releases").fetchall()
    [(n_submissions,)] = con.execute(
        "select count(*) from submissions where status = 'ingested'"
    ).fetchall()
    release = new_release(previous, instrument, min_cell=min_cell, n_submissions=n_submissions)
    written = write_release(tables, release, config.published_path)
    con.execute(
        "insert into releases values (?, ?, ?, ?, ?, ?)",
        [
            release.release_no,
            release.published_at,
            release.instrument,
            release.min_cell,
            release.n_submissions,
            written.sha256,
        ],
    )
    put_in_place(written, config.published_path)
    cells = by_region.height + national.height
    withheld = int(by_region["suppressed"].sum() + national["suppressed"].sum())
    return ReleaseSummary(release.release_no, True, config.published_path, cells, withheld)
