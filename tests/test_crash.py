"""kill -9 during a poll leaves the DB consistent; the next poll loses and duplicates nothing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pytest_httpserver import HTTPServer

from tests.feeds import Entry, feed

N = 3000


def test_kill_9_during_polls_then_recover(
    server: HTTPServer, write_sources: Callable[..., Path], workdir: Path
) -> None:
    entries = [
        Entry(i, f"마을기업 소식 {i}" if i % 3 == 0 else f"일반 공지 {i}", "본문") for i in range(N, 0, -1)
    ]
    server.expect_request("/rss").respond_with_data(feed(entries))
    write_sources([{"id": "big", "kind": "rss", "name": "큰 피드", "url": server.url_for("/rss")}])
    env = {**os.environ, "MONITOR_DB": str(workdir / "monitor.db")}
    cmd = [sys.executable, "-m", "monitor", "poll"]
    killed = 0
    for delay in (0.4, 0.8, 1.2, 1.6, 2.0, 2.4):
        proc = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(timeout=30)
    done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert killed >= 1  # at least one poll really died mid-way

    with sqlite3.connect(workdir / "monitor.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT key) FROM items").fetchone() == (N, N)
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT item_id) FROM events").fetchone() == (N, N)
        assert conn.execute("SELECT COUNT(*) FROM matches").fetchone() == (N // 3,)
        assert conn.execute("SELECT COUNT(*) FROM runs WHERE status = 'running'").fetchone() == (0,)
        statuses = [s for (s,) in conn.execute("SELECT status FROM runs ORDER BY id")]
        # the batch was committed once, all or nothing: the runs' "new" counts add up to N
        assert conn.execute("SELECT SUM(new) FROM runs").fetchone() == (N,)
    assert statuses[-1] == "ok"
    assert 1 <= statuses.count("aborted") <= killed  # a kill before the run row leaves none
