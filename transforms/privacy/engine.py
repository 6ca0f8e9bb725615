"""Primary and complementary suppression of every outcome table of a release, audited by the
attacker's exact integer intervals against this release and every earlier one.

1. Primary: a row is withheld when fewer than `min_cell` answered (its n too), or when its
   positive count or its complement is a protected count (1..min_cell-1; 0 too when zeros and
   100% are protected).
2. Stable history: a row whose cells are the same as when it was last published keeps what it
   showed then (a figure already public cannot be taken back, and one withheld stays withheld),
   so analysts' tables do not flicker and only rows that new responses touch need a decision.
3. Necessary up front: a grown row whose figure, set against an earlier figure of the same
   row, pins a protected count of a cell that arrived in between (the cells' sum is the
   difference, and each holds zero or more) is withheld before the audit: nothing else this
   release could withhold would help, so the audit would withhold it anyway, and the attacker's
   model is not first told a figure it would then take back (`_necessary_level`).
4. Audit, one item at a time (items share no cell): the positive, not-positive and (when
   withheld) respondent counts of every row the primary rule withholds, and of every
   underlying cell and every row's batch that arrived in one release ("this release minus the
   last") whose own counts are protected, must reach an attacker interval at least
   `protection` wide that does not lie wholly inside the protected counts. Rows withheld only
   to protect others are audited too and their intervals stored, but not required to be wide:
   their counts may already be public in an earlier release. Intervals are exact
   (`transforms.privacy.audit`).
5. Complementary: while a quantity fails, withhold the cheapest figure of this release that
   widens its interval (finest table first, then the smallest group, then by key; a row's
   positive count before its respondent count). Only figures of this release that an end of
   its interval rests on can widen it. Withholding only removes constraints, so a
   quantity that passed keeps passing; when nothing of this release is left that could widen
   it (earlier releases alone pin it down) the release is refused.
6. Prune: each complementary withholding, most valuable first (and not below what step 3 found
   necessary), is undone when every protected count still passes without it (an interval whose
   witnesses still fit is proof enough); when it is needed after all, what the attacker's model
   knew before the trial is restored as it was, not solved again.
7. Withheld is not blank: every withheld figure carries the interval any reader can derive
   from this and earlier releases.

Everything is sorted before it is used and ties are broken by key, so the same inputs give the
same pattern."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from schemas.stages import BOUND_COLUMNS
from transforms.errors import PublishError
from transforms.memory import cyclic_collector_paused, give_back_freed_memory, usable_cores
from transforms.privacy.audit import (
    BOTH,
    INF,
    NEGATIVE,
    POSITIVE,
    Family,
    Interval,
    ItemModel,
    Known,
    Quantity,
    Witness,
    _Key,
    shared_change,
)
from transforms.privacy.history import earlier_figures
from transforms.privacy.policy import Policy
from transforms.privacy.tables import CELL_KEYS, WITHDRAWN_FROM, Table

SHOWN, COUNT_WITHHELD, ALL_WITHHELD = 0, 1, 2
HISTORY_SCHEMA = {
    "release_no": pl.Int64,
    "table_name": pl.Utf8,
    "item": pl.Utf8,
    "region": pl.Utf8,
    "training_day": pl.Date,
    "n_lo": pl.Int64,
    "n_hi": pl.Int64,
    "k_lo": pl.Int64,
    "k_hi": pl.Int64,
}
AUDIT_SCHEMA = {
    "table_name": pl.Utf8,
    "item": pl.Utf8,
    "region": pl.Utf8,
    "training_day": pl.Date,
    "arrival": pl.Int64,
    "measure": pl.Utf8,
    "interval_lo": pl.Int64,
    "interval_hi": pl.Int64,
    "required": pl.Boolean,
    "window_first": pl.Int64,
    "window_last": pl.Int64,
    "as_of_release": pl.Int64,
    "witness_lo": pl.Utf8,
    "witness_hi": pl.Utf8,
    "withdrawn_from": pl.Int64,
    "exact": pl.Boolean,
}
UNDERLYING = "underlying_cell"
SAME_DATE = "everyone on a training day"
"""Every region's group on one date: no table shows it, but a reader can name it."""
REST_OF_COUNTRY = "all regions but one"
"""National minus one region: what a reader comparing a region with the rest works out."""
GROWING_GROUPS = (SAME_DATE, REST_OF_COUNTRY)
"""Named groups that late files make grow: as they stood in a release, they stay protected."""
_Bounds = tuple["_Row", tuple[int | None, ...]]
"""A withheld row and what any reader can derive of it: positive count's, then n's ends."""


class AuditFailure(PublishError):
    """An attacker could narrow a protected count too far: the release is not published."""


@dataclass(eq=False)
class _Row:
    table: Table
    key: tuple[object, ...]
    family: int
    cells: tuple[int, ...]
    n: int
    k: int
    level: int = SHOWN
    primary: int = SHOWN
    changed: bool = True
    """Its cells differ from when it was last published: this release decides it."""
    forced: bool = False
    """Withheld whole for what another table would reveal (`protect(withhold=...)`): a cover
    the prune never gives back."""
    necessary: int = SHOWN
    """The least level any passing pattern gives it (`_necessary_level`): the prune stops there."""
    twins: list[_Row] = field(default_factory=list)
    """Rows of later tables over exactly these cells: decided with this one (`_tie`)."""
    lead: _Row | None = None
    """For a twin, the row it is decided with."""

    @property
    def least(self) -> int:
        """The level the prune may give it back down to."""
        return max(self.primary, self.necessary)

    @property
    def settled(self) -> bool:
        """Nothing this release decides can change its level: it keeps what it last showed,
        or it is withheld whole and may not be given back."""
        return not self.changed or (
            self.level == ALL_WITHHELD and (self.forced or self.least == ALL_WITHHELD)
        )

    @property
    def rank(self) -> int:
        """What withholding it costs: its most valuable table's rank (twins go together)."""
        return max(row.table.rank for row in (self, *self.twins))


