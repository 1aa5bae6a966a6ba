"""Digest schedules mean what staff wrote: standard crontab days, shown before the service runs."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from cronsim import CronSim

from monitor.config import Settings, load_sources
from monitor.crontab import next_fire_times, trigger
from monitor.service import Runtime, build_scheduler
from monitor.text import SEOUL

CASES = Path(__file__).parent / "fixtures" / "cases"
Cli = Callable[..., Result]


def fire_times(line: str, start: datetime, count: int) -> list[datetime]:
    return next_fire_times(trigger(line, SEOUL), start, count)


def test_case_12_runs_the_daily_digest_mon_fri_and_the_weekly_summary_on_monday(workdir: Path) -> None:
    shutil.copy(CASES / "12-cron-numeric-dow.yaml", workdir / "sources.yaml")
    settings = Settings(db=workdir / "monitor.db", sources=workdir / "sources.yaml", rules=workdir / "rules")
    scheduler = build_scheduler(Runtime(settings), blocking=False)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=SEOUL)
    daily = next_fire_times(jobs["digest:daily"].trigger, saturday, 10)
    assert [d.strftime("%a %H:%M") for d in daily[:5]] == [
        "Mon 08:30", "Tue 08:30", "Wed 08:30", "Thu 08:30", "Fri 08:30"
    ]  # fmt: skip
    assert {d.weekday() for d in daily} == {0, 1, 2, 3, 4}
    weekly = next_fire_times(jobs["digest:weekly"].trigger, saturday, 4)
    assert weekly[0] == datetime(2026, 11, 30, 9, 0, tzinfo=SEOUL)
    assert {(w.weekday(), w.hour, w.minute) for w in weekly} == {(0, 9, 0)}


@pytest.mark.parametrize(
    "line",
    [
        "30 8 * * 1-5", "0 9 * * 1", "0 9 * * 0", "0 9 * * 7", "0 9 * * 5-7", "0 9 * * 0,6",
        "0 9 * * */2", "0 9 * * 1-5/2", "15 7 * * mon-fri", "0 9 * * sun", "0 9 * * MON,wed",
        "0 9 1 * 1", "0 9 13 * 5", "*/30 9-17 * * 1-5", "0 0 1 1 *", "0 9 * * *",
    ],
)
def test_fire_times_match_a_reference_crontab_implementation(line: str) -> None:
    start = datetime(2026, 11, 28, 12, 0, tzinfo=SEOUL)
    expected = []
    for when in CronSim(line, start.replace(tzinfo=None)):
        expected.append(when.replace(tzinfo=SEOUL))
        if len(expected) == 40:
            break
    assert fire_times(line, start, 40) == expected


def days(line: str) -> set[str]:
    start = datetime(2026, 11, 28, 12, 0, tzinfo=SEOUL)
    return {d.strftime("%a") for d in fire_times(line, start, 14)}


def test_numbers_and_names_mean_what_crontab_says() -> None:
    weekdays = {"Mon", "Tue", "Wed", "Thu", "Fri"}
    assert days("0 9 * * 1-5") == days("0 9 * * mon-fri") == weekdays
    assert days("0 9 * * 0") == days("0 9 * * 7") == days("0 9 * * sun") == {"Sun"}
    assert days("0 9 * * 0-6") == weekdays | {"Sat", "Sun"}
    assert days("0 9 * * sat,sun") == {"Sat", "Sun"}
    # both day fields restricted: either matching fires (man 5 crontab), not both
    start = datetime(2026, 11, 28, 12, 0, tzinfo=SEOUL)
    firsts = fire_times("0 9 1 * 1", start, 3)
    assert [(d.month, d.day) for d in firsts] == [(11, 30), (12, 1), (12, 7)]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("30 8 * *", "has 4 fields"),
        ("30 8 * * 8", "day-of-week field '8'"),
        ("30 8 * * 5-1", "day-of-week field '5-1'"),
        ("30 8 * * funday", "'funday'"),
        ("61 8 * * 1", "minute field '61'"),
    ],
)
def test_a_wrong_crontab_line_is_a_clear_config_error(
    line: str, words: str, workdir: Path, write_sources: Callable[..., Path], cli: Cli
) -> None:
    import yaml

    path = write_sources([{"id": "a", "kind": "rss", "name": "피드", "url": "http://127.0.0.1:9/rss"}])
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["notify"] = {"daily": {"cron": line}}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    result = cli("rules", "check")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "notify daily cron" in result.output and words in result.output


def test_rules_check_shows_the_next_three_fire_times_in_korean(workdir: Path, cli: Cli) -> None:
    shutil.copy(CASES / "12-cron-numeric-dow.yaml", workdir / "sources.yaml")
    out = cli("rules", "check", ok=True).output
    daily = re.search(r"일일 다이제스트: (.*)", out).group(1)
    weekly = re.search(r"주간 요약: (.*)", out).group(1)
    days = re.findall(r"\d+/\d+ \((.)\) (\d\d:\d\d)", daily)
    assert len(days) == 3 and all(d in "월화수목금" and t == "08:30" for d, t in days)
    assert re.findall(r"\d+/\d+ \((.)\) (\d\d:\d\d)", weekly) == [("월", "09:00")] * 3
    config = load_sources(workdir / "sources.yaml")
    first = fire_times(config.notify.daily.cron, datetime.now(SEOUL), 1)[0]
    assert f"{first.month}/{first.day} ({'월화수목금토일'[first.weekday()]}) 08:30" in daily
    assert first - datetime.now(SEOUL) < timedelta(days=4)
