"""Bounds on hostile input: a server that drips its answer, and markup built to be slow to read.

Each figure is measured here, against a loopback server in this process, with the defaults the
service ships (`http.request_deadline`, the board's row cap and time budget).
"""

from __future__ import annotations

import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench import corpus
from monitor.config import HttpConfig, SourceConfig
from monitor.errors import FetchError
from monitor.http import HttpClient
from monitor.ingest import poll_sources
from monitor.rules import Matcher
from monitor.sources import html_board
from monitor.store import Store

FEED = (
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
    b"<item><title>\xeb\xa7\x88\xec\x9d\x84\xea\xb8\xb0\xec\x97\x85 \xec\x84\xa0\xec\xa0\x95</title>"
    b"<link>https://example.go.kr/1</link><guid>https://example.go.kr/1</guid></item></channel></rss>"
)


class _Handler(BaseHTTPRequestHandler):
    drip_seconds = 0.25  # between two bytes of a dripping answer
    drip_bytes = 400  # a dripping answer would take drip_seconds × drip_bytes = 100 s in full

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            body = b"User-agent: *\nAllow: /\n"
        elif self.path.startswith("/drip"):
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.end_headers()
            try:
                for _ in range(self.drip_bytes):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(self.drip_seconds)
            except OSError:
                pass  # the client gave up: that is the point
            return
        else:
            body = FEED
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _servers(count: int) -> list[ThreadingHTTPServer]:
    servers = []
    for _ in range(count):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    return servers


def deadline(seconds: float = 5.0) -> dict[str, Any]:
    """One request to a dripping server: how long until the client gives up."""
    (server,) = _servers(1)
    client = HttpClient(HttpConfig(host_spacing=0, retries=0, request_deadline=seconds))
    started = time.monotonic()
    try:
        client.get(f"http://127.0.0.1:{server.server_port}/drip")
        error = None
    except FetchError as e:
        error = str(e)
    took = time.monotonic() - started
    server.shutdown()
    return {"deadline_s": seconds, "gave_up_after_s": took, "error": error,
            "full_answer_s": _Handler.drip_seconds * _Handler.drip_bytes}  # fmt: skip


def starvation(dripping: int = 4, healthy: int = 10, seconds: float = 5.0) -> dict[str, Any]:
    """A poll cycle with `dripping` dripping sources among `healthy` ones, each on its own host."""
    servers = _servers(dripping + healthy)
    sources = [
        SourceConfig(id=f"s{i:02d}", kind="rss", name=f"s{i}", allow_empty=True,
                     url=f"http://127.0.0.1:{s.server_port}/{'drip' if i < dripping else 'feed'}")
        for i, s in enumerate(servers)
    ]  # fmt: skip
    client = HttpClient(HttpConfig(host_spacing=0, retries=0, request_deadline=seconds))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bounds.db")
        started = time.monotonic()
        outcomes = poll_sources(sources, store, client, Matcher(corpus.shipped_rules()))
        wall = time.monotonic() - started
        store.close()
    for server in servers:
        server.shutdown()
    return {
        "dripping": dripping, "healthy": healthy, "deadline_s": seconds, "cycle_s": wall,
        "healthy_ok": sum(o.status == "ok" for o in outcomes[dripping:]),
        "dripping_failed": sum(o.failed for o in outcomes[:dripping]),
        "slowest_healthy_s": max(o.seconds for o in outcomes[dripping:]),
    }  # fmt: skip


def markup(rows: int = 100_000) -> dict[str, Any]:
    """A board page whose rows nest inside each other (each selector then searches the rest)."""
    html = "<table><tr><td>" * rows
    options = html_board.BoardOptions(row="table tr", title="td a")
    started = time.monotonic()
    page = html_board.parse_board(html, "https://example.go.kr/", options)
    return {"rows": rows, "bytes": len(html), "seconds": time.monotonic() - started,
            "budget_s": html_board.PARSE_SECONDS, "warnings": page.warnings}  # fmt: skip


def run() -> dict[str, Any]:
    """All three bounds."""
    return {"deadline": deadline(), "starvation": starvation(), "markup": markup()}
