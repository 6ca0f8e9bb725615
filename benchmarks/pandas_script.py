"""What an analyst would write without reflect-eval: read every region's files with pandas,
check them with a pandera (pandas) schema (a training day written YYYY-MM-DD, every answer on
the scale or blank), and count answered and positive per region, training day and item. The
baseline of `benchmarks.bench_backfill`; it stores nothing and de-identifies nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from schemas.config import load_config
from schemas.instrument import load_instrument
from transforms.likert import answer_codes


def aggregate_with_pandas(drop: Path, config: Path) -> int:
    """Every good file's answers counted; returns how many answers were counted."""
    instrument = load_instrument(load_config(config).instrument)
    codes = answer_codes(instrument)
    items = list(instrument.likert_items)

    def tidy(column: pd.Series) -> pd.Series:
        return column.str.strip().str.replace(r"\s+", " ", regex=True).str.lower()

    schema = pa.DataFrameSchema(
        {
            "training_day": pa.Column(str, pa.Check.str_matches(r"^\d{4}-\d{2}-\d{2}$")),
            **{
                item: pa.Column(str, pa.Check(lambda s: tidy(s).isin(list(codes))), nullable=True)
                for item in items
            },
        }
    )
    counted = []
    for path in sorted(drop.glob("*/*.csv")):
        frame = pd.read_csv(path, dtype=str, encoding="utf-8-sig")
        try:
            schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors:
            continue
        long = frame.melt(
            id_vars=["training_day"], value_vars=items, var_name="item", value_name="answer"
        ).dropna(subset=["answer"])
        long["code"] = tidy(long["answer"]).map(codes)
        long["positive"] = long["code"].isin(instrument.scale.positive_codes)
        long["region"] = path.parent.name
        counted.append(
            long.groupby(["region", "training_day", "item"])
            .agg(n_respondents=("code", "size"), n_positive=("positive", "sum"))
            .reset_index()
        )
    table = pd.concat(counted).groupby(["region", "training_day", "item"]).sum().reset_index()
    return int(table["n_respondents"].sum())
