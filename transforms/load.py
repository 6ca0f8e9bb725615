"""The restricted warehouse: de-identified responses and the ledger of submissions.

A file's ledger row and rows are written in one transaction (its own, or its batch's), so a
failure leaves earlier files exactly as they were."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from transforms.deidentify import Deidentified
from transforms.errors import WarehouseBusyError
from transforms.sql import sql

RESTRICTED_TABLES = (
    "submissions",
    "responses",
    "free_text_words",
    "releases",
    "release_figures",
    "release_audit",
    "response_keys",
    "replacements",
)


@dataclass(frozen=True)
class SubmissionRecord:
    """What the ledger keeps of one file: never its rows, only what became of it."""

    region: str
    file_name: str
    sha256: str
    status: str
    stored_as: str | None = None
    n_responses: int = 0
    n_left_out: int = 0
    n_problems: int = 0
    dropped_columns: tuple[str, ...] = field(default=())
    duplicate_of: int | None = None
    n_repeated: int = 0
    n_words_held_back: int = 0


@contextmanager
def open_warehouse(path: Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open a warehouse file, saying plainly when another process holds it."""
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise WarehouseBusyError(
                f"{path} is in use by another process (a run still going, or an open "
                "analysis session); runs must not overlap"
            ) from None
        raise
    try:
        if not read_only:
            _owner_only(path)
        yield con
    finally:
        con.close()
        if not read_only:
            _owner_only(path)


def _owner_only(path: Path) -> None:
    """The restricted warehouse and its write-ahead log: 0600, whatever the umask."""
    for file in (path, Path(f"{path}.wal")):
        if file.exists():
            os.chmod(file, 0o600)


RESTRICTED_MACROS = ("included_submissions",)
"""Table macros over the restricted tables, made (again) with them."""


def create_restricted_tables(con: duckdb.DuckDBPyConnection) -> None:
    for table in (*RESTRICTED_TABLES, *RESTRICTED_MACROS):
        con.execute(sql(table))


def find_ingested(con: duckdb.DuckDBPyConnection, sha256: str) -> tuple[int, str, str] | None:
    """The earlier ingested submission with this content: (submission_id, region, file_name)."""
    rows = con.execute(
        "select submission_id, region, file_name from submissions "
        "where sha256 = ? and status = 'ingested' order by submission_id limit 1",
        [sha256],
    ).fetchall()
    return rows[0] if rows else None


def record_submission(
    con: duckdb.DuckDBPyConnection,
    record: SubmissionRecord,
    data: Deidentified | None = None,
    *,
    replaces: Sequence[int] = (),
    transaction: bool = True,
) -> int:
    """Write the ledger row and, for an ingested file, its de-identified rows: all or nothing.
    A corrected file `replaces` earlier submissions in the same transaction: they are noted as
    replaced (their responses stay, for the release history), and their response keys and
    free-text words go, so the corrected file's responses count and its words stand alone.
    Without `transaction`, the caller's transaction holds it (`transforms.ingest.record_many`)."""
    incoming = {"incoming_responses": data.answers, "incoming_words": data.words} if data else {}
    if data is not None and data.keys is not None:
        incoming["incoming_keys"] = data.keys
    for name, frame in incoming.items():
        con.register(name, frame)
    try:
        if transaction:
            con.execute("begin transaction")
        try:
            [(submission_id,)] = con.execute(_INSERT_SUBMISSION, _ledger_row(record)).fetchall()
            if data is not None:
                con.execute(_INSERT_RESPONSES, [submission_id, record.region])
                con.execute(_INSERT_WORDS, [submission_id, record.region])
                if replaces:
                    _withdraw(con, submission_id, replaces)
                if "incoming_keys" in incoming:
                    con.execute(_INSERT_KEYS, [record.region, submission_id])
            if transaction:
                con.execute("commit")
        except BaseException:
            if transaction:
                con.execute("rollback")
            raise
    finally:
        for name in incoming:
            con.unregister(name)
    return submission_id


def ingested_by_content(
    con: duckdb.DuckDBPyConnection, hashes: Sequence[str]
) -> dict[str, tuple[int, str, str]]:
    """`find_ingested` for many files at once: per content hash already ingested, the first
    submission with it (submission_id, region, file_name)."""
    rows = con.execute(
        "select sha256, submission_id, region, file_name from submissions "
        "where status = 'ingested' and list_contains(?, sha256) order by submission_id",
        [list(hashes)],
    ).fetchall()
    found: dict[str, tuple[int, str, str]] = {}
    for sha256, submission_id, region, file_name in rows:
        found.setdefault(sha256, (submission_id, region, file_name))
    return found


def reserve_submission_ids(con: duckdb.DuckDBPyConnection, count: int) -> list[int]:
    """The ids the next `count` ledger rows would be given one by one, in order."""
    rows = con.execute("select nextval('submission_id_seq') from range(?)", [count]).fetchall()
    return sorted(submission_id for (submission_id,) in rows)


def stored_keys(con: duckdb.DuckDBPyConnection, keys: pl.DataFrame) -> pl.DataFrame:
    """Of `keys` (region, key_hash and any other columns), those whose response the region
    already sent in a file recorded before."""
    con.register("incoming_keys", keys)
    try:
        return con.sql(
            "select * from incoming_keys k semi join response_keys s "
            "on s.key_hash = k.key_hash and s.region = k.region"
        ).pl()
    finally:
        con.unregister("incoming_keys")


