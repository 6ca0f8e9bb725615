"""The drop area: `drop/<region>/<files>`. New files are found here and, once dealt with, moved
to `processed/` or `rejected/` beside them. Nothing is ever deleted or overwritten."""

from __future__ import annotations

import errno
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from transforms.problems import Problem

PROCESSED = "processed"
REJECTED = "rejected"
MAX_REPORTED_PROBLEMS = 200
NAME_MAX = 255
"""Bytes in one file name on the file systems we run on."""
REPORT_SUFFIX = ".errors.txt"


@dataclass(frozen=True)
class DroppedFile:
    region: str
    """The folder it was dropped in: a configured region id, or not."""
    path: Path

    @property
    def name(self) -> str:
        """Region and file name as printable text (see `printable`)."""
        return f"{printable(self.region)}/{printable(self.path.name)}"


def printable(name: str) -> str:
    """A file name as text that can be stored, printed and written anywhere: bytes that are not
    UTF-8 (a Windows archive unzipped) shown as \\xe9, control characters (terminal escape
    codes) escaped."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


def fitted(name: str, room: int = len(REPORT_SUFFIX)) -> str:
    """`name`, shortened (keeping its extension, with a hash of the whole) when it and `room`
    more bytes would not fit in one file name."""
    raw = os.fsencode(name)
    if len(raw) + room <= NAME_MAX:
        return name
    stem, dot, suffix = raw.rpartition(b".") if b"." in raw[-16:] else (raw, b"", b"")
    tag = b"~" + hashlib.sha256(raw).hexdigest()[:10].encode()
    keep = NAME_MAX - room - len(tag) - len(dot) - len(suffix)
    return os.fsdecode(stem[:keep] + tag + dot + suffix)


def _ignored(path: Path) -> bool:
    """Hidden files, Excel lock files and symbolic links are never read."""
    return path.name.startswith((".", "~$")) or path.is_symlink()


def find_new_files(drop_dir: Path) -> tuple[list[DroppedFile], list[str]]:
    """Files waiting in region folders, in a stable order; and notes on files left alone."""
    if not drop_dir.is_dir():
        return [], [f"drop folder {drop_dir} does not exist yet: nothing to ingest"]
    found, notes = [], []
    for folder in sorted(drop_dir.iterdir()):
        if _ignored(folder):
            continue
        if not folder.is_dir():
            notes.append(f"{folder.name}: not inside a region folder, left where it is")
            continue
        for path in sorted(folder.iterdir()):
            if not _ignored(path) and path.is_file():
                found.append(DroppedFile(region=folder.name, path=path))
    return found, notes


class LinkedFolder(OSError):
    """A region's processed/ or rejected/ is a link (or not a folder): raw exports, which hold
    names and emails, are never moved, nor reports written, through it."""

    def __init__(self, folder: Path) -> None:
        super().__init__(
            f"{printable(folder.name)}/ is a link or not a folder; nothing is filed through it"
        )
        self.strerror = self.args[0]


def private_folder(folder: Path) -> Path:
    """`folder`, a real folder only its owner can open (0700, whatever the umask)."""
    if folder.is_symlink() or (os.path.lexists(folder) and not folder.is_dir()):
        raise LinkedFolder(folder)
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.is_symlink():  # made a link between the check and now
        raise LinkedFolder(folder)
    os.chmod(folder, 0o700)
    return folder


def destination(dropped: DroppedFile, outcome: Literal["processed", "rejected"]) -> Path:
    """Where the file will be filed: its own name, or `name (2).csv` if that is taken. The folder
    is checked (and made) first, so a linked one stops the file before anything is written."""
    folder = private_folder(dropped.path.parent / outcome)
    candidate = folder / fitted(dropped.path.name)
    n = 2
    while os.path.lexists(candidate) or os.path.lexists(report_path(candidate)):
        candidate = folder / fitted(f"{dropped.path.stem} ({n}){dropped.path.suffix}")
        n += 1
    return candidate


def file_away(dropped: DroppedFile, target: Path) -> None:
    """Move the raw export into its region's private processed/ or rejected/ folder, owner-only
    (it holds names and emails), never over an existing name. Its modification time becomes
    the time it was filed: retention counts from then, not from the region's copy."""
    private_folder(target.parent)
    if os.path.lexists(target):
        raise FileExistsError(errno.EEXIST, "a file of that name is already filed")
    os.replace(dropped.path, target)
    os.chmod(target, 0o600)
    os.utime(target)


def report_path(rejected_file: Path) -> Path:
    return Path(f"{rejected_file}{REPORT_SUFFIX}")


def write_rejection_report(
    target: Path, dropped: DroppedFile, problems: list[Problem], region_name: str | None
) -> Path:
    """The plain-language report a region reads beside its rejected file."""
    path = report_path(target)
    private_folder(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    with os.fdopen(os.open(path, flags, 0o600), "w", encoding="utf-8") as report:
        os.fchmod(report.fileno(), 0o600)
        report.write(rejection_report(dropped, problems, region_name))
    return path


def rejection_report(dropped: DroppedFile, problems: list[Problem], region_name: str | None) -> str:
    """Every problem at once (capped with a count), rows and headers as in the region's tool."""
    shown = problems[:MAX_REPORTED_PROBLEMS]
    region = f"{dropped.region} ({region_name})" if region_name else dropped.region
    lines = [
        "reflect-eval could not ingest this file. Nothing from it was stored.",
        "",
        f"File:     {printable(dropped.path.name)}",
        f"Region:   {printable(region)}",
        f"Checked:  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"Problems: {len(problems)}",
        "",
        "Rows are numbered as in your survey tool's export (header rows counted: row 1 is the",
        "first header row) and columns are named by their headers in your file. Fix every",
        "problem below, then drop the corrected file in your region's folder again.",
        "",
        *(f"- {problem.describe()}" for problem in shown),
    ]
    if len(problems) > len(shown):
        lines.append(f"- ... and {len(problems) - len(shown)} more problems not listed")
    return "\n".join(lines) + "\n"
