"""The published file as the report reads it: every table it needs, and nothing else. The
report never opens the restricted warehouse, so anyone holding the published file can make it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from transforms.errors import PublishError

_TABLES = (
    "outcomes_by_region",
    "outcomes_national",
    "outcomes_by_training_day",
    "outcomes_national_by_training_day",
    "region_comparison",
    "participation",
    "theme_words",
    "theme_words_by_region",
    "theme_words_held_back",
    "items",
)


@dataclass(frozen=True)
class Published:
    path: Path
    release: dict[str, Any]
    """The `latest_release` view's one row: number, policy, coverage, how much is withheld."""
    tables: dict[str, pl.DataFrame]

    def table(self, name: str) -> pl.DataFrame:
        return self.tables[name]


def read_published(path: Path) -> Published:
    """Everything the report shows, read at once from a file opened read-only."""
    if not path.is_file():
        raise PublishError(f"no published file at {path}: run `reflect-eval run` first")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise PublishError(f"could not open {path}: {type(exc).__name__}") from None
    try:
        present = {
            name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()
        }
        missing = [name for name in _TABLES if name not in present]
        if missing:
            raise PublishError(
                f"{path} was published before the report existed (no {', '.join(missing)}): "
                "run `reflect-eval run` to publish it again"
            )
        tables = {name: con.sql(f"select * from {name}").pl() for name in _TABLES}  # fixed names
        release = con.sql("select * from latest_release").pl().to_dicts()[0]
    finally:
        con.close()
    return Published(path, release, tables)
