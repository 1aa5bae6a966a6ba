"""Faults on the wire and in the process, through real polls and real subprocesses.

What test_http, test_poll, test_delivery and test_crash already cover is not repeated here:
connection resets, truncated bodies, wrong formats and charsets through a poll, a 200 MB body,
and kill -9 in the middle of a multi-part digest or of a poll's alerts.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import load_rules
from monitor.store import Store
from tests.feeds import Entry, feed
from tests.seed import poll as seed_poll
from tests.seed import press
from tests.slack_api import FakeSlack

Cli = Callable[..., Result]
KOREAN = "사회적기업 인증 공고 똠방각하 마을기업 선정"  # 똠 exists only in cp949


def outcomes(result: Result) -> dict[str, dict[str, Any]]:
    return {o["source"]: o for o in map(json.loads, result.stdout.splitlines()) if o}


def rows(workdir: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(workdir / "monitor.db") as conn:
        return conn.execute(sql).fetchall()


# --- a TCP server that misbehaves below HTTP ---------------------------------------------------


class RawServer:
    """127.0.0.1: robots.txt is 404 (allow all); every other request goes to `behave`."""

    def __init__(self, behave: Callable[[socket.socket], None]) -> None:
        self.behave = behave
        self.requests = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                data += chunk
            if data.startswith(b"GET /robots.txt"):
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                conn.close()
                continue
            self.requests += 1
            self.behave(conn)

    def close(self) -> None:
        self.sock.close()


def reset(conn: socket.socket) -> None:
    """Answer with a TCP RST (SO_LINGER 0) instead of HTTP."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def reset_mid_body(conn: socket.socket) -> None:
    """Start a 200 answer, send part of the body, then RST."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n")
    conn.sendall(feed([Entry(1, "마을기업 선정")])[:300])
    reset(conn)


def truncated(conn: socket.socket) -> None:
    """Promise 5000 bytes, send 1000, close cleanly."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 5000\r\n\r\n")
    conn.sendall(feed([Entry(n, f"마을기업 소식 {n}") for n in range(20)])[:1000])
    conn.close()


@pytest.fixture
def raw() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    made: list[RawServer] = []

    def make(behave: Callable[[socket.socket], None]) -> RawServer:
        made.append(RawServer(behave))
        return made[-1]

    yield make
    for server in made:
        server.close()


@pytest.mark.parametrize(
    ("behave", "message"),
    [
        (reset, "connection failed after 2 attempts"),
        (reset_mid_body, "reading the body failed after 2 attempts"),
        (truncated, "reading the body failed after 2 attempts"),
    ],
    ids=["connection-reset", "reset-mid-body", "truncated-body"],
)
def test_broken_connections_fail_that_source_after_a_retry_and_store_nothing(
    behave: Callable[[socket.socket], None], message: str, raw: Any, server: HTTPServer,
    write_sources: Callable[..., Path], cli: Cli, workdir: Path,
) -> None:  # fmt: skip
    broken = raw(behave)
    server.expect_request("/good").respond_with_data(feed([Entry(1, "마을기업 선정")]))
    write_sources([
        {"id": "broken", "kind": "rss", "name": "끊김", "url": broken.url("/rss")},
        {"id": "good", "kind": "rss", "name": "정상", "url": server.url_for("/good")},
    ])  # fmt: skip
    result = cli("poll", "--json")
    out = outcomes(result)
    assert result.exit_code == 1
    assert out["broken"]["status"] == "failed" and message in out["broken"]["error"]
    assert broken.requests == 2  # retries: 1 in the test settings
    assert out["good"]["status"] == "ok" and out["good"]["new"] == 1
    assert rows(workdir, "SELECT source, COUNT(*) FROM items GROUP BY source") == [("good", 1)]
    assert rows(workdir, "SELECT consecutive_failures FROM source_state WHERE source = 'broken'") == [(1,)]


