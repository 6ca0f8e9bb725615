"""One region file from the drop folder to the restricted warehouse: read, validate,
de-identify (pure, parallel-safe), then record and file away (one writer, one transaction)."""

from __future__ import annotations

import contextlib
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
from transforms.deidentify import Deidentified, deidentify, deidentify_files
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
from transforms.load import (
    SubmissionRecord,
    find_ingested,
    ingested_by_content,
    leave_out,
    record_submission,
    record_submissions,
    reserve_submission_ids,
    stored_keys,
    without_repeats,
)
from transforms.mapping import KEY, Mapped, map_export, name_columns
from transforms.problems import FileRejected, Problem
from transforms.readers.grid import read_grid
from transforms.readers.tools import check_shape, detect, read_export
from transforms.response_keys import load_or_create_secret, secret_path
from transforms.validate import (
    FILE,
    WHOLE_FRAME,
    check_files,
    required_columns,
    validate_rows,
)

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


@dataclass(frozen=True)
class _Read:
    """A file read and mapped onto the instrument's columns; its rows not checked yet."""

    dropped: DroppedFile
    sha256: str
    mapped: Mapped
    source: str | None


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
    return prepare_many([dropped], config, instrument, secret=secret)[0]


def prepare_many(
    files: list[DroppedFile],
    config: Config,
    instrument: Instrument,
    *,
    secret: bytes | None = None,
) -> list[Prepared]:
    """`prepare` for many files: each is read and mapped on its own, then the rows of all of
    them are checked and de-identified as one frame (a check costs about the same for one row
    or a million), and each problem goes back to its file as that file alone would have it."""
    read = [_read(dropped, config, instrument, secret) for dropped in files]
    checked = _check([r for r in read if isinstance(r, _Read)], instrument)
    return [checked[id(r)] if isinstance(r, _Read) else r for r in read]


def _read(
    dropped: DroppedFile, config: Config, instrument: Instrument, secret: bytes | None
) -> Prepared | _Read:
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
        del data  # a large export is not held as bytes beside its grid
        source = detect(grid) if region.source == "auto" else region.source
        check_shape(grid, source)
        export = read_export(grid, source)
        mapped = map_export(export, region, instrument, dropped.path.name, secret)
        return _Read(dropped, sha256, mapped, _source_note(region.source, source))
    except FileRejected as rejected:
        return Prepared(
            dropped,
            sha256,
            problems=tuple(rejected.problems),
            source=_source_note(region.source, source),
        )
    except Exception as exc:  # a region's file must never stop the run
        return _unreadable(dropped, sha256, source, exc)


def _check(read: list[_Read], instrument: Instrument) -> dict[int, Prepared]:
    """Each read file's rows checked and de-identified (by id of its `_Read`): together where
    their columns match the instrument's as text; alone otherwise, or when checking them
    together fails in a way no file's problems explain."""
    expected = {c: pl.Utf8 for c in required_columns(instrument)}
    together = [
        r for r in read if all(r.mapped.rows.schema.get(c) == t for c, t in expected.items())
    ]
    done: dict[int, Prepared] = {}
    if len(together) > 1:
        try:
            done = _check_together(together, instrument)
        except Exception:  # each file is checked alone instead, to find whose fault it is
            done = {}
    for r in read:
        if id(r) not in done:
            done[id(r)] = _check_alone(r, instrument)
    return done


def _check_together(read: list[_Read], instrument: Instrument) -> dict[int, Prepared]:
    frame = pl.concat(
        [r.mapped.rows.with_columns(pl.lit(i, pl.Int32).alias(FILE)) for i, r in enumerate(read)],
        how="diagonal_relaxed",
    )
    checked = check_files(frame, instrument)
    if WHOLE_FRAME in checked.problems:
        raise ValueError("a problem of no one file")
    passed = [i for i in range(len(read)) if i not in checked.problems]
    rows = checked.rows.filter(pl.col(FILE).is_in(passed))
    kept = deidentify_files(rows, instrument, files=passed)
    keys = _keys(rows).partition_by(FILE, as_dict=True, include_key=False)
    no_keys = _keys(rows.clear()).drop(FILE)
    done: dict[int, Prepared] = {}
    for i, r in enumerate(read):
        if i in checked.problems:
            problems = name_columns(checked.problems[i], r.mapped.headers)
            done[id(r)] = Prepared(r.dropped, r.sha256, problems=tuple(problems), source=r.source)
            continue
        data = replace(
            kept[i],
            dropped_columns=r.mapped.dropped_columns,
            keys=keys.get((i,), no_keys),
        )
        n_left_out = checked.n_left_out.get(i, 0) + r.mapped.n_partial
        done[id(r)] = _prepared(r, data, n_left_out)
    return done


