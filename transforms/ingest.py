"""One region file from the drop folder to the restricted warehouse: read, validate,
de-identify (pure, parallel-safe), then record and file away (one writer, one transaction)."""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from schemas.config import Config
from schemas.instrument import Instrument
from transforms.deidentify import Deidentified, deidentify
from transforms.drop import (
    PROCESSED,
    REJECTED,
    DroppedFile,
    destination,
    file_away,
    printable,
    write_rejection_report,
)
from transforms.errors import ConfigError
from transforms.load import SubmissionRecord, find_ingested, record_submission, without_repeats
from transforms.mapping import KEY, map_export, name_columns
from transforms.problems import FileRejected, Problem
from transforms.readers.grid import read_grid
from transforms.readers.tools import check_shape, detect, read_export
from transforms.response_keys import load_or_create_secret, secret_path
from transforms.validate import validate_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Prepared:
    """A file read and checked, before anything is written."""

    dropped: DroppedFile
    sha256: str
    data: Deidentified | None = None
    n_left_out: int = 0
    """Rows left out: unanswered, or partial/preview in the tool."""
    problems: tuple[Problem, ...] = ()
    source: str | None = None
    """The survey tool read as ("<tool>, detected" when the region's source is auto)."""
    n_repeated: int = 0
    """Responses repeated within the file (same response id); repeats of earlier files are
    found when recording."""


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
    source: str | None = None
    n_repeated: int = 0
    """Responses skipped because an earlier file (or earlier in this file) already had them."""
    n_words_held_back: int = 0
    """Free-text words not stored: not in the vocabulary."""