def test_a_source_that_times_out_fails_alone_within_its_timeouts(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.2)
        return Response(feed([Entry(1, "마을기업")]))

    hung = HTTPServer(host="127.0.0.1", port=0, threaded=True)  # another host, sleeping per request
    hung.expect_request("/robots.txt").respond_with_data("", status=404)
    hung.expect_request("/slow").respond_with_handler(slow)
    hung.start()
    server.expect_request("/good").respond_with_data(feed([Entry(2, "마을기업 선정")]))
    http = {"host_spacing": 0, "backoff": 0.01, "retries": 1, "read_timeout": 0.4, "connect_timeout": 1}
    write_sources([
        {"id": "slow", "kind": "rss", "name": "느림", "url": hung.url_for("/slow")},
        {"id": "good", "kind": "rss", "name": "정상", "url": server.url_for("/good")},
    ], http=http)  # fmt: skip
    started = time.monotonic()
    try:
        out = outcomes(cli("poll", "--json"))
    finally:
        hung.clear()
        hung.stop()
    assert out["slow"]["status"] == "failed" and "timed out after 2 attempts" in out["slow"]["error"]
    assert out["good"]["status"] == "ok"
    assert time.monotonic() - started < 6  # 2 × 0.4 s waits, plus the server finishing its sleeps


