"""`monitor demo`: the whole pipeline offline, on bundled sample data served on 127.0.0.1.

The data files in monitor/demo_data/ have the real formats (열린국회정보 JSON envelopes, the
국민참여입법센터 and 고용노동부 list tables, ministry RSS) with Korean content: relevant items and the
usual traps. Dates are written as `{{d:-2}}` (two days ago) so the demo always looks current.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from monitor.text import now

# path on the demo server → (file, content type)
FILES: dict[str, tuple[str, str]] = {
    "/mois_press.xml": ("mois_press.xml", "application/rss+xml; charset=utf-8"),
    "/mohw_press.xml": ("mohw_press.xml", "application/rss+xml; charset=utf-8"),
    "/mofe_press.xml": ("mofe_press.xml", "application/rss+xml; charset=utf-8"),
    "/gcom/ogLmPp": ("lawmaking_ogLmPp.html", "text/html; charset=utf-8"),
    "/news/notice/noticeList.do": ("moel_noticeList.html", "text/html; charset=utf-8"),
}
OPEN_API = "/portal/openapi/"
_DATE = re.compile(r"\{\{(d|dot|dotted):([+-]\d+)\}\}")


def demo_file(name: str) -> str:
    """Read one bundled sample file."""
    return resources.files("monitor").joinpath("demo_data", name).read_text(encoding="utf-8")


def fill_dates(text: str, today: date) -> str:
    """Replace `{{d:-2}}`, `{{dot:+5}}`, `{{dotted:-1}}` with dates relative to today."""

    def one(m: re.Match[str]) -> str:
        day = today + timedelta(days=int(m.group(2)))
        if m.group(1) == "dot":
            return f"{day.year}. {day.month}. {day.day}."  # 국민참여입법센터 style
        if m.group(1) == "dotted":
            return day.strftime("%Y.%m.%d")  # 고용노동부 style
        return day.isoformat()

    return _DATE.sub(one, text)


def _open_api(service: str, query: dict[str, list[str]], today: date) -> dict[str, Any]:
    """Answer like open.assembly.go.kr: the service's rows, filtered as the real one filters."""
    try:
        body = json.loads(fill_dates(demo_file(f"assembly_{service}.json"), today))
    except FileNotFoundError:
        return {"RESULT": {"CODE": "INFO-200", "MESSAGE": "해당하는 데이터가 없습니다."}}
    rows = body[service][1]["row"]
    for name in ("BILL_ID", "BILL_NO"):
        if name in query:
            rows = [r for r in rows if r.get(name) == query[name][0]]
    if not rows:
        return {"RESULT": {"CODE": "INFO-200", "MESSAGE": "해당하는 데이터가 없습니다."}}
    body[service][0]["head"][0]["list_total_count"] = len(rows)
    body[service][1]["row"] = rows
    return body


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        today = now().date()
        if parts.path == "/robots.txt":
            body, ctype = "User-agent: *\nAllow: /\n", "text/plain"
        elif parts.path.startswith(OPEN_API):
            service = parts.path[len(OPEN_API) :]
            body = json.dumps(_open_api(service, parse_qs(parts.query), today), ensure_ascii=False)
            ctype = "application/json;charset=UTF-8"
        elif parts.path in FILES:
            name, ctype = FILES[parts.path]
            body = fill_dates(demo_file(name), today)
        else:
            self.send_error(404)
            return
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the demo prints its own summary
        pass


@contextmanager
def serve_demo() -> Iterator[str]:
    """Serve the bundled data on 127.0.0.1 (a free port); yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def demo_sources(base: str) -> list[dict[str, Any]]:
    """The demo's sources: the real kinds, pointed at the local server."""
    return [
        {"id": "demo-assembly-bills", "kind": "assembly_bills", "name": "국회 법률안 (데모)",
         "url": f"{base}/portal/openapi", "max_pages": 2},
        {"id": "demo-assembly-notices", "kind": "assembly_notices", "name": "국회 입법예고 (데모)",
         "url": f"{base}/portal/openapi"},
        {"id": "demo-lawmaking", "kind": "lawmaking_notices", "name": "정부 입법예고 (데모)",
         "url": f"{base}/gcom/ogLmPp?isOgYn=Y&opYn=Y", "mode": "html", "max_pages": 1},
        {"id": "demo-moel-notice", "kind": "html_board", "name": "고용노동부 공지 (데모)",
         "url": f"{base}/news/notice/noticeList.do", "ministry": "고용노동부",
         "row": "table.tstyle_list tbody tr", "title": "td[aria-label=제목] a",
         "date": "td[aria-label=등록일]", "department": "td[aria-label=담당부서]",
         "attachment": "td[aria-label=첨부] a", "id_regex": "fnView\\('(\\d+)'\\)",
         "detail_url": "https://www.moel.go.kr/news/notice/noticeView.do?bbs_seq={id}"},
        {"id": "demo-mois-press", "kind": "rss", "name": "행정안전부 보도자료 (데모)",
         "url": f"{base}/mois_press.xml"},
        {"id": "demo-mohw-press", "kind": "rss", "name": "보건복지부 보도자료 (데모)",
         "url": f"{base}/mohw_press.xml"},
        {"id": "demo-mofe-press", "kind": "rss", "name": "재정경제부 보도자료 (데모)",
         "url": f"{base}/mofe_press.xml", "link_rewrite": {"http://www.mofe.go.kr/": "https://www.mofe.go.kr/"}},
    ]  # fmt: skip


def write_demo_sources(base_url: str, path: Path) -> Path:
    """Write a sources.yaml pointing every demo source at the local server."""
    sources = []
    for source in demo_sources(base_url):
        # the sample press releases are from 2026-09: announce everything, not only 3 days
        sources.append({"interval": "1h", "backfill_days": 3650, **source})
    doc = {"http": {"host_spacing": 0, "retries": 1, "backoff": 0.1}, "sources": sources}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path
