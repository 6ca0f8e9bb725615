"""A region's corrected file for a training day, in place of the file it corrects.

`reflect-eval replace FILE --region ID` reads, validates and de-identifies FILE as a dropped
file would be, finds the ingested file of that region it corrects (the one holding the same
training day, or the one named with `--replaces`), and records FILE in one transaction with
the replacement: the earlier file's response keys and free-text words go, its responses stay.
Nothing published changes until the next run: that release counts the earlier file's
respondents out again as withdrawal cells (`transforms.privacy.tables`), so every earlier
release stays a true statement of what was known when it was published, and the audit holds
the new figures against all of them.

Two groups' files for one day are two files: dropped as usual, both count. Only `replace`
withdraws anything."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import duckdb

from schemas.config import Config
from schemas.instrument import Instrument
from transforms.drop import DroppedFile, printable
from transforms.errors import ReflectEvalError
from transforms.ingest import FileOutcome, Prepared, prepare_safely, record
from transforms.load import find_ingested


class ReplaceError(ReflectEvalError):
    """The corrected file cannot replace anything as asked: nothing was recorded or moved."""


@dataclass(frozen=True)
class Replaced:
    outcome: FileOutcome
    """What became of the corrected file (rejected: nothing was replaced)."""
    replaced: tuple[str, ...] = ()
    """The earlier file it replaces, as region/name, with its responses counted."""
    n_replaced_responses: int = 0


def replace_file(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    instrument: Instrument,
    path: Path,
    *,
    region: str,
    replaces: str | None = None,
    secret: bytes | None = None,
) -> Replaced:
    """Check, then record `path` as the corrected file of `region` (see the module)."""
    if region not in config.regions:
        known = ", ".join(sorted(config.regions)) or "none"
        raise ReplaceError(f"region {printable(region)} is not in the config (regions: {known})")
    folder = config.drop_dir / region
    prepared = prepare_safely(DroppedFile(region, path), config, instrument, secret=secret)
    if prepared.problems:
        return Replaced(record(con, _dropped_copy(prepared, folder), config))
    earlier = find_ingested(con, prepared.sha256)
    if earlier is not None:
        _, earlier_region, earlier_name = earlier
        raise ReplaceError(
            f"{printable(path.name)} has the same content as {earlier_region}/{earlier_name}, "
            "already ingested: there is nothing to correct"
        )
    assert prepared.data is not None
    days = sorted(set(prepared.data.answers["training_day"].to_list()))
    candidates = _candidates(con, printable(region), days)
    if replaces is not None:
        candidates = [c for c in candidates if c[1] == printable(replaces)]
    shown_days = ", ".join(str(d) for d in days)
    if not candidates:
        named = f" named {printable(replaces)}" if replaces is not None else ""
        raise ReplaceError(
            f"no file{named} of region {printable(region)} holding training day {shown_days} "
            "is ingested and not already replaced: drop the file as a new one instead"
        )
    if len(candidates) > 1:
        names = ", ".join(name for _, name, _ in candidates)
        raise ReplaceError(
            f"region {printable(region)} has {len(candidates)} files for training day "
            f"{shown_days} ({names}): name the one this file corrects with --replaces"
        )
    [(submission_id, name, n_responses)] = candidates
    outcome = record(con, _dropped_copy(prepared, folder), config, replaces=(submission_id,))
    return Replaced(outcome, (f"{printable(region)}/{name}",), n_responses)


def _candidates(
    con: duckdb.DuckDBPyConnection, region: str, days: list[dt.date]
) -> list[tuple[int, str, int]]:
    """Ingested files of the region, not replaced yet, holding any of the training days."""
    return con.execute(
        "select submission_id, file_name, n_responses from submissions "
        "where region = ? and status = 'ingested' "
        "and submission_id not in (select replaced from replacements) "
        "and submission_id in (select submission_id from responses "
        "    where list_contains(?, training_day)) "
        "order by submission_id",
        [region, days],
    ).fetchall()


def _dropped_copy(prepared: Prepared, folder: Path) -> Prepared:
    """The file copied into the region's drop folder, to be filed like any dropped file (the
    operator's own copy stays where it was). A file of that name already waiting there is not
    overwritten."""
    source = prepared.dropped.path
    if source.resolve().parent == folder.resolve():
        return prepared
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise ReplaceError(
            f"a file named {printable(source.name)} is already waiting in "
            f"{printable(str(folder))}: run first, or rename the corrected file"
        ) from None
    with os.fdopen(fd, "wb") as out, source.open("rb") as original:
        shutil.copyfileobj(original, out)
    return replace(prepared, dropped=DroppedFile(prepared.dropped.region, target))