def test_html_instead_of_json_from_the_open_api_is_a_failed_run_with_the_reason(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    maintenance = "<!DOCTYPE html><html><head><title>서비스 점검 중</title></head><body>점검</body></html>"
    server.expect_request("/openapi/TVBPMBILL11").respond_with_data(maintenance, content_type="text/html")
    write_sources(
        [{"id": "bills", "kind": "assembly_bills", "name": "국회 법률안", "url": server.url_for("/openapi")}]
    )
    result = cli("poll", "--json")
    (out,) = outcomes(result).values()
    assert result.exit_code == 1 and out["status"] == "failed"
    assert "ParseError" in out["error"] and "expected JSON but got an HTML page" in out["error"]
    assert rows(workdir, "SELECT COUNT(*) FROM items") == [(0,)]
    assert rows(workdir, "SELECT status, error LIKE '%HTML page%' FROM runs") == [("failed", 1)]


def test_an_euc_kr_feed_without_any_charset_is_read_right(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    body = feed([Entry(1, KOREAN, "마을기업 지원")]).decode("utf-8")
    body = body.replace('<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0"?>')
    server.expect_request("/rss").respond_with_data(body.encode("cp949"), content_type="application/rss+xml")
    write_sources([{"id": "euc", "kind": "rss", "name": "EUC-KR", "url": server.url_for("/rss")}])
    (out,) = outcomes(cli("poll", "--json", ok=True)).values()
    assert out["new"] == 1 and out["flagged"] == 1  # read right, and so matched (마을기업)
    assert rows(workdir, "SELECT title FROM items") == [(KOREAN,)]


def test_an_euc_kr_board_without_any_charset_is_read_right(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    row = f'<tr><td><a href="/view?id=7">{KOREAN}</a></td><td>2026-09-01</td></tr>'
    page = f'<html><body><table class="list">{row}</table></body></html>'
    server.expect_request("/board").respond_with_data(page.encode("cp949"), content_type="text/html")
    write_sources([{"id": "board", "kind": "html_board", "name": "게시판", "url": server.url_for("/board"),
                    "row": "table.list tbody tr", "title": "td a", "date": "td"}])  # fmt: skip
    (out,) = outcomes(cli("poll", "--json", ok=True)).values()
    assert out["new"] == 1
    assert rows(workdir, "SELECT title FROM items") == [(KOREAN,)]


class Flood:
    """A 200 MB body produced on demand; counts what was actually produced."""

    def __init__(self, declare: bool) -> None:
        self.declare = declare
        self.produced = 0

    def handler(self, request: Request) -> Response:
        chunk = b"<!-- " + b"x" * 65_000 + b" -->"

        def body() -> Iterator[bytes]:
            for _ in range(200_000_000 // len(chunk)):
                self.produced += len(chunk)
                yield chunk

        headers = {"Content-Length": str(200_000_000 // len(chunk) * len(chunk))} if self.declare else {}
        return Response(body(), headers=headers, content_type="application/rss+xml", direct_passthrough=True)


@pytest.mark.parametrize("declare", [False, True], ids=["streamed", "content-length"])
def test_a_200_mb_body_is_refused_by_the_size_cap_without_being_read(
    declare: bool, write_sources: Callable[..., Path], cli: Cli
) -> None:
    flood = Flood(declare)
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.expect_request("/robots.txt").respond_with_data("", status=404)
    server.expect_request("/rss").respond_with_handler(flood.handler)
    server.start()
    try:
        http = {"host_spacing": 0, "retries": 1, "backoff": 0.01, "max_bytes": 20_000_000}
        write_sources(
            [{"id": "flood", "kind": "rss", "name": "홍수", "url": server.url_for("/rss")}], http=http
        )
        peak = _maxrss_kb()
        (out,) = outcomes(cli("poll", "--json")).values()
        time.sleep(0.2)  # let the server notice the closed connection
        fetches = len([r for r, _ in server.log if r.path == "/rss"])
    finally:
        server.clear()
        server.stop()
    assert out["status"] == "failed" and re.search(r"cap (of|is) 20,000,000", out["error"])
    assert fetches == 1  # a body over the cap is not fetched again
    # the client stopped reading at the cap (and at once when the length was declared)
    assert flood.produced < (8_000_000 if declare else 40_000_000)
    assert _maxrss_kb() - peak < 120_000  # never 200 MB in memory


def _maxrss_kb() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# --- kill -9 in the middle of sending -------------------------------------------------------------


def _wait(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the condition never came"
        time.sleep(0.02)


def _part_numbers(posts: list[dict[str, Any]]) -> list[int]:
    return [p["metadata"]["event_payload"]["part"] for p in posts]


@pytest.mark.parametrize("step", ["drop-after-post", "hang"], ids=["posted-unrecorded", "not-yet-posted"])
def test_kill_9_during_a_multi_part_digest_then_restart_posts_every_part_once(
    step: str, slack: FakeSlack, write_sources: Callable[..., Path], workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("SLACK_TIMEOUT", "30")  # the client waits: the kill comes first
    from tests.seed import SOURCES

    write_sources(SOURCES)
    store = Store(workdir / "monitor.db")
    seed_poll(store, load_rules(workdir / "rules"), "mois",
              [press(n, f"마을기업 소식 {n:03d} " + "가" * 150) for n in range(120)])  # fmt: skip
    store.close()
    slack.script = ["ok", "ok", step]
    slack.hang_seconds = 3
    cmd = [sys.executable, "-m", "monitor", "digest", "daily"]
    proc = subprocess.Popen(cmd, cwd=workdir, env=dict(os.environ), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    _wait(lambda: slack.attempts >= 3)  # the third part is on the wire
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    before = len(slack.posts)
    assert before == (3 if step == "drop-after-post" else 2)
    (status,) = rows(workdir, "SELECT status FROM deliveries")[0]
    assert status == "sending"  # the ledger knows a part may be out
    done = subprocess.run(cmd, cwd=workdir, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    parts = _part_numbers(slack.posts)
    total = int(re.search(r"[(, ]1/(\d+)\)", slack.posts[0]["text"]).group(1))  # type: ignore[union-attr]
    assert total > 3 and parts == list(range(total))  # every part once, in order, none twice
    assert rows(workdir, "SELECT status, parts_sent FROM deliveries") == [("sent", total)]
    assert slack.history_calls == 1  # the restart looked before posting part 3 again


def test_kill_9_during_a_polls_alerts_then_restart_loses_and_repeats_nothing(
    slack: FakeSlack, server: HTTPServer, write_sources: Callable[..., Path], workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("SLACK_TIMEOUT", "30")
    urgent = [Entry(n, f"「협동조합 기본법」 일부개정 공청회 {n}") for n in range(1, 5)]
    other = [Entry(n, f"마을기업 소식 {n}") for n in range(10, 40)]
    server.expect_request("/rss").respond_with_data(feed(urgent + other))
    write_sources([{"id": "mois", "kind": "rss", "name": "행정안전부", "url": server.url_for("/rss"),
                    "backfill_days": 30}])  # fmt: skip
    # the first poll of a source is its baseline; a second one (with nothing new) readies it
    slack.script = ["ok", "drop-after-post"]
    slack.hang_seconds = 3
    cmd = [sys.executable, "-m", "monitor", "poll"]
    proc = subprocess.Popen(cmd, cwd=workdir, env=dict(os.environ), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    _wait(lambda: len(slack.posts) >= 2)  # the second alert is posted, its answer held back
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert rows(workdir, "SELECT COUNT(*) FROM items") == [(34,)]  # the poll itself had committed
    done = subprocess.run(cmd, cwd=workdir, env=dict(os.environ), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    keys = [p["metadata"]["event_payload"]["key"] for p in slack.posts]
    assert len(keys) == len(set(keys)) == 4  # one alert per urgent item, none twice, none lost
    assert rows(workdir, "SELECT COUNT(*), COUNT(DISTINCT key) FROM items") == [(34, 34)]
    assert rows(workdir, "SELECT COUNT(*) FROM events") == [(34,)]
    assert rows(workdir, "SELECT status, COUNT(*) FROM deliveries GROUP BY status") == [("sent", 4)]
