"""`monitor demo`: the whole pipeline offline, on bundled sample feeds served on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

# (file, source id, Korean name, extra options): the same shapes as the real ministry feeds
DEMO_FEEDS: tuple[tuple[str, str, str, dict[str, Any]], ...] = (
    ("mois_press.xml", "demo-mois-press", "행정안전부 보도자료 (데모)", {}),
    ("mohw_press.xml", "demo-mohw-press", "보건복지부 보도자료 (데모)", {}),
    (
        "mofe_press.xml",
        "demo-mofe-press",
        "재정경제부 보도자료 (데모)",
        {"link_rewrite": {"http://www.mofe.go.kr/": "https://www.mofe.go.kr/"}},
    ),
)


def demo_file(name: str) -> bytes:
    """Read one bundled sample file."""
    return resources.files("monitor").joinpath("demo_data", name).read_bytes()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path = self.path.split("?")[0].lstrip("/")
        if path == "robots.txt":
            body, ctype = b"User-agent: *\nAllow: /\n", "text/plain"
        elif path in {f for f, *_ in DEMO_FEEDS}:
            body, ctype = demo_file(path), "application/rss+xml; charset=utf-8"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the demo prints its own summary
        pass


@contextmanager
def serve_demo() -> Iterator[str]:
    """Serve the bundled feeds on 127.0.0.1 (a free port); yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def write_demo_sources(base_url: str, path: Path) -> Path:
    """Write a sources.yaml pointing every demo source at the local server."""
    doc = {
        "http": {"host_spacing": 0, "retries": 1, "backoff": 0.1},
        "sources": [
            # the sample items are from 2026-09: announce them all, not only the last 3 days
            {"id": sid, "kind": "rss", "name": name, "url": f"{base_url}/{file}", "interval": "1h",
             "backfill_days": 3650, **extra}
            for file, sid, name, extra in DEMO_FEEDS
        ],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class DemoResult:
    """What the demo did, for its one-line summary."""

    sources: int
    failed: int
    items: int
    flagged: int
    db: Path
