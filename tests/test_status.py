"""`monitor status` tells the truth (issues 12.3, 17.3, 17.6): sources not yet collected, stuck
polls, failing jobs, a missing, damaged or unwritable DB; read commands never create a DB."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from pytest_httpserver import HTTPServer

from monitor.config import Settings
from monitor.service import Runtime, _listener
from monitor.store import Store
from monitor.text import iso, now
from tests.feeds import Entry, feed
from tests.guard import monitor, one_line_error

READ_COMMANDS = [
    ("status",),
    ("status", "--json"),
    ("items",),
    ("events",),
    ("digest", "daily", "--dry-run"),
    ("digest", "weekly", "--html", "-"),
    ("deliveries",),
    ("calendar",),
]


def rss(server: HTTPServer, sid: str) -> dict[str, Any]:
    return {"id": sid, "kind": "rss", "name": f"피드 {sid}", "url": server.url_for(f"/{sid}")}


@pytest.fixture
def two_feeds(server: HTTPServer, write_sources: Callable[..., Path], workdir: Path) -> Path:
    """Two RSS sources on the loopback server, `a` with a flagged item, `b` with none."""
    server.expect_request("/a").respond_with_data(feed([Entry(1, "신규 마을기업 선정 공고")]))
    server.expect_request("/b").respond_with_data(feed([Entry(2, "도로 보수 안내")]))
    write_sources([rss(server, "a"), rss(server, "b")])
    return workdir


def test_a_source_never_collected_is_not_healthy_until_every_source_ran(two_feeds: Path) -> None:
    assert monitor(two_feeds, "poll", "a").returncode == 0
    text = monitor(two_feeds, "status")
    assert text.returncode == 1
    assert "b" in text.stdout and "아직 수집 전" in text.stdout and "상태: 일부 문제" in text.stdout
    body = json.loads(monitor(two_feeds, "status", "--json").stdout)
    states = {s["id"]: (s["state"], s["ok"], s["never_run"]) for s in body["sources"]}
    assert body["status"] == "degraded" and states == {"a": ("ok", True, False), "b": ("never", False, True)}
    # the digest footer counts it the same way (one verdict, monitor/health.py)
    preview = monitor(two_feeds, "digest", "daily", "--dry-run")
    assert preview.returncode == 0 and "소스 상태: 정상 1/2 · 피드 b 아직 수집 전" in preview.stdout
    assert monitor(two_feeds, "poll", "b").returncode == 0
    assert monitor(two_feeds, "status").returncode == 0
    assert "소스 상태: 정상 2/2" in monitor(two_feeds, "digest", "daily", "--dry-run").stdout


def test_a_fresh_db_with_no_poll_yet_is_degraded_not_healthy(two_feeds: Path) -> None:
    Store(two_feeds / "monitor.db").close()  # what `monitor run` does before its first poll
    done = monitor(two_feeds, "status", "--json")
    body = json.loads(done.stdout)
    assert done.returncode == 1 and {s["state"] for s in body["sources"]} == {"never"}


@pytest.mark.parametrize("how", ["--db", "MONITOR_DB"])
@pytest.mark.parametrize("command", READ_COMMANDS, ids=" ".join)
def test_read_commands_on_a_missing_db_say_so_exit_2_and_create_nothing(
    two_feeds: Path, command: tuple[str, ...], how: str
) -> None:
    target = two_feeds / "typo" / "monitr.db"
    done = (
        monitor(two_feeds, "--db", str(target), *command)
        if how == "--db"
        else monitor(two_feeds, *command, MONITOR_DB=str(target))
    )
    assert done.returncode == 2
    if command == ("status", "--json"):
        body = json.loads(done.stdout)
        assert body["status"] == "failing" and str(target) in body["error"] and "MONITOR_DB" in body["error"]
    else:
        line = one_line_error(done)
        assert str(target) in line and "--db" in line and "MONITOR_DB" in line and "없습니다" in line
    assert not (two_feeds / "typo").exists()  # no folder, no file


def garbage(db: Path) -> None:
    db.write_bytes(b"this is not a database, just text a user saved over it\n" * 200)


@pytest.mark.parametrize(
    "command",
    [*READ_COMMANDS, ("poll",), ("digest", "daily"), ("sources",), ("run",)],
    ids=" ".join,
)
def test_a_damaged_db_is_one_line_naming_the_file_and_what_to_do(
    two_feeds: Path, command: tuple[str, ...]
) -> None:
    db = two_feeds / "monitor.db"
    garbage(db)
    done = monitor(two_feeds, *command)
    assert done.returncode == 2, done.stderr
    if command == ("status", "--json"):
        body = json.loads(done.stdout)
        assert body["status"] == "failing" and "손상" in body["error"] and str(db) in body["error"]
        return
    line = one_line_error(done)
    assert str(db) in line and "손상" in line and "백업" in line


def test_status_of_an_unwritable_db_is_failing_and_names_the_user_and_the_fix(two_feeds: Path) -> None:
    # a folder owned by root that the service user cannot write (the root-owned bind mount);
    # the commands run as `nobody`, since root ignores file modes
    folder = Path(tempfile.mkdtemp(prefix="pm-ro-"))
    folder.chmod(0o755)
    try:
        shutil.copy(two_feeds / "sources.yaml", folder)
        shutil.copytree(two_feeds / "rules", folder / "rules")
        assert monitor(folder, "poll").returncode == 0  # as root: the DB exists, owned by root
        done = monitor(folder, "status", "--json", nobody=True)
        body = json.loads(done.stdout)
        assert done.returncode == 2 and body["status"] == "failing"
        (problem,) = body["problems"]
        assert str(folder / "monitor.db") in problem and "nobody" in problem and "chown" in problem
        assert {s["state"] for s in body["sources"]} == {"ok"}  # it still reads the DB (read-only)
        reading = monitor(folder, "items", nobody=True)
        assert reading.returncode == 0 and "2 items" in reading.stdout
        writing = monitor(folder, "poll", nobody=True)
        assert writing.returncode == 2
        line = one_line_error(writing)
        assert str(folder / "monitor.db") in line and "nobody" in line and "chown" in line
        service = monitor(folder, "run", nobody=True)
        assert service.returncode == 2
        line = one_line_error(service)
        assert str(folder / "monitor.db.lock") in line and "nobody" in line and "chown" in line
    finally:
        shutil.rmtree(folder)


def test_a_lock_file_the_service_cannot_write_fails_status_not_polls(two_feeds: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="pm-lock-"))
    folder.chmod(0o777)
    try:
        shutil.copy(two_feeds / "sources.yaml", folder)
        shutil.copytree(two_feeds / "rules", folder / "rules")
        assert monitor(folder, "poll", nobody=True).returncode == 0  # the DB is nobody's
        lock = folder / "monitor.db.lock"
        lock.write_text("")  # left by a `monitor run` started as root
        body = json.loads(monitor(folder, "status", "--json", nobody=True).stdout)
        assert body["status"] == "failing" and str(lock) in body["problems"][0]
        assert monitor(folder, "poll", nobody=True).returncode == 0  # a poll takes no lock
        service = monitor(folder, "run", nobody=True)
        line = one_line_error(service)
        assert service.returncode == 2 and str(lock) in line and "nobody" in line
    finally:
        shutil.rmtree(folder)


RO_MOUNT = 'mount --bind -o ro "$1" "$1" && shift && exec "$@"'


def read_only_mount(folder: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run a command with folder bind-mounted read-only over itself (a `-v …:/data:ro` volume),
    in a private mount namespace: root cannot write there either."""
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", RO_MOUNT, "sh", str(folder), *command],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_read_only_volume_reads_but_refuses_writes_with_one_line(two_feeds: Path) -> None:
    import sys

    assert monitor(two_feeds, "poll").returncode == 0
    data = two_feeds / "data"
    data.mkdir()
    (two_feeds / "monitor.db").rename(data / "monitor.db")
    base = [sys.executable, "-m", "monitor", "--db", str(data / "monitor.db"),
            "--sources", str(two_feeds / "sources.yaml"), "--rules", str(two_feeds / "rules")]  # fmt: skip
    status = read_only_mount(data, *base, "status", "--json")
    body = json.loads(status.stdout)
    assert status.returncode == 2 and body["status"] == "failing", status.stderr
    assert "읽기 전용" in body["problems"][0] and str(data) in body["problems"][0]
    items = read_only_mount(data, *base, "items", "--flagged")
    assert items.returncode == 0 and "마을기업" in items.stdout
    for command in ("poll", "run"):
        done = read_only_mount(data, *base, command)
        assert done.returncode == 2
        line = one_line_error(done)
        assert str(data) in line and "읽기 전용" in line and "root" in line


