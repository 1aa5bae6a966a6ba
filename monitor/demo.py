"""`monitor demo`: the whole pipeline offline, on bundled sample data served on 127.0.0.1.

The data files in monitor/demo_data/ have the real formats (열린국회정보 JSON envelopes, the
국민참여입법센터 and 고용노동부 list tables, ministry RSS) with Korean content: relevant items and the
usual traps. Dates are written as `{{d:-2}}` (two days ago) so the demo's items are always recent
and the service's own announcement window (`backfill_days`, 3 days) applies unchanged.

The demo's sources carry the real sites' URLs, so every link it stores and shows is a real one;
during the demo a requests adapter sends each of those requests to the local server instead
(`demo_session`). The sources are kept beside the demo DB (`demo.sources.yaml`, see
monitor.defaults) so later commands on that DB show the demo's sources by name.
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

import requests
import yaml
from requests.adapters import HTTPAdapter

from monitor.text import now

# (host, path) of a real source → (bundled file, content type)
RSS, HTML = "application/rss+xml; charset=utf-8", "text/html; charset=utf-8"
FILES: dict[tuple[str, str], tuple[str, str]] = {
    ("www.mois.go.kr", "/gpms/view/jsp/rss/rss.jsp"): ("mois_press.xml", RSS),
    ("www.mohw.go.kr", "/rss/board.es"): ("mohw_press.xml", RSS),
    ("www.mofe.go.kr", "/com/detailRssTagService.do"): ("mofe_press.xml", RSS),
    ("opinion.lawmaking.go.kr", "/gcom/ogLmPp"): ("lawmaking_ogLmPp.html", HTML),
    ("www.moel.go.kr", "/news/notice/noticeList.do"): ("moel_noticeList.html", HTML),
}
OPEN_API_HOST = "open.assembly.go.kr"
_DATE = re.compile(r"\{\{(d|dot|dotted|rfc|rfckst):([+-]\d+)(?: (\d\d):(\d\d))?\}\}")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def demo_file(name: str) -> str:
    """Read one bundled sample file."""
    return resources.files("monitor").joinpath("demo_data", name).read_text(encoding="utf-8")


def fill_dates(text: str, today: date) -> str:
    """Replace `{{d:-2}}`, `{{dot:+5}}`, `{{dotted:-1}}`, `{{rfc:-1 12:00}}`, `{{rfckst:-2 09:30}}`
    with dates relative to today (ISO, 국민참여입법센터, 고용노동부, RSS with +0900 or KST)."""

    def one(m: re.Match[str]) -> str:
        day = today + timedelta(days=int(m.group(2)))
        if m.group(1) in ("rfc", "rfckst"):
            clock = f"{m.group(3) or '09'}:{m.group(4) or '00'}:00"
            zone = "KST" if m.group(1) == "rfckst" else "+0900"  # 행정안전부 writes KST
            weekday, month = _WEEKDAYS[day.weekday()], _MONTHS[day.month - 1]
            return f"{weekday}, {day.day:02d} {month} {day.year} {clock} {zone}"
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
    """Answers `/<real host>/<path>` (what demo_session sends) from the bundled files."""

    def do_GET(self) -> None:
        host, _, rest = self.path.lstrip("/").partition("/")
        parts = urlsplit("/" + rest)
        today = now().date()
        if parts.path == "/robots.txt":
            body, ctype = "User-agent: *\nAllow: /\n", "text/plain"
        elif host == OPEN_API_HOST and parts.path.startswith("/portal/openapi/"):
            service = parts.path.removeprefix("/portal/openapi/")
            body = json.dumps(_open_api(service, parse_qs(parts.query), today), ensure_ascii=False)
            ctype = "application/json;charset=UTF-8"
        elif (host, parts.path) in FILES:
            name, ctype = FILES[(host, parts.path)]
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


class _ToDemoServer(HTTPAdapter):
    """Sends every request to the demo server as `/<host>/<path>`; the response keeps the real URL."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        real = request.url or ""
        parts = urlsplit(real)
        request.url = f"{self.base_url}/{parts.netloc}{parts.path or '/'}" + (
            f"?{parts.query}" if parts.query else ""
        )
        response = super().send(request, *args, **kwargs)
        response.url = real
        return response


