"""Where things stand, for the operator: per region and training day what arrived, what was
ingested or rejected and whether the last release includes it; the last release; files still
waiting in the drop folder. Counts and names only, never a cell value: a rejected file is
described by its number of problems and where the first one is, not by what was found there."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from schemas.config import Config
from transforms.drop import find_new_files, printable, report_path
from transforms.errors import WarehouseBusyError
from transforms.load import open_warehouse
from transforms.run_lock import holder

_FIRST_PROBLEM = re.compile(r"^- (row \d+(?:, column '[^'\n]*')?)", re.MULTILINE)

_DAYS = """
with replaced as (
    {replaced}
),

days as (
    select submission_id, training_day, count(distinct response_no) as n_responses,
    from responses
    group by all
),

final as (
    select
        submissions.region,
        days.training_day,
        count(*)::bigint as n_files,
        count(*) filter (where submissions.status = 'ingested')::bigint as n_ingested,
        count(*) filter (
            where submissions.submission_id in (select replaced from replaced)
        )::bigint as n_replaced,
        coalesce(
            sum(days.n_responses) filter (
                where submissions.submission_id not in (select replaced from replaced)
            ),
            0
        )::bigint as n_responses,
        coalesce(sum(submissions.n_repeated), 0)::bigint as n_repeated,
        bool_and(submissions.submission_id <= $included) as in_last_release,
    from submissions
    inner join days on days.submission_id = submissions.submission_id
    group by all
)

select * from final order by region, training_day
"""


@dataclass(frozen=True)
class Status:
    warehouse: str
    run_in_progress: str | None
    last_release: dict[str, Any] | None
    days: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    waiting: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def status(config: Config) -> Status:
    running = holder(config.paths.warehouse)
    waiting = [f"{d.region}/{printable(d.path.name)}" for d in find_new_files(config.drop_dir)[0]]
    base = Status(
        str(config.restricted_path),
        running.describe() if running else None,
        None,
        waiting=waiting,
    )
    if not config.restricted_path.exists():
        return base
    try:
        with open_warehouse(config.restricted_path, read_only=True) as con:
            return _from_warehouse(con, base)
    except WarehouseBusyError:
        return base


def _days_query(present: set[str]) -> str:
    """Per region and training day; files a corrected file replaced count as files, not their
    responses (a warehouse from before replacements has none)."""
    replaced = (
        "select replaced from replacements"
        if "replacements" in present
        else "select null::integer as replaced where false"
    )
    return _DAYS.format(replaced=replaced)


def _from_warehouse(con: duckdb.DuckDBPyConnection, base: Status) -> Status:
    present = {name for (name,) in con.execute("select table_name from duckdb_tables()").fetchall()}
    if not {"submissions", "responses"} <= present:
        return base
    last = None
    included = 0
    if "releases" in present:
        rows = con.execute(
            "select release_no, published_at, policy, coalesce(max_submission_id, 0) "
            "from releases order by release_no desc limit 1"
        ).fetchall()
        if rows:
            number, published, policy, included = rows[0]
            last = {"release_no": number, "published_at": published.isoformat(), "policy": policy}
    days = [
        {**row, "training_day": row["training_day"].isoformat()}
        for row in con.sql(_days_query(present), params={"included": included}).pl().to_dicts()
    ]
    rejected = [
        {
            "region": region,
            "file": printable(name),
            "n_problems": problems,
            "first_problem": _first_problem(stored),
            "report": str(report_path(Path(stored))) if stored else None,
        }
        for region, name, problems, stored in con.execute(
            "select region, file_name, n_problems, stored_as from submissions "
            "where status = 'rejected' order by region, submission_id"
        ).fetchall()
    ]
    [(duplicates,)] = con.execute(
        "select count(*) from submissions where status = 'duplicate'"
    ).fetchall()
    return Status(
        base.warehouse,
        base.run_in_progress,
        last,
        days,
        rejected,
        int(duplicates),
        base.waiting,
    )


def _first_problem(stored: str | None) -> str | None:
    """Where the report's first problem is (row and column), never what was found there."""
    if not stored:
        return None
    try:
        text = report_path(Path(stored)).read_text(encoding="utf-8")
    except OSError:
        return None
    found = _FIRST_PROBLEM.search(text)
    return found.group(1) if found else None


def render(state: Status) -> str:
    lines = []
    if state.run_in_progress:
        lines.append(f"a run is in progress: {state.run_in_progress}")
    release = state.last_release
    lines.append(
        f"last release: {release['release_no']}, published {release['published_at']}, "
        f"policy {release['policy']}"
        if release
        else "last release: none yet"
    )
    lines.append("")
    lines.append(
        "region | training day | files | ingested | responses | repeated | in last release "
        "| replaced"
    )
    for day in state.days:
        included = "yes" if day["in_last_release"] else "not yet"
        lines.append(
            f"{day['region']} | {day['training_day']} | {day['n_files']} | {day['n_ingested']} | "
            f"{day['n_responses']} | {day['n_repeated']} | {included} | {day['n_replaced']}"
        )
    if not state.days:
        lines.append("(nothing ingested yet)")
    if state.rejected:
        lines.append("")
        lines.append("rejected:")
        for file in state.rejected:
            where = f", first at {file['first_problem']}" if file["first_problem"] else ""
            lines.append(
                f"  {file['region']}/{file['file']}: {file['n_problems']} problem(s){where}; "
                f"report {file['report']}"
            )
    if state.duplicates:
        lines.append(f"duplicates (already ingested, not counted again): {state.duplicates}")
    lines.append("")
    lines.append(f"waiting in the drop folder: {len(state.waiting)}")
    lines += [f"  {name}" for name in state.waiting]
    return "\n".join(lines) + "\n"
