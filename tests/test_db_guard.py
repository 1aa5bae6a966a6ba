"""A guarded database (issue 17.3): the DB's identity, a service that stops loudly when its DB
vanishes or is replaced (and does not recreate it on the next start), the lock on the resolved path."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from monitor.store import MIGRATIONS, Store
from tests.feeds import Entry, feed
from tests.guard import env_for, monitor, one_line_error
from tests.slack_api import FakeSlack

URGENT = "「협동조합 기본법」 일부개정법률안 입법예고"  # coop-basic-act: priority urgent


def wait_for(predicate: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def count(db: Path, sql: str) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.Error:
        return -1


def old_schema(db: Path, version: int) -> None:
    """A DB as an older release left it (before the identity existed)."""
    with sqlite3.connect(db) as conn:
        for number, script in enumerate(MIGRATIONS[:version], start=1):
            conn.executescript(script)
            conn.execute(f"PRAGMA user_version = {number}")


def test_a_new_db_gets_an_identity_and_an_old_one_gets_one_when_migrated(tmp_path: Path) -> None:
    one, two = Store(tmp_path / "one.db"), Store(tmp_path / "two.db")
    assert re.fullmatch(r"[0-9a-f]{32}", one.identity or "") and one.identity != two.identity
    assert Store(tmp_path / "one.db").identity == one.identity  # written once, kept
    old = tmp_path / "old.db"
    old_schema(old, 3)
    assert re.fullmatch(r"[0-9a-f]{32}", Store(old).identity or "")
    # a read command on an old DB it may write brings the schema up to date, then reads
    older = tmp_path / "older.db"
    old_schema(older, 3)
    assert re.fullmatch(r"[0-9a-f]{32}", Store(older, mode="read").identity or "")


def test_an_old_db_a_read_command_may_not_write_is_one_line(tmp_path: Path, workdir: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="pm-old-"))
    folder.chmod(0o755)  # root's; `nobody` may read but not write it
    try:
        shutil.copytree(workdir / "rules", folder / "rules")
        (folder / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
        old_schema(folder / "monitor.db", 3)
        done = monitor(folder, "deliveries", nobody=True, timeout=60)
        assert done.returncode == 2
        line = one_line_error(done)
        assert str(folder / "monitor.db") in line and "스키마가 오래되었습니다" in line
        assert "monitor run" in line
    finally:
        shutil.rmtree(folder)


@pytest.fixture
def slack_server(httpserver: HTTPServer) -> Iterator[tuple[HTTPServer, FakeSlack]]:
    fake = FakeSlack()
    httpserver.expect_request(re.compile(r"^/api/[\w.]+$")).respond_with_handler(fake.handler)
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/rss").respond_with_data(
        feed([Entry(1, URGENT)]), content_type="application/rss+xml"
    )
    yield httpserver, fake


def start_service(workdir: Path, server: HTTPServer, *args: str) -> subprocess.Popen[str]:
    env = env_for(
        workdir, SLACK_BOT_TOKEN="xoxb-test-token", SLACK_API_URL=server.url_for("/api/"),
        SLACK_CHANNEL="C0POLICY", MONITOR_LOG_LEVEL="INFO",
    )  # fmt: skip
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", *args, "run"], cwd=workdir, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


@pytest.fixture
def service_config(slack_server: tuple[HTTPServer, FakeSlack], write_sources: Callable[..., Path]) -> None:
    server, _ = slack_server
    write_sources([{"id": "coop", "kind": "rss", "name": "협동조합 소식", "url": server.url_for("/rss")}])


def urgent_posts(fake: FakeSlack) -> list[str]:
    return [t for t in fake.texts() if "협동조합 기본법" in t]


def remove_db(db: Path) -> None:
    """What an operator's `rm monitor.db*` minus the lock does: the DB and its WAL files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


@pytest.mark.usefixtures("service_config")
def test_a_db_deleted_under_the_service_stops_it_and_is_never_recreated(
    workdir: Path, slack_server: tuple[HTTPServer, FakeSlack]
) -> None:
    server, fake = slack_server
    db = workdir / "monitor.db"
    proc = start_service(workdir, server)
    try:
        wait_for(lambda: len(urgent_posts(fake)) == 1 and count(db, "SELECT COUNT(*) FROM deliveries "
                                                             "WHERE status = 'sent'") == 1)  # fmt: skip
        remove_db(db)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 2, err
    assert "Traceback" not in err, err[err.index("Traceback") - 300:]
    error = [line for line in err.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and str(db) in error[0] and "사라졌습니다" in error[0] and "백업" in error[0]
    assert not db.exists()  # no new, empty DB in its place
    assert len(urgent_posts(fake)) == 1  # and so no alert sent again
    # a restart (docker's --restart) refuses too, from the identity kept in the lock file
    again = monitor(workdir, "run", timeout=60)
    line = one_line_error(again)
    assert again.returncode == 2 and "사라졌습니다" in line and f"{db}.lock" in line
    assert not db.exists() and len(urgent_posts(fake)) == 1
    # starting afresh on purpose: remove the lock file, as the message says
    Path(f"{db}.lock").unlink()
    proc = start_service(workdir, server)
    try:
        wait_for(lambda: count(db, "SELECT COUNT(*) FROM items") == 1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


@pytest.mark.usefixtures("service_config")
def test_a_db_replaced_under_the_service_stops_it(
    workdir: Path, slack_server: tuple[HTTPServer, FakeSlack]
) -> None:
    server, _ = slack_server
    db = workdir / "monitor.db"
    other = workdir / "other.db"
    Store(other).close()
    proc = start_service(workdir, server)
    try:
        wait_for(lambda: count(db, "SELECT COUNT(*) FROM items") == 1)
        os.replace(other, db)  # e.g. a copy of another deployment's DB (or a backup) moved over it
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 2 and "Traceback" not in err
    (error,) = [line for line in err.splitlines() if line.startswith("Error:")]
    assert str(db) in error and "다른 파일로 바뀌었습니다" in error


@pytest.mark.usefixtures("service_config")
def test_the_lock_is_taken_on_the_resolved_path(
    workdir: Path, slack_server: tuple[HTTPServer, FakeSlack]
) -> None:
    server, _ = slack_server
    real = workdir / "data" / "monitor.db"
    real.parent.mkdir()
    link = workdir / "link.db"
    link.symlink_to(real)
    proc = start_service(workdir, server, "--db", str(real))
    try:
        wait_for(lambda: count(real, "SELECT COUNT(*) FROM items") == 1)
        for spelling in (str(link), "data/../data/monitor.db"):
            second = monitor(workdir, "--db", spelling, "run", timeout=60)
            assert second.returncode == 1 and f"pid {proc.pid}" in second.stderr, second.stderr
        assert not Path(f"{link}.lock").exists() and Path(f"{real}.lock").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