def read_dropped(dropped: DroppedFile, max_file_mb: float) -> bytes:
    """The file's bytes, refusing one over the size limit unread and never following a link."""
    fd = os.open(dropped.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size > max_file_mb * 1_000_000:
            raise FileRejected(
                [
                    Problem(
                        None,
                        None,
                        f"a file of {_size(size)}",
                        f"files up to {_size(max_file_mb * 1_000_000)} (the region's max_file_mb); "
                        "export only the responses of one training day or one term",
                    )
                ]
            )
        return f.read()


def _size(n_bytes: float) -> str:
    return f"{n_bytes / 1_000_000:.1f} MB" if n_bytes >= 1_000_000 else f"{n_bytes / 1000:.0f} kB"


def prepare(
    dropped: DroppedFile,
    config: Config,
    instrument: Instrument,
    *,
    secret: bytes | None = None,
) -> Prepared:
    """Read, validate and de-identify one file; any fault is a listed problem, never a crash.

    `secret` keys the hashes of response ids; by default the warehouse's own key (made on first
    use). `reflect-eval check` passes a throwaway one, so checking writes nothing."""
    region = config.regions.get(dropped.region)
    if region is None:
        configured = ", ".join(sorted(config.regions))
        problem = Problem(
            None,
            None,
            f"a file in the folder {dropped.region!r}, which is not a configured region",
            f"drop files only in the folder of a configured region ({configured})",
        )
        return Prepared(dropped, _sha256_of(dropped.path), problems=(problem,))
    try:
        data = read_dropped(dropped, region.max_file_mb)
    except FileRejected as rejected:
        return Prepared(dropped, _sha256_of(dropped.path), problems=tuple(rejected.problems))
    except OSError:
        problem = Problem(
            None,
            None,
            "a file that cannot be opened (a symbolic link, or not readable)",
            "an ordinary file saved in the region's folder",
        )
        return Prepared(dropped, _sha256_of(dropped.path), problems=(problem,))
    sha256 = hashlib.sha256(data).hexdigest()
    if secret is None:  # an operator's error if it fails (ConfigError), not the region's
        secret = load_or_create_secret(secret_path(config.paths.warehouse))
    source = region.source
    try:
        grid = read_grid(data)
        source = detect(grid) if region.source == "auto" else region.source
        check_shape(grid, source)
        export = read_export(grid, source)
        mapped = map_export(export, region, instrument, dropped.path.name, secret)
        try:
            valid = validate_rows(mapped.rows, instrument)
        except FileRejected as rejected:
            raise FileRejected(name_columns(rejected.problems, mapped.headers)) from None
        kept = deidentify(valid.rows, instrument)
        keys = valid.rows.select(
            pl.int_range(1, pl.len() + 1, dtype=pl.Int32).alias("response_no"),
            pl.col(KEY).alias("key_hash"),
        ).drop_nulls("key_hash")
        kept = replace(kept, dropped_columns=mapped.dropped_columns, keys=keys)
        return Prepared(
            dropped,
            sha256,
            kept,
            valid.n_left_out + mapped.n_partial,
            source=_source_note(region.source, source),
            n_repeated=mapped.n_repeated,
        )
    except FileRejected as rejected:
        return Prepared(
            dropped,
            sha256,
            problems=tuple(rejected.problems),
            source=_source_note(region.source, source),
        )
    except Exception as exc:  # a region's file must never stop the run
        log.warning("%s: reader failed with %s; file rejected", dropped.name, type(exc).__name__)
        problem = Problem(
            None,
            None,
            f"content that could not be read ({type(exc).__name__})",
            f"a {source} export as the tool writes it; ask the pipeline operator if it looks right",
        )
        return Prepared(dropped, sha256, problems=(problem,))


def prepare_safely(
    dropped: DroppedFile, config: Config, instrument: Instrument, *, secret: bytes | None = None
) -> Prepared:
    """`prepare`, with anything it did not foresee turned into a problem of this file alone."""
    try:
        return prepare(dropped, config, instrument, secret=secret)
    except ConfigError:
        raise
    except Exception as exc:
        log.warning("%s: could not be prepared (%s); file rejected", dropped.name, reason(exc))
        problem = Problem(
            None,
            None,
            f"a file that could not be read ({reason(exc)})",
            "an ordinary export saved in the region's folder; ask the pipeline operator",
        )
        return Prepared(dropped, _sha256_of(dropped.path), problems=(problem,))


def record_safely(
    con: duckdb.DuckDBPyConnection, prepared: Prepared, config: Config
) -> FileOutcome:
    """`record`, so that one file that cannot be reported, recorded or moved is set aside with
    the reason and every other file goes on. Its rows are never half stored: the ledger and the
    rows are one transaction."""
    try:
        return record(con, prepared, config)
    except Exception as exc:
        why = reason(exc)
        log.warning("%s: could not be filed (%s); set aside", prepared.dropped.name, why)
        return FileOutcome(
            prepared.dropped.name,
            "set aside",
            note=f"could not be filed ({why}); left where it is, nothing from it stored",
        )


def reason(exc: BaseException) -> str:
    """What went wrong, without the exception's message: that may quote a file's cells."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


def _source_note(configured: str, used: str) -> str:
    return f"{used}, detected" if configured == "auto" and used != "auto" else used


def _sha256_of(path: Path) -> str:
    """Hash of a file that will not be read (unknown region, over-size): streamed, or of its
    name if it cannot be opened at all."""
    try:
        digest = hashlib.sha256()
        with os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)), "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    except OSError:
        return hashlib.sha256(str(path).encode()).hexdigest()


def _ledger(prepared: Prepared, status: str, target: Path, **counts: Any) -> SubmissionRecord:
    """The ledger row for a file about to be filed at `target`."""
    return SubmissionRecord(
        region=printable(prepared.dropped.region),
        file_name=printable(prepared.dropped.path.name),
        sha256=prepared.sha256,
        status=status,
        stored_as=printable(str(target)),
        **counts,
    )


def record(
    con: duckdb.DuckDBPyConnection,
    prepared: Prepared,
    config: Config,
    *,
    replaces: tuple[int, ...] = (),
) -> FileOutcome:
    """Write the file's rows and ledger entry in one transaction, then move it out of the way.
    An ingested file `replaces` those earlier submissions (`transforms.replace`)."""
    dropped = prepared.dropped
    region = config.regions.get(dropped.region)
    if prepared.problems:
        target = destination(dropped, REJECTED)
        problems = list(prepared.problems)
        report = write_rejection_report(target, dropped, problems, region.name if region else None)
        record_submission(con, _ledger(prepared, "rejected", target, n_problems=len(problems)))
        file_away(dropped, target)
        return FileOutcome(
            dropped.name,
            "rejected",
            n_problems=len(problems),
            report=printable(str(report)),
            source=prepared.source,
        )

    target = destination(dropped, PROCESSED)
    earlier = find_ingested(con, prepared.sha256)
    if earlier is not None:
        earlier_id, earlier_region, earlier_name = earlier
        record_submission(con, _ledger(prepared, "duplicate", target, duplicate_of=earlier_id))
        file_away(dropped, target)
        return FileOutcome(
            dropped.name,
            "duplicate",
            note=f"same content as {earlier_region}/{earlier_name}, already ingested",
        )

    assert prepared.data is not None
    data, n_earlier = without_repeats(con, dropped.region, prepared.data, replacing=replaces)
    n_repeated = prepared.n_repeated + n_earlier
    record_submission(
        con,
        _ledger(
            prepared,
            "ingested",
            target,
            n_responses=data.n_responses,
            n_left_out=prepared.n_left_out,
            dropped_columns=data.dropped_columns,
            n_repeated=n_repeated,
            n_words_held_back=data.n_words_held_back,
        ),
        data,
        replaces=replaces,
    )
    file_away(dropped, target)
    return FileOutcome(
        dropped.name,
        "ingested",
        n_responses=data.n_responses,
        n_left_out=prepared.n_left_out,
        dropped_columns=data.dropped_columns,
        source=prepared.source,
        n_repeated=n_repeated,
        n_words_held_back=data.n_words_held_back,
    )
