"""Published tables declared as linear aggregates of one set of underlying cells.

A cell is (item, region, training_day, arrival): the respondents of one region's training day
who answered the item and whose submission was first included in release `arrival`. Each cell
holds two unknowns for an attacker, its positive and its not-positive count. Every published
figure is a sum of cells:

- a table's row (say `outcomes_by_region` for region r, item i) in release R is the sum of the
  cells with item i, region r and arrival <= R: n_respondents sums both unknowns, n_positive
  the positive one;
- the same row in an earlier release R' < R is the same sum over arrival <= R' only.

Responses are append-only (a late file adds a new cell; nothing is ever changed or removed),
so a figure published in release R' stays a true statement about the cells with arrival <= R'
for ever. That is what makes every earlier release a constraint on this one, and differencing
("this release minus the last") is exactly what the audit's linear programs can do.

A corrected file that replaces an earlier one keeps that true: the earlier file's respondents
stay in the cell they arrived in, and the replacement brings a *withdrawal cell*, arriving in
the release that first includes the replacement, whose counts are those respondents' counts
negated (`withdrawn_from` names the arrival of the cell they are withdrawn from; NULL for an
ordinary cell). A row sums its cells as before, so it shows the corrected counts from then on
while every earlier figure still says what was true when it was published. An attacker knows
a withdrawal cell withdraws at least one respondent, and no more, answer by answer, than the
cell it is withdrawn from holds."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

CELL_KEYS = ("region", "training_day", "arrival", "withdrawn_from")
WITHDRAWN_FROM = "withdrawn_from"
CELL_SCHEMA: dict[str, pl.DataType] = {
    "item": pl.Utf8(),
    "region": pl.Utf8(),
    "training_day": pl.Date(),
    "arrival": pl.Int64(),
    "n_respondents": pl.Int64(),
    "n_positive": pl.Int64(),
}
"""What `protect` is given: one row per cell, its counts true and unsuppressed; with
withdrawals, `withdrawn_from` (Int64) too."""


@dataclass(frozen=True)
class Table:
    name: str
    keys: tuple[str, ...]
    """Cell columns the table groups by (besides item)."""
    rank: int
    """Cheapest to withhold first: fine tables lose least when one of their rows is withheld."""


BY_TRAINING_DAY = Table("outcomes_by_training_day", ("region", "training_day"), 0)
BY_REGION = Table("outcomes_by_region", ("region",), 1)
NATIONAL = Table("outcomes_national", (), 2)
NATIONAL_BY_TRAINING_DAY = Table("outcomes_national_by_training_day", ("training_day",), 1)
"""Every region's group on one date together: the national trend over training days."""
OUTCOME_TABLES: tuple[Table, ...] = (BY_TRAINING_DAY, BY_REGION, NATIONAL)
"""The outcome tables of the first releases (the privacy benchmark's scenario)."""
PUBLISHED_TABLES: tuple[Table, ...] = (*OUTCOME_TABLES, NATIONAL_BY_TRAINING_DAY)
"""Every outcome table a release publishes."""
PARTICIPATION = Table("participation", ("region", "training_day"), 0)
"""Respondents per region and training day (anyone who answered an item): a figure of its own,
protected as one more table over cells of their own (see `transforms.participation`)."""
PARTICIPANTS = "(anyone)"
"""The item name participation's cells carry: no instrument item can be named so."""
TABLES_BY_NAME = {table.name: table for table in (*PUBLISHED_TABLES, PARTICIPATION)}
