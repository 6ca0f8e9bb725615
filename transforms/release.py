"""A release: cells from the restricted warehouse, protected once, last, audited against every
earlier release, then published; the figures and the audit are kept for the next release."""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from schemas.config import Config
from schemas.instrument import Instrument
from transforms.aggregate import outcome_cells
from transforms.errors import PublishError
from transforms.memory import cyclic_collector_paused
from transforms.participation import (
    participation_cells,
    protect_participation,
    protect_participation_alone,
)
from transforms.privacy import Policy, ProtectedRelease, protect
from transforms.privacy.engine import AUDIT_SCHEMA, HISTORY_SCHEMA
from transforms.privacy.tables import (
    NATIONAL_BY_TRAINING_DAY,
    PARTICIPANTS,
    PARTICIPATION,
    PUBLISHED_TABLES,
)
from transforms.publish import (
    PUBLISHED_FILE_TABLES,
    Release,
    new_release,
    publishable_tables,
    put_in_place,
    tables_in,
    write_release,
)
from transforms.report.files import ReportFiles, report_paths, write_report
from transforms.themes import theme_words


@dataclass(frozen=True)
class ReleaseSummary:
    release_no: int
    path: Path
    cells: int
    suppressed: int
    primary: int
    """Withheld by the primary rule: the small groups themselves."""
    complementary: int
    """Withheld only as cover, so the primary ones cannot be worked out from the rest."""
    report: ReportFiles | None = None
    report_problem: str | None = None
    """Why the report could not be written (the release itself is published)."""
    seconds: float = 0.0
    """Wall time of publishing: protect, write, record, report."""

    @property
    def share_suppressed(self) -> float:
        return self.suppressed / self.cells if self.cells else 0.0


@dataclass(frozen=True)
class ProtectedEverything:
    """Every figure a release publishes that the privacy engine decides."""

    outcomes: ProtectedRelease
    """The four outcome tables."""
    participation: ProtectedRelease

    @property
    def figures(self) -> pl.DataFrame:
        return pl.concat([self.outcomes.figures, self.participation.figures])

    @property
    def audit(self) -> pl.DataFrame:
        return pl.concat([self.outcomes.audit, self.participation.audit])


def protect_release(
    cells: pl.DataFrame,
    participants: pl.DataFrame,
    policy: Policy,
    *,
    release_no: int,
    history: pl.DataFrame | None,
    previous_audit: pl.DataFrame | None,
) -> ProtectedEverything:
    """The outcome tables, then participation checked against them (each with its own part of
    the last release's audit to take over). Participation is first protected beside the
    outcome tables, which it does not need until it is checked against them: alone after
    them, it kept one core of two idle for a seventh of a release under `opensafely` at
    releases 45-46."""
    is_participation = pl.col("item") == PARTICIPANTS

    def earlier(own: pl.Expr) -> pl.DataFrame | None:
        return None if previous_audit is None else previous_audit.filter(own)

    participation_audit = earlier(is_participation)
    with cyclic_collector_paused(), ThreadPoolExecutor(max_workers=1) as beside:
        alone = beside.submit(
            protect_participation_alone,
            participants,
            policy,
            release_no=release_no,
            history=history,
            previous_audit=participation_audit,
        )
        outcomes = protect(
            cells,
            PUBLISHED_TABLES,
            policy,
            release_no=release_no,
            history=history,
            previous_audit=earlier(~is_participation),
        )
        participation = protect_participation(
            participants,
            policy,
            release_no=release_no,
            history=history,
            previous_audit=participation_audit,
            outcomes=outcomes,
            alone=alone.result(),
        )
    return ProtectedEverything(outcomes, participation)


def needs_release(con: duckdb.DuckDBPyConnection, config: Config, n_ingested: int) -> bool:
    """Publish when something new came in, the file is missing or is not the last release
    recorded (a run killed between recording a release and putting it in place), the policy
    changed, or responses are waiting that no release has included (a release that was refused
    is tried again)."""
    if n_ingested or not config.published_path.exists():
        return True
    last = con.execute(
        "select policy, instrument, coalesce(max_submission_id, 0), sha256 from releases "
        "order by release_no desc limit 1"
    ).fetchall()
    if not last:
        return True
    policy, instrument, included, sha256 = last[0]
    if hashlib.sha256(config.published_path.read_bytes()).hexdigest() != sha256:
        return True
    if not set(PUBLISHED_FILE_TABLES) <= tables_in(config.published_path):
        return True  # published by an earlier version: publish what this one does
    return (policy, instrument) != (config.privacy.rules.describe(), config.instrument) or (
        _max_ingested(con) > included
    )


