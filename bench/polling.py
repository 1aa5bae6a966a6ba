"""Poll cycles against local servers: concurrency across hosts, spacing on one host, 304s."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any

from bench import corpus
from monitor.config import HttpConfig, SourceConfig
from monitor.http import HttpClient
from monitor.ingest import PollOutcome, poll_sources
from monitor.rules import Matcher
from monitor.store import Store

BOARD = {"row": "table.list tbody tr", "title": "td.title a", "date": "td.date"}


@contextmanager
def local_servers(
    hosts: int, delay: float, per_feed: int = 30, grow_every: int = 0
) -> Iterator[dict[str, Any]]:
    """Start bench.servers in its own process; yields {"hosts": [ports], "slack": port}."""
    cmd = [sys.executable, "-m", "bench.servers", "--hosts", str(hosts), "--delay", str(delay),
           "--per-feed", str(per_feed), "--grow-every", str(grow_every)]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=corpus.ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def source(sid: str, port: int, kind: str, path: str) -> SourceConfig:
    """An rss or html_board source on a local port."""
    extra = BOARD if kind == "html_board" else {}
    return SourceConfig.model_validate(
        {"id": sid, "kind": kind, "name": sid, "url": f"http://127.0.0.1:{port}{path}", **extra}
    )


def _cycle(
    sources: list[SourceConfig],
    store: Store,
    client: HttpClient,
    matcher: Matcher,
    workers: int | None = None,
) -> tuple[float, list[PollOutcome], int]:
    before = store.counts()["items"]
    started = time.monotonic()
    kwargs = {} if workers is None else {"workers": workers}
    outcomes = poll_sources(sources, store, client, matcher, **kwargs)
    return time.monotonic() - started, outcomes, store.counts()["items"] - before


def _summary(wall: float, outcomes: list[PollOutcome], new_rows: int) -> dict[str, Any]:
    statuses: dict[str, int] = {}
    for o in outcomes:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    slowest = max(o.seconds for o in outcomes)
    return {
        "wall_s": wall,
        "slowest_source_s": slowest,
        "ratio": wall / slowest,
        "statuses": statuses,
        "not_modified_share": statuses.get("not_modified", 0) / len(outcomes),
        "new_rows": new_rows,
        "requests": sum(o.requests for o in outcomes),
    }


def run(hosts: int = 40, delay: float = 0.3, spacing: float = 1.0, same_host: int = 10) -> dict[str, Any]:
    """Cycles over `hosts` sources on as many hosts, and `same_host` sources sharing one host."""
    matcher = Matcher(corpus.shipped_rules())
    config = HttpConfig(host_spacing=spacing)
    out: dict[str, Any] = {"hosts": hosts, "delay_s": delay, "spacing_s": spacing}
    with tempfile.TemporaryDirectory() as tmp, local_servers(hosts + 1, delay) as servers:
        ports = servers["hosts"]
        sources = [
            source(
                f"src{i:02d}",
                port,
                "html_board" if i % 4 == 3 else "rss",
                f"/{'board' if i % 4 == 3 else 'feed'}/{i}",
            )
            for i, port in enumerate(ports[:hosts])
        ]
        store = Store(Path(tmp) / "bench.db")
        client = HttpClient(config)
        out["cold"] = _summary(*_cycle(sources, store, client, matcher))
        out["warm_unchanged"] = _summary(*_cycle(sources, store, client, matcher))
        out["sequential_unchanged"] = _summary(*_cycle(sources, store, client, matcher, workers=1))
        # one host: the client keeps `spacing` between requests to it, whatever the threads
        shared = ports[hosts]
        one_host = [source(f"one{i:02d}", shared, "rss", f"/feed/one{i}") for i in range(same_host)]
        wall, outcomes, new_rows = _cycle(one_host, store, client, matcher)
        out["one_host"] = _summary(wall, outcomes, new_rows)
        with urllib.request.urlopen(f"http://127.0.0.1:{shared}/_log") as resp:
            arrivals = [
                t for port, path, t in json.load(resp) if port == shared and path.startswith("/feed/")
            ]
        gaps = [b - a for a, b in pairwise(arrivals)]
        out["one_host"].update(
            requests_seen=len(arrivals), min_gap_s=min(gaps), median_gap_s=statistics.median(gaps)
        )
        store.close()
    return out
