"""Crontab lines as staff write them (standard crontab meaning), as APScheduler 3.x triggers.

APScheduler 3.x's own CronTrigger reads a line differently from every cron guide: its
`day_of_week` numbers Monday as 0 (its docs call this a historical mistake, fixed only in 4.x)
where crontab numbers Sunday as 0 and 7 and Monday as 1, so `1-5` would run Tue–Sat; and it ANDs
day-of-month with day-of-week where crontab fires when either matches. So the schedule is not
given to CronTrigger at all: `CrontabTrigger` asks `cronsim` (the crontab implementation behind
Healthchecks.io) for the next fire time, and APScheduler only runs the job then.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from cronsim import CronSim, CronSimError

KOREAN_DAYS = "월화수목금토일"  # datetime.weekday() order
FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_FIELD_HELP = {
    "minute": "0–59", "hour": "0–23", "day-of-month": "1–31", "month": "1–12 or jan…dec",
    "day-of-week": "0–7 (0 and 7 = Sunday, 1 = Monday) or sun…sat",
}  # fmt: skip


def _check(line: str) -> None:
    """Raise ValueError naming the part of a crontab line that is wrong."""
    fields = line.split()
    if len(fields) != 5:
        raise ValueError(
            f"'{line}' has {len(fields)} fields; a crontab line has 5: minute hour day month weekday "
            "(e.g. '30 8 * * 1-5' = weekdays at 08:30)"
        )
    try:
        CronSim(line, datetime(2026, 1, 1))
    except CronSimError as e:
        # cronsim says "Bad day-of-week" and the like: name the field and what it holds
        bad = next((n for n in FIELDS if n in str(e)), None)
        if bad is None:
            raise ValueError(f"'{line}': {e}") from None
        value = fields[FIELDS.index(bad)]
        raise ValueError(f"'{line}': the {bad} field '{value}' is not valid ({_FIELD_HELP[bad]})") from None


class CrontabTrigger(BaseTrigger):
    """Fires at the times a 5-field crontab line names, read with its standard meaning (cronsim)."""

    def __init__(self, line: str, timezone: tzinfo | str) -> None:
        _check(line)
        self.line = line
        self.timezone = ZoneInfo(timezone) if isinstance(timezone, str) else timezone

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        """The first fire time at or after `now` (or just after the previous one, if earlier).

        Mirrors APScheduler's CronTrigger: a missed fire time after `previous_fire_time` is
        still returned, so the scheduler's misfire grace can decide whether to run it.
        """
        start = now
        if previous_fire_time is not None:
            start = min(now, previous_fire_time + timedelta(microseconds=1))
            if start == previous_fire_time:
                start += timedelta(microseconds=1)
        local = start.astimezone(self.timezone).replace(tzinfo=None)
        # cronsim yields times strictly after its start, in the wall time it is given
        when = next(CronSim(self.line, local - timedelta(microseconds=1)), None)
        return when.replace(tzinfo=self.timezone) if when else None

    def __str__(self) -> str:
        return f"crontab[{self.line}]"

    def __repr__(self) -> str:
        return f"<CrontabTrigger ({self.line!r}, timezone={self.timezone})>"


def trigger(line: str, timezone: tzinfo | str) -> CrontabTrigger:
    """The trigger for a 5-field crontab line (minute hour day month weekday), standard meaning.

    Raises ValueError with a message that names the field that is wrong.
    """
    return CrontabTrigger(line, timezone)


def next_fire_times(trig: BaseTrigger, start: datetime, count: int = 3) -> list[datetime]:
    """The next `count` fire times of a trigger after `start`."""
    out: list[datetime] = []
    previous: datetime | None = None
    now = start
    while len(out) < count:
        when = trig.get_next_fire_time(previous, now)
        if when is None:
            break
        out.append(when)
        previous, now = when, when
    return out


def korean_times(times: Iterable[datetime]) -> str:
    """`12/1 (화) 08:30, 12/2 (수) 08:30` for fire times."""
    return ", ".join(f"{t.month}/{t.day} ({KOREAN_DAYS[t.weekday()]}) {t:%H:%M}" for t in times)


def schedule_lines(
    schedules: Iterable[tuple[str, str, bool]], timezone: tzinfo, start: datetime, count: int = 3
) -> list[str]:
    """`일일 다이제스트: 12/1 (화) 08:30, …` for each (label, crontab line, enabled)."""
    lines = []
    for label, line, enabled in schedules:
        if not enabled:
            lines.append(f"{label}: 꺼짐 (enabled: false)")
            continue
        times = next_fire_times(trigger(line, timezone), start, count)
        lines.append(f"{label}: {korean_times(times)} …  ({line})")
    return lines
