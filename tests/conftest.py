"""Shared helpers: tiny inline template files, written as the regions would write them."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import pytest

from schemas.instrument import Instrument, load_instrument

TEMPLATE_HEADER = (
    "training_day",
    "effective_use",
    "keen_to_continue",
    "adapt_to_challenges",
    "learn_from_others",
    "peer_support",
    "less_isolated",
    "self_awareness",
    "three_words",
)


def template_csv(
    rows: Sequence[Sequence[str]],
    header: Sequence[str] = TEMPLATE_HEADER,
    *,
    bom: bool = False,
) -> bytes:
    """A template file: `rows` are lists of cells in `header` order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def answered_row(day: str = "2026-01-07", answer: str = "Agree", words: str = "safe") -> list[str]:
    return [day, *([answer] * 7), words]


@pytest.fixture(scope="session")
def instrument() -> Instrument:
    return load_instrument()


@pytest.fixture(scope="session")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Prefect home for the session: later runs start warm."""
    return tmp_path_factory.mktemp("prefect-home")
