"""The training-day calendar as Prefect schedules: one rule for the training days (each at the
run time, local time in the configured zone) and a daily sweep for late files. The same rules
tell the operator the next runs, computed the way Prefect's scheduler computes them, so what
`reflect-eval schedule` prints is what `serve` will do."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from prefect.schedules import Cron, RRule, Schedule
from prefect.server.schemas.schedules import CronSchedule, RRuleSchedule

from schemas.config import Schedule as Calendar

TRAINING_DAY = "training day"
SWEEP = "daily sweep for late files"


@dataclass(frozen=True)
class Rule:
    kind: str
    text: str
    """An RRULE (training days) or a cron string (the sweep), in local time."""


def rules(calendar: Calendar) -> list[Rule]:
    found = []
    if calendar.training_days:
        stamps = [
            dt.datetime.combine(day, calendar.run_at).strftime("%Y%m%dT%H%M%S")
            for day in sorted(calendar.training_days)
        ]
        found.append(Rule(TRAINING_DAY, f"DTSTART:{stamps[0]}\nRDATE:{','.join(stamps)}"))
    if calendar.daily_sweep is not False:
        sweep = calendar.daily_sweep
        found.append(Rule(SWEEP, f"{sweep.minute} {sweep.hour} * * *"))
    return found


def prefect_schedules(calendar: Calendar) -> list[Schedule]:
    return [
        RRule(rule.text, timezone=calendar.time_zone, slug="training-days")
        if rule.kind == TRAINING_DAY
        else Cron(rule.text, timezone=calendar.time_zone, slug="daily-sweep")
        for rule in rules(calendar)
    ]


def next_runs(
    calendar: Calendar, *, count: int = 10, after: dt.datetime | None = None
) -> list[tuple[dt.datetime, str]]:
    """The next `count` runs of each rule after `after` (now), with why each runs, in local
    time, in order."""
    start = after or dt.datetime.now(dt.UTC)
    found: list[tuple[dt.datetime, str]] = []
    for rule in rules(calendar):
        schedule = (
            RRuleSchedule(rrule=rule.text, timezone=calendar.time_zone)
            if rule.kind == TRAINING_DAY
            else CronSchedule(cron=rule.text, timezone=calendar.time_zone)
        )
        dates = asyncio.run(schedule.get_dates(count, start=start))
        local = ZoneInfo(calendar.time_zone)
        found += [
            (dt.datetime.fromisoformat(d.isoformat()).astimezone(local), rule.kind) for d in dates
        ]
    return sorted(found, key=lambda run: (run[0], run[1]))
