"""Local sources for the benchmarks, in their own process: `python -m bench.servers --hosts 40`.

Each host is a port on 127.0.0.1 (a host to the client: its spacing and robots.txt are per
host:port) serving `/robots.txt` at once and, after `--delay` seconds, `/feed/N` (RSS) and
`/board/N` (an HTML board), both with an ETag that conditional GETs are answered 304 against.
With `--grow-every K` every K-th request for a feed adds a new entry (for the memory run).
A minimal Slack Web API (chat.postMessage, conversations.history) listens on one more port.
Prints one JSON line `{"hosts": [ports], "slack": port}` and serves until stdin closes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import threading
import time
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from bench import corpus
from monitor.text import now

ARRIVALS: list[tuple[int, str, float]] = []  # (port, path, monotonic time) of every request
LOCK = threading.Lock()


class Feeds:
    """The entries of every feed, growing on request."""

    def __init__(self, per_feed: int, grow_every: int) -> None:
        self.per_feed = per_feed
        self.grow_every = grow_every
        self.pool = corpus.items(20_000, seed=5)
        self.added: dict[str, int] = {}
        self.served: dict[str, int] = {}

    def entries(self, name: str, count_request: bool) -> list[corpus.CorpusItem]:
        with LOCK:
            if count_request and self.grow_every:
                self.served[name] = self.served.get(name, 0) + 1
                if self.served[name] % self.grow_every == 0:
                    self.added[name] = self.added.get(name, 0) + 1
            extra = self.added.get(name, 0)
        offset = (sum(map(ord, name)) * 97) % 10_000
        picked = self.pool[offset + extra : offset + extra + self.per_feed]
        return list(reversed(picked))  # newest first, as feeds list them


def rss(name: str, entries: list[corpus.CorpusItem]) -> bytes:
    """An RSS 2.0 document in the shape of the ministry feeds."""
    stamp = format_datetime(now())
    items = "".join(
        f"<item><title><![CDATA[{e.title}]]></title><link>https://example.go.kr/{name}/{e.key}</link>"
        f"<description><![CDATA[<p>{e.summary}</p>]]></description><pubDate>{stamp}</pubDate>"
        f"<guid>https://example.go.kr/{name}/{e.key}</guid></item>"
        for e in entries
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{escape(name)}</title><link>https://example.go.kr/</link><description>bench</description>"
        f"{items}</channel></rss>"
    ).encode()


def board(name: str, entries: list[corpus.CorpusItem]) -> bytes:
    """An HTML board list page."""
    rows = "".join(
        f'<tr><td class="num">{n}</td><td class="title">'
        f'<a href="/view/{name}/{e.key}">{escape(e.title)}</a></td>'
        f'<td class="date">2026-09-0{1 + n % 9}</td></tr>'
        for n, e in enumerate(entries)
    )
    return f'<html><body><table class="list"><tbody>{rows}</tbody></table></body></html>'.encode()


def make_handler(feeds: Feeds, delay: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            port = self.server.server_address[1]
            with LOCK:
                ARRIVALS.append((port, self.path, time.monotonic()))
            if self.path == "/robots.txt":
                return self._send(200, b"User-agent: *\nAllow: /\n", "text/plain")
            if self.path == "/_log":
                with LOCK:
                    body = json.dumps(ARRIVALS).encode()
                return self._send(200, body, "application/json")
            kind, _, name = self.path.strip("/").partition("/")
            if kind not in ("feed", "board"):
                return self._send(404, b"not found", "text/plain")
            time.sleep(delay)
            key = f"{port}/{name}"
            entries = feeds.entries(key, count_request=True)
            etag = '"' + hashlib.sha1("|".join(e.key for e in entries).encode()).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                return self._send(304, b"", None, etag)
            if kind == "feed":
                return self._send(200, rss(key, entries), "application/rss+xml; charset=utf-8", etag)
            return self._send(200, board(key, entries), "text/html; charset=utf-8", etag)

        def _send(self, status: int, body: bytes, ctype: str | None, etag: str | None = None) -> None:
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            if etag:
                self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class Slack(BaseHTTPRequestHandler):
    """chat.postMessage answers ok with a new ts; conversations.history has nothing."""

    posts = 0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with LOCK:
            Slack.posts += 1
            ts = f"{time.time():.6f}"
        if self.path.endswith("chat.postMessage"):
            body = {"ok": True, "channel": "C0BENCH", "ts": ts}
        else:
            body = {"ok": True, "messages": [], "has_more": False}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def serve(server: ThreadingHTTPServer) -> None:
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosts", type=int, default=40)
    parser.add_argument("--delay", type=float, default=0.3)
    parser.add_argument("--per-feed", type=int, default=30)
    parser.add_argument("--grow-every", type=int, default=0)
    args = parser.parse_args()
    feeds = Feeds(args.per_feed, args.grow_every)
    handler = make_handler(feeds, args.delay)
    ports = []
    for _ in range(args.hosts):
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        serve(server)
        ports.append(server.server_address[1])
    slack = ThreadingHTTPServer(("127.0.0.1", 0), Slack)
    serve(slack)
    print(json.dumps({"hosts": ports, "slack": slack.server_address[1]}), flush=True)
    sys.stdin.read()  # until the parent closes our stdin or ends


if __name__ == "__main__":
    main()
