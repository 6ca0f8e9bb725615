"""The Prefect flow: find new files, prepare them in parallel, record them batch by batch as
they are ready, publish.

Tasks are thin wrappers over `transforms/`; files are prepared in batches so a drop of a
thousand files costs a few dozen task runs, not thousands."""

from __future__ import annotations

import contextvars
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.futures import PrefectFuture
from prefect.states import Failed

from schemas.config import Config, load_config
from schemas.instrument import load_instrument
from transforms.drop import DroppedFile, find_new_files
from transforms.errors import PublishError, ReflectEvalError
from transforms.ingest import FileOutcome, Prepared, prepare_many_safely, record_many
from transforms.load import create_restricted_tables, open_warehouse
from transforms.privacy import lowerings
from transforms.release import ReleaseSummary, ensure_report, needs_release, publish_release
from transforms.response_keys import load_or_create_secret, secret_path
from transforms.run_lock import run_lock

BATCH_SIZE = 50
BATCHES_AHEAD = 3
"""Batches being prepared or waiting to be recorded: enough to keep every thread busy while
a batch is recorded, few enough that a backfill's rows are never all held at once."""


@dataclass(frozen=True)
class RunSummary:
    files: tuple[FileOutcome, ...]
    notes: tuple[str, ...]
    release: ReleaseSummary | None
    published_path: Path
    seconds: dict[str, float] = field(default_factory=dict)
    """Wall time of each step: prepare (read, validate, de-identify: what recording waited for,
    as the two overlap), record, publish."""

    @property
    def n_ingested(self) -> int:
        return sum(f.status == "ingested" for f in self.files)

    @property
    def n_rejected(self) -> int:
        return sum(f.status == "rejected" for f in self.files)

    @property
    def n_set_aside(self) -> int:
        """Files no step could file (see `transforms.ingest.record_safely`): left in place."""
        return sum(f.status == "set aside" for f in self.files)


@task(cache_policy=NO_CACHE)
def find_files(config: Config) -> tuple[list[DroppedFile], list[str]]:
    """List new files in every region folder."""
    return find_new_files(config.drop_dir)


@task(cache_policy=NO_CACHE)
def prepare_batch(batch: list[DroppedFile], config: Config) -> list[Prepared]:
    """Read, validate and de-identify a batch of files, their rows checked together (no writes
    but the response key)."""
    instrument = load_instrument(config.instrument)
    # Loaded here, never passed as a task parameter: Prefect records those.
    secret = load_or_create_secret(secret_path(config.paths.warehouse))
    return prepare_many_safely(batch, config, instrument, secret=secret)


@task(cache_policy=NO_CACHE)
def record_and_publish(
    prepared: Iterable[Prepared], config: Config
) -> tuple[list[FileOutcome], ReleaseSummary | ReflectEvalError | None]:
    """Record the files, a batch to a transaction (each file's rows with its ledger row), each
    batch as soon as it is prepared (so a backfill's rows are never all held at once), then
    publish a release if anything changed.
    A refused release, or a warehouse another process holds, is returned, not raised: files
    already recorded stay recorded, and the flow reports the reason without Prefect logging a
    traceback for it."""
    instrument = load_instrument(config.instrument)
    outcomes: list[FileOutcome] = []
    try:
        with open_warehouse(config.restricted_path) as con:
            create_restricted_tables(con)
            # the preparing threads have the cores: a parallel insert only waits for them
            con.execute("set threads=1")
            for batch in _batches(prepared, BATCH_SIZE):
                outcomes += record_many(con, batch, config)
            con.execute("reset threads")
            n_ingested = sum(o.status == "ingested" for o in outcomes)
            publish = needs_release(con, config, n_ingested)
            release = publish_release(con, config, instrument) if publish else None
        if release is None:
            try:
                ensure_report(config)
            except PublishError as problem:  # the published file itself is as it was
                get_run_logger().warning("%s", problem)
    except ReflectEvalError as refused:  # a held warehouse too: nothing was recorded
        return outcomes, refused
    return outcomes, release


