"""Crontab lines as staff write them (standard crontab meaning) turned into APScheduler 3.x triggers.

Two quirks of APScheduler 3.x make a line copied from any cron guide run on other days:
- its `day_of_week` numbers Monday as 0 (its own docs call this a historical mistake, fixed only
  in 4.x), while crontab numbers Sunday as 0 (and 7) and Monday as 1: `1-5` would run Tue–Sat;
- it ANDs day-of-month with day-of-week, while crontab fires when either matches once both are
  restricted (`0 9 1 * 1` = the 1st of the month and every Monday).
So the weekday field is translated to APScheduler's day names (names keep their meaning), and a
line restricting both day fields becomes an OrTrigger of two CronTriggers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, tzinfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

# crontab numbering: index = crontab number (7 is Sunday again)
CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
KOREAN_DAYS = "월화수목금토일"  # datetime.weekday() order
_PART = re.compile(r"^(?P<range>\*|\?|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(?P<step>\d+))?$")


def _day_number(token: str, field: str) -> int:
    if token.isdigit():
        value = int(token)
        if value > 7:
            raise ValueError(f"weekday {token} in '{field}' is out of range (0–7, 0 and 7 = Sunday)")
        return value
    name = token[:3]
    if token not in CRON_DAYS and token not in {
        "sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"
    }:  # fmt: skip
        raise ValueError(f"'{token}' in '{field}' is not a weekday (use 0–7 or sun, mon, … sat)")
    return CRON_DAYS.index(name)


def weekdays(field: str) -> set[int]:
    """The crontab weekday numbers (0 = Sunday … 6 = Saturday) a day-of-week field names.

    Accepts `*`, `?`, numbers 0–7, names, ranges (`1-5`, `mon-fri`, `5-7`, `sat-sun`), lists and
    steps (`*/2`, `1-5/2`). Raises ValueError naming the part that is wrong.
    """
    days: set[int] = set()
    for part in field.lower().split(","):
        m = _PART.match(part.strip())
        if not m:
            raise ValueError(f"'{part}' in day-of-week '{field}' is not a weekday, range or step")
        step = int(m["step"]) if m["step"] else 1
        if step < 1:
            raise ValueError(f"step 0 in day-of-week '{field}'")
        span = m["range"]
        if span in ("*", "?"):
            first, last = 0, 6
        elif "-" in span:
            a, b = span.split("-")
            first, last = _day_number(a, field), _day_number(b, field)
            if last < first and last == 0 and not b.isdigit():
                last = 7  # `sat-sun`: a name range ending on Sunday, as APScheduler reads it today
            if last < first:
                raise ValueError(f"range '{span}' in day-of-week '{field}' runs backwards")
        else:
            first = _day_number(span, field)
            if m["step"]:
                raise ValueError(f"'{part}' in day-of-week '{field}': write a range with a step, like 1-5/2")
            last = first
        days.update(d % 7 for d in range(first, last + 1, step))
    return days


def apscheduler_day_of_week(field: str) -> str:
    """A crontab day-of-week field as APScheduler 3.x reads it: `*` or a list of day names."""
    days = weekdays(field)
    if days == set(range(7)):
        return "*"
    monday_first = [1, 2, 3, 4, 5, 6, 0]
    return ",".join(CRON_DAYS[d] for d in monday_first if d in days)


def trigger(line: str, timezone: tzinfo | str) -> BaseTrigger:
    """The trigger for a 5-field crontab line (minute hour day month weekday), standard meaning.

    Raises ValueError with a message that names the field that is wrong.
    """
    fields = line.split()
    if len(fields) != 5:
        raise ValueError(
            f"'{line}' has {len(fields)} fields; a crontab line has 5: minute hour day month weekday "
            "(e.g. '30 8 * * 1-5' = weekdays at 08:30)"
        )
    minute, hour, day, month, dow = fields
    translated = apscheduler_day_of_week(dow)

    def cron(day_field: str, dow_field: str) -> CronTrigger:
        try:
            return CronTrigger(
                minute=minute, hour=hour, day=day_field, month=month, day_of_week=dow_field,
                timezone=timezone,
            )  # fmt: skip
        except ValueError as e:
            raise ValueError(f"'{line}': {e}") from None

    if not day.startswith(("*", "?")) and not dow.startswith(("*", "?")):
        # crontab: a day matching either field fires (man 5 crontab)
        return OrTrigger([cron(day, "*"), cron("*", translated)])
    return cron(day, translated)


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
