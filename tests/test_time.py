"""Time that does not lie: a late start still sends the day's digest; a clock set back loses nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from click.testing import Result

from monitor.config import Settings
from monitor.service import DIGEST_GRACE, Runtime, missed_digests
from monitor.store import Store
from monitor.text import now
from tests.seed import press
from tests.slack_api import FakeSlack
from tests.test_delivery import COOP, seeded  # noqa: F401  (seeded: a fixture)

Cli = Callable[..., Result]


def set_notify(workdir: Path, notify: dict[str, Any], enabled: bool = True) -> None:
    path = workdir / "sources.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["notify"] = notify
    for source in doc["sources"]:
        source["enabled"] = enabled
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")


def daily_posts(slack: FakeSlack) -> list[dict[str, Any]]:
    return [p for p in slack.posts if p["text"].startswith("정책 모니터 일일 다이제스트")]


def test_a_service_started_after_the_digest_time_sends_that_days_digest(
    slack: FakeSlack, seeded, workdir: Path
) -> None:
    seeded()
    fired = now() - timedelta(minutes=3)
    set_notify(workdir, {"daily": {"cron": f"{fired.minute} {fired.hour} * * *"}}, enabled=False)
    env = {**os.environ, "MONITOR_LOG_LEVEL": "INFO"}
    proc = subprocess.Popen([sys.executable, "-m", "monitor", "run"], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not daily_posts(slack) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    (post,) = daily_posts(slack)
    assert COOP in slack.texts()[slack.posts.index(post)]
    assert "늦게 시작해 곧 보냅니다" in out and "일일 다이제스트:" in out
    # the next start knows the day's digest ran: nothing is scheduled to catch up
    with sqlite3.connect(workdir / "monitor.db") as conn:
        runs = conn.execute("SELECT status FROM runs WHERE source = 'job:digest:daily'").fetchall()
    assert runs == [("ok",)]
    runtime = Runtime(Settings(workdir / "monitor.db", workdir / "sources.yaml", workdir / "rules"))
    assert missed_digests(runtime, now()) == []


def test_only_a_digest_missed_within_the_grace_is_caught_up(seeded, workdir: Path) -> None:
    seeded()
    settings = Settings(workdir / "monitor.db", workdir / "sources.yaml", workdir / "rules")
    start = now().replace(second=0, microsecond=0)
    for late, expected in ((timedelta(minutes=2), True), (timedelta(seconds=DIGEST_GRACE + 600), False)):
        fired = start - late
        set_notify(workdir, {"daily": {"cron": f"{fired.minute} {fired.hour} * * *"},
                             "weekly": {"cron": "0 9 * * 1", "enabled": False}})  # fmt: skip
        missed = missed_digests(Runtime(settings), start)
        assert (missed == [("daily", fired)]) is expected, (late, missed)


def test_a_poll_under_a_clock_set_back_does_not_make_its_items_old(
    slack: FakeSlack, seeded, cli: Cli, workdir: Path
) -> None:
    from monitor.config import load_rules
    from tests.seed import poll

    seeded()
    cli("digest", "daily", ok=True)
    urgent_before = [p for p in slack.posts if p["text"].startswith("🔴")]
    store = Store(workdir / "monitor.db")
    first_new = store.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM events").fetchone()[0]
    rules = load_rules(workdir / "rules")
    poll(store, rules, "mois", [press(20, "마을기업 새 소식"), press(21, "「협동조합 기본법」 개정 공청회")])
    # that poll ran while the machine's clock said 2020
    store.db.execute("UPDATE events SET created_at = '2020-01-01T09:00:00+09:00' WHERE id >= ?", [first_new])
    store.db.conn.commit()
    store.close()
    cli("poll", "mois")  # the alerts after a poll (the source itself is unreachable here)
    urgent = [p for p in slack.posts if p["text"].startswith("🔴")]
    assert len(urgent) == len(urgent_before) + 1 and "개정 공청회" in urgent[-1]["text"]
    result = cli("digest", "daily", "--date", (now().date() + timedelta(days=1)).isoformat(), ok=True)
    assert "생략" not in "".join(slack.texts()) and result.exit_code == 0
    assert "마을기업 새 소식" in slack.texts()[-1]