@flow(name="reflect-eval-ingest")
def ingest_drop(config_path: str) -> RunSummary | State:
    """Process every new file in the drop folder once, then publish the suppressed tables.

    An error the operator can act on fails the run with its message and no traceback."""
    try:
        config = load_config(config_path)
        with run_lock(config.paths.warehouse, command="flow run"):
            return ingest_files(config)
    except ReflectEvalError as error:
        get_run_logger().error("%s", error)
        return Failed(message=str(error), data=error)


def _batches(items: Iterable[Prepared], size: int) -> Iterator[list[Prepared]]:
    batch: list[Prepared] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def prepare_here(config: Config, files: list[DroppedFile]) -> tuple[Iterator[Prepared], list[str]]:
    """Prepare every file in this flow run, in batches on the task runner's threads; the
    prepared files come in order, each batch as it is ready, and are not kept once taken.

    Batches are submitted in the flow's own context, though it is the recording task that asks
    for them: a task submitted inside another task joins that task's transaction, which holds
    every result until the outer task ends (all of a backfill's rows at once)."""
    batches = deque(files[i : i + BATCH_SIZE] for i in range(0, len(files), BATCH_SIZE))
    running: deque[PrefectFuture[list[Prepared]]] = deque()
    in_the_flow = contextvars.copy_context()

    def in_order() -> Iterator[Prepared]:
        while batches or running:
            while batches and len(running) < BATCHES_AHEAD:
                batch = batches.popleft()
                running.append(in_the_flow.run(prepare_batch.submit, batch, config))
            yield from running.popleft().result()

    return in_order(), []


Preparer = Callable[[Config, list[DroppedFile]], tuple[Iterable[Prepared], list[str]]]
"""Turns the files found into prepared files (and notes on any it could not prepare, which
stay in the drop folder for the next run)."""


class _Timed:
    """Prepared files as they come, and how long taking them waited."""

    def __init__(self, items: Iterable[Prepared]) -> None:
        self._items = iter(items)
        self.seconds = 0.0

    def __iter__(self) -> Iterator[Prepared]:
        return self

    def __next__(self) -> Prepared:
        started = time.perf_counter()
        try:
            return next(self._items)
        finally:
            self.seconds += time.perf_counter() - started


def ingest_files(config: Config, prepare_files: Preparer = prepare_here) -> RunSummary:
    logger = get_run_logger()
    for lowering in lowerings(config.privacy.rules):
        logger.warning(
            "privacy lowered: %s; small groups may be identifiable in the published tables",
            lowering,
        )
    files, notes = find_files(config)
    started = time.perf_counter()
    found, not_prepared = prepare_files(config, files)
    prepared = _Timed(found)
    asked_s = time.perf_counter() - started
    notes = [*notes, *not_prepared]
    for note in not_prepared:
        logger.warning("%s", note)
    outcomes, release = record_and_publish(prepared, config)
    refused = release if isinstance(release, ReflectEvalError) else None
    published = None if refused else release
    publish_s = published.seconds if published is not None else 0.0
    prepare_s = asked_s + prepared.seconds
    seconds = {
        "prepare": prepare_s,
        "record": time.perf_counter() - started - prepare_s - publish_s,
        "publish": publish_s,
    }
    summary = RunSummary(tuple(outcomes), tuple(notes), published, config.published_path, seconds)
    for outcome in summary.files:
        if outcome.status == "set aside":
            logger.warning("set aside %s: %s", outcome.file, outcome.note)
        if outcome.status == "rejected":
            logger.warning(
                "rejected %s: %d problem(s), report at %s",
                outcome.file,
                outcome.n_problems,
                outcome.report,
            )
    logger.info(
        "%d file(s): %d ingested, %d rejected",
        len(summary.files),
        summary.n_ingested,
        summary.n_rejected,
    )
    if refused is not None:
        raise refused
    return summary
