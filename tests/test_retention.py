"""Retention: raw exports are deleted only when the operator asks (`reflect-eval purge`), only
once older than [retention] raw_days, listed by name, never by content; links are not followed."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from fixtures.regional_drop import PlantedDrop, write_drop
from schemas.config import Config, load_config
from tests.e2e import COMMAND, leaks
from tests.test_status import run_once

DAY = 86_400


def aged(path: Path, days: float) -> None:
    then = time.time() - days * DAY
    os.utime(path, (then, then))


def filed_drop(root: Path, *, raw_days: int | None) -> tuple[PlantedDrop, Config]:
    drop = write_drop(root, n_regions=2, n_training_days=2, with_bad_file=True)
    if raw_days is not None:
        with drop.config_path.open("a", encoding="utf-8") as config:
            config.write(f"\n[retention]\nraw_days = {raw_days}\n")
    config = load_config(drop.config_path)
    run_once(config)
    return drop, config


def filed(config: Config) -> list[Path]:
    return sorted(
        p
        for region in config.drop_dir.iterdir()
        for o in ("processed", "rejected")
        if (region / o).is_dir()
        for p in (region / o).iterdir()
    )


def test_files_are_filed_with_the_time_they_were_filed(tmp_path: Path):
    _, config = filed_drop(tmp_path, raw_days=None)
    files = filed(config)
    assert len(files) == 6  # four exports, the bad file and its report
    assert all(time.time() - p.stat().st_mtime < 600 for p in files)


def test_purge_deletes_only_what_is_older_than_raw_days_and_names_it(tmp_path: Path):
    drop, config = filed_drop(tmp_path, raw_days=30)
    files = filed(config)
    old = [p for p in files if "2026-01" in p.name or "bad" in p.name]
    for path in old:
        aged(path, 31)
    for path in set(files) - set(old):
        aged(path, 29)
    outside = tmp_path / "not-in-the-drop.csv"
    outside.write_text("keep me", encoding="utf-8")
    aged(outside, 400)
    link = config.drop_dir / "kss" / "processed" / "link.csv"
    link.symlink_to(outside)
    command = [COMMAND, "purge", "--config", str(drop.config_path)]
    listed = subprocess.run([*command, "--dry-run"], capture_output=True, text=True, check=False)
    assert listed.returncode == 0, listed.stderr
    assert all(p.exists() for p in files), "a dry run deletes nothing"
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(p for p in files if p.exists()) == sorted(set(files) - set(old))
    for path in old:
        assert f"{path.parent.parent.name}/{path.parent.name}/{path.name}" in done.stdout
    assert f"deleted {len(old)} raw file(s)" in done.stdout
    assert listed.stdout.replace("would delete", "deleted") == done.stdout
    assert outside.exists() and link.is_symlink(), "a link is neither followed nor deleted"
    assert "link.csv (not a regular file)" in done.stderr
    assert not leaks(drop.canaries, {"purge": done.stdout + done.stderr + listed.stdout})
    assert config.restricted_path.exists() and config.published_path.exists()


def test_purge_without_a_retention_period_refuses(tmp_path: Path):
    drop, config = filed_drop(tmp_path, raw_days=None)
    before = filed(config)
    done = subprocess.run(
        [COMMAND, "purge", "--config", str(drop.config_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2 and "[retention] raw_days" in done.stderr
    assert "Traceback" not in done.stderr and filed(config) == before