@dataclass(frozen=True)
class _Quantity:
    where: str
    key: dict[str, object]
    measure: str
    audit: Quantity
    value: int
    as_of: int | None = None
    """For a table row: the release whose figure of it this is (its cells had arrived by then)."""


@dataclass
class _Item:
    """One item's cells, rows and the attacker's model of every release of them."""

    item: str
    cells: list[dict[str, object]]
    rows: list[_Row]
    model: ItemModel
    rounding: int
    quantities: list[_Quantity] = field(default_factory=list)
    """Protected: each must pass the audit."""
    earlier: list[_Quantity] = field(default_factory=list)
    """Counts an earlier release protected in a row that has grown since: protected for ever."""
    reported: list[_Quantity] = field(default_factory=list)
    """Withheld only to protect others: intervals stored, not required."""
    covers: dict[int, _Quantity] = field(default_factory=dict)
    """Per row withheld as cover (by id), the count it was withheld for."""
    enough: Callable[[_Key, Interval], bool] = lambda key, interval: False
    """When an interval inside the exact one proves a count safe (`_enough`)."""
    witness_texts: dict[int, tuple[Witness, str]] = field(default_factory=dict)
    """Witnesses taken over from the last release's audit, by id, with the text they were
    read from: one that still stands is written back as it was read."""
    witnesses_read: dict[str, Witness | None] = field(default_factory=dict)
    """The same, by text: records sharing a witness (an end borrowed from another count's)
    share one assignment in memory too."""
    places: list[tuple[str, str]] | None = None
    """Per cell, how a witness writes it: the text before its changes and after them."""


@dataclass(frozen=True)
class ProtectedRelease:
    tables: dict[str, pl.DataFrame]
    figures: pl.DataFrame
    """What this release tells an attacker, per row: stored so the next audit sees it."""
    audit: pl.DataFrame
    """Per withheld quantity, the interval an attacker reaches (never the value)."""
    n_rows: int
    n_suppressed: int
    n_primary: int = 0
    """Rows withheld by the primary rule."""
    n_complementary: int = 0
    """Rows withheld only to protect others."""

    @property
    def share_suppressed(self) -> float:
        return self.n_suppressed / self.n_rows if self.n_rows else 0.0


def protect(
    cells: pl.DataFrame,
    tables: Sequence[Table],
    policy: Policy,
    *,
    release_no: int,
    history: pl.DataFrame | None = None,
    previous_audit: pl.DataFrame | None = None,
    withhold: Collection[tuple[str, object, object]] = (),
) -> ProtectedRelease:
    """Suppress, audit and shape every table of one release. `cells` has item, region,
    training_day, arrival, n_respondents, n_positive; `history` is earlier releases' figures;
    `previous_audit`, the last release's audit, names the counts earlier releases protected in
    rows that have grown since (they stay protected; without it only this release's own counts
    are) and lets intervals that nothing new can reach be taken over instead of solved again.
    `withhold` names rows (table, region, training_day) to withhold whole, as cover, for what
    their figures would reveal of another table's counts (see `transforms.participation`)."""
    if WITHDRAWN_FROM not in cells.columns:
        cells = cells.with_columns(pl.lit(None, pl.Int64).alias(WITHDRAWN_FROM))
    cells = cells.sort("item", *CELL_KEYS, nulls_last=True)
    history = history if history is not None else pl.DataFrame(schema=HISTORY_SCHEMA)
    earlier = earlier_figures(cells, tables, history.cast(HISTORY_SCHEMA))
    carried = _carried(previous_audit)

    def protect_item(item: str) -> tuple[list[_Row], list[tuple[object, ...]], list[_Bounds]]:
        model = _model(
            item,
            cells.filter(pl.col("item") == item),
            tables,
            earlier,
            policy,
            release_no,
            frozenset(withhold),
        )
        model.enough = _enough(model, policy)
        _carry(model, carried.pop(item, None))
        _suppress(model, policy, release_no)
        _prune(model, policy)
        return model.rows, _final_audit(model, policy, release_no), _bounds(model)

    names = cells["item"].unique(maintain_order=True).to_list()
    heaviest_first = sorted(names, key=lambda item: -_carried_work(carried.get(item)))
    with (
        cyclic_collector_paused(),
        ThreadPoolExecutor(max_workers=max(1, min(len(names), _workers()))) as pool,
    ):
        by_item = dict(zip(heaviest_first, pool.map(protect_item, heaviest_first), strict=True))
    done = [by_item[item] for item in names]
    give_back_freed_memory()
    audit = [record for _, records, _ in done for record in records]
    bounds = {id(row): b for _, _, found in done for row, b in found}
    rows = [(item, row) for item, (found, _, _) in zip(names, done, strict=True) for row in found]
    return ProtectedRelease(
        tables={t.name: _table_frame(t, rows, policy, bounds) for t in tables},
        figures=_figures_frame(rows, policy, release_no),
        audit=pl.DataFrame(audit, schema=AUDIT_SCHEMA, orient="row"),
        n_rows=len(rows),
        n_suppressed=sum(row.level > SHOWN for _, row in rows),
        n_primary=sum(row.primary > SHOWN for _, row in rows),
        n_complementary=sum(row.level > SHOWN == row.primary for _, row in rows),
    )


