"""Files prepared on other machines, handed to the one writer.

When regions are prepared by workers of a Prefect work pool (`flows/by_region.py`), each
worker reads, validates and de-identifies one region's new files and leaves the result here,
under the warehouse folder (0700, files 0600: de-identified rows are still restricted data);
the run that holds the warehouse lock reads them back, records them and deletes them. Nothing
here is ever published. Pickle is used because the folder is the operator's own restricted
folder, the same trust as the warehouse beside it."""

from __future__ import annotations

import os
import pickle
import shutil
import uuid
from pathlib import Path

from transforms.drop import private_folder
from transforms.ingest import Prepared

STAGING = "staging"


def new_run_folder(warehouse_dir: Path) -> Path:
    """A folder of this run's own for workers to leave prepared regions in."""
    return private_folder(private_folder(warehouse_dir / STAGING) / uuid.uuid4().hex)


def region_token(region: str) -> str:
    """A region folder's name as plain text that survives any parameter store: hex of its
    bytes (a folder name need not be UTF-8)."""
    return os.fsencode(region).hex()


def region_of(token: str) -> str:
    return os.fsdecode(bytes.fromhex(token))


def staged_path(run_folder: Path, region: str) -> Path:
    return run_folder / f"{region_token(region)}.pickle"


def stage(run_folder: Path, region: str, prepared: list[Prepared]) -> Path:
    """Leave one region's prepared files for the writer: written aside, then renamed, so the
    writer never reads half a file."""
    target = staged_path(run_folder, region)
    partial = target.with_name(f".{target.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        pickle.dump(prepared, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, target)
    return target


def staged(run_folder: Path, region: str) -> list[Prepared] | None:
    """One region's prepared files, or None when no worker left them."""
    path = staged_path(run_folder, region)
    if not path.exists():
        return None
    with path.open("rb") as f:
        prepared = pickle.load(f)
    if not isinstance(prepared, list) or not all(isinstance(p, Prepared) for p in prepared):
        raise TypeError(f"{path.name} does not hold prepared files")
    return prepared


def clear(run_folder: Path) -> None:
    """The run's staged files, once recorded (or given up on: their files wait in the drop)."""
    shutil.rmtree(run_folder, ignore_errors=True)