def record_submissions(
    con: duckdb.DuckDBPyConnection,
    submissions: Sequence[tuple[int, SubmissionRecord, Deidentified | None]],
) -> None:
    """Many files' ledger rows (with ids from `reserve_submission_ids`) and de-identified
    rows, one insert per table, in the caller's transaction: what `record_submission` writes
    file by file."""
    ledger = pl.DataFrame(
        [[submission_id, *_ledger_row(record)] for submission_id, record, _ in submissions],
        schema=_LEDGER_SCHEMA,
        orient="row",
    )
    written = [(i, record.region, data) for i, record, data in submissions if data is not None]
    tables = {
        "responses": _owned([(i, region, data.answers) for i, region, data in written]),
        "free_text_words": _owned([(i, region, data.words) for i, region, data in written]),
        "response_keys": _owned(
            [
                (i, region, data.keys.select("key_hash"))
                for i, region, data in written
                if data.keys is not None
            ]
        ),
    }
    con.register("incoming_ledger", ledger)
    try:
        con.execute("insert into submissions by name select * from incoming_ledger")
    finally:
        con.unregister("incoming_ledger")
    for table, rows in tables.items():
        if rows is None:
            continue
        con.register("incoming_rows", rows)
        try:
            con.execute(f"insert into {table} by name select * from incoming_rows")
        finally:
            con.unregister("incoming_rows")


def _owned(files: Sequence[tuple[int, str, pl.DataFrame]]) -> pl.DataFrame | None:
    """Many files' rows as one frame, each row with its file's submission_id and region (None:
    no rows at all)."""
    kept = [(i, region, rows) for i, region, rows in files if rows.height]
    if not kept:
        return None
    of_file = np.repeat(np.arange(len(kept)), [rows.height for _, _, rows in kept])
    ids = pl.Series("submission_id", [i for i, _, _ in kept], dtype=pl.Int32)
    regions = pl.Series("region", [region for _, region, _ in kept], dtype=pl.Utf8)
    return pl.concat([rows for _, _, rows in kept], how="vertical_relaxed").with_columns(
        ids.gather(of_file), regions.gather(of_file)
    )


def _withdraw(con: duckdb.DuckDBPyConnection, replacement: int, replaced: Sequence[int]) -> None:
    ids = list(replaced)
    con.execute("delete from response_keys where list_contains(?, submission_id)", [ids])
    con.execute("delete from free_text_words where list_contains(?, submission_id)", [ids])
    con.execute(
        "insert into replacements select unnest(?::integer[]), ?, ?",
        [ids, replacement, datetime.now(UTC)],
    )


def _ledger_row(record: SubmissionRecord) -> list[object]:
    return [
        record.region,
        record.file_name,
        record.stored_as,
        record.sha256,
        datetime.now(UTC),
        record.status,
        record.n_responses,
        record.n_left_out,
        record.n_problems,
        list(record.dropped_columns),
        record.duplicate_of,
        record.n_repeated,
        record.n_words_held_back,
    ]


def without_repeats(
    con: duckdb.DuckDBPyConnection,
    region: str,
    data: Deidentified,
    *,
    replacing: Sequence[int] = (),
) -> tuple[Deidentified, int]:
    """Leave out responses whose keyed id this region already sent in an earlier export (not
    one this file replaces: its responses are withdrawn)."""
    if data.keys is None or data.keys.is_empty():
        return data, 0
    con.register("incoming_keys", data.keys)
    try:
        repeated = con.sql(
            "select k.response_no from incoming_keys k "
            "semi join response_keys s on s.key_hash = k.key_hash and s.region = $region "
            "and not list_contains($replacing, s.submission_id)",
            params={"region": region, "replacing": list(replacing)},
        ).pl()
    finally:
        con.unregister("incoming_keys")
    return leave_out(data, repeated), repeated.height


def leave_out(data: Deidentified, responses: pl.DataFrame) -> Deidentified:
    """A file's rows without the responses (`response_no`, each once) named."""
    if responses.is_empty():
        return data
    responses = responses.cast({"response_no": data.answers.schema["response_no"]})
    return replace(
        data,
        answers=data.answers.join(responses, on="response_no", how="anti"),
        words=data.words.join(responses, on="response_no", how="anti"),
        keys=None if data.keys is None else data.keys.join(responses, on="response_no", how="anti"),
        n_responses=data.n_responses - responses.height,
    )


_LEDGER_SCHEMA = {
    "submission_id": pl.Int32,
    "region": pl.Utf8,
    "file_name": pl.Utf8,
    "stored_as": pl.Utf8,
    "sha256": pl.Utf8,
    "received_at": pl.Datetime("us", "UTC"),
    "status": pl.Utf8,
    "n_responses": pl.Int32,
    "n_left_out": pl.Int32,
    "n_problems": pl.Int32,
    "dropped_columns": pl.List(pl.Utf8),
    "duplicate_of": pl.Int32,
    "n_repeated": pl.Int32,
    "n_words_held_back": pl.Int32,
}
"""A ledger row as `_ledger_row` gives it, after its submission_id."""

_INSERT_SUBMISSION = (
    "insert into submissions (region, file_name, stored_as, sha256, received_at, status, "
    "n_responses, n_left_out, n_problems, dropped_columns, duplicate_of, n_repeated, "
    "n_words_held_back) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning submission_id"
)
_INSERT_RESPONSES = (
    "insert into responses by name "
    "select ?::integer as submission_id, ?::varchar as region, * from incoming_responses"
)
_INSERT_WORDS = (
    "insert into free_text_words by name "
    "select ?::integer as submission_id, ?::varchar as region, * from incoming_words"
)
_INSERT_KEYS = (
    "insert into response_keys (region, key_hash, submission_id) "
    "select ?::varchar, key_hash, ?::integer from incoming_keys"
)
