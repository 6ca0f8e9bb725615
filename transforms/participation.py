"""Participation: respondents per region and training day (anyone who answered an item), a new
figure declared to the privacy engine as one more table over cells of its own, audited with
its own history like the outcome tables.

It also says something about the outcome tables: no count of a region's training day can
exceed the people who took part in it. So every protected outcome count of a region-day (a
row, an arrival batch, an underlying cell), capped by each participation figure published for
that day that includes its cells, must still pass the audit; where the cap would narrow one
too far, that day's participation is withheld and the engine run again. A cap from a figure
an earlier release already showed cannot be withdrawn: the release is then refused.

Only counts within one region-day need checking. A count spanning two or more is capped by two
or more shown figures, each at least min_cell (a withheld participation figure has no upper
end anyone can derive: no total of them is published), so its interval still reaches
2 * min_cell from a lower end of at most min_cell - 1: at least min_cell + 1 wide. A policy
asking for more protection than that publishes no participation at all."""

from __future__ import annotations

import dataclasses

import duckdb
import polars as pl

from schemas.instrument import Instrument
from transforms.privacy import AuditFailure, Policy, ProtectedRelease, protect
from transforms.privacy.audit import BOTH
from transforms.privacy.engine import UNDERLYING
from transforms.privacy.tables import BY_TRAINING_DAY, PARTICIPANTS, PARTICIPATION
from transforms.sql import sql

_WITHIN_A_DAY = (BY_TRAINING_DAY.name, f"{BY_TRAINING_DAY.name} batch", UNDERLYING)
"""Audit records whose cells all lie within one region's training day."""


def participation_cells(
    con: duckdb.DuckDBPyConnection, instrument: Instrument, *, release_no: int
) -> pl.DataFrame:
    parameters = {
        "items": list(instrument.likert_items),
        "release_no": release_no,
        "participants": PARTICIPANTS,
    }
    return con.sql(sql("participation_cells"), params=parameters).pl()


def protect_participation_alone(
    cells: pl.DataFrame,
    policy: Policy,
    *,
    release_no: int,
    history: pl.DataFrame | None,
    previous_audit: pl.DataFrame | None,
) -> ProtectedRelease:
    """Participation protected before it is checked against the outcome tables: the first
    pass of `protect_participation`. It needs nothing of them, so `protect_release` runs it
    beside them, on a core their items leave idle."""
    return protect(
        cells,
        (PARTICIPATION,),
        _own(policy),
        release_no=release_no,
        history=history,
        previous_audit=previous_audit,
        withhold=_withheld_at_first(cells, policy),
    )


def protect_participation(
    cells: pl.DataFrame,
    policy: Policy,
    *,
    release_no: int,
    history: pl.DataFrame | None,
    previous_audit: pl.DataFrame | None,
    outcomes: ProtectedRelease,
    alone: ProtectedRelease | None = None,
) -> ProtectedRelease:
    """Protect participation, then withhold any day whose figure would cap an outcome count
    too narrowly (at most once more: withholding only removes what a reader knows). `alone`
    is the first pass, when already made (`protect_participation_alone`).

    Participation has no positive answers: its cells carry 0, and a policy's protection of
    "0% and 100%" means nothing for it, so the engine is run without it (a group of fewer than
    min_cell is still withheld, and every count audited); the outcome counts it caps are
    checked under the policy as it is."""
    withhold = _withheld_at_first(cells, policy)
    protected = (
        alone
        if alone is not None
        else protect_participation_alone(
            cells, policy, release_no=release_no, history=history, previous_audit=previous_audit
        )
    )
    while True:
        figures = _participation_figures(protected.figures, history)
        exposed = capped_too_far(outcomes.audit, figures, policy, release_no=release_no)
        current = {
            (PARTICIPATION.name, region, day)
            for region, day, source in exposed
            if source == release_no
        }
        if not exposed:
            return protected
        if not current - withhold:
            region, day, source = sorted(exposed, key=str)[0]
            raise AuditFailure(
                f"release {release_no} refused: participation for region={region}, "
                f"training_day={day} as published in release {source} caps an outcome count "
                f"too narrowly (protection {policy.protection}, min_cell {policy.min_cell}); "
                "nothing was published"
            )
        withhold |= current
        protected = protect(
            cells,
            (PARTICIPATION,),
            _own(policy),
            release_no=release_no,
            history=history,
            previous_audit=previous_audit,
            withhold=withhold,
        )


def _own(policy: Policy) -> Policy:
    return dataclasses.replace(policy, protect_zeros=False)


def _withheld_at_first(cells: pl.DataFrame, policy: Policy) -> set[tuple[str, object, object]]:
    """Every day's figure, when the policy asks for more protection than two shown figures
    leave a count spanning two days (see the module's note); else none."""
    if policy.protection > policy.min_cell + 1:
        return {
            (PARTICIPATION.name, region, day)
            for region, day in cells.select("region", "training_day").unique().iter_rows()
        }
    return set()


def capped_too_far(
    audit: pl.DataFrame, figures: pl.DataFrame, policy: Policy, *, release_no: int
) -> set[tuple[object, object, int]]:
    """(region, training_day, release of the participation figure) for every protected outcome
    count of one region-day that fails once capped by a participation figure including it.
    A day's figure repeats release after release, so each distinct value is joined once with
    the releases that showed it: the join grows with the audit, not with audit x releases."""
    records = audit.filter(
        pl.col("required") & pl.col("table_name").is_in(_WITHIN_A_DAY)
    ).with_columns(
        pl.when(pl.col("table_name") == BY_TRAINING_DAY.name)
        .then(pl.col("as_of_release").fill_null(release_no))
        .otherwise(pl.col("arrival"))
        .alias("cells_by")
    )
    if records.is_empty() or figures.is_empty():
        return set()
    low = pl.when(pl.col("measure") == BOTH).then(1).otherwise(policy.risky_low)
    capped = pl.min_horizontal(pl.col("interval_hi").fill_null(2**62), pl.col("n_hi"))
    inside = (pl.col("interval_lo") >= low) & (capped <= policy.min_cell - 1)
    narrow = (capped - pl.col("interval_lo")) < policy.protection
    shown = figures.group_by("region", "training_day", "n_hi").agg(pl.col("release_no"))
    failing = (
        records.join(shown, on=["region", "training_day"])
        .filter(pl.col("release_no").list.max() >= pl.col("cells_by"))
        .filter(narrow | (inside if policy.min_cell > 1 else pl.lit(False)))
        .explode("release_no")
        .filter(pl.col("release_no") >= pl.col("cells_by"))
    )
    return {
        (region, day, int(source))
        for region, day, source in failing.select("region", "training_day", "release_no")
        .unique()
        .iter_rows()
    }


def _participation_figures(current: pl.DataFrame, history: pl.DataFrame | None) -> pl.DataFrame:
    """Every participation figure shown, this release's and earlier ones': its upper end."""
    frames = [current] + ([history] if history is not None else [])
    shown = (pl.col("table_name") == PARTICIPATION.name) & pl.col("n_hi").is_not_null()
    return pl.concat(
        [
            f.filter(shown).select(
                "region", "training_day", pl.col("release_no").cast(pl.Int64), "n_hi"
            )
            for f in frames
        ]
    )