def open_db(workdir: Path) -> sqlite3.Connection:
    return sqlite3.connect(workdir / "monitor.db")


def test_a_poll_stuck_past_its_deadline_makes_status_fail(two_feeds: Path) -> None:
    assert monitor(two_feeds, "poll").returncode == 0
    with open_db(two_feeds) as conn:  # a poll that started 5 minutes ago is just running
        conn.execute(
            "INSERT INTO runs (source, started_at, status) VALUES ('a', ?, 'running')",
            [iso(now() - timedelta(minutes=5))],
        )
    assert monitor(two_feeds, "status").returncode == 0
    with open_db(two_feeds) as conn:  # one open for two hours is stuck (or its process died)
        conn.execute(
            "INSERT INTO runs (source, started_at, status) VALUES ('b', ?, 'running')",
            [iso(now() - timedelta(hours=2))],
        )
    done = monitor(two_feeds, "status")
    assert done.returncode == 2 and "수집 멈춤: b" in done.stdout and "120분째" in done.stdout
    body = json.loads(monitor(two_feeds, "status", "--json").stdout)
    assert [(s["source"], s["minutes"]) for s in body["stuck_polls"]] == [("b", 120)]


def test_a_job_that_keeps_failing_makes_status_fail_until_it_works_again(two_feeds: Path) -> None:
    assert monitor(two_feeds, "poll").returncode == 0
    settings = Settings(two_feeds / "monitor.db", two_feeds / "sources.yaml", two_feeds / "rules")
    runtime = Runtime(settings)
    on_event = _listener(runtime)  # the service's own listener, as the scheduler calls it

    def event(code: int, error: Exception | None = None, job: str = "deliveries") -> JobExecutionEvent:
        return JobExecutionEvent(code, job, None, now(), exception=error)

    on_event(event(EVENT_JOB_ERROR, RuntimeError("slack down")))
    assert monitor(two_feeds, "status").returncode == 1
    on_event(event(EVENT_JOB_ERROR, RuntimeError("slack down")))
    on_event(event(EVENT_JOB_ERROR, RuntimeError("slack down")))
    done = monitor(two_feeds, "status")
    assert done.returncode == 2 and "작업 실패: deliveries 연속 3회" in done.stdout
    assert "slack down" in done.stdout
    on_event(event(EVENT_JOB_EXECUTED))  # it works again: the streak ends
    assert monitor(two_feeds, "status").returncode == 0
    # a restarted service knows the job failed last (from the DB) and ends the streak too
    on_event(event(EVENT_JOB_ERROR, RuntimeError("again")))
    restarted = Runtime(settings)
    store = Store(settings.db)
    restarted.failed_jobs = {j["job"].removeprefix("job:") for j in store.failing_jobs()}
    store.close()
    _listener(restarted)(event(EVENT_JOB_EXECUTED))
    assert monitor(two_feeds, "status").returncode == 0
    # a digest job records its own runs (job:digest:KIND): the listener adds no second row
    before = count_runs(settings.db)
    on_event(event(EVENT_JOB_ERROR, RuntimeError("boom"), job="digest:daily"))
    assert count_runs(settings.db) == before


def count_runs(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])


@pytest.mark.parametrize("command", [("status",), ("poll",), ("items",)], ids=" ".join)
def test_a_bad_monitor_tz_is_one_line_naming_the_variable(two_feeds: Path, command: tuple[str, ...]) -> None:
    done = monitor(two_feeds, *command, MONITOR_TZ="Asia/Seol")
    assert done.returncode == 2
    line = one_line_error(done)
    assert "MONITOR_TZ" in line and "'Asia/Seol'" in line and "Asia/Seoul" in line
    assert not (two_feeds / "monitor.db").exists()

