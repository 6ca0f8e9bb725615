"""Primary and complementary suppression of every outcome table of a release, checked by the
attacker's integer programs against this release and every earlier one.

1. Primary: a row is withheld when fewer than `min_cell` answered (its n too), or when its
   positive count or its complement is a protected count (1..min_cell-1; 0 too when zeros and
   100% are protected).
2. Audit, one item at a time (items share no cell): the positive, not-positive and (when
   withheld) respondent counts of every row the primary rule withholds, and of every
   underlying cell and every
   row's batch that arrived in one release ("this release minus the last") whose own counts
   are protected, must reach an attacker interval at least `protection` wide that does not lie
   wholly inside the protected counts. Rows withheld only to protect others are audited too
   and their intervals stored, but not required to be wide: their counts may already be
   public in an earlier release.
3. Complementary: while a quantity fails, withhold the cheapest published figure that widens
   its interval (finest table first, then the smallest group, then by key): withhold a row's
   positive count before its respondent count. Withholding only removes constraints, so a
   quantity that passed keeps passing; the loop ends when all pass or when nothing of this
   release is left to withhold (earlier releases alone pin it down): then the release is refused.
4. Prune: each complementary withholding, most valuable first, is undone when every protected
   count still passes without it, so the greedy order costs as little as it can.

Everything is sorted before it is used and ties are broken by key, so the same inputs give the
same pattern."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from transforms.errors import PublishError
from transforms.privacy.audit import UNBOUNDED, Attacker, Figure, Interval
from transforms.privacy.policy import Policy
from transforms.privacy.tables import CELL_KEYS, TABLES_BY_NAME, Table

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
}
UNDERLYING = "underlying_cell"


class AuditFailure(PublishError):
    """An attacker could narrow a protected count too far: the release is not published."""


@dataclass
class _Row:
    table: Table
    key: tuple[object, ...]
    cells: tuple[int, ...]
    n: int
    k: int
    level: int = SHOWN
    primary: int = SHOWN


@dataclass(frozen=True)
class _Quantity:
    where: str
    key: dict[str, object]
    measure: str
    variables: tuple[int, ...]
    value: int


@dataclass
class _Item:
    """One item's cells, rows and the figures earlier releases published about them."""

    item: str
    cells: list[dict[str, object]]
    rows: list[_Row]
    history: list[Figure]
    rounding: int
    quantities: list[_Quantity] = field(default_factory=list)
    """Protected: each must pass the audit."""
    reported: list[_Quantity] = field(default_factory=list)
    """Withheld only to protect others: intervals stored, not required."""


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
) -> ProtectedRelease:
    """Suppress, audit and shape every table of one release. `cells` has item, region,
    training_day, arrival, n_respondents, n_positive; `history` is earlier releases' figures."""
    cells = cells.sort("item", *CELL_KEYS, nulls_last=True)
    history = history if history is not None else pl.DataFrame(schema=HISTORY_SCHEMA)
    items = []
    for item in cells["item"].unique(maintain_order=True).to_list():
        item_cells = cells.filter(pl.col("item") == item)
        model = _model(item, item_cells, tables, history, policy.rounding)
        _suppress(model, policy, release_no)
        _prune(model, policy)
        items.append(model)
    audit = [record for model in items for record in _final_audit(model, policy, release_no)]
    bounds = {id(row): b for model in items for row, b in _bounds(model)}
    rows = [(model.item, row) for model in items for row in model.rows]
    return ProtectedRelease(
        tables={t.name: _table_frame(t, rows, policy, bounds) for t in tables},
        figures=_figures_frame(rows, policy, release_no),
        audit=pl.DataFrame(audit, schema=AUDIT_SCHEMA, orient="row"),
        n_rows=len(rows),
        n_suppressed=sum(row.level > SHOWN for _, row in rows),
        n_primary=sum(row.primary > SHOWN for _, row in rows),
        n_complementary=sum(row.level > SHOWN == row.primary for _, row in rows),
    )


