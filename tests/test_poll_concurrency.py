"""poll_sources: hosts side by side, one host one request at a time, order and isolation kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import HttpConfig, SourceConfig
from monitor.http import HttpClient
from monitor.ingest import poll_sources
from monitor.rules import Matcher
from monitor.store import Store
from tests.feeds import Entry, feed
from tests.seed import ruleset


@pytest.fixture
def hosts() -> Iterator[list[HTTPServer]]:
    """Four loopback servers (four hosts to the client), each answering requests in parallel."""
    servers = [HTTPServer(host="127.0.0.1", port=0, threaded=True) for _ in range(4)]
    for s in servers:
        s.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
        s.start()
    yield servers
    for s in servers:
        s.clear()
        s.stop()


def rss(sid: str, url: str) -> SourceConfig:
    return SourceConfig.model_validate({"id": sid, "kind": "rss", "name": sid, "url": url})


def test_hosts_are_polled_at_the_same_time(hosts: list[HTTPServer], tmp_path: Path) -> None:
    # every feed answers only once all four are waiting: polled one by one, the barrier breaks
    barrier = threading.Barrier(4, timeout=5)

    def together(n: int) -> Callable[[Request], Response]:
        def handler(request: Request) -> Response:
            barrier.wait()
            return Response(feed([Entry(n * 100 + i, f"마을기업 소식 {n}-{i}") for i in range(50)]))

        return handler

    for n, server in enumerate(hosts):
        server.expect_request("/rss").respond_with_handler(together(n))
    sources = [rss(f"src{n}", s.url_for("/rss")) for n, s in enumerate(hosts)]
    store = Store(tmp_path / "m.db")
    outcomes = poll_sources(
        sources, store, HttpClient(HttpConfig(host_spacing=0)), Matcher(ruleset(tmp_path))
    )
    assert [o.source for o in outcomes] == ["src0", "src1", "src2", "src3"]  # the order given
    assert [o.status for o in outcomes] == ["ok"] * 4 and all(o.new == 50 for o in outcomes)
    assert [o.requests for o in outcomes] == [2, 2, 2, 2]  # robots.txt and the feed, each its own
    assert store.counts()["items"] == 200 and store.counts()["runs"] == 4
    store.close()


def test_one_host_gets_one_request_at_a_time_with_the_spacing(
    hosts: list[HTTPServer], tmp_path: Path
) -> None:
    arrivals: list[float] = []
    active = {"now": 0, "max": 0}
    lock = threading.Lock()

    def handler(request: Request) -> Response:
        with lock:
            arrivals.append(time.monotonic())
            active["now"] += 1
            active["max"] = max(active["max"], active["now"])
        time.sleep(0.05)
        with lock:
            active["now"] -= 1
        return Response(feed([Entry(len(arrivals), "마을기업")]))

    shared = hosts[0]
    shared.expect_request("/rss").respond_with_handler(handler)
    sources = [rss(f"one{n}", shared.url_for(f"/rss?n={n}")) for n in range(4)]
    sources.append(rss("other", hosts[1].url_for("/rss")))
    hosts[1].expect_request("/rss").respond_with_data(feed([Entry(999, "다른 곳")]))
    store = Store(tmp_path / "m.db")
    client = HttpClient(HttpConfig(host_spacing=0.3))
    outcomes = poll_sources(sources, store, client, Matcher(ruleset(tmp_path)))
    assert [o.status for o in outcomes] == ["ok"] * 5
    assert active["max"] == 1  # never two requests at once on one host
    gaps = [b - a for a, b in pairwise(arrivals)]
    assert len(arrivals) == 4 and min(gaps) >= 0.29  # the configured spacing between them
    store.close()


def test_a_failing_host_does_not_disturb_the_others_and_workers_1_is_sequential(
    hosts: list[HTTPServer], tmp_path: Path
) -> None:
    hosts[0].expect_request("/rss").respond_with_data("down", status=500)
    for n, server in enumerate(hosts[1:], start=1):
        server.expect_request("/rss").respond_with_data(feed([Entry(n, f"마을기업 {n}")]))
    sources = [rss(f"src{n}", s.url_for("/rss")) for n, s in enumerate(hosts)]
    store = Store(tmp_path / "m.db")
    client = HttpClient(HttpConfig(host_spacing=0, retries=0))
    for workers in (8, 1):
        outcomes = poll_sources(sources, store, client, Matcher(ruleset(tmp_path)), workers=workers)
        assert [o.source for o in outcomes] == ["src0", "src1", "src2", "src3"]
        assert [o.status for o in outcomes] == ["failed", "ok", "ok", "ok"]
        assert "HTTP 500" in (outcomes[0].error or "")
    assert store.counts()["items"] == 3
    assert store.state("src0")["consecutive_failures"] == 2
    store.close()


def test_big_batches_from_many_hosts_are_all_written(hosts: list[HTTPServer], tmp_path: Path) -> None:
    # concurrent writers take turns (no "database is locked"); every item is stored once
    for n, server in enumerate(hosts):
        entries = [Entry(n * 10_000 + i, f"마을기업 소식 {n}-{i}", "본문 " * 20) for i in range(1500)]
        server.expect_request("/rss").respond_with_data(feed(entries))
    sources = [rss(f"src{n}", s.url_for("/rss")) for n, s in enumerate(hosts)]
    store = Store(tmp_path / "m.db")
    outcomes = poll_sources(
        sources, store, HttpClient(HttpConfig(host_spacing=0)), Matcher(ruleset(tmp_path))
    )
    assert [(o.status, o.new) for o in outcomes] == [("ok", 1500)] * 4, [o.error for o in outcomes]
    assert store.counts()["items"] == store.counts()["events"] == 6000
    store.close()
