"""Helpers for reader tests: a region configured inline, a file dropped, prepared (no writes
except the response key beside the warehouse)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fixtures.tool_exports import STATEMENTS as LIKERT_STATEMENTS
from fixtures.tool_exports import WORDS_QUESTION
from schemas.config import Config
from schemas.instrument import load_instrument
from transforms.drop import DroppedFile
from transforms.ingest import Prepared, prepare

SECRET = b"k" * 32
STATEMENTS = {**LIKERT_STATEMENTS, "three_words": WORDS_QUESTION}
"""Every item's column as Microsoft Forms heads it: the statement text."""


def config_for(tmp_path: Path, **region: Any) -> Config:
    return Config.model_validate(
        {
            "paths": {"drop": str(tmp_path / "drop"), "warehouse": str(tmp_path / "warehouse")},
            "regions": {"r": {"name": "Region", **region}},
        }
    )


def prepared(
    tmp_path: Path, data: bytes, name: str = "2026-01-07-export.csv", **region: Any
) -> Prepared:
    path = tmp_path / "drop" / "r" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return prepare(
        DroppedFile("r", path), config_for(tmp_path, **region), load_instrument(), secret=SECRET
    )


def csv_bytes(
    rows: Sequence[Sequence[str]], *, delimiter: str = ",", encoding: str = "utf-8"
) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode(encoding)