def _bounds(model: _Item) -> list[tuple[_Row, tuple[int | None, ...]]]:
    """Per withheld row, what any reader can derive: positive and (when withheld) n."""
    attacker = _attacker(model)
    found = []
    for row in model.rows:
        if row.level == SHOWN:
            continue
        k = attacker.interval(_positive(row.cells))
        n = attacker.interval(_both(row.cells)) if row.level >= ALL_WITHHELD else None
        found.append((row, (k.lo, k.hi, *((n.lo, n.hi) if n else (None, None)))))
    return found


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
    item: str, cells: pl.DataFrame, tables: Sequence[Table], history: pl.DataFrame, rounding: int
) -> _Item:
    records = cells.to_dicts()
    rows = []
    for table in tables:
        groups: dict[tuple[object, ...], list[int]] = {}
        for index, cell in enumerate(records):
            groups.setdefault(tuple(cell[k] for k in table.keys), []).append(index)
        for key in sorted(groups, key=_sort_key):
            members = tuple(groups[key])
            n = sum(int(records[i]["n_respondents"]) for i in members)
            k = sum(int(records[i]["n_positive"]) for i in members)
            rows.append(_Row(table, key, members, n, k))
    earlier = []
    for figure in (
        history.filter(pl.col("item") == item)
        .sort(list(HISTORY_SCHEMA), nulls_last=True)
        .to_dicts()
    ):
        table = TABLES_BY_NAME[figure["table_name"]]
        members = tuple(
            i
            for i, cell in enumerate(records)
            if int(cell["arrival"]) <= figure["release_no"]
            and all(cell[k] == figure[k] for k in table.keys)
        )
        if figure["n_lo"] is not None:
            earlier.append(Figure(_both(members), figure["n_lo"], figure["n_hi"]))
        if figure["k_lo"] is not None:
            earlier.append(Figure(_positive(members), figure["k_lo"], figure["k_hi"]))
    return _Item(item, records, rows, earlier, rounding)


def _suppress(model: _Item, policy: Policy, release_no: int) -> None:
    for row in model.rows:
        row.level = row.primary = primary_level(row.n, row.k, policy)
    seen: set[tuple[int, ...]] = set()
    for row in model.rows:
        _add_row_quantities(model, row, SHOWN, seen, required=True)
    for index, cell in enumerate(model.cells):
        key = {name: cell[name] for name in CELL_KEYS}
        _add_group_quantities(model, UNDERLYING, key, (index,), policy, seen)
    for row in model.rows:
        for arrival, members in _batches(row, model.cells):
            key = dict(zip(row.table.keys, row.key, strict=True)) | {"arrival": arrival}
            _add_group_quantities(model, f"{row.table.name} batch", key, members, policy, seen)
    attacker = _attacker(model)
    position = 0
    while position < len(model.quantities):
        quantity = model.quantities[position]
        interval = attacker.interval(quantity.variables)
        if _passes(quantity, interval, policy):
            position += 1
            continue
        candidates = sorted(
            (row for row in model.rows if row.level < ALL_WITHHELD),
            key=lambda r: (r.level, r.table.rank, r.n, _sort_key(r.key)),
        )
        if not candidates:
            raise AuditFailure(_failure(model, quantity, release_no, policy))
        chosen = candidates[0]
        for row in candidates:
            row.level += 1
            widened = _wider(_attacker(model).interval(quantity.variables), interval)
            row.level -= 1
            if widened:
                chosen = row
                break
        before = chosen.level
        chosen.level += 1
        _add_row_quantities(model, chosen, before, seen, required=False)
        attacker = _attacker(model)


def _prune(model: _Item, policy: Policy) -> None:
    """Give back what the greedy pass withheld and did not need: each complementary
    withholding, most valuable first (national, then larger groups), is undone when every
    protected count still passes without it."""
    extra = sorted(
        (row for row in model.rows if row.level > row.primary),
        key=lambda r: (-r.table.rank, -r.n, _sort_key(r.key)),
    )
    for row in extra:
        while row.level > row.primary:
            row.level -= 1
            attacker = _attacker(model)
            if all(_passes(q, attacker.interval(q.variables), policy) for q in model.quantities):
                continue
            row.level += 1
            break
    seen = {quantity.variables for quantity in model.quantities}
    model.reported = []
    for row in model.rows:
        _add_row_quantities(model, row, row.primary, seen, required=False)


def _final_audit(model: _Item, policy: Policy, release_no: int) -> list[tuple[object, ...]]:
    """Every protected quantity's interval, from a fresh model of the final pattern."""
    attacker = _attacker(model)
    records = []
    required = [(q, True) for q in model.quantities] + [(q, False) for q in model.reported]
    for quantity, protected in required:
        interval = attacker.interval(quantity.variables)
        if protected and not _passes(quantity, interval, policy):
            raise AuditFailure(_failure(model, quantity, release_no, policy))
        key = quantity.key
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
            )
        )
    return records