def ensure_report(config: Config) -> ReportFiles | None:
    """The report of the published file as it stands, written again when it is missing or
    older than the file (a run stopped after publishing, before its report was written)."""
    paths = report_paths(config.published_path)
    if not config.published_path.exists():
        return None
    published = config.published_path.stat().st_mtime
    if all(p.exists() and p.stat().st_mtime >= published for p in (paths.html, paths.workbook)):
        return paths
    return write_report(config.published_path)


def publish_release(
    con: duckdb.DuckDBPyConnection, config: Config, instrument: Instrument
) -> ReleaseSummary:
    """Protect, check and write; the release, its figures and its audit are recorded before the
    file is put in place, so the history never misses a release that analysts could have seen.
    A release the audit refuses raises `AuditFailure` and nothing is written."""
    started = time.perf_counter()
    policy = config.privacy.rules
    [(previous,)] = con.execute("select coalesce(max(release_no), 0) from releases").fetchall()
    release_no = previous + 1
    cells = outcome_cells(con, instrument, release_no=release_no)
    history = con.sql("select * from release_figures").pl().cast(HISTORY_SCHEMA)
    previous_audit = stored_audit(con, previous)
    protected = protect_release(
        cells,
        participation_cells(con, instrument, release_no=release_no),
        policy,
        release_no=release_no,
        history=history,
        previous_audit=previous_audit,
    )
    outcomes, participation = protected.outcomes, protected.participation
    themes = theme_words(con, min_cell=policy.min_cell, rounding=policy.rounding)
    tables = publishable_tables(
        outcomes.tables["outcomes_by_region"],
        outcomes.tables["outcomes_national"],
        instrument,
        min_cell=policy.min_cell,
        rounding=policy.rounding,
        by_training_day=outcomes.tables["outcomes_by_training_day"],
        national_by_training_day=outcomes.tables[NATIONAL_BY_TRAINING_DAY.name],
        theme_words=themes.national,
        theme_words_by_region=themes.by_region,
        theme_words_held_back=themes.held_back,
        participation=participation.tables[PARTICIPATION.name],
    )
    [(n_submissions,)] = con.execute(
        "select count(*) from submissions where status = 'ingested' "
        "and submission_id not in (select replaced from replacements)"
    ).fetchall()
    release = new_release(
        previous, instrument, min_cell=policy.min_cell, n_submissions=n_submissions
    )
    written = write_release(tables, release, config.published_path, policy=policy.describe())
    _record(
        con,
        release,
        written.sha256,
        policy.describe(),
        _max_ingested(con),
        protected,
    )
    put_in_place(written, config.published_path)
    report, problem = None, None
    try:
        report = write_report(config.published_path)
    except PublishError as error:
        problem = str(error)
    return ReleaseSummary(
        release.release_no,
        config.published_path,
        outcomes.n_rows,
        outcomes.n_suppressed,
        primary=outcomes.n_primary,
        complementary=outcomes.n_complementary,
        report=report,
        report_problem=problem,
        seconds=time.perf_counter() - started,
    )


def _record(
    con: duckdb.DuckDBPyConnection,
    release: Release,
    sha256: str,
    policy: str,
    max_submission_id: int,
    protected: ProtectedEverything,
) -> None:
    con.register("release_figures_frame", protected.figures)
    con.register("release_audit_frame", protected.audit)
    try:
        con.execute("begin transaction")
        try:
            con.execute(
                "insert into releases by name select ? as release_no, ? as published_at, "
                "? as instrument, ? as min_cell, ? as n_submissions, ? as sha256, ? as policy, "
                "? as max_submission_id",
                [
                    release.release_no,
                    release.published_at,
                    release.instrument,
                    release.min_cell,
                    release.n_submissions,
                    sha256,
                    policy,
                    max_submission_id,
                ],
            )
            con.execute("insert into release_figures by name select * from release_figures_frame")
            con.execute(
                "insert into release_audit by name "
                "select ?::integer as release_no, * from release_audit_frame",
                [release.release_no],
            )
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
    finally:
        con.unregister("release_figures_frame")
        con.unregister("release_audit_frame")


def stored_audit(con: duckdb.DuckDBPyConnection, release_no: int) -> pl.DataFrame:
    """A release's audit as the warehouse keeps it, for the next release to take over."""
    return (
        con.sql(
            "select * exclude (release_no) from release_audit where release_no = $release_no",
            params={"release_no": release_no},
        )
        .pl()
        .cast(AUDIT_SCHEMA)
    )


def _max_ingested(con: duckdb.DuckDBPyConnection) -> int:
    [(latest,)] = con.execute(
        "select coalesce(max(submission_id), 0) from submissions where status = 'ingested'"
    ).fetchall()
    return int(latest)
