"""`monitor run` and `monitor status`: scheduler wiring, signals, the lock, reload, health."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from apscheduler.triggers.interval import IntervalTrigger
from click.testing import Result
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import Settings
from monitor.crontab import CrontabTrigger
from monitor.jobs import Job, health_digests, run_alerts
from monitor.logs import JsonFormatter, RedactSecrets
from monitor.service import JOB_DEFAULTS, Runtime, build_scheduler, describe
from monitor.store import Store
from monitor.text import SEOUL, now
from tests.feeds import Entry, feed
from tests.slack_api import FakeSlack

Cli = Callable[..., Result]


def settings(workdir: Path) -> Settings:
    return Settings(db=workdir / "monitor.db", sources=workdir / "sources.yaml", rules=workdir / "rules")


def rss(server: HTTPServer, sid: str, path: str = "/rss", **extra: Any) -> dict[str, Any]:
    return {"id": sid, "kind": "rss", "name": f"피드 {sid}", "url": server.url_for(path), **extra}


def test_scheduler_has_the_right_jobs_triggers_and_kst_times(
    server: HTTPServer, write_sources: Callable[..., Path], workdir: Path
) -> None:
    path = write_sources(
        [rss(server, "a", interval="30m"), rss(server, "b", interval="6h"), rss(server, "off", enabled=False)]
    )
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["notify"] = {"daily": {"cron": "30 8 * * mon-fri"}, "weekly": {"cron": "0 9 * * mon"}}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    runtime = Runtime(settings(workdir))
    scheduler = build_scheduler(runtime, blocking=False)
    jobs = {j.id: j for j in scheduler.get_jobs()}
    assert set(jobs) == {"poll:a", "poll:b", "digest:daily", "digest:weekly", "deliveries", "service:reload",
                         "prune"}  # fmt: skip
    assert scheduler._job_defaults == {**JOB_DEFAULTS}
    assert str(scheduler.timezone) == "Asia/Seoul"
    a = jobs["poll:a"].trigger
    assert isinstance(a, IntervalTrigger) and a.interval.total_seconds() == 1800 and a.jitter == 180
    assert jobs["poll:a"].misfire_grace_time >= 600 and jobs["digest:daily"].misfire_grace_time >= 3600
    daily = jobs["digest:daily"].trigger
    assert isinstance(daily, CrontabTrigger) and daily.line == "30 8 * * mon-fri"
    friday_noon = datetime(2026, 9, 11, 12, 0, tzinfo=SEOUL)
    assert daily.get_next_fire_time(None, friday_noon) == datetime(2026, 9, 14, 8, 30, tzinfo=SEOUL)  # Monday
    weekly = jobs["digest:weekly"].trigger
    assert weekly.get_next_fire_time(None, friday_noon) == datetime(2026, 9, 14, 9, 0, tzinfo=SEOUL)
    prune = jobs["prune"].trigger  # retention, every day at a quiet hour
    assert prune.get_next_fire_time(None, friday_noon) == datetime(2026, 9, 12, 3, 40, tzinfo=SEOUL)
    listing = {job_id: when for job_id, _, when in describe(scheduler)}
    assert listing["digest:daily"].endswith("08:30:00 KST") and listing["poll:a"].endswith("KST")


def slow_feed(delay: float, arrived: list[float] | None = None) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        if arrived is not None:
            arrived.append(time.monotonic())  # the request is in: the server logs it only when done
        time.sleep(delay)
        return Response(feed([Entry(1, "마을기업 소식")]), content_type="application/rss+xml")

    return handler


def start_service(workdir: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MONITOR_LOG_LEVEL": "INFO"}
    for var in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SMTP_HOST"):
        env.pop(var, None)
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", *args], cwd=workdir, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def wait_for(predicate: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def test_sigterm_during_a_poll_exits_0_and_leaves_the_db_consistent(
    server: HTTPServer, write_sources: Callable[..., Path], workdir: Path
) -> None:
    arrived: list[float] = []
    server.expect_request("/rss").respond_with_handler(slow_feed(6, arrived))
    write_sources([rss(server, "slow")], http={"host_spacing": 0, "retries": 0, "read_timeout": 30})
    proc = start_service(workdir, "--grace", "1")
    wait_for(lambda: bool(arrived))
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "예정된 작업" in out and "poll:slow" in out
    with sqlite3.connect(workdir / "monitor.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone() == (0,)  # nothing half-written
    # the next start closes the abandoned run and polls normally
    server.clear()
    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    server.expect_request("/rss").respond_with_handler(slow_feed(0))
    proc = start_service(workdir)
    wait_for(lambda: _count(workdir, "SELECT COUNT(*) FROM items") == 1)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0 and "서비스 종료" in out
    assert _count(workdir, "SELECT COUNT(*) FROM runs WHERE status = 'aborted'") == 1
    assert _count(workdir, "SELECT COUNT(*) FROM runs WHERE status = 'running'") == 0


def _count(workdir: Path, sql: str) -> int:
    try:
        with sqlite3.connect(workdir / "monitor.db") as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return -1


def test_a_second_service_on_the_same_db_is_refused(
    server: HTTPServer, write_sources: Callable[..., Path], workdir: Path
) -> None:
    server.expect_request("/rss").respond_with_handler(slow_feed(0))
    write_sources([rss(server, "a")])
    first = start_service(workdir)
    try:
        wait_for(
            lambda: (
                (workdir / "monitor.db.lock").exists()
                and (workdir / "monitor.db.lock").read_text().strip() != ""
            )
        )
        second = subprocess.run(
            [sys.executable, "-m", "monitor", "run"], cwd=workdir, capture_output=True, text=True, timeout=30
        )
        assert second.returncode != 0
        assert f"pid {first.pid}" in second.stderr and "already using" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=20)
    assert first.returncode == 0


def test_reload_takes_a_valid_change_and_keeps_the_last_good_config_on_a_bad_one(
    server: HTTPServer, write_sources: Callable[..., Path], workdir: Path, slack: FakeSlack
) -> None:
    path = write_sources([rss(server, "a")])
    runtime = Runtime(settings(workdir))
    Store(workdir / "monitor.db").close()
    scheduler = build_scheduler(runtime, blocking=False)
    assert runtime.reload() is False  # nothing changed
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("sources:", "sources:\n- {id: b, kind: rss, name: 피드 b, url: 'http://127.0.0.1:9/b'}"),
        encoding="utf-8",
    )
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert runtime.reload() is True
    assert {s.id for s in runtime.config.sources} == {"a", "b"}
    assert "poll:b" in {j.id for j in scheduler.get_jobs()}
    good = runtime.config
    rule = workdir / "rules" / "community-enterprise.yaml"
    rule.write_text(rule.read_text(encoding="utf-8").replace("any:", "anyy:"), encoding="utf-8")
    os.utime(rule, (time.time() + 10, time.time() + 10))
    assert runtime.reload() is False
    assert runtime.config is good  # still on the last good one
    (alert,) = slack.posts
    assert "설정 오류" in alert["text"] and "unknown key 'anyy'" in json.dumps(
        alert["blocks"], ensure_ascii=False
    )
    assert runtime.reload(force=True) is False and len(slack.posts) == 1  # the same error alerts once


def test_health_alert_after_three_failures_once_then_recovery(
    server: HTTPServer, write_sources: Callable[..., Path], workdir: Path, slack: FakeSlack, cli: Cli
) -> None:
    state = {"status": 500}

    def flaky(request: Request) -> Response:
        if state["status"] != 200:
            return Response("down", status=state["status"])
        return Response(feed([Entry(1, "도로 소식")]), content_type="application/rss+xml")

    server.expect_request("/rss").respond_with_handler(flaky)
    write_sources([rss(server, "flaky")])
    for _ in range(2):
        cli("poll")
    assert not [p for p in slack.posts if "소스 장애" in p["text"]]
    cli("poll")
    alerts = [p for p in slack.posts if "소스 장애" in p["text"]]
    assert len(alerts) == 1 and "HTTP 500" in json.dumps(alerts[0]["blocks"], ensure_ascii=False)
    cli("poll")  # still failing, same error: no new alert
    assert len([p for p in slack.posts if "소스 장애" in p["text"]]) == 1
    state["status"] = 503  # a different error in the same streak: one more alert
    cli("poll")
    assert len([p for p in slack.posts if "소스 장애" in p["text"]]) == 2
    state["status"] = 200
    cli("poll", ok=True)
    recovered = [p for p in slack.posts if "복구" in p["text"]]
    assert len(recovered) == 1
    cli("poll", ok=True)
    assert len([p for p in slack.posts if "복구" in p["text"]]) == 1


def test_stale_source_raises_one_alert(
    workdir: Path, write_sources: Callable[..., Path], server: HTTPServer
) -> None:
    from monitor.config import load_rules, load_sources

    write_sources([rss(server, "quiet", interval="1h")])
    store = Store(workdir / "monitor.db")
    old = (now().replace(microsecond=0) - __import__("datetime").timedelta(hours=5)).isoformat()
    store.save_state("quiet", last_success_at=old, last_run_at=old, consecutive_failures=0)
    job = Job(store, load_sources(workdir / "sources.yaml"), load_rules(workdir / "rules"), now().date())
    (digest,) = health_digests(job)
    assert digest.title.startswith("⏳ 소스 멈춤") and "5시간째" in digest.sections[0].note
    store.close()


def test_status_exit_codes(server: HTTPServer, write_sources: Callable[..., Path], cli: Cli) -> None:
    state = {"ok": True}
    server.expect_request("/rss").respond_with_handler(
        lambda r: Response(feed([Entry(1, "소식")])) if state["ok"] else Response("x", status=500)
    )
    write_sources([rss(server, "a")])
    cli("poll", ok=True)
    healthy = cli("status", "--json")
    assert healthy.exit_code == 0 and json.loads(healthy.stdout)["status"] == "healthy"
    state["ok"] = False
    cli("poll")
    assert cli("status").exit_code == 1
    cli("poll")
    cli("poll")
    failing = cli("status", "--json")
    body = json.loads(failing.stdout)
    assert failing.exit_code == 2 and body["status"] == "failing"
    assert body["sources"][0]["consecutive_failures"] == 3 and "HTTP 500" in body["sources"][0]["last_error"]
    assert "장애" in cli("status").output


def test_json_logs_carry_source_and_run_and_never_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_GO_KR_KEY", "sentinel-secret-4242")
    message = "source %s run %s failed: GET https://api.example/x?serviceKey=%s"
    args = ("press", 7, "sentinel-secret-4242")
    record = logging.LogRecord("monitor.ingest", logging.WARNING, __file__, 1, message, args, None)

    record.source, record.run_id = "press", 7
    assert RedactSecrets().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["source"] == "press" and line["run_id"] == 7 and line["level"] == "WARNING"
    assert "sentinel-secret-4242" not in json.dumps(line) and "serviceKey=***" in line["message"]


def test_poll_logs_json_lines_without_secrets(
    server: HTTPServer, write_sources: Callable[..., Path], workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.expect_request("/rss").respond_with_data("boom", status=500)
    write_sources([rss(server, "down")])
    env = {**os.environ, "ASSEMBLY_API_KEY": "sentinel-key-999", "MONITOR_LOG_LEVEL": "DEBUG"}
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--log-format", "json", "poll"], cwd=workdir, env=env,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lines = [json.loads(x) for x in done.stderr.splitlines() if x.startswith("{")]
    failed = [x for x in lines if x.get("source") == "down" and "failed" in x["message"]]
    assert failed and failed[0]["run_id"] == 1
    assert "sentinel-key-999" not in done.stderr + done.stdout


def test_run_refuses_a_broken_config(
    write_sources: Callable[..., Path], server: HTTPServer, cli: Cli
) -> None:
    write_sources([dict(rss(server, "a"), kind="rsss")])
    result = cli("run")
    assert result.exit_code == 2 and "unknown kind 'rsss'" in result.output


def test_alerts_need_a_real_transport(workdir: Path, write_sources: Callable[..., Path], server: HTTPServer,
                                      monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    from monitor.config import load_rules, load_sources

    for var in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    write_sources([rss(server, "a")])
    store = Store(workdir / "monitor.db")
    for _ in range(3):
        store.record_failure("a", "failed", "HTTP 500")
    job = Job(store, load_sources(workdir / "sources.yaml"), load_rules(workdir / "rules"), now().date())
    assert health_digests(job) and run_alerts(job) == []  # console: shown by status, not "sent"
    store.close()
