"""Helpers for reader tests: a region configured inline, a file dropped, prepared (no writes
except the response key beside the warehouse)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from schemas.config import Config
from schemas.instrument import load_instrument
from transforms.drop import DroppedFile
from transforms.ingest import Prepared, prepare

SECRET = b"k" * 32
STATEMENTS = {
    "effective_use": "The group was an effective use of training time",
    "keen_to_continue": "I would like the group to continue",
    "adapt_to_challenges": "The group helped me adapt to work-related challenges",
    "learn_from_others": "I valued learning from the experiences of others",
    "peer_support": "I feel more supported by my peers",
    "less_isolated": "I feel less isolated at work",
    "self_awareness": "The group increased my self-awareness and insight",
    "three_words": "Three words that describe the group",
}


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
