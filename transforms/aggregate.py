"""Unsuppressed outcome counts from the restricted warehouse, by the SQL in `transforms/sql/`.

These frames never leave the pipeline as they are: `transforms.suppress` comes next."""

from __future__ import annotations

import duckdb
import polars as pl

from schemas.instrument import Instrument
from transforms.sql import sql

OUTCOME_TABLES = ("outcomes_by_region", "outcomes_national")


def outcome_counts(
    con: duckdb.DuckDBPyConnection, instrument: Instrument
) -> dict[str, pl.DataFrame]:
    """Counts per region and item, and per item nationally, for the instrument's Likert items."""
    parameters = {
        "positive_codes": list(instrument.scale.positive_codes),
        "items": list(instrument.likert_items),
    }
    return {table: con.sql(sql(table), params=parameters).pl() for table in OUTCOME_TABLES}
