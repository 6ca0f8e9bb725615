"""Past one machine: each region's files read, validated and de-identified by whichever worker
of the work pool picks it up, then recorded and published by the one run that holds the
warehouse (README: "Past one machine").

`ingest_drop_by_region` takes the run lock, lists the new files, asks the server for one
`prepare_region` run per region that has any (deployment `reflect-eval-prepare-region`), waits
for them, and records what they left in the warehouse folder's staging area
(`transforms.staging`), exactly as `ingest_drop` records what it prepared itself. Workers
write nothing but their staged file: the warehouses have one writer. A region whose run fails,
crashes or does not finish in time is named in the run's notes and its files stay in the drop
folder for the next run; every other region goes on."""

from __future__ import annotations

import time
from pathlib import Path
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import State
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.states import Failed

from flows.ingest import Preparer, RunSummary, ingest_files, prepare_here
from schemas.config import Config, load_config
from transforms.drop import DroppedFile, find_new_files, printable
from transforms.errors import ConfigError, ReflectEvalError
from transforms.ingest import Prepared
from transforms.response_keys import load_or_create_secret, secret_path
from transforms.run_lock import run_lock
from transforms.staging import clear, new_run_folder, region_of, region_token, stage, staged

PREPARE_DEPLOYMENT = "reflect-eval-prepare-region/reflect-eval-prepare-region"
POLL_SECONDS = 2.0


@flow(name="reflect-eval-prepare-region")
def prepare_region(config_path: str, region: str, run_folder: str) -> int:
    """On a worker that sees the drop folder: prepare one region's new files (`region` is the
    folder's name as `transforms.staging.region_token` writes it) and leave them for the
    writer. Returns how many files were prepared."""
    config = load_config(config_path)
    name = region_of(region)
    files = [f for f in find_new_files(config.drop_dir)[0] if f.region == name]
    found, _ = prepare_here(config, files)
    prepared = list(found)
    stage(Path(run_folder), name, prepared)
    get_run_logger().info("%s: %d file(s) prepared", printable(name), len(prepared))
    return len(prepared)


@flow(name="reflect-eval-ingest-by-region")
def ingest_drop_by_region(
    config_path: str,
    prepare_deployment: str = PREPARE_DEPLOYMENT,
    wait_seconds: float = 3600.0,
) -> RunSummary | State:
    """`ingest_drop`, with each region prepared on whichever worker picks it up."""
    try:
        config = load_config(config_path)
        with run_lock(config.paths.warehouse, command="flow run by region"):
            return ingest_files(config, on_workers(config_path, prepare_deployment, wait_seconds))
    except ReflectEvalError as error:
        get_run_logger().error("%s", error)
        return Failed(message=str(error), data=error)


def on_workers(config_path: str, deployment: str, wait_seconds: float) -> Preparer:
    """A preparer (see `flows.ingest.Preparer`) that hands each region to a worker."""

    def prepare(config: Config, files: list[DroppedFile]) -> tuple[list[Prepared], list[str]]:
        regions = sorted({f.region for f in files})
        if not regions:
            return [], []
        load_or_create_secret(secret_path(config.paths.warehouse))  # one key for every worker
        folder = new_run_folder(config.paths.warehouse)
        try:
            runs = {region: _ask(deployment, config_path, region, folder) for region in regions}
            ended = _wait(runs, wait_seconds)
            prepared: list[Prepared] = []
            notes: list[str] = []
            for region in regions:
                state = ended.get(region)
                done = state is not None and state.is_completed()
                found = staged(folder, region) if done else None
                if found is None:
                    how = "did not finish in time" if state is None else f"ended {state.name}"
                    notes.append(
                        f"{printable(region)}: not prepared (its worker run {how}); its files "
                        "wait in the drop folder for the next run"
                    )
                    continue
                prepared += found
            return prepared, notes
        finally:
            clear(folder)

    return prepare


def _ask(deployment: str, config_path: str, region: str, folder: Path) -> UUID:
    """A run of `deployment` for one region, scheduled now; its id."""
    try:
        run = run_deployment(
            deployment,
            parameters={
                "config_path": config_path,
                "region": region_token(region),
                "run_folder": str(folder),
            },
            flow_run_name=f"prepare {printable(region)}",
            timeout=0,
        )
    except ObjectNotFound:
        raise ConfigError(
            f"deployment {deployment} is not on the Prefect server: deploy prefect.yaml "
            "with --all (it declares both deployments)"
        ) from None
    return run.id


def _wait(runs: dict[str, UUID], wait_seconds: float) -> dict[str, State]:
    """Each region's final state, for those whose run ended within `wait_seconds`."""
    ended: dict[str, State] = {}
    deadline = time.monotonic() + wait_seconds
    with get_client(sync_client=True) as client:
        while True:
            for region, run_id in runs.items():
                if region in ended:
                    continue
                state = client.read_flow_run(run_id).state
                if state is not None and state.is_final():
                    ended[region] = state
            if len(ended) == len(runs) or time.monotonic() > deadline:
                return ended
            time.sleep(POLL_SECONDS)
