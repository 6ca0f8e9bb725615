"""Running the real `reflect-eval` command (a Prefect flow run in local mode) and looking for
canaries in everything it leaves behind."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

COMMAND = str(Path(sys.executable).parent / "reflect-eval")


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def command_env(prefect_home: Path) -> dict[str, str]:
    """This environment for a command run by a test: no Prefect setting but its home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(prefect_home)
    return env


def reflect_eval(*args: str, prefect_home: Path, timeout: float = 300) -> Run:
    env = command_env(prefect_home)
    done = subprocess.run(
        [COMMAND, *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    return Run(done.returncode, done.stdout, done.stderr)


def query(path: Path, sql: str) -> pl.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(sql).pl()
    finally:
        con.close()


def duckdb_text(path: Path) -> str:
    """Every table of a DuckDB file as text, so compressed strings are seen as they are."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()
        ]
        return "\n".join(
            repr(row) for name in tables for row in con.sql(f'select * from "{name}"').fetchall()
        )
    finally:
        con.close()


def sqlite_text(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        tables = [n for (n,) in con.execute("select name from sqlite_master where type = 'table'")]
        return "\n".join(
            repr(row) for name in tables for row in con.execute(f'select * from "{name}"')
        )
    finally:
        con.close()


def leaks(canaries: Iterable[str], texts: dict[str, str]) -> list[str]:
    """Where any canary appears, in any case, as itself: not inside a longer word or number
    ("Eric" in "numeric", a GMC number inside a float's digits are coincidences, not leaks)."""
    patterns = {
        canary: re.compile(rf"(?<![\w.]){re.escape(canary)}(?!\w)", re.IGNORECASE)
        for canary in canaries
    }
    return [
        f"{canary!r} in {where}"
        for where, text in texts.items()
        for canary, pattern in patterns.items()
        if pattern.search(text)
    ]


def report_headline(report: Path) -> dict[tuple[str, str], str]:
    """The HTML report's headline table: (region, item) -> the figure shown ("all regions" for
    the national column)."""
    cells = re.findall(
        r'data-item="([^"]+)" data-region="([^"]+)">([^<]*)<', report.read_text(encoding="utf-8")
    )
    return {(region, item): text for item, region, text in cells}
