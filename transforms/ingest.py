"""One region file from the drop folder to the restricted warehouse: read, validate,
de-identify (pure, parallel-safe), then record and file away (one writer, one transaction)."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

import duckdb

from schemas.config import Config
from schemas.instrument import Instrument
from transforms.deidentify import Deidentified, deidentify
from transforms.drop import (
    PROCESSED,
    REJECTED,
    DroppedFile,
    destination,
    file_away,
    write_rejection_report,
)
from transforms.load import SubmissionRecord, find_ingested, record_submission
from transforms.problems import FileRejected, Problem
from transforms.read import read_template
from transforms.validate import validate_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """A file read and checked, before anything is written."""

    dropped: DroppedFile
    sha256: str
    data: Deidentified | None = None
    n_left_out: int = 0
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class FileOutcome:
    """What became of one file: safe to print (names and counts, no cell values)."""

    file: str
    status: str
    n_responses: int = 0
    n_left_out: int = 0
    n_problems: int = 0
    dropped_columns: tuple[str, ...] = field(default=())
    report: str | None = None
    note: str | None = None


def prepare(dropped: DroppedFile, config: Config, instrument: Instrument) -> Prepared:
    """Read, validate and de-identify one file; any fault is a listed problem, never a crash."""
    data = dropped.path.read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    if dropped.region not in config.regions:
        configured = ", ".join(sorted(config.regions))
        problem = Problem(
            None,
            None,
            f"a file in the folder {dropped.region!r}, which is not a configured region",
            f"drop files only in the folder of a configured region ({configured})",
        )
        return Prepared(dropped, sha256, problems=(problem,))
    try:
        valid = validate_rows(read_template(data), instrument)
        return Prepared(dropped, sha256, deidentify(valid.rows, instrument), valid.n_left_out)
    except FileRejected as rejected:
        return Prepared(dropped, sha256, problems=tuple(rejected.problems))
    except Exception as exc:  # a region's file must never stop the run
        log.warning("%s: reader failed with %s; file rejected", dropped.name, type(exc).__name__)
        problem = Problem(
            None,
            None,
            f"content that could not be read ({type(exc).__name__})",
            "a CSV file in the reflect-eval template; ask the pipeline operator if it looks right",
        )
        return Prepared(dropped, sha256, problems=(problem,))


def record(con: duckdb.DuckDBPyConnection, prepared: Prepared, config: Config) -> FileOutcome:
    """Write the file's rows and ledger entry in one transaction, then move it out of the way."""
    dropped = prepared.dropped
    region = config.regions.get(dropped.region)
    if prepared.problems:
        target = destination(dropped, REJECTED)
        problems = list(prepared.problems)
        report = write_rejection_report(target, dropped, problems, region.name if region else None)
        record_submission(
            con,
            SubmissionRecord(
                region=dropped.region,
                file_name=dropped.path.name,
                sha256=prepared.sha256,
                status="rejected",
                stored_as=str(target),
                n_problems=len(problems),
            ),
        )
        file_away(dropped, target)
        return FileOutcome(dropped.name, "rejected", n_problems=len(problems), report=str(report))

    target = destination(dropped, PROCESSED)
    earlier = find_ingested(con, prepared.sha256)
    if earlier is not None:
        earlier_id, earlier_region, earlier_name = earlier
        record_submission(
            con,
            SubmissionRecord(
                region=dropped.region,
                file_name=dropped.path.name,
                sha256=prepared.sha256,
                status="duplicate",
                stored_as=str(target),
                duplicate_of=earlier_id,
            ),
        )
        file_away(dropped, target)
        return FileOutcome(
            dropped.name,
            "duplicate",
            note=f"same content as {earlier_region}/{earlier_name}, already ingested",
        )

    assert prepared.data is not None
    data = prepared.data
    record_submission(
        con,
        SubmissionRecord(
            region=dropped.region,
            file_name=dropped.path.name,
            sha256=prepared.sha256,
            status="ingested",
            stored_as=str(target),
            n_responses=data.n_responses,
            n_left_out=prepared.n_left_out,
            dropped_columns=data.dropped_columns,
        ),
        data,
    )
    file_away(dropped, target)
    return FileOutcome(
        dropped.name,
        "ingested",
        n_responses=data.n_responses,
        n_left_out=prepared.n_left_out,
        dropped_columns=data.dropped_columns,
    )