def _check_alone(r: _Read, instrument: Instrument) -> Prepared:
    try:
        try:
            valid = validate_rows(r.mapped.rows, instrument)
        except FileRejected as rejected:
            raise FileRejected(name_columns(rejected.problems, r.mapped.headers)) from None
        data = deidentify(valid.rows, instrument)
        keys = _keys(valid.rows.with_columns(pl.lit(0, pl.Int32).alias(FILE))).drop(FILE)
        data = replace(data, dropped_columns=r.mapped.dropped_columns, keys=keys)
        return _prepared(r, data, valid.n_left_out + r.mapped.n_partial)
    except FileRejected as rejected:
        return Prepared(r.dropped, r.sha256, problems=tuple(rejected.problems), source=r.source)
    except Exception as exc:  # a region's file must never stop the run
        return _unreadable(r.dropped, r.sha256, r.source, exc)


def _keys(rows: pl.DataFrame) -> pl.DataFrame:
    """Per file, each respondent's number and the keyed hash of its response id (if any)."""
    return rows.select(
        pl.col(FILE),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over(FILE).alias("response_no"),
        pl.col(KEY).alias("key_hash"),
    ).drop_nulls("key_hash")


def _prepared(r: _Read, data: Deidentified, n_left_out: int) -> Prepared:
    return Prepared(
        r.dropped,
        r.sha256,
        data,
        n_left_out,
        source=r.source,
        n_repeated=r.mapped.n_repeated,
    )


def _unreadable(dropped: DroppedFile, sha256: str, source: str | None, exc: Exception) -> Prepared:
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


def prepare_many_safely(
    files: list[DroppedFile],
    config: Config,
    instrument: Instrument,
    *,
    secret: bytes | None = None,
) -> list[Prepared]:
    """`prepare_many`, with anything it did not foresee turned into each file alone going
    through `prepare_safely`."""
    try:
        return prepare_many(files, config, instrument, secret=secret)
    except ConfigError:
        raise
    except Exception:
        return [prepare_safely(f, config, instrument, secret=secret) for f in files]


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
    outcome, target = _write(con, prepared, config, replaces=replaces, transaction=True)
    file_away(prepared.dropped, target)
    return outcome


def record_many(
    con: duckdb.DuckDBPyConnection, prepared: list[Prepared], config: Config
) -> list[FileOutcome]:
    """Record a batch: every file's ledger row and rows in one transaction (one commit for many
    files, each file's rows still committed with its ledger row), then each file moved out of
    the way. A rejected file is recorded on its own first (its report is written beside it).
    When the batch cannot be written as one, each file is recorded on its own
    (`record_safely`), so one file's fault stays its own. A file that cannot be moved once
    recorded is left where it is: the next run finds its content already ingested."""
    outcomes: dict[int, FileOutcome] = {}
    batch = []
    for index, item in enumerate(prepared):
        if item.problems:
            outcomes[index] = record_safely(con, item, config)
        else:
            batch.append((index, item))
    try:
        con.execute("begin transaction")
        results = _write_batch(con, [item for _, item in batch])
        written = [(i, item, *result) for (i, item), result in zip(batch, results, strict=True)]
        con.execute("commit")
    except Exception:
        _roll_back(con)
        for index, item in batch:
            outcomes[index] = record_safely(con, item, config)
        written = []
    except BaseException:
        _roll_back(con)
        raise
    for index, item, outcome, target in written:
        try:
            file_away(item.dropped, target)
            outcomes[index] = outcome
        except Exception as exc:
            why = reason(exc)
            log.warning("%s: recorded, could not be filed (%s)", item.dropped.name, why)
            outcomes[index] = FileOutcome(
                item.dropped.name,
                "set aside",
                note=f"recorded, but could not be filed ({why}); left where it is",
            )
    return [outcomes[index] for index in range(len(prepared))]


def _write_batch(
    con: duckdb.DuckDBPyConnection, batch: list[Prepared]
) -> list[tuple[FileOutcome, Path]]:
    """What `_write` does for each file of a batch (none rejected) one after another, decided
    in memory and written with one statement per table, in the caller's transaction: a file
    with the content of one ingested before it (in the warehouse or earlier in the batch) is a
    duplicate; a response its region sent before (likewise) is a repeat."""
    ingested = ingested_by_content(con, [item.sha256 for item in batch])
    ids = reserve_submission_ids(con, len(batch))
    targets = [destination(item.dropped, PROCESSED) for item in batch]
    firsts: dict[int, tuple[int, str, str]] = {}
    for position, item in enumerate(batch):
        if item.sha256 not in ingested:
            record = _ledger(item, "ingested", targets[position])
            ingested[item.sha256] = (ids[position], record.region, record.file_name)
            firsts[position] = ingested[item.sha256]
    repeats = _repeated(con, batch, firsts)
    submissions: list[tuple[int, SubmissionRecord, Deidentified | None]] = []
    results = []
    for position, item in enumerate(batch):
        target = targets[position]
        if position not in firsts:
            earlier_id, earlier_region, earlier_name = ingested[item.sha256]
            record = _ledger(item, "duplicate", target, duplicate_of=earlier_id)
            submissions.append((ids[position], record, None))
            note = f"same content as {earlier_region}/{earlier_name}, already ingested"
            results.append((FileOutcome(item.dropped.name, "duplicate", note=note), target))
            continue
        assert item.data is not None
        repeated = repeats.get(position)
        data = item.data if repeated is None else leave_out(item.data, repeated)
        n_earlier = 0 if repeated is None else repeated.height
        record, outcome = _ingested(item, data, item.n_repeated + n_earlier, target)
        submissions.append((ids[position], record, data))
        results.append((outcome, target))
    record_submissions(con, submissions)
    return results