def demo_session(base_url: str) -> requests.Session:
    """A requests session whose http(s) requests all go to the demo server at base_url."""
    session = requests.Session()
    adapter = _ToDemoServer(base_url)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def demo_sources() -> list[dict[str, Any]]:
    """The demo's seven sources: the real kinds and the real sites' URLs (as in sources.yaml)."""
    return [
        {"id": "demo-assembly-bills", "kind": "assembly_bills", "name": "국회 법률안 (데모)",
         "url": "https://open.assembly.go.kr/portal/openapi", "max_pages": 2},
        {"id": "demo-assembly-notices", "kind": "assembly_notices", "name": "국회 입법예고 (데모)",
         "url": "https://open.assembly.go.kr/portal/openapi"},
        {"id": "demo-lawmaking", "kind": "lawmaking_notices", "name": "정부 입법예고 (데모)",
         "url": "https://opinion.lawmaking.go.kr/gcom/ogLmPp?isOgYn=Y&opYn=Y", "mode": "html",
         "max_pages": 1},
        {"id": "demo-moel-notice", "kind": "html_board", "name": "고용노동부 공지 (데모)",
         "url": "https://www.moel.go.kr/news/notice/noticeList.do", "ministry": "고용노동부",
         "row": "table.tstyle_list tbody tr", "title": "td[aria-label=제목] a",
         "date": "td[aria-label=등록일]", "department": "td[aria-label=담당부서]",
         "attachment": "td[aria-label=첨부] a", "id_regex": "fnView\\('(\\d+)'\\)",
         "detail_url": "https://www.moel.go.kr/news/notice/noticeView.do?bbs_seq={id}"},
        {"id": "demo-mois-press", "kind": "rss", "name": "행정안전부 보도자료 (데모)",
         "url": "https://www.mois.go.kr/gpms/view/jsp/rss/rss.jsp?ctxCd=1012"},
        {"id": "demo-mohw-press", "kind": "rss", "name": "보건복지부 보도자료 (데모)",
         "url": "https://www.mohw.go.kr/rss/board.es?mid=a10503000000&bid=0027"},
        {"id": "demo-mofe-press", "kind": "rss", "name": "재정경제부 보도자료 (데모)",
         "url": "https://www.mofe.go.kr/com/detailRssTagService.do?bbsId=MOSFBBS_000000000028",
         "link_rewrite": {"http://www.mofe.go.kr/": "https://www.mofe.go.kr/"}},
    ]  # fmt: skip


def write_demo_sources(path: Path) -> Path:
    """Write the demo's sources.yaml (the service's defaults for interval and backfill_days)."""
    doc = {"sources": demo_sources()}
    header = (
        "# policy-monitor 데모의 소스 설정: `monitor demo` 가 만들었습니다. 이 DB 에 대한 명령\n"
        "# (monitor --db ... sources/items/status) 은 이 파일을 씁니다. 실제 운영 설정은 sources.yaml.\n"
    )
    path.write_text(header + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def summary_lines(outcomes: list[Any], digests: list[Any], stored: int, flagged: int) -> list[str]:
    """The demo's closing summary, in the digest's own counts.

    The digest shows a bill and its 국회 입법예고 as one entry, so "relevant items" (rows a rule
    flagged) and digest entries differ by the items merged into another; both are stated.
    """
    failed = sum(o.failed for o in outcomes)
    new = sum(o.new for o in outcomes)
    head = f"요약: 소스 {len(outcomes)}개 (실패 {failed}) · 이번에 새로 저장한 항목 {new}건"
    lines = [f"{head} · DB 의 항목 {stored}건"]
    entries = merged = 0
    for digest in digests:
        for section in digest.sections:
            for group in section.groups:
                entries += len(group.entries)
                merged += sum(len(entry.links) for entry in group.entries)
    if digests:
        together = f" ({merged}건은 같은 의안의 다른 항목과 한 줄로 합침: 국회 법안과 그 입법예고)"
        together = together if merged else ""
        shown = f"다이제스트에 {entries}개 항목으로 나옵니다{together}"
        lines.append(f"규칙에 걸린 관련 항목 {flagged}건이 {shown}")
    else:
        lines.append(f"규칙에 걸린 관련 항목 {flagged}건 · 보낼 다이제스트 없음")
    return lines
