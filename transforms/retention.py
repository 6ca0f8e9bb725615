"""Retention: raw exports hold names and emails, so once filed they are kept `raw_days` and no
longer, deleted only when the operator runs `reflect-eval purge`. What is deleted is listed by
name, never by content. The warehouses keep only de-identified rows and are not touched."""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from schemas.config import Config
from transforms.drop import printable
from transforms.errors import ConfigError

FILED = ("processed", "rejected")
DAY_SECONDS = 86_400


@dataclass(frozen=True)
class Purge:
    raw_days: int
    deleted: list[str] = field(default_factory=list)
    kept: int = 0
    skipped: list[str] = field(default_factory=list)
    """Links and anything that is not a regular file: never followed, never deleted."""


def purge(config: Config, *, dry_run: bool = False, now: float | None = None) -> Purge:
    days = config.retention.raw_days
    if days is None:
        raise ConfigError(
            "nothing is purged without a retention period: set [retention] raw_days = N "
            "in the config (raw files older than N days are then deleted by `purge`)"
        )
    cutoff = (time.time() if now is None else now) - days * DAY_SECONDS
    deleted: list[str] = []
    skipped: list[str] = []
    kept = 0
    for region in sorted(p for p in config.drop_dir.iterdir() if _real_folder(p)):
        for outcome in FILED:
            folder = region / outcome
            if not folder.exists():
                continue
            name = f"{printable(region.name)}/{outcome}"
            if not _real_folder(folder):
                skipped.append(f"{name} (not a real folder)")
                continue
            for path in sorted(folder.iterdir()):
                info = path.lstat()
                shown = f"{name}/{printable(path.name)}"
                if not stat.S_ISREG(info.st_mode):
                    skipped.append(f"{shown} (not a regular file)")
                elif info.st_mtime < cutoff:
                    if not dry_run:
                        os.unlink(path)
                    deleted.append(shown)
                else:
                    kept += 1
    return Purge(days, deleted, kept, skipped)


def _real_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()
