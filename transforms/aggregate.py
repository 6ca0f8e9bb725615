"""Unsuppressed counts from the restricted warehouse, by the SQL in `transforms/sql/`.

These frames never leave the pipeline as they are: `transforms.privacy` comes next."""

from __future__ import annotations

import duckdb
import polars as pl

from schemas.instrument import Instrument
from transforms.sql import sql


def outcome_cells(
    con: duckdb.DuckDBPyConnection, instrument: Instrument, *, release_no: int
) -> pl.DataFrame:
    """Counts per item, region, training day and arrival (the release that first included the
    responses; `release_no` for those not yet published)."""
    parameters = {
        "positive_codes": list(instrument.scale.positive_codes),
        "items": list(instrument.likert_items),
        "release_no": release_no,
    }
    return con.sql(sql("outcome_cells"), params=parameters).pl()