def _add_row_quantities(
    model: _Item, row: _Row, before: int, seen: set[tuple[int, ...]], *, required: bool
) -> None:
    """A withheld row's counts: protected when the primary rule withheld it; reported (its
    interval stored) when it was withheld only to protect others, whose counts may be public."""
    key = dict(zip(row.table.keys, row.key, strict=True))
    new = []
    if row.level >= COUNT_WITHHELD > before:
        new += [
            ("positive", _positive(row.cells), row.k),
            ("not_positive", _negative(row.cells), row.n - row.k),
        ]
    if row.level >= ALL_WITHHELD > before:
        new.append(("respondents", _both(row.cells), row.n))
    for measure, variables, value in new:
        if variables not in seen:
            seen.add(variables)
            quantity = _Quantity(row.table.name, key, measure, variables, value)
            (model.quantities if required else model.reported).append(quantity)


def _add_group_quantities(
    model: _Item,
    where: str,
    key: dict[str, object],
    members: Sequence[int],
    policy: Policy,
    seen: set[tuple[int, ...]],
) -> None:
    """A group that is never published itself but that an attacker may isolate: protected
    when its own counts are."""
    n = sum(int(model.cells[i]["n_respondents"]) for i in members)
    k = sum(int(model.cells[i]["n_positive"]) for i in members)
    for measure, variables, value in (
        ("positive", _positive(members), k),
        ("not_positive", _negative(members), n - k),
        ("respondents", _both(members), n),
    ):
        protected = (
            1 <= n <= policy.min_cell - 1 if measure == "respondents" else policy.is_risky(value, n)
        )
        if protected and variables not in seen:
            seen.add(variables)
            model.quantities.append(_Quantity(where, key, measure, variables, value))


def _batches(row: _Row, cells: list[dict[str, object]]) -> list[tuple[int, tuple[int, ...]]]:
    """A row's cells split by the release they arrived in, when they arrived in several:
    consecutive releases of the row differ by exactly such a batch."""
    arrivals: dict[int, list[int]] = {}
    for index in row.cells:
        arrivals.setdefault(int(cells[index]["arrival"]), []).append(index)
    if len(arrivals) < 2:
        return []
    return [(arrival, tuple(members)) for arrival, members in sorted(arrivals.items())]


def _attacker(model: _Item) -> Attacker:
    figures = list(model.history)
    figures += [Figure((2 * i, 2 * i + 1), 1, UNBOUNDED) for i in range(len(model.cells))]
    for row in model.rows:
        figures += _row_figures(row, model.rounding)
    return Attacker(2 * len(model.cells), figures)


def _row_figures(row: _Row, rounding: int) -> list[Figure]:
    figures = []
    if row.level < ALL_WITHHELD:
        figures.append(Figure(_both(row.cells), *published_interval(row.n, rounding)))
    if row.level < COUNT_WITHHELD:
        figures.append(Figure(_positive(row.cells), *published_interval(row.k, rounding)))
    return figures


def _passes(quantity: _Quantity, interval: Interval, policy: Policy) -> bool:
    if interval.width < policy.protection:
        return False
    if policy.min_cell <= 1:
        return True
    low = 1 if quantity.measure == "respondents" else policy.risky_low
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
    return (
        f"release {release_no} refused: in {quantity.where} ({where}), item {model.item}, the "
        f"{quantity.measure.replace('_', '-')} count could be narrowed by an attacker using this "
        f"and earlier releases (protection {policy.protection}, min_cell {policy.min_cell}); "
        "nothing was published"
    )


def _positive(cells: Sequence[int]) -> tuple[int, ...]:
    return tuple(2 * i for i in cells)


def _negative(cells: Sequence[int]) -> tuple[int, ...]:
    return tuple(2 * i + 1 for i in cells)


def _both(cells: Sequence[int]) -> tuple[int, ...]:
    return tuple(sorted(_positive(cells) + _negative(cells)))


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
    schema = {key: _KEY_TYPES[key] for key in table.keys} | {
        "item": pl.Utf8,
        "n_respondents": pl.Int64,
        "n_positive": pl.Int64,
        "pct_positive": pl.Float64,
        "suppressed": pl.Boolean,
        "n_positive_min": pl.Int64,
        "n_positive_max": pl.Int64,
        "n_respondents_min": pl.Int64,
        "n_respondents_max": pl.Int64,
    }
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