def _repeated(
    con: duckdb.DuckDBPyConnection,
    batch: list[Prepared],
    firsts: dict[int, tuple[int, str, str]],
) -> dict[int, pl.DataFrame]:
    """Per file to be ingested (by position), the response numbers its region sent before:
    in a file already recorded, or in one earlier in the batch."""
    frames = []
    for position, (_, region, _) in firsts.items():
        data = batch[position].data
        if data is not None and data.keys is not None and data.keys.height:
            where = [pl.lit(position, pl.Int64).alias("position"), pl.lit(region).alias("region")]
            frames.append(data.keys.with_columns(where))
    if not frames:
        return {}
    keys = pl.concat(frames, how="vertical_relaxed")
    earlier_in_batch = keys.filter(
        pl.col("position") > pl.col("position").min().over("region", "key_hash")
    )
    found = pl.concat([stored_keys(con, keys), earlier_in_batch], how="vertical_relaxed")
    return {
        int(position): group.select("response_no").unique()  # type: ignore[call-overload]
        for (position,), group in found.group_by("position")
    }


def _roll_back(con: duckdb.DuckDBPyConnection) -> None:
    """Undo the batch's transaction, if one is open (it may not have begun)."""
    with contextlib.suppress(duckdb.Error):
        con.execute("rollback")


def _write(
    con: duckdb.DuckDBPyConnection,
    prepared: Prepared,
    config: Config,
    *,
    replaces: tuple[int, ...] = (),
    transaction: bool,
) -> tuple[FileOutcome, Path]:
    """The file's ledger row and rows (in a transaction of their own, or the caller's), its
    report if rejected; what became of it and where it is to be filed."""
    dropped = prepared.dropped
    region = config.regions.get(dropped.region)
    if prepared.problems:
        target = destination(dropped, REJECTED)
        problems = list(prepared.problems)
        report = write_rejection_report(target, dropped, problems, region.name if region else None)
        record_submission(
            con,
            _ledger(prepared, "rejected", target, n_problems=len(problems)),
            transaction=transaction,
        )
        outcome = FileOutcome(
            dropped.name,
            "rejected",
            n_problems=len(problems),
            report=printable(str(report)),
            source=prepared.source,
        )
        return outcome, target

    target = destination(dropped, PROCESSED)
    earlier = find_ingested(con, prepared.sha256)
    if earlier is not None:
        earlier_id, earlier_region, earlier_name = earlier
        record_submission(
            con,
            _ledger(prepared, "duplicate", target, duplicate_of=earlier_id),
            transaction=transaction,
        )
        outcome = FileOutcome(
            dropped.name,
            "duplicate",
            note=f"same content as {earlier_region}/{earlier_name}, already ingested",
        )
        return outcome, target

    assert prepared.data is not None
    data, n_earlier = without_repeats(con, dropped.region, prepared.data, replacing=replaces)
    record, outcome = _ingested(prepared, data, prepared.n_repeated + n_earlier, target)
    record_submission(con, record, data, replaces=replaces, transaction=transaction)
    return outcome, target


def _ingested(
    prepared: Prepared, data: Deidentified, n_repeated: int, target: Path
) -> tuple[SubmissionRecord, FileOutcome]:
    """The ledger row and the outcome of a file ingested with `data` (repeats left out)."""
    record = _ledger(
        prepared,
        "ingested",
        target,
        n_responses=data.n_responses,
        n_left_out=prepared.n_left_out,
        dropped_columns=data.dropped_columns,
        n_repeated=n_repeated,
        n_words_held_back=data.n_words_held_back,
    )
    outcome = FileOutcome(
        prepared.dropped.name,
        "ingested",
        n_responses=data.n_responses,
        n_left_out=prepared.n_left_out,
        dropped_columns=data.dropped_columns,
        source=prepared.source,
        n_repeated=n_repeated,
        n_words_held_back=data.n_words_held_back,
    )
    return record, outcome