def _carried_work(records: pl.DataFrame | None) -> int:
    """How much an item's carry is likely to cost: the length of the witnesses it takes over,
    which every one of its broken ends is repaired from. Items start heaviest first, so the
    last one to finish is a light one: taken alphabetically, `acro`'s heaviest item at release
    101 (a third of the release's work) started third and left one thread idle for 1.4 s of
    13 at the end."""
    if records is None or not records.height:
        return 0
    kept = [c for c in ("witness_lo", "witness_hi") if c in records.columns]
    if not kept:  # a warehouse made before witnesses were kept has none to go by
        return 0
    return int(records.select(pl.sum_horizontal(pl.col(kept).str.len_bytes().sum())).item() or 0)


def _workers() -> int:
    """Items share no cell, so each is protected on its own thread: the solver releases the
    interpreter while it runs, and the results are the same as one after another."""
    return usable_cores()


def primary_level(n: int, k: int, policy: Policy) -> int:
    if n < policy.min_cell:
        return ALL_WITHHELD
    if policy.is_risky(k, n) or policy.is_risky(n - k, n):
        return COUNT_WITHHELD
    return SHOWN


def published_interval(value: int, rounding: int) -> tuple[int, int]:
    """What a published (possibly rounded) figure tells about the true count."""
    if rounding <= 1:
        return value, value
    shown = rounded(value, rounding)
    return max(0, shown - rounding // 2), shown + (rounding - 1) // 2


def rounded(value: int, rounding: int) -> int:
    return rounding * ((2 * value + rounding) // (2 * rounding)) if rounding > 1 else value


def _model(
    item: str,
    cells: pl.DataFrame,
    tables: Sequence[Table],
    earlier: dict[tuple[object, ...], tuple[dict[int, list[float]], tuple[int, int] | None]],
    policy: Policy,
    release_no: int,
    withhold: frozenset[tuple[str, object, object]] = frozenset(),
) -> _Item:
    records = cells.to_dicts()
    arrivals = cells["arrival"].to_numpy().astype(np.int64)
    n = cells["n_respondents"].to_numpy().astype(np.int64)
    k = cells["n_positive"].to_numpy().astype(np.int64)
    withdrawn = cells[WITHDRAWN_FROM].is_not_null().to_numpy()
    rows: list[_Row] = []
    families: list[Family] = []
    leads: dict[tuple[int, ...], _Row] = {}
    for table in tables:
        groups: dict[tuple[object, ...], list[int]] = {}
        for index, cell in enumerate(records):
            groups.setdefault(tuple(cell[key] for key in table.keys), []).append(index)
        for key in sorted(groups, key=_sort_key):
            members = sorted(groups[key], key=lambda i: (arrivals[i], i))
            figures, previous = earlier.get((table.name, item, *_padded(table, key)), ({}, None))
            lead = leads.get(tuple(sorted(members)))
            row = _Row(
                table,
                key,
                len(families) if lead is None else lead.family,
                tuple(sorted(members)),
                int(n[members].sum()),
                int(k[members].sum()),
            )
            row.primary = primary_level(row.n, row.k, policy)
            row.level = row.primary
            if previous is not None and previous[0] == len(members):
                row.changed = False
                row.level = max(row.primary, previous[1])
            else:
                row.necessary = _necessary_level(row, members, figures, n, k, withdrawn, policy)
                row.level = max(row.level, row.necessary)
            if (table.name, *_padded(table, key)) in withhold:
                row.level, row.forced = ALL_WITHHELD, True
            if lead is None:
                families.append(Family(np.array(members), arrivals[members], dict(figures)))
                leads[row.cells] = row
            else:
                _tie(lead, row, families[lead.family], figures)
            rows.append(row)
    for lead in leads.values():
        families[lead.family].current = _figure(policy.rounding, lead)
    attacker = ItemModel(
        arrivals,
        n,
        k,
        families,
        release_no,
        sources=_sources(item, records),
        settled=[lead.family for lead in leads.values() if lead.settled],
        rounding=policy.rounding,
    )
    return _Item(item, records, rows, attacker, policy.rounding)


def _necessary_level(
    row: _Row,
    members: list[int],
    figures: dict[int, list[float]],
    n: np.ndarray,
    k: np.ndarray,
    withdrawn: np.ndarray,
    policy: Policy,
) -> int:
    """The least level at which this release's figure of a grown row, set against an earlier
    figure of the same row, does not pin the cells that arrived in between: their sum is the
    difference, and each holds zero or more of each count (one respondent or more), so each
    one's interval lies inside [0, difference]. When that range already fails a cell's
    protected count, no other withholding of this release can help, so the audit would
    withhold the row anyway; deciding it up front spares the attacker's model a figure it
    would be shown and then have taken back (on the benchmark under acro, 10 to 60 rows a
    release, most of them regions' totals in the months after one was shown)."""
    level = row.level
    for m, earlier in sorted(figures.items()):
        since = members[m:]
        if not 0 < m < len(members) or withdrawn[since].any():
            continue  # a withdrawal between them can hold negative counts
        while level < ALL_WITHHELD and _pins(
            _figure(policy.rounding, row, level), earlier, n[since], k[since], policy
        ):
            level += 1
    return level


def _pins(
    now: tuple[float, ...],
    earlier: list[float],
    n: np.ndarray,
    k: np.ndarray,
    policy: Policy,
) -> bool:
    """Whether a row's figures `now` and `earlier` (n_lo, n_hi, k_lo, k_hi each) leave a
    protected count of a cell that arrived between them (the cells' counts: n, k) in a range
    that fails the audit."""
    _, n_hi, k_lo, k_hi = now
    most_of = {
        POSITIVE: k_hi - earlier[2],
        NEGATIVE: (n_hi - k_lo) - (earlier[0] - earlier[3]),
        BOTH: n_hi - earlier[0],
    }
    counts_of = {POSITIVE: k, NEGATIVE: n - k, BOTH: n}
    for measure, most in most_of.items():
        if not np.isfinite(most):  # a figure hidden now or then
            continue
        low = 1 if measure == BOTH else 0
        if _passes_measure(measure, Interval(low, int(most)), policy):
            continue
        counts = zip(counts_of[measure].tolist(), n.tolist(), strict=True)
        if any(policy.is_risky(count, group) for count, group in counts):
            return True  # every cell holds someone, so for n this is 1..min_cell-1
    return False


def _sources(item: str, records: list[dict[str, object]]) -> np.ndarray:
    """Per cell, the cell a withdrawal cell withdraws respondents from (-1: an ordinary cell)."""
    ordinary = {
        (c["region"], c["training_day"], c["arrival"]): i
        for i, c in enumerate(records)
        if c[WITHDRAWN_FROM] is None
    }
    sources = np.full(len(records), -1, dtype=np.int64)
    for index, cell in enumerate(records):
        if cell[WITHDRAWN_FROM] is None:
            continue
        source = ordinary.get((cell["region"], cell["training_day"], cell[WITHDRAWN_FROM]))
        if source is None:
            raise ValueError(
                f"item {item}: a withdrawal for region={cell['region']}, training_day="
                f"{cell['training_day']} names arrival {cell[WITHDRAWN_FROM]}, which has no cell"
            )
        sources[index] = source
    return sources


def _tie(lead: _Row, twin: _Row, family: Family, figures: dict[int, list[float]]) -> None:
    """A row of another table over exactly the same cells (a date only one region met on, in
    the national trend) is the same figure twice: one family, one decision. Its earlier
    figures join the family's, and the pair takes the stricter of their levels."""
    for m, figure in figures.items():
        known = family.figures.get(m)
        family.figures[m] = (
            list(figure)
            if known is None
            else [
                max(known[0], figure[0]),
                min(known[1], figure[1]),
                max(known[2], figure[2]),
                min(known[3], figure[3]),
            ]
        )
    twin.lead = lead
    lead.twins.append(twin)
    level = max(lead.level, twin.level)
    lead.necessary = max(lead.necessary, twin.necessary)
    changed = lead.changed and twin.changed
    forced = lead.forced or twin.forced
    for row in (lead, *lead.twins):
        row.level, row.changed, row.forced = level, changed, forced


def _set_level(model: _Item, row: _Row, level: int) -> None:
    """Withhold or show a row, and every row tied to it, as one figure."""
    for tied in (row, *row.twins):
        tied.level = level
    _publish(model, row)


def _carried(audit: pl.DataFrame | None) -> dict[str, pl.DataFrame]:
    """The last release's audit records per item: every one, with witnesses or not (a
    warehouse made before they were kept has none), since the counts it protected stay
    protected whether or not their intervals can be taken over. Kept as frames and read row
    by row as each item is carried, then let go: as Python records, every item's at once for
    the whole release, they held 83 MB under `opensafely` at release 101."""
    if audit is None:
        return {}
    return {str(item): frame for (item,), frame in audit.partition_by("item", as_dict=True).items()}


def _carry(model: _Item, records: pl.DataFrame | None) -> None:
    """Take over the last release's intervals that still hold (their witnesses agree with
    what this release publishes), and keep every count it protected in a row that has grown
    since: this release must not give it away either."""
    by_key = {(row.table.name, *_padded(row.table, row.key)): row for row in model.rows}
    cell_of = {
        (cell["region"], cell["training_day"], cell["arrival"], cell[WITHDRAWN_FROM]): index
        for index, cell in enumerate(model.cells)
    }
    written_as = {
        (region, None if day is None else str(day), arrival, source): index
        for (region, day, arrival, source), index in cell_of.items()
    }
    entries = {}
    for record in () if records is None else records.iter_rows(named=True):
        where, measure = str(record["table_name"]), str(record["measure"])
        row = by_key.get((where.removesuffix(" batch"), record["region"], record["training_day"]))
        if where in GROWING_GROUPS:
            cells = _group_as_of(model, where, record)
            if not cells:
                continue
            as_of = int(record["as_of_release"])  # type: ignore[call-overload]
            if record["required"] and as_of < model.model.release_no:
                key = {k: record[k] for k in ("region", "training_day") if record[k] is not None}
                value = _true(model, cells, measure)
                audit = Quantity(cells, measure)
                model.earlier.append(_Quantity(where, key, measure, audit, value, as_of))
        elif where == UNDERLYING:
            index = cell_of.get(
                (
                    record["region"],
                    record["training_day"],
                    record["arrival"],
                    record.get(WITHDRAWN_FROM),
                )
            )
            if index is None:
                continue
            cells: tuple[int, ...] = (index,)
        elif row is None:
            continue
        elif where.endswith(" batch"):
            cells = tuple(
                i
                for i in row.cells
                if model.cells[i]["arrival"] == record["arrival"]
                and model.cells[i][WITHDRAWN_FROM] is None
            )
        else:
            as_of = record.get("as_of_release")
            family = model.model.families[row.family]
            m = len(row.cells) if as_of is None else int((family.arrivals <= as_of).sum())
            cells = tuple(sorted(int(c) for c in family.cells[:m]))
            if as_of is not None and record["required"] and 0 < m < len(row.cells):
                value = _true(model, cells, measure)
                key = dict(zip(row.table.keys, row.key, strict=True))
                audit = Quantity(cells, measure)
                model.earlier.append(_Quantity(where, key, measure, audit, value, int(as_of)))  # type: ignore[call-overload]
        low = _read_witness(model, record.get("witness_lo"), written_as)
        high = _read_witness(model, record.get("witness_hi"), written_as)
        open_above = record["interval_hi"] is None
        if low is None or (high is None) != open_above:
            continue
        interval = Interval(
            int(record["interval_lo"]),  # type: ignore[call-overload]
            None if open_above else int(record["interval_hi"]),  # type: ignore[call-overload]
        )
        tight = record.get("exact") is not False  # kept before certificates were: exact
        entries[(cells, measure)] = Known(interval, low, high, frozenset(), tight=tight)
    model.model.carry(entries, model.enough)


def _enough(model: _Item, policy: Policy) -> Callable[[_Key, Interval], bool]:
    """When an interval the attacker must allow, not the exact one, proves a count safe: no
    table publishes its bounds (a withheld row's positive count and n are, so those stay
    exact), no cell of it withdraws or is withdrawn from, and it passes even capped as a
    participation figure could cap it. `transforms.participation` checks such caps on the
    audit's intervals of counts within one region's training day; a figure holding the
    count's cells counts at least everyone who had answered this item there by the time the
    last of them arrived (less any a replaced file took back), so capping at that number is
    the most a figure can take away."""
    published = {(row.cells, measure) for row in model.rows for measure in (POSITIVE, BOTH)}
    touched = {int(s) for s in model.model.sources if s >= 0} | {
        int(c) for c in np.flatnonzero(model.model.withdrawal)
    }
    place_of = [(cell["region"], cell["training_day"]) for cell in model.cells]
    days: dict[tuple[object, object], list[int]] = {}
    for index, place in enumerate(place_of):
        days.setdefault(place, []).append(index)
    arrivals = model.model.arrivals
    respondents = model.model.true[BOTH]

    def cap(cells: tuple[int, ...]) -> int | None:
        places = {place_of[c] for c in cells}
        if len(places) > 1:
            return None
        latest = arrivals[list(cells)].max()
        day = days[places.pop()]
        return int(sum(respondents[c] for c in day if arrivals[c] <= latest and c not in touched))

    def enough(key: _Key, interval: Interval) -> bool:
        cells, measure = key
        if key in published or touched.intersection(cells):
            return False
        most = cap(cells)
        hi = (
            interval.hi if most is None else most if interval.hi is None else min(interval.hi, most)
        )
        return _passes_measure(measure, Interval(interval.lo, hi), policy)

    return enough


def _group_as_of(model: _Item, where: str, record: dict[str, object]) -> tuple[int, ...]:
    """The cells of a named group as they stood in the release that audited it (none for a
    record from before such groups were kept, which has no release to go by)."""
    as_of = record.get("as_of_release")
    if as_of is None:
        return ()
    return tuple(
        i
        for i, cell in enumerate(model.cells)
        if _belongs(cell, where, record) and int(cell["arrival"]) <= int(as_of)  # type: ignore[call-overload]
    )


def _belongs(cell: dict[str, object], where: str, key: dict[str, object]) -> bool:
    """Whether a cell is in the named group `where` of `key` (see GROWING_GROUPS)."""
    if where == SAME_DATE:
        return cell["training_day"] == key["training_day"]
    return cell["region"] != key["region"]


def _write_witness(model: _Item, witness: Witness | None) -> str | None:
    """An assignment as the cells it changes: [region, training_day, arrival, positive
    difference, not-positive difference] each (restricted: it is relative to the truth)."""
    if witness is None:
        return None
    read = model.witness_texts.get(id(witness))
    if read is not None and read[0] is witness:
        return read[1]
    if model.places is None:
        model.places = [_place(cell) for cell in model.cells]
    places = model.places
    return (
        "["
        + ",".join(
            f"{places[index][0]}{dk},{dg}{places[index][1]}"
            for index, (dk, dg) in sorted(witness.items())
        )
        + "]"
    )


def _place(cell: dict[str, object]) -> tuple[str, str]:
    """A cell in a witness's text, written once: the JSON of [region, training_day, arrival,
    positive difference, not-positive difference(, the cell withdrawn from)] around its two
    differences. Joining these is what `json.dumps` made of each change, a change at a time."""
    day = cell["training_day"]
    place = [cell["region"], None if day is None else str(day), cell["arrival"]]
    source = cell[WITHDRAWN_FROM]
    after = "]" if source is None else "," + json.dumps(source) + "]"
    return "[" + json.dumps(place, separators=(",", ":"))[1:-1] + ",", after


def _read_witness(
    model: _Item, text: object, written_as: dict[tuple[object, ...], int]
) -> Witness | None:
    if text is None:
        return None
    if str(text) in model.witnesses_read:
        return model.witnesses_read[str(text)]
    witness: Witness | None = {}
    for region, day, arrival, dk, dg, *source in json.loads(str(text)):
        index = written_as.get((region, day, arrival, source[0] if source else None))
        if index is None:
            witness = None
            break
        witness[index] = shared_change(int(dk), int(dg))  # type: ignore[index]
    model.witnesses_read[str(text)] = witness
    if witness is not None:
        model.witness_texts[id(witness)] = (witness, str(text))
    return witness


def _true(model: _Item, cells: Sequence[int], measure: str) -> int:
    n = sum(int(model.cells[i]["n_respondents"]) for i in cells)  # type: ignore[call-overload]
    k = sum(int(model.cells[i]["n_positive"]) for i in cells)  # type: ignore[call-overload]
    return {BOTH: n, POSITIVE: k, NEGATIVE: n - k}[measure]


def _figure(rounding: int, row: _Row, level: int | None = None) -> tuple[float, ...]:
    """What `row` tells an attacker at `level` (its own level by default)."""
    level = row.level if level is None else level
    n = published_interval(row.n, rounding) if level < ALL_WITHHELD else (-INF, INF)
    k = published_interval(row.k, rounding) if level < COUNT_WITHHELD else (-INF, INF)
    return (float(n[0]), float(n[1]), float(k[0]), float(k[1]))


def _padded(table: Table, key: tuple[object, ...]) -> tuple[object, object]:
    named = dict(zip(table.keys, key, strict=True))
    return named.get("region"), named.get("training_day")


def _publish(model: _Item, row: _Row) -> None:
    """Set what this release tells of `row` at its current level, in the attacker's model."""
    figure = _figure(model.rounding, row)
    if figure != model.model.families[row.family].current:
        model.model.set_current(row.family, figure)  # type: ignore[arg-type]


def _suppress(model: _Item, policy: Policy, release_no: int) -> None:
    seen: set[tuple[tuple[int, ...], str]] = set()
    for row in model.rows:
        _add_row_quantities(model, row, SHOWN, row.primary, seen, required=True)
    for index, cell in enumerate(model.cells):
        key = {name: cell[name] for name in CELL_KEYS}
        _add_group_quantities(model, UNDERLYING, key, (index,), policy, seen)
    for day, members in _same_date(model.cells):
        _add_group_quantities(model, SAME_DATE, {"training_day": day}, members, policy, seen)
    for region, members in _rest_of_country(model.cells):
        _add_group_quantities(model, REST_OF_COUNTRY, {"region": region}, members, policy, seen)
    for row in model.rows:
        for arrival, members in _batches(row, model.cells):
            key = dict(zip(row.table.keys, row.key, strict=True)) | {"arrival": arrival}
            _add_group_quantities(model, f"{row.table.name} batch", key, members, policy, seen)
    for quantity in model.earlier:
        if (quantity.audit.cells, quantity.measure) not in seen:
            seen.add((quantity.audit.cells, quantity.measure))
            model.quantities.append(quantity)
    for row in model.rows:
        _add_row_quantities(model, row, row.primary, row.level, seen, required=False)
    attacker = model.model
    for quantity in model.quantities:
        while True:
            if _still_passes(model, quantity, policy):
                break
            interval = attacker.interval(quantity.audit)
            binding = attacker.binding(quantity.audit)
            candidates = sorted(
                (
                    row
                    for row in model.rows
                    if row.changed
                    and row.lead is None
                    and row.level < ALL_WITHHELD
                    and (binding is None or row.family in binding)
                ),
                key=lambda r: (r.level, len(r.twins), r.rank, r.n, _sort_key(r.key)),
            )
            if not candidates:
                raise AuditFailure(_failure(model, quantity, release_no, policy))
            chosen = _widening(model, quantity, interval, candidates)
            model.covers[id(chosen)] = quantity
            before = chosen.level
            _set_level(model, chosen, before + 1)
            for row in (chosen, *chosen.twins):
                _add_row_quantities(model, row, before, row.level, seen, required=False)


def _widening(
    model: _Item, quantity: _Quantity, interval: Interval, candidates: list[_Row]
) -> _Row:
    """The first candidate whose withholding widens the count's interval (else the first).
    Candidates are the figures of this release the interval's ends rest on, so few are tried."""
    for row in candidates:
        figure = _figure(model.rounding, row, row.level + 1)
        if _wider(model.model.trial(quantity.audit, row.family, figure), interval):
            return row
    return candidates[0]


def _prune(model: _Item, policy: Policy) -> None:
    """Give back what the greedy pass withheld and did not need: each complementary
    withholding, most valuable first (national, then larger groups), is undone when every
    protected count still passes without it."""
    extra = sorted(
        (
            row
            for row in model.rows
            if row.changed and row.level > row.least and not row.forced and row.lead is None
        ),
        key=lambda r: (-r.rank, -len(r.twins), -r.n, _sort_key(r.key)),
    )
    attacker = model.model
    for row in extra:
        while row.level > row.least:
            attacker.savepoint()
            _set_level(model, row, row.level - 1)
            first = [model.covers[id(row)]] if id(row) in model.covers else []
            if all(_still_passes(model, q, policy) for q in first + model.quantities):
                attacker.release()
                continue
            _set_level(model, row, row.level + 1)
            attacker.rollback()
            break
    seen = {(q.audit.cells, q.audit.measure) for q in model.quantities}
    model.reported = []
    for row in model.rows:
        _add_row_quantities(model, row, row.primary, row.level, seen, required=False)


def _still_passes(model: _Item, quantity: _Quantity, policy: Policy) -> bool:
    """Whether a protected count passes under the figures as they now stand. An interval whose
    witnesses still agree with every figure is one the attacker must allow, so if it passes
    that is proof enough. Failing one at hand, the values the assignments already standing
    give the count (the truth, and the witnesses of counts sharing a cell) are tried before
    any program, and kept as a certificate where `enough` allows. The exact interval decides
    the rest. Under acro at releases 30-33 this spares a fifth of the programs."""
    certified = model.model.certified(quantity.audit)
    if certified is not None and _passes(quantity, certified, policy):
        return True
    if certified is None:
        standing = model.model.standing(quantity.audit)
        if _passes(quantity, standing.interval, policy):
            if model.enough((quantity.audit.cells, quantity.measure), standing.interval):
                model.model.keep(quantity.audit, standing)
            return True
    return _passes(quantity, model.model.interval(quantity.audit), policy)


def _final_audit(model: _Item, policy: Policy, release_no: int) -> list[tuple[object, ...]]:
    """Every protected quantity's interval under the final pattern: the exact one, or where
    that is not needed (`_enough`) one the attacker must allow that passes, marked not exact."""
    records = []
    required = [(q, True) for q in model.quantities] + [(q, False) for q in model.reported]
    for quantity, protected in required:
        counted = (quantity.audit.cells, quantity.audit.measure)
        known = model.model.certificate(quantity.audit) if protected else None
        if known is None or (
            not (known.exact and known.tight) and not model.enough(counted, known.interval)
        ):
            known = model.model.known(quantity.audit)
        interval = known.interval
        if protected and not _passes(quantity, interval, policy):
            raise AuditFailure(_failure(model, quantity, release_no, policy))
        key = quantity.key
        first, last = model.model.span(quantity.audit, known)
        records.append(
            (
                quantity.where,
                model.item,
                key.get("region"),
                key.get("training_day"),
                key.get("arrival"),
                quantity.measure,
                interval.lo,
                interval.hi,
                protected,
                first,
                last,
                quantity.as_of,
                _write_witness(model, known.low),
                _write_witness(model, known.high),
                key.get(WITHDRAWN_FROM),
                known.exact and known.tight,
            )
        )
    return records


def _bounds(model: _Item) -> list[_Bounds]:
    """Per withheld row, what any reader can derive: positive and (when withheld) n."""
    found = []
    for row in model.rows:
        if row.level == SHOWN:
            continue
        k = model.model.interval(_row_quantity(model, row, POSITIVE))
        n = (
            model.model.interval(_row_quantity(model, row, BOTH))
            if row.level >= ALL_WITHHELD
            else None
        )
        found.append((row, (k.lo, k.hi, *((n.lo, n.hi) if n else (None, None)))))
    return found


def _row_quantity(model: _Item, row: _Row, measure: str) -> Quantity:
    return Quantity(row.cells, measure)


def _add_row_quantities(
    model: _Item,
    row: _Row,
    before: int,
    level: int,
    seen: set[tuple[tuple[int, ...], str]],
    *,
    required: bool,
) -> None:
    """A withheld row's counts: protected when the primary rule withheld it; reported (its
    interval stored) when it was withheld only to protect others, whose counts may be public."""
    key = dict(zip(row.table.keys, row.key, strict=True))
    new = []
    if level >= COUNT_WITHHELD > before:
        new += [(POSITIVE, row.k), (NEGATIVE, row.n - row.k)]
    if level >= ALL_WITHHELD > before:
        new.append((BOTH, row.n))
    for measure, value in new:
        if (row.cells, measure) not in seen:
            seen.add((row.cells, measure))
            audit = _row_quantity(model, row, measure)
            quantity = _Quantity(row.table.name, key, measure, audit, value, model.model.release_no)
            (model.quantities if required else model.reported).append(quantity)


def _add_group_quantities(
    model: _Item,
    where: str,
    key: dict[str, object],
    members: Sequence[int],
    policy: Policy,
    seen: set[tuple[tuple[int, ...], str]],
) -> None:
    """A group that is never published itself but that an attacker may isolate: protected
    when its own counts are."""
    n = sum(int(model.cells[i]["n_respondents"]) for i in members)
    k = sum(int(model.cells[i]["n_positive"]) for i in members)
    if n < 0:  # one withdrawal cell: the respondents it withdraws (see ItemModel._signed)
        n, k = -n, -k
    cells = tuple(sorted(members))
    for measure, value in ((POSITIVE, k), (NEGATIVE, n - k), (BOTH, n)):
        protected = 1 <= n <= policy.min_cell - 1 if measure == BOTH else policy.is_risky(value, n)
        if protected and (cells, measure) not in seen:
            seen.add((cells, measure))
            as_of = model.model.release_no if where in GROWING_GROUPS else None
            quantity = _Quantity(where, key, measure, Quantity(cells, measure), value, as_of)
            model.quantities.append(quantity)


def _same_date(cells: list[dict[str, object]]) -> list[tuple[object, tuple[int, ...]]]:
    """Per training-day date held by more than one region, its cells (`_belongs`, in one pass)."""
    found: dict[object, list[int]] = {}
    regions: dict[object, set[object]] = {}
    for index, cell in enumerate(cells):
        found.setdefault(cell["training_day"], []).append(index)
        regions.setdefault(cell["training_day"], set()).add(cell["region"])
    return [
        (day, tuple(members))
        for day, members in sorted(found.items(), key=lambda kv: str(kv[0]))
        if len(regions[day]) > 1
    ]


def _rest_of_country(cells: list[dict[str, object]]) -> list[tuple[object, tuple[int, ...]]]:
    """Per region, every other region's cells (when there are at least three regions: with two,
    the rest is the other region, a published row already)."""
    regions = sorted({cell["region"] for cell in cells}, key=str)
    if len(regions) < 3:
        return []
    return [
        (
            region,
            tuple(
                i for i, c in enumerate(cells) if _belongs(c, REST_OF_COUNTRY, {"region": region})
            ),
        )
        for region in regions
    ]


def _batches(row: _Row, cells: list[dict[str, object]]) -> list[tuple[int, tuple[int, ...]]]:
    """A row's cells split by the release they arrived in, when they arrived in several:
    consecutive releases of the row differ by exactly such a batch. A withdrawal is no batch
    of people (its respondents are protected in a cell of their own), so it is left out."""
    arrivals: dict[int, list[int]] = {}
    for index in row.cells:
        if cells[index][WITHDRAWN_FROM] is None:
            arrivals.setdefault(int(cells[index]["arrival"]), []).append(index)
    if len(arrivals) < 2:
        return []
    return [(arrival, tuple(members)) for arrival, members in sorted(arrivals.items())]


def _passes(quantity: _Quantity, interval: Interval, policy: Policy) -> bool:
    return _passes_measure(quantity.measure, interval, policy)


def _passes_measure(measure: str, interval: Interval, policy: Policy) -> bool:
    if interval.width < policy.protection:
        return False
    if policy.min_cell <= 1:
        return True
    low = 1 if measure == BOTH else policy.risky_low
    inside = interval.lo >= low and interval.hi is not None and interval.hi <= policy.min_cell - 1
    return not inside


def _wider(trial: Interval, current: Interval) -> bool:
    if trial.lo < current.lo:
        return True
    if current.hi is None:
        return False
    return trial.hi is None or trial.hi > current.hi


def _failure(model: _Item, quantity: _Quantity, release_no: int, policy: Policy) -> str:
    where = ", ".join(f"{k}={v}" for k, v in quantity.key.items()) or "all regions"
    if quantity.as_of is not None and quantity.as_of < release_no:
        where += f", as published in release {quantity.as_of}"
    return (
        f"release {release_no} refused: in {quantity.where} ({where}), item {model.item}, the "
        f"{quantity.measure.replace('_', '-')} count could be narrowed by an attacker using this "
        f"and earlier releases (protection {policy.protection}, min_cell {policy.min_cell}); "
        "nothing was published"
    )


def _sort_key(key: tuple[object, ...]) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in key)


def _table_frame(
    table: Table,
    rows: list[tuple[str, _Row]],
    policy: Policy,
    bounds: dict[int, tuple[int | None, ...]],
) -> pl.DataFrame:
    """A published table: withheld figures are NULL with the bounds any reader can derive
    beside them; shown ones rounded as the policy says."""
    records = []
    for item, row in rows:
        if row.table != table:
            continue
        n = rounded(row.n, policy.rounding) if row.level < ALL_WITHHELD else None
        k = rounded(row.k, policy.rounding) if row.level < COUNT_WITHHELD else None
        pct = 100.0 * k / n if k is not None and n else None
        k_min, k_max, n_min, n_max = bounds.get(id(row), (None,) * 4)
        records.append((*row.key, item, n, k, pct, row.level > SHOWN, k_min, k_max, n_min, n_max))
    schema = (
        {key: _KEY_TYPES[key] for key in table.keys}
        | {
            "item": pl.Utf8,
            "n_respondents": pl.Int64,
            "n_positive": pl.Int64,
            "pct_positive": pl.Float64,
            "suppressed": pl.Boolean,
        }
        | dict.fromkeys(BOUND_COLUMNS, pl.Int64)
    )
    return pl.DataFrame(records, schema=schema, orient="row")


def _shown_interval(value: int, shown: bool, rounding: int) -> tuple[int | None, int | None]:
    return published_interval(value, rounding) if shown else (None, None)


def _figures_frame(rows: list[tuple[str, _Row]], policy: Policy, release_no: int) -> pl.DataFrame:
    """Each row as the interval it tells an attacker, for the restricted warehouse's history."""
    records = []
    for item, row in rows:
        key = dict(zip(row.table.keys, row.key, strict=True))
        n = _shown_interval(row.n, row.level < ALL_WITHHELD, policy.rounding)
        k = _shown_interval(row.k, row.level < COUNT_WITHHELD, policy.rounding)
        records.append(
            (release_no, row.table.name, item, key.get("region"), key.get("training_day"), *n, *k)
        )
    return pl.DataFrame(records, schema=HISTORY_SCHEMA, orient="row")


_KEY_TYPES = {"region": pl.Utf8, "training_day": pl.Date}
