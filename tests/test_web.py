"""The read-only web view (issue 16): a real server on 127.0.0.1, a DB filled by polls of loopback sources.

The world is test_agenda's (three bills, their 입법예고 and real 국회 schedule rows moved to the
coming week) plus a bill whose title is hostile markup and whose link is `javascript:`.
Pages are fetched over HTTP with requests and read as a reader would: the matter's title, its
stage, the meeting date, the deadline.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from click.testing import Result
from icalendar import Calendar
from pytest_httpserver import HTTPServer

from monitor.config import Settings, load_rules, load_sources
from monitor.store import Store
from monitor.text import now
from monitor.web.app import create_app
from monitor.web.auth import allowed, presented
from monitor.web.serve import WebServer, bind
from monitor.web.views import safe_url
from tests.assembly_api import FakeAssembly, bill_row
from tests.test_agenda import COOP, SELF, build_world, label

Cli = Callable[..., Result]
HOSTILE = "<svg/onload=alert(1)> 협동조합 기본법 일부개정법률안"  # markup the cleaner keeps as text
ESCAPED = "&lt;svg/onload=alert(1)&gt;"
SCRIPT = "<script>alert(1)</script>"
REASON = "사회적협동조합의 공익사업 범위를 넓히려는 것임."
TOKEN = "web-secret-Tk7q_9x-123"
PATHS = ("/", "/matters", "/matters/1", "/search?q=협동조합", "/calendar.ics", "/health", "/static/style.css",
         "/nope")  # fmt: skip
FIX = Path(__file__).parent / "fixtures"


@dataclass
class Web:
    url: str
    settings: Settings
    coop: dict[str, Any]
    meet: date
    workdir: Path

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return requests.get(self.url.rstrip("/") + path, timeout=10, **kwargs)


def sources_doc(server: HTTPServer) -> list[dict[str, Any]]:
    base = server.url_for("/portal/openapi")
    return [
        {"id": "bills", "kind": "assembly_bills", "name": "국회 법률안", "url": base, "backfill_days": 36500},
        {"id": "notices", "kind": "assembly_notices", "name": "국회 입법예고", "url": base,
         "backfill_days": 36500, "summaries": "none"},
        {"id": "schedules", "kind": "assembly_schedules", "name": "국회 회의 일정", "url": base},
    ]  # fmt: skip


def fill(
    api: FakeAssembly, server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> tuple[Any, Any]:
    """Polls of the loopback 국회 API: the agenda world, a 제안이유, and the hostile bill."""
    world = build_world(api, now().date() + timedelta(days=3))
    api.summaries[world.coop["BILL_NO"]] = REASON
    hostile = api.add(bill_row(44, HOSTILE, "2026-03-05", committee="재정경제기획위원회"))
    api.add(bill_row(45, COOP, "2026-02-01", proposer="김영희의원 등 12인"))  # the same law
    write_sources(sources_doc(server))
    cli("poll", ok=True)
    return world, hostile


def serve(workdir: Path, token: str | None = None) -> tuple[WebServer, Settings]:
    settings = Settings(db=workdir / "monitor.db", sources=workdir / "sources.yaml", rules=workdir / "rules")
    sources = load_sources(settings.sources)
    ruleset = load_rules(settings.rules)
    server = WebServer(create_app(settings, lambda: (sources, ruleset), token), bind("127.0.0.1", 0))
    server.start()
    return server, settings


@pytest.fixture
def web(api: FakeAssembly, server: HTTPServer, write_sources: Callable[..., Path], cli: Cli,
        workdir: Path) -> Iterator[Web]:  # fmt: skip
    world, _ = fill(api, server, write_sources, cli)
    running, settings = serve(workdir)
    try:
        yield Web(running.url, settings, world.coop, world.meet, workdir)
    finally:
        assert running.stop(timeout=10)


def coop_matter(web: Web) -> int:
    store = Store(web.settings.db, mode="read")
    try:
        found = store.matter_id(web.coop["BILL_ID"])
    finally:
        store.close()
    assert found is not None
    return found


def test_every_page_shows_the_title_stage_meeting_and_deadline(web: Web, cli: Cli) -> None:
    today = now().date()
    matter = coop_matter(web)
    home = web.get("/")
    assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
    page = home.text
    assert "이번 주 한눈에" in page and f"{today.isoformat()} 기준" in page
    # 다가오는 심사 일정: the meeting's day, time as the 국회 wrote it, where, and the bill
    agenda = page[page.index("다가오는 심사 일정"):page.index("의견 마감")]
    assert label(web.meet) in agenda and "전체회의 산회 직후 · 법제사법위원회 법안심사제1소위원회" in agenda
    assert COOP in agenda and f'href="/matters/{matter}"' in agenda
    # 의견 마감 with D-day: the co-op notice closes in 5 days; the welfare one closed yesterday
    deadlines = page[page.index("의견 마감"):page.index("최근 7일 움직인 사안")]
    assert "D-5" in deadlines and COOP in deadlines and label(today + timedelta(days=5)) in deadlines
    assert SELF not in deadlines
    moved = page[page.index("최근 7일 움직인 사안"):page.index("주제·단계별")]
    assert COOP in moved and "위원회 심사" in moved and "의견마감 D-5" in moved
    assert "수집 상태: <strong>정상</strong> · 정상 3/3" in page
    chart = page[page.index("<svg"):page.index("</svg>")]
    assert "협동조합" in chart and "마을기업·자활기업" in chart and "위원회 심사" in chart

    listing = web.get("/matters").text
    assert COOP in listing and "위원회 심사" in listing and SELF in listing
    assert "도로교통법" not in listing  # not followed
    only_coop = web.get("/matters", params={"topic": "cooperatives"}).text
    assert COOP in only_coop and SELF not in only_coop
    by_law = web.get("/matters", params={"law": "자활기업육성"}).text  # spacing ignored
    assert SELF in by_law and COOP not in by_law
    assert "조건에 맞는 사안이 없습니다" in web.get("/matters", params={"stage": "공포"}).text
    assert COOP in web.get("/matters", params={"stage": "위원회 심사", "period": "7d"}).text

    detail = web.get(f"/matters/{matter}").text
    assert f"<h1>{COOP} (홍길동의원 등 10인)</h1>" in detail
    assert "단계: 위원회 심사" in detail and "법: 협동조합 기본법" in detail and "의견마감 D-5" in detail
    assert "진행: 접수 › [위원회 심사] › 체계자구 심사" in detail
    # the timeline across sources, with the agenda meeting; why (rule, field, terms, snippet)
    assert "의안 접수: " + COOP in detail and f"심사 일정 {web.meet.isoformat()} 전체회의 산회 직후" in detail
    assert "협동조합 기본법 개정 (긴급)" in detail and "‘협동조합 기본법’" in detail and "긴급" in detail
    why = detail[detail.index("왜 따라가나요"):detail.index("<h2>자료")]
    assert "제목: ‘협동조합 기본법’" in why and f"<blockquote>{COOP}</blockquote>" in why
    assert "국회 법률안" in why and "국회 입법예고" in why  # the why of each of its items
    # links to every source document: the bill and its 입법예고
    assert f'href="{web.coop["LINK_URL"]}"' in detail
    assert f'lgsltPaId={web.coop["BILL_ID"]}"' in detail
    # related matters of the same law: the other 협동조합 기본법 bill
    related = detail[detail.index("같은 법의 다른 사안"):]
    assert f"{COOP} (김영희의원 등 12인)</a>" in related
    missing = web.get("/matters/99999")
    assert missing.status_code == 404 and "사안 #99999 이(가) 없습니다" in missing.text

    found = web.get("/search", params={"q": "협동조합"})
    assert found.status_code == 200
    groups = found.text.split('<section class="group">')[1:]
    assert any(COOP in g and "<mark>협동조합</mark>" in g for g in groups)
    # grouped by matter: the bill and its 입법예고 under one heading
    (coop_group,) = [g for g in groups if f'href="/matters/{matter}"' in g]
    assert coop_group.count('<li class="card">') == 2
    # a word only in the 제안이유 (summary), and a 1-character word (no trigram: LIKE)
    assert f'href="/matters/{matter}"' in web.get("/search", params={"q": "공익사업"}).text
    short = web.get("/search", params={"q": "법 자활"}).text
    assert SELF in short and COOP not in short
    assert "찾는 말이 들어간 자료가 없습니다" in web.get("/search", params={"q": "없는말입니다"}).text
    assert "검색어를 넣으세요" in web.get("/search").text
    odd = web.get("/search", params={"q": '" AND * ('})  # FTS syntax stays literal
    assert odd.status_code == 200

    feed = web.get("/calendar.ics")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    summaries = [str(e["SUMMARY"]) for e in Calendar.from_ical(feed.content).walk("VEVENT")]
    assert any(COOP in s for s in summaries) and any(s.startswith("[의견 마감]") for s in summaries)
    assert feed.content == cli("calendar", ok=True).stdout_bytes  # the feed of `monitor calendar`

    health = web.get("/health")
    body = health.json()
    status = cli("status", "--json")
    assert body.pop("exit_code") == status.exit_code == 0 and health.status_code == 200
    assert body == json.loads(status.stdout)


def test_a_hostile_title_and_link_are_inert_on_every_page(web: Web) -> None:
    store = Store(web.settings.db, mode="read")
    try:
        (hostile,) = store.search("svg/onload")  # stored as the source gave it, through a poll
    finally:
        store.close()
    assert hostile["title"] == HOSTILE
    # whatever a source's cleaner lets through: a <script> title and a javascript: link in the row
    # of the other 협동조합 bill (the polls above drop both: plain_text, the parser's URL check)
    with sqlite3.connect(web.settings.db) as conn:
        conn.execute("UPDATE items SET title = ?, url = 'javascript:alert(1)' WHERE source = 'notices' "
                     "AND key = ?", [f"{SCRIPT} 협동조합 기본법 입법예고", web.coop["BILL_ID"]])  # fmt: skip
    conn.close()
    matter = coop_matter(web)
    own = f"/matters/{hostile['matter_id']}"
    paths = ("/", "/matters", f"/matters/{matter}", own, "/search?q=svg/onload", "/search?q=alert(1)")
    pages = {p: web.get(p) for p in paths}
    for path, response in pages.items():
        assert response.status_code == 200, path
        text = response.text
        assert "<script" not in text.lower() and "<svg/onload" not in text and "javascript:" not in text, path
        policy = response.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy, path
    assert ESCAPED in pages["/matters"].text and ESCAPED in pages[own].text
    assert ESCAPED in pages["/search?q=svg/onload"].text
    shown = "&lt;script&gt;alert(1)&lt;/script&gt; 협동조합 기본법 입법예고"
    assert shown in pages[f"/matters/{matter}"].text
    assert "&lt;script&gt;" in pages["/"].text  # the 의견 마감 line of the notice
    assert "&lt;script&gt;" in pages["/search?q=alert(1)"].text
    assert safe_url("javascript:alert(1)") is None and safe_url("/relative") is None
    assert safe_url(" JavaScript:alert(1)") is None and safe_url("data:text/html,x") is None
    assert safe_url("https://likms.assembly.go.kr/x?a=1") == "https://likms.assembly.go.kr/x?a=1"


def test_no_page_writes_and_a_read_only_db_serves(web: Web) -> None:
    db = web.settings.db
    wal = db.with_name(db.name + "-wal")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    for path in PATHS:
        web.get(path)
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        answer = requests.request(method, web.url + "matters", timeout=10)
        assert answer.status_code == 405 and answer.headers["allow"] == "GET, HEAD"
    # a reader of a WAL DB may leave an empty -wal and the -shm index behind; nothing is written
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not wal.exists() or wal.stat().st_size == 0
    # the DB file itself read-only: every page still serves
    db.chmod(0o444)
    try:
        for path in ("/", "/matters", "/search?q=협동조합", "/calendar.ics"):
            assert web.get(path).status_code == 200, path
    finally:
        db.chmod(0o644)


def test_a_missing_db_is_a_failing_health_and_a_one_line_page(web: Web, cli: Cli) -> None:
    moved = web.workdir / "elsewhere.db"
    web.settings.db.rename(moved)
    health = web.get("/health")
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "failing" and body["exit_code"] == 2 and "monitor.db" in body["error"]
    status = cli("status", "--json")
    assert status.exit_code == 2 and json.loads(status.stdout)["status"] == "failing"
    page = web.get("/")
    assert page.status_code == 503 and "DB를 열 수 없습니다" in page.text and "monitor.db" in page.text
    assert not web.settings.db.exists()  # read-only: never created


def test_with_a_token_every_path_needs_it(
    api: FakeAssembly, server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    fill(api, server, write_sources, cli)
    running, _ = serve(workdir, token=TOKEN)
    base = running.url.rstrip("/")
    try:
        for path in PATHS:
            bare = requests.get(base + path, timeout=10)
            assert bare.status_code == 401, path
            assert bare.headers["www-authenticate"].startswith('Basic realm="policy-monitor"')
            assert TOKEN not in bare.text and "MONITOR_WEB_TOKEN" in bare.text
            for headers in ({"Authorization": "Bearer wrong"}, {"Authorization": "Bearer " + TOKEN[:-1]},
                            {"Authorization": "Basic !!notbase64"}, {"Authorization": TOKEN}):  # fmt: skip
                denied = requests.get(base + path, headers=headers, timeout=10)
                assert denied.status_code == 401, (path, headers)
            wrong = requests.get(base + path, auth=("viewer", "wrong"), timeout=10)
            assert wrong.status_code == 401
            assert requests.get(base + path + ("&" if "?" in path else "?") + f"token={TOKEN}",
                                timeout=10).status_code == 401  # fmt: skip
            assert requests.head(base + path, timeout=10).status_code == 401
            expected = 404 if path == "/nope" else 200
            bearer = requests.get(base + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
            assert bearer.status_code == expected, path
            basic = requests.get(base + path, auth=("anyone", TOKEN), timeout=10)
            assert basic.status_code == expected, path
        # a calendar app subscribing with the token in the URL's user info
        host = base.removeprefix("http://")
        feed = requests.get(f"http://cal:{requests.utils.quote(TOKEN)}@{host}/calendar.ics", timeout=10)
        assert feed.status_code == 200 and b"BEGIN:VCALENDAR" in feed.content
    finally:
        assert running.stop(timeout=10)
    # the comparison itself
    encoded = base64.b64encode(f"x:{TOKEN}".encode()).decode()
    assert presented(f"Basic {encoded}") == TOKEN and allowed(f"Bearer {TOKEN}", TOKEN)
    assert not allowed(None, TOKEN) and not allowed("Bearer ", TOKEN) and presented("Digest abc") is None


def test_the_search_index_follows_every_write(tmp_path: Path) -> None:
    store = Store(tmp_path / "m.db")
    try:
        def add(key: str, title: str, summary: str = "") -> None:
            store.db.execute(
                "INSERT INTO items (source, key, title, summary, first_seen_at, last_seen_at, content_hash) "
                "VALUES ('s', ?, ?, ?, 'x', 'x', 'h')", [key, title, summary],
            )  # fmt: skip

        with store.atomic():
            add("1", "사회적경제기본법안", "사회적기업과 협동조합을 아우르는 기본법")
            add("2", "주택법 일부개정법률안")
        assert [r["key"] for r in store.search("협동조합")] == ["1"]
        assert [r["key"] for r in store.search("아우르는 기본법")] == ["1"]
        with store.atomic():
            store.db.execute("UPDATE items SET title = '협동조합 주택 공급법안' WHERE key = '2'")
            store.db.execute("UPDATE items SET summary = '' WHERE key = '1'")
        assert [r["key"] for r in store.search("협동조합")] == ["2"]
        with store.atomic():
            store.db.execute("DELETE FROM items WHERE key = '2'")
        assert store.search("협동조합") == [] and store.search("주택") == []
        assert store.search("   ") == []
    finally:
        store.close()
    # the machine's SQLite has FTS5 with the trigram tokenizer (3.34+)
    assert sqlite3.sqlite_version_info >= (3, 34)


def test_the_migration_indexes_a_previous_release_database(tmp_path: Path) -> None:
    db = tmp_path / "old.sqlite"
    shutil.copy(FIX / "prev_release" / "monitor-2ab8ac2.sqlite", db)
    titles = [r[0] for r in sqlite3.connect(db).execute("SELECT title FROM items WHERE length(title) > 6")]
    assert titles
    store = Store(db)
    try:
        word = titles[0][:4]
        assert any(r["title"] == titles[0] for r in store.search(word))
    finally:
        store.close()


# --- the processes: monitor web, monitor run --web --------------------------------------------------


def start(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", *args], cwd=cwd, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("웹 보기: "):
            return proc, line.split()[2]
    proc.wait(timeout=10)
    raise AssertionError(f"no address: {proc.stderr.read() if proc.stderr else ''}")


def process_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "SLACK_", "SMTP_"))}
    env.update(MONITOR_DB=str(workdir / "monitor.db"), MONITOR_SOURCES=str(workdir / "sources.yaml"),
               MONITOR_RULES=str(workdir / "rules"), PYTHONPATH=str(Path(__file__).parents[1]))  # fmt: skip
    return env


def test_monitor_web_serves_until_sigterm_and_refuses_a_taken_port(
    api: FakeAssembly, server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    fill(api, server, write_sources, cli)
    env = process_env(workdir)
    proc, url = start(["web", "--port", "0"], workdir, env)
    try:
        assert url.startswith("http://127.0.0.1:")
        assert COOP in requests.get(url, timeout=10).text
        port = url.rstrip("/").rsplit(":", 1)[1]
        taken = subprocess.run([sys.executable, "-m", "monitor", "web", "--port", port], cwd=workdir, env=env,
                               capture_output=True, text=True, timeout=60)  # fmt: skip
        assert taken.returncode == 2 and f"웹 주소 127.0.0.1:{port} 에 열 수 없습니다" in taken.stderr
        assert "--port 로 다른 포트" in taken.stderr and "Traceback" not in taken.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "웹 보기 종료" in out and "Traceback" not in err
    # beyond this machine without a token: it serves, and says so on stderr
    wide, url = start(["web", "--host", "0.0.0.0", "--port", "0"], workdir, env)
    wide.send_signal(signal.SIGTERM)
    _, wide_err = wide.communicate(timeout=30)
    assert wide.returncode == 0 and url.startswith("http://0.0.0.0:")
    port = url.rstrip("/").rsplit(":", 1)[1]
    assert f"경고: 0.0.0.0:{port} 에 MONITOR_WEB_TOKEN 없이 열었습니다" in wide_err
    missing = subprocess.run([sys.executable, "-m", "monitor", "--db", str(workdir / "none.db"), "web"],
                             cwd=workdir, env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert missing.returncode == 2 and "none.db" in missing.stderr and not (workdir / "none.db").exists()


def test_monitor_run_web_serves_beside_the_scheduler_and_stops_on_sigterm(
    api: FakeAssembly, server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    fill(api, server, write_sources, cli)
    doc = yaml.safe_load((workdir / "sources.yaml").read_text(encoding="utf-8"))
    for source in doc["sources"]:
        source["interval"] = "1d"  # polls at start only
    (workdir / "sources.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    env = dict(process_env(workdir), MONITOR_WEB_TOKEN=TOKEN)
    proc, url = start(["run", "--web", "--port", "0"], workdir, env)
    try:
        assert requests.get(url + "health", timeout=10).status_code == 401
        health = requests.get(url + "health", auth=("x", TOKEN), timeout=10)
        assert health.json()["status"] in ("healthy", "degraded") and health.json()["exit_code"] in (0, 1)
        assert COOP in requests.get(url + "matters", auth=("x", TOKEN), timeout=10).text
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "policy-monitor 서비스 종료" in out and "Traceback" not in err
    assert TOKEN not in out + err
