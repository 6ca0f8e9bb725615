"""SQL lives in `transforms/sql/<table>.sql`; this reads it by the table's name."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def sql(table: str) -> str:
    return (resources.files("transforms") / "sql" / f"{table}.sql").read_text(encoding="utf-8")
