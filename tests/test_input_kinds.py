"""Issue 11's kinds of real-world input, for every source kind they apply to, through real polls.

One test per kind of fault and source kind (not per case file; tests/test_real_world.py has the
files of ../shared/cases/real-world): titles with HTML markup and double-escaped entities are
stored as plain text and the shipped urgent rule `coop-basic-act` fires on them; links resolve
against the document's real base, only http(s) is kept, session ids leave URLs and keys; each
kind's own date spelling parses as Korea time and an unreadable one is a run warning naming the
raw text; a guid that moves from http:// to https:// is the same post; a database of the
previous schema is re-keyed on open.

Every source is served from 127.0.0.1 in the shape of the existing fixtures of its kind
(tests/feeds.py, fixtures/boards, fixtures/lawmaking, fixtures/lawgo, fixtures/press,
tests/assembly_api.py) and polled through the CLI with the shipped rules/.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from xml.sax.saxutils import escape

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.sources.base import Item
from monitor.store import MIGRATIONS, Store
from monitor.text import now
from tests.assembly_api import FakeAssembly, bill_row, notice_row
from tests.conftest import ROOT

RULES = str(ROOT / "rules")
Cli = Callable[..., Result]
Write = Callable[..., Path]

# Titles as CMSs and APIs send them: markup in the text (a CDATA title, an API field holding
# HTML), and entities escaped twice (`&amp;quot;` shows as `&quot;` in a browser).
MARKUP = "<b>협동조합</b> 기본법 시행령 일부개정령안 입법예고"
MARKUP_PLAIN = "협동조합 기본법 시행령 일부개정령안 입법예고"
SPLIT = "<b>협동</b>조합 기본법 일부개정법률안"  # markup inside the rule's term
SPLIT_PLAIN = "협동조합 기본법 일부개정법률안"
ESCAPED = "&amp;quot;협동조합 기본법&amp;quot;&amp;nbsp;일부개정법률안 입법예고"
ESCAPED_PLAIN = '"협동조합 기본법" 일부개정법률안 입법예고'
URGENT = "coop-basic-act"
SESSION = re.compile(r"jsessionid|phpsessid", re.I)
ABSOLUTE = re.compile(r"^https?://[^/]+")
MARKUP_LEFT = re.compile(r"</?b>|&[#\w]+;|\xa0")  # a tag, an entity or an NBSP left in a title
# angle brackets quoting a name are text, not a tag to drop with its words
BRACKETS = "<SE 포럼> 협동조합 기본법 설명회"


# --- helpers ----------------------------------------------------------------------------------


def rows(result: Result) -> list[dict[str, Any]]:
    return [json.loads(x) for x in result.stdout.splitlines() if x.strip()]


def poll(cli: Cli) -> dict[str, Any]:
    """Poll the one configured source with the shipped rules; its outcome."""
    (outcome,) = rows(cli("--rules", RULES, "poll", "--json", ok=True))
    assert outcome["status"] == "ok", outcome
    return outcome


def poll_all(cli: Cli) -> dict[str, dict[str, Any]]:
    return {o["source"]: o for o in rows(cli("--rules", RULES, "poll", "--json", ok=True))}


def stored(cli: Cli, source: str | None = None) -> dict[str, dict[str, Any]]:
    """Stored items by key, as `monitor items --json` shows them."""
    args = ("--source", source) if source else ()
    return {i["key"]: i for i in rows(cli("--rules", RULES, "items", "--json", *args, ok=True))}


def by_title(items: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["title"]: i for i in items.values()}


def rules_of(item: dict[str, Any]) -> set[str]:
    return {m["rule"] for m in item["matches"]}


def assert_plain_and_urgent(items: dict[str, dict[str, Any]], *titles: str) -> None:
    """Each title is stored exactly so (no tag, no entity) and the urgent rule fired on it."""
    found = by_title(items)
    for title in titles:
        assert title in found, (title, sorted(found))
        assert URGENT in rules_of(found[title]), found[title]["matches"]
    for item in items.values():
        assert not MARKUP_LEFT.search(item["title"]), item["title"]


def assert_clean_links(items: dict[str, dict[str, Any]]) -> None:
    """Every stored URL is absolute http(s); no URL or key carries a session id."""
    for item in items.values():
        assert item["url"] is None or ABSOLUTE.match(item["url"]), item["url"]
        assert not SESSION.search(item["url"] or ""), item["url"]
        assert not SESSION.search(item["key"]), item["key"]


def unreadable(outcome: dict[str, Any], raw: str) -> bool:
    """The run warned that it could not read the date `raw` (named as the source wrote it)."""
    return any("unreadable date" in w and repr(raw) in w for w in outcome["warnings"])


def redirect(server: HTTPServer, path: str, to: str) -> None:
    server.expect_request(path).respond_with_data("", status=302, headers={"Location": server.url_for(to)})


# --- rss (the shape of tests/feeds.py: CDATA titles, KST pubDates, the link as guid) -----------

RSS = "application/rss+xml; charset=UTF-8"


def rss_item(
    title: str, link: str, *, guid: str | None = None, date: str = "Mon, 30 Nov 2026 10:00:00 KST",
    cdata: bool = True, base: str | None = None,
) -> str:  # fmt: skip
    head = f' xml:base="{base}"' if base else ""
    guid_xml = f"<guid>{escape(link)}</guid>" if guid is None else f'<guid isPermaLink="false">{guid}</guid>'
    title_xml = f"<![CDATA[{title}]]>" if cdata else title
    return (
        f"<item{head}>\n<title>{title_xml}</title>\n<link>{escape(link)}</link>\n"
        f"<description><![CDATA[<p>{title}</p>]]></description>\n<pubDate>{date}</pubDate>\n{guid_xml}\n</item>"
    )


def rss(*items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n<channel>\n'
        "<title>행정안전부 보도자료</title>\n<link>https://www.example.go.kr/</link>\n"
        "<description>행정안전부 보도자료 RSS</description>\n" + "\n".join(items) + "\n</channel>\n</rss>\n"
    ).encode("utf-8")


def rss_source(server: HTTPServer, path: str = "/feed.rss") -> dict[str, Any]:
    return {"id": "feed", "kind": "rss", "name": "시험 피드", "url": server.url_for(path),
            "backfill_days": 36500}  # fmt: skip


def test_rss_titles_with_markup_and_double_escapes_are_plain_and_urgent(
    server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    doc = rss(
        rss_item(MARKUP, "https://www.example.go.kr/view.do?nttId=1"),
        rss_item(SPLIT, "https://www.example.go.kr/view.do?nttId=2"),
        # outside CDATA the XML escapes once more: the reader's text is still `&amp;quot;…`
        rss_item(ESCAPED.replace("&", "&amp;"), "https://www.example.go.kr/view.do?nttId=3", cdata=False),
        rss_item(BRACKETS, "https://www.example.go.kr/view.do?nttId=4"),
    )
    server.expect_request("/feed.rss").respond_with_data(doc, content_type=RSS)
    write_sources([rss_source(server)])
    assert poll(cli)["new"] == 4
    assert_plain_and_urgent(stored(cli), MARKUP_PLAIN, SPLIT_PLAIN, ESCAPED_PLAIN, BRACKETS)


def test_rss_links_resolve_against_xml_base_and_the_redirected_feed_url(
    server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    doc = rss(
        rss_item("상대 링크", "view.do?nttId=1"),
        rss_item("xml:base 링크", "view.do?nttId=2", base="https://www.example.go.kr/news/"),
        rss_item("스크립트 링크", "javascript:fnView('3')", guid="post-3"),
        rss_item("세션 링크", "/bbs/view.do;jsessionid=8F3A2B1C?nttId=4&PHPSESSID=abc123"),
    )
    redirect(server, "/old/feed.rss", "/feeds/new/feed.rss")  # the feed moved: a 302 to its new place
    server.expect_request("/feeds/new/feed.rss").respond_with_data(doc, content_type=RSS)
    write_sources([rss_source(server, "/old/feed.rss")])
    poll(cli)
    items = stored(cli)
    urls = {i["title"]: i["url"] for i in items.values()}
    assert urls == {
        "상대 링크": server.url_for("/feeds/new/view.do") + "?nttId=1",  # the final URL, not /old/
        "xml:base 링크": "https://www.example.go.kr/news/view.do?nttId=2",
        "스크립트 링크": None,
        "세션 링크": server.url_for("/bbs/view.do") + "?nttId=4",
    }
    session = by_title(items)["세션 링크"]["key"]
    assert session == server.url_for("/bbs/view.do").replace("http://", "https://") + "?nttId=4"
    assert_clean_links(items)


def test_rss_dates_as_feeds_write_them_and_an_unreadable_one_is_named(
    server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    dates = {
        "RFC 822 KST": ("Mon, 30 Nov 2026 10:00:00 KST", "2026-11-30T10:00:00+09:00"),
        "RFC 822 GMT": ("Mon, 30 Nov 2026 01:00:00 GMT", "2026-11-30T10:00:00+09:00"),
        "RFC 822 +09:00": ("Mon, 30 Nov 2026 10:00:00 +09:00", "2026-11-30T10:00:00+09:00"),
        "Java Date": ("Mon Nov 30 10:00:00 KST 2026", "2026-11-30T10:00:00+09:00"),
        "compact": ("20261130100000", "2026-11-30T10:00:00+09:00"),
        "unreadable": ("2026년 11월 말", None),
    }
    doc = rss(*(rss_item(name, f"https://www.example.go.kr/view.do?nttId={n}", date=raw)
                for n, (name, (raw, _)) in enumerate(dates.items())))  # fmt: skip
    server.expect_request("/feed.rss").respond_with_data(doc, content_type=RSS)
    write_sources([rss_source(server)])
    outcome = poll(cli)
    published = {i["title"]: i["published_at"] for i in stored(cli).values()}
    assert published == {name: iso for name, (_, iso) in dates.items()}
    assert unreadable(outcome, "2026년 11월 말")
    assert len([w for w in outcome["warnings"] if "unreadable date" in w]) == 1


def test_rss_a_guid_moving_from_http_to_https_is_the_same_post(
    server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    scheme = {"now": "http"}

    def feed(request: Request) -> Response:
        link = f"{scheme['now']}://www.example.go.kr/news/view.do?nttId=7"
        return Response(rss(rss_item(MARKUP, link)), content_type=RSS)

    server.expect_request("/feed.rss").respond_with_handler(feed)
    write_sources([rss_source(server)])
    assert poll(cli)["new"] == 1
    scheme["now"] = "https"  # the site moved to https: the same post, its guid rewritten
    again = poll(cli)
    assert (again["new"], again["updated"], again["announced"]) == (0, 0, 0)
    (item,) = stored(cli).values()
    assert item["url"] == "https://www.example.go.kr/news/view.do?nttId=7"
    assert [e["type"] for e in rows(cli("events", "--json", ok=True))] == ["new"]


# --- html_board (the 고용노동부 list: table.tstyle_list, td[aria-label=…]) ---------------------


LIST = "/news/notice/noticeList.do"
COLUMNS = ("번호", "제목", "담당부서", "첨부", "등록일", "조회")


def board_row(title: str, href: str, date: str = "2026.11.30", onclick: str = "") -> str:
    click = f' onclick="{onclick}"' if onclick else ""
    return (
        '<tr>\n<td aria-label="번호" class="m_hidden">1</td>\n<td aria-label="제목" class="txt_left">\n'
        f'<strong class="b_tit">\n<a class="ellipsis" href="{href}"{click}>\n\t\t\t{title}\n\t\t</a>\n'
        '</strong>\n</td>\n<td aria-label="담당부서"><span class="ellipsis">사회적기업과</span></td>\n'
        f'<td aria-label="첨부"></td>\n<td aria-label="등록일">{date}</td>\n'
        '<td aria-label="조회" class="txt_right">12</td>\n</tr>'
    )


def board(*rows_html: str, base: str | None = None) -> bytes:
    head = f'<base href="{base}">' if base else ""
    return (
        f'<html><head><meta charset="utf-8">{head}<title>공지사항</title></head><body>\n'
        '<table class="tstyle_list">\n'
        "<caption>공지사항 목록 - 번호, 제목, 담당부서, 첨부, 등록일, 조회로 구성</caption>\n<thead>\n<tr>\n"
        + "".join(f'<th scope="col">{name}</th>\n' for name in COLUMNS)
        + "</tr>\n</thead>\n"
        "<tbody>\n" + "\n".join(rows_html) + "\n</tbody>\n</table>\n</body></html>"
    ).encode("utf-8")


def board_source(server: HTTPServer, path: str = LIST, **extra: Any) -> dict[str, Any]:
    return {
        "id": "board", "kind": "html_board", "name": "고용노동부 공지", "url": server.url_for(path),
        "backfill_days": 36500, "row": "table.tstyle_list tbody tr", "title": "td[aria-label=제목] a",
        "date": "td[aria-label=등록일]", **extra,
    }  # fmt: skip


def serve_board(server: HTTPServer, page: bytes, path: str = LIST) -> None:
    server.expect_request(path).respond_with_data(page, content_type="text/html; charset=utf-8")


def test_board_titles_with_markup_and_double_escapes_are_plain_and_urgent(
    server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    def html_text(title: str) -> str:  # the markup shown as text: escaped once in the page
        return title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

    serve_board(server, board(
        board_row(html_text(MARKUP), "noticeView.do?bbs_seq=1"),
        board_row(html_text(SPLIT), "noticeView.do?bbs_seq=2"),
        board_row(ESCAPED, "noticeView.do?bbs_seq=3"),  # the page shows `&quot;`: escaped twice
    ))  # fmt: skip
    write_sources([board_source(server)])
    assert poll(cli)["new"] == 3
    assert_plain_and_urgent(stored(cli), MARKUP_PLAIN, SPLIT_PLAIN, ESCAPED_PLAIN)


def test_board_links_resolve_against_base_href_and_lose_scripts_and_sessions(
    server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    serve_board(server, board(
        board_row("세션 링크", "noticeView.do;jsessionid=9A8B7C6D?bbs_seq=20261100001"),
        board_row("PHP 세션 링크", "/news/notice/noticeView.do?bbs_seq=20261100002&amp;PHPSESSID=f00d"),
        board_row("스크립트 링크", "javascript:void(0);",
                  onclick="scEventListener.fnView('20261100003');return false;"),
        base="https://www.example.go.kr/news/notice/",
    ))  # fmt: skip
    write_sources([board_source(server, id_regex="fnView\\('(\\d+)'\\)")])
    poll(cli)
    items = stored(cli)
    assert {i["title"]: (k, i["url"]) for k, i in items.items()} == {
        "세션 링크": ("https://www.example.go.kr/news/notice/noticeView.do?bbs_seq=20261100001",) * 2,
        "PHP 세션 링크": ("https://www.example.go.kr/news/notice/noticeView.do?bbs_seq=20261100002",) * 2,
        "스크립트 링크": ("20261100003", None),  # the id from onclick; no javascript: URL
    }
    assert_clean_links(items)


def test_board_links_resolve_against_the_page_url_after_a_redirect(
    server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    moved = "/news/notice/list/noticeList.do"
    redirect(server, LIST, moved)
    serve_board(server, board(board_row("이동한 게시판", "noticeView.do?bbs_seq=7")), moved)
    write_sources([board_source(server)])
    poll(cli)
    (item,) = stored(cli).values()
    assert item["url"] == server.url_for("/news/notice/list/noticeView.do") + "?bbs_seq=7"


def test_board_dates_as_boards_write_them_and_an_unreadable_one_is_named(
    server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    dates = {
        "점 날짜": ("2026.11.30", "2026-11-30T00:00:00+09:00"),
        "JSP 날짜": ("Mon Nov 30 10:00:00 KST 2026", "2026-11-30T10:00:00+09:00"),
        "시각 포함": ("2026-11-30 14:30", "2026-11-30T14:30:00+09:00"),
        "한글 날짜": ("2026년 11월 30일", "2026-11-30T00:00:00+09:00"),
        "연도 없음": ("11.30", None),
    }
    serve_board(server, board(*(board_row(name, f"noticeView.do?bbs_seq={n}", raw)
                                for n, (name, (raw, _)) in enumerate(dates.items()))))  # fmt: skip
    write_sources([board_source(server)])
    outcome = poll(cli)
    assert {i["title"]: i["published_at"] for i in stored(cli).values()} == {
        name: iso for name, (_, iso) in dates.items()
    }
    assert unreadable(outcome, "11.30")


def test_board_a_link_moving_from_http_to_https_is_the_same_post(
    server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    scheme = {"now": "http"}

    def page(request: Request) -> Response:
        href = f"{scheme['now']}://www.example.go.kr/news/notice/noticeView.do?bbs_seq=7"
        return Response(board(board_row(MARKUP, href)), content_type="text/html; charset=utf-8")

    server.expect_request(LIST).respond_with_handler(page)
    write_sources([board_source(server)])
    assert poll(cli)["new"] == 1
    scheme["now"] = "https"
    assert poll(cli)["new"] == 0
    assert len(stored(cli)) == 1
    assert [e["type"] for e in rows(cli("events", "--json", ok=True))] == ["new"]


# --- lawmaking_notices / lawmaking_admin_notices (fixtures/lawmaking shapes) -----------------


def ogLmPp_row(seq: str, title: str, period: str, href: str | None = None) -> str:
    href = href or f"/gcom/ogLmPp/{seq}?isOgYn=Y&amp;opYn=Y"
    return (
        '<tr>\n\t<td data-th="번호" class="reHide">1</td>\n\t<td data-th="법령 제명" class="subject">\n'
        f'\t\t<a href="{href}">{title}</a>\n'
        '\t\t<span class="ogmark_2" aria-label="입법예고 제·개정구분 - 일부">일부</span>\n\t</td>\n'
        '\t<td data-th="소관부처 (법령종류)">\n\t\t<p>재정경제부</p>\n\t\t<p>(대통령령)</p>\n\t</td>\n'
        '\t<td data-th="법령분야 (주요적용대상)">\n\t\t<p>경제</p>\n\t</td>\n'
        f'\t<td data-th="입법의견 접수기간">\n\t\t{period}\n\t</td>\n'
        '\t<td data-th="입법의견 남은 기간">\n\t\t14일\n\t</td>\n\t<td data-th="의견수">0</td>\n'
        '\t<td data-th="조회수" class="reHide">21</td>\n</tr>'
    )


def admpp_row(seq: str, title: str, period: str, href: str | None = None) -> str:
    href = href or f"/gcom/admpp/{seq}?announceType=TYPE6&amp;mappingAdmRulSeq=2000000331002"
    return (
        '<tr>\n\t<td data-th="번호" class="reHide">6540</td>\n\t<td data-th="제목" class="subject">\n'
        f'\t\t<a href="{href}"><span class="ogmark_1">진행</span> {title}</a>\n\t</td>\n'
        '\t<td data-th="예고구분">\n\t\t<p>지침</p>\n\t</td>\n'
        '\t<td data-th="소관부처 (고시번호)">\n\t\t<p>재정경제부</p>\n'
        '\t\t<p>(재정경제부공고 제2026-201호)</p>\n\t</td>\n'
        f'\t<td data-th="예고기간">\n\t\t{period}\n\t</td>\n'
        '\t<td data-th="남은일수">\n\t\t16일\n\t</td>\n</tr>'
    )


def list_page(*rows_html: str, base: str | None = None) -> bytes:
    head = f'<base href="{base}">' if base else ""
    return (
        f'<html><head><meta charset="utf-8">{head}<title>국민참여입법센터</title></head><body>\n<table>\n'
        "\t<tbody>\n" + "\n".join(rows_html) + "\n\t</tbody>\n</table>\n</body></html>"
    ).encode("utf-8")


PERIOD = "<p>2026. 11. 30.</p><p>~2026. 12. 14.</p>"  # the site's spelling (ogLmPp_sample.html)


def lawmaking_source(server: HTTPServer, kind: str) -> dict[str, Any]:
    path = "/gcom/ogLmPp" if kind == "lawmaking_notices" else "/gcom/admpp"
    query = "?isOgYn=Y&opYn=Y" if kind == "lawmaking_notices" else ""
    return {"id": "lawmaking", "kind": kind, "name": "입법예고", "url": server.url_for(path) + query,
            "backfill_days": 36500, "page_delay": 0, "max_pages": 1}  # fmt: skip


@pytest.fixture
def no_oc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAWMAKING_OC", raising=False)


LAWMAKING = [
    ("lawmaking_notices", "/gcom/ogLmPp", ogLmPp_row),
    ("lawmaking_admin_notices", "/gcom/admpp", admpp_row),
]


@pytest.mark.usefixtures("no_oc")
@pytest.mark.parametrize(("kind", "path", "row"), LAWMAKING)
def test_lawmaking_html_titles_are_plain_and_urgent(
    kind: str, path: str, row: Callable[..., str], server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    escaped = MARKUP.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    page = list_page(row("88501", escaped, PERIOD), row("88502", ESCAPED, PERIOD))
    server.expect_request(path).respond_with_data(page, content_type="text/html;charset=UTF-8")
    write_sources([lawmaking_source(server, kind)])
    assert poll(cli)["new"] == 2
    assert_plain_and_urgent(stored(cli), MARKUP_PLAIN, ESCAPED_PLAIN)


@pytest.mark.usefixtures("no_oc")
@pytest.mark.parametrize(("kind", "path", "row"), LAWMAKING)
def test_lawmaking_html_links_keep_rows_with_session_ids_and_honour_base_href(
    kind: str, path: str, row: Callable[..., str], server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    # Java servlet URL rewriting puts `;jsessionid=` right after the seq: the row is still one post
    session = f"{path}/88511;jsessionid=A1B2C3D4E5?isOgYn=Y&amp;opYn=Y"
    page = list_page(
        row("88510", "상대 링크", PERIOD),
        row("88511", "세션 링크", PERIOD, href=session),
        row("88512", "스크립트 링크", PERIOD, href="javascript:void(0);"),
        base="https://opinion.lawmaking.go.kr/",
    )
    server.expect_request(path).respond_with_data(page, content_type="text/html;charset=UTF-8")
    write_sources([lawmaking_source(server, kind)])
    poll(cli)
    items = stored(cli)
    assert set(items) == {"88510", "88511"}  # a row without a detail link is no post
    assert items["88511"]["url"] == f"https://opinion.lawmaking.go.kr{path}/88511?isOgYn=Y&opYn=Y"
    assert items["88510"]["url"].startswith(f"https://opinion.lawmaking.go.kr{path}/88510?")
    assert_clean_links(items)


@pytest.mark.usefixtures("no_oc")
@pytest.mark.parametrize(("kind", "path", "row"), LAWMAKING)
def test_lawmaking_html_periods_parse_and_an_unreadable_one_is_named(
    kind: str, path: str, row: Callable[..., str], server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    page = list_page(row("88520", "읽히는 기간", PERIOD), row("88521", "미정인 기간", "<p>추후 공지</p>"))
    server.expect_request(path).respond_with_data(page, content_type="text/html;charset=UTF-8")
    write_sources([lawmaking_source(server, kind)])
    outcome = poll(cli)
    items = stored(cli)
    assert items["88520"]["published_at"] == "2026-11-30T00:00:00+09:00"
    assert items["88520"]["fields"]["deadline"] == "2026-12-14"
    assert items["88521"]["published_at"] is None and "deadline" not in items["88521"]["fields"]
    assert unreadable(outcome, "추후 공지")


REST = [
    ("lawmaking_notices", "/rest/ogLmPp", "ApiList04Vo", "ogLmPpSeq", "lsNm", "/gcom/ogLmPp/{seq}"),
    ("lawmaking_admin_notices", "/rest/ptcpAdmPp", "ApiList05Vo", "ogAdmPpSeq", "admRulNm",
     "/gcom/admpp/{seq}"),
]  # fmt: skip


def rest_list(row_tag: str, seq_tag: str, title_tag: str, rows_: list[tuple[str, ...]]) -> bytes:
    """A REST list in the shape of fixtures/lawmaking/rest_*.xml: (seq, title, pntcDt[, edYd]) rows."""
    body = "".join(
        f"    <{row_tag}>\n      <{seq_tag}>{seq}</{seq_tag}>\n"
        f"      <{title_tag}><![CDATA[[진행]{title}]]></{title_tag}>\n      <lsClsNm>대통령령</lsClsNm>\n"
        "      <asndOfiNm>재정경제부</asndOfiNm>\n      <pntcNo>2026-512</pntcNo>\n"
        f"      <pntcDt>{posted}</pntcDt>\n      <stYd>{posted}</stYd>\n"
        f"      <edYd>{end[0] if end else '2026. 12. 14.'}</edYd>\n"
        f"      <readCnt>3</readCnt>\n      <announceType>TYPE5</announceType>\n    </{row_tag}>\n"
        for seq, title, posted, *end in rows_
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<result>\n  <retMsg>200</retMsg>\n'
        f"  <totalCnt>{len(rows_)}</totalCnt>\n  <pageIndex>1</pageIndex>\n  <pageSize>100</pageSize>\n"
        f"  <list>\n{body}  </list>\n</result>"
    ).encode()


@pytest.mark.parametrize(("kind", "path", "row_tag", "seq_tag", "title_tag", "detail"), REST)
def test_lawmaking_rest_titles_links_and_dates(
    kind: str, path: str, row_tag: str, seq_tag: str, title_tag: str, detail: str,
    server: HTTPServer, write_sources: Write, cli: Cli, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("LAWMAKING_OC", "sentinel-oc-4711")
    body = rest_list(row_tag, seq_tag, title_tag, [
        ("88601", MARKUP, "2026. 11. 30."),
        ("88602", ESCAPED, "2026. 11. 30."),
        ("88603", "기간 미정 입법예고", "미정"),
        ("88604", "마감일 미정 입법예고", "2026. 11. 30.", "추후 공지"),
    ])  # fmt: skip
    server.expect_request(path).respond_with_data(body, content_type="application/xml;charset=UTF-8")
    write_sources([{**lawmaking_source(server, kind), "page_size": 100}])
    outcome = poll(cli)
    items = stored(cli)
    assert_plain_and_urgent(items, MARKUP_PLAIN, ESCAPED_PLAIN)
    assert items["88601"]["published_at"] == "2026-11-30T00:00:00+09:00"
    assert items["88603"]["published_at"] is None
    assert unreadable(outcome, "미정")
    # an unreadable 의견마감 is named too (field and raw text), and no deadline is stored
    assert any("'추후 공지' (deadline)" in w for w in outcome["warnings"]), outcome["warnings"]
    assert "deadline" not in items["88604"]["fields"] and "_unreadable" not in items["88604"]["fields"]
    assert items["88601"]["fields"]["deadline"] == "2026-12-14"
    assert items["88601"]["url"].startswith(server.url_for(detail.format(seq="88601")))  # built, absolute
    assert_clean_links(items)


# --- law_changes (fixtures/lawgo: LawSearch with <law> rows, CDATA names, 공포일자 YYYYMMDD) ----


def law(mst: str, name: str, promulgated: str) -> str:
    return (
        f'<law id="1"><법령일련번호>{mst}</법령일련번호><현행연혁코드>현행</현행연혁코드>'
        f"<법령명한글><![CDATA[{name}]]></법령명한글><법령ID>009999</법령ID><공포일자>{promulgated}</공포일자>"
        "<공포번호>21901</공포번호><제개정구분명>일부개정</제개정구분명><소관부처코드>1053000</소관부처코드>"
        "<소관부처명>재정경제부</소관부처명><법령구분명>대통령령</법령구분명><시행일자>20261201</시행일자>"
        f"<자법타법여부></자법타법여부><법령상세링크>/DRF/lawService.do?OC=test&amp;target=law&amp;MST={mst}"
        "&amp;type=HTML</법령상세링크></law>"
    )


def test_law_changes_titles_links_and_dates(
    server: HTTPServer, write_sources: Write, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAW_GO_KR_OC", "sentinel-law-oc")
    laws = [law("290001", MARKUP, "20261130"), law("290002", ESCAPED, "20261130"),
            law("290003", "조세특례제한법 시행령", "2026113")]  # fmt: skip
    body = ('<?xml version="1.0" encoding="UTF-8"?><LawSearch><target>lsHstInf</target>'
            f"<totalCnt>{len(laws)}</totalCnt>" + "".join(laws) + "</LawSearch>").encode()  # fmt: skip
    server.expect_request("/DRF/lawSearch.do").respond_with_data(body, content_type="text/xml;charset=UTF-8")
    write_sources([{"id": "law-changes", "kind": "law_changes", "name": "법령 제·개정", "days": 1,
                    "backfill_days": 36500, "url": server.url_for("/DRF/lawSearch.do")}])  # fmt: skip
    outcome = poll(cli)
    items = stored(cli)
    assert_plain_and_urgent(items, MARKUP_PLAIN, ESCAPED_PLAIN)
    assert items["290001"]["published_at"] == "2026-11-30T00:00:00+09:00"
    assert items["290003"]["published_at"] is None
    assert unreadable(outcome, "2026113")
    assert items["290001"]["url"] == "https://www.law.go.kr/lsInfoP.do?lsiSeq=290001"  # never the OC link
    assert_clean_links(items)


# --- press_releases (fixtures/press/pressReleaseList.xml: NewsItem, CDATA Title, MM/DD/YYYY) ---

PRESS = "/1371000/pressReleaseService/pressReleaseList"


def news(news_id: str, title: str, approved: str, url: str) -> str:
    return (
        f"    <NewsItem>\n      <NewsItemId>{news_id}</NewsItemId>\n"
        "      <ContentsStatus>I</ContentsStatus>\n"
        f"      <ModifyId>1</ModifyId>\n      <ModifyDate>{approved}</ModifyDate>\n"
        f"      <ApproveDate>{approved}</ApproveDate>\n      <ApproverName>김민정</ApproverName>\n"
        f"      <GroupingCode>pressrelease</GroupingCode>\n      <Title><![CDATA[{title}]]></Title>\n"
        "      <SubTitle1><![CDATA[]]></SubTitle1>\n      <ContentsType>H</ContentsType>\n"
        "      <DataContents><![CDATA[<p>본문</p>]]></DataContents>\n"
        "      <MinisterCode>재정경제부</MinisterCode>\n"
        f"      <OriginalUrl>{escape(url)}</OriginalUrl>\n    </NewsItem>\n"
    )


def test_press_releases_titles_links_and_dates(
    server: HTTPServer, write_sources: Write, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_GO_KR_KEY", "sentinel+data/key==")
    view = "https://www.korea.kr/briefing/pressReleaseView.do"
    relative = "/briefing/pressReleaseView.do?newsId=156770003"
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<response>\n'
        "  <header><resultCode>0</resultCode><resultMsg>NORMAL_SERVICE</resultMsg></header>\n  <body>\n"
        + news("156770001", MARKUP, "11/30/2026 10:00:00", f"{view};jsessionid=3F2E1D0C?newsId=156770001")
        + news("156770002", ESCAPED, "11/30/2026 14:00:00", "javascript:void(0);")
        + news("156770003", "상대 링크 보도자료", "30/11/2026 10:00:00", relative)
        + "  </body>\n</response>\n"
    ).encode()
    server.expect_request(PRESS).respond_with_data(body, content_type="text/xml;charset=UTF-8")
    write_sources([{"id": "press", "kind": "press_releases", "name": "정책브리핑 보도자료",
                    "backfill_days": 36500, "url": server.url_for(PRESS), "lookback_days": 1}])  # fmt: skip
    outcome = poll(cli)
    items = stored(cli)
    assert_plain_and_urgent(items, MARKUP_PLAIN, ESCAPED_PLAIN)
    assert items["156770001"]["url"] == f"{view}?newsId=156770001"
    assert items["156770002"]["url"] is None
    assert items["156770003"]["url"] == urljoin(server.url_for(PRESS), relative)  # the API's own URL
    assert items["156770001"]["published_at"] == "2026-11-30T10:00:00+09:00"
    assert items["156770003"]["published_at"] is None  # a day-first date: month 30 is refused, not guessed
    assert unreadable(outcome, "30/11/2026 10:00:00")
    assert_clean_links(items)


# --- assembly_bills / assembly_notices (tests/assembly_api.py: the Open API's JSON shapes) -----


@pytest.fixture
def assembly(api: FakeAssembly) -> FakeAssembly:
    return api  # the loopback Open API of tests/conftest.py


def assembly_sources(server: HTTPServer, write_sources: Write, **bills: Any) -> None:
    base = server.url_for("/portal/openapi")
    write_sources([
        {"id": "bills", "kind": "assembly_bills", "name": "국회 법률안", "url": base, "backfill_days": 36500,
         **bills},
        {"id": "notices", "kind": "assembly_notices", "name": "국회 입법예고", "url": base,
         "backfill_days": 36500},
    ])  # fmt: skip


def test_assembly_titles_are_plain_urgent_and_prefiltered_on_the_plain_text(
    assembly: FakeAssembly, server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    split = assembly.add(bill_row(51, SPLIT, "2026-11-30"))
    escaped = assembly.add(bill_row(52, ESCAPED, "2026-11-30"))
    assembly.notices.append(notice_row(escaped, "2026-12-10"))
    assembly.summaries[split["BILL_NO"]] = "협동조합연합회의 공동사업 범위를 확대함."
    # prefilter: only bills whose title names a rule term get their 제안이유 (one request each)
    assembly_sources(server, write_sources, summaries="prefilter", watch_committees=[])
    outcomes = poll_all(cli)
    assert outcomes["bills"]["new"] == 2 and outcomes["notices"]["new"] == 1
    assert_plain_and_urgent(stored(cli, "bills"), SPLIT_PLAIN, ESCAPED_PLAIN)
    assert_plain_and_urgent(stored(cli, "notices"), ESCAPED_PLAIN)
    asked = {c["BILL_NO"] for c in assembly.calls_to("BPMBILLSUMMARY")}
    assert split["BILL_NO"] in asked  # `<b>협동</b>조합` read as 협동조합 by the pre-filter
    assert stored(cli, "bills")[split["BILL_ID"]]["summary"] == "협동조합연합회의 공동사업 범위를 확대함."


def test_assembly_links_lose_scripts_and_sessions(
    assembly: FakeAssembly, server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    likms = "https://likms.assembly.go.kr/bill/billDetail.do"
    pal = "https://pal.assembly.go.kr/napal/lgsltpa/lgsltpaOngoing/view.do"
    session = assembly.add(bill_row(61, "사회적기업 육성법 일부개정법률안", "2026-11-30"))
    session["LINK_URL"] = f"{likms};jsessionid=0F1E2D3C?billId={session['BILL_ID']}"
    script = assembly.add(bill_row(62, "협동조합 기본법 일부개정법률안", "2026-11-30"))
    script["LINK_URL"] = "javascript:void(0);"
    relative = assembly.add(bill_row(63, "사회적경제 기본법안", "2026-11-30"))
    relative["LINK_URL"] = f"/bill/billDetail.do?billId={relative['BILL_ID']}"
    notice = notice_row(session, "2026-12-10")
    notice["LINK_URL"] = f"{pal}?lgsltPaId={session['BILL_ID']}&PHPSESSID=abc123"
    assembly.notices.append(notice)
    assembly_sources(server, write_sources)
    poll_all(cli)
    bills, notices = stored(cli, "bills"), stored(cli, "notices")
    assert bills[session["BILL_ID"]]["url"] == f"{likms}?billId={session['BILL_ID']}"
    assert bills[script["BILL_ID"]]["url"] is None
    api = server.url_for("/portal/openapi")
    assert bills[relative["BILL_ID"]]["url"] == urljoin(api, relative["LINK_URL"])
    assert notices[session["BILL_ID"]]["url"] == f"{pal}?lgsltPaId={session['BILL_ID']}"
    assert_clean_links(bills)
    assert_clean_links(notices)


def test_assembly_dates_parse_and_unreadable_ones_are_named(
    assembly: FakeAssembly, server: HTTPServer, write_sources: Write, cli: Cli
) -> None:
    good = assembly.add(bill_row(71, "사회적기업 육성법 일부개정법률안", "2026-11-30"))
    bad = assembly.add(bill_row(72, "협동조합 기본법 일부개정법률안", "2026-11-3O"))  # a letter O
    # a stage date that is not one: the stage would silently stay 접수 without a word
    odd = assembly.add(bill_row(73, "사회적경제기본법안", "2026-11-20", committee="재정경제기획위원회",
                                CMT_PRESENT_DT="2026-11-2l"))  # fmt: skip
    assembly.notices.append(notice_row(good, "2026-12-10"))
    assembly.notices.append(notice_row(bad, "12월 10일"))
    assembly_sources(server, write_sources)
    outcomes = poll_all(cli)
    bills, notices = stored(cli, "bills"), stored(cli, "notices")
    assert bills[good["BILL_ID"]]["published_at"] == "2026-11-30T00:00:00+09:00"
    assert bills[bad["BILL_ID"]]["published_at"] is None
    assert unreadable(outcomes["bills"], "2026-11-3O")
    assert any("'2026-11-2l' (CMT_PRESENT_DT)" in w for w in outcomes["bills"]["warnings"])
    assert "_unreadable" not in bills[odd["BILL_ID"]]["fields"]
    assert notices[good["BILL_ID"]]["fields"]["deadline"] == "2026-12-10"
    assert "deadline" not in notices[bad["BILL_ID"]]["fields"]
    assert any("'12월 10일' (deadline)" in w for w in outcomes["notices"]["warnings"])


# --- a database of the previous schema is re-keyed on open -----------------------------------

OLD_KEYS = ("http://x.go.kr/a.do;jsessionid=AB?nttId=1", "https://x.go.kr/a.do?nttId=1&PHPSESSID=z")
CANONICAL = "https://x.go.kr/a.do?nttId=1"
PREVIOUS = next(n for n, m in enumerate(MIGRATIONS) if isinstance(m, str) and "config_hash" in m)


def old_database(path: Path) -> None:
    """A database as the release before issue 11 left it, keys with session ids in them.

    Its schema is every migration before the one that added `config_hash` (this issue's first),
    applied as SQL the way that release applied them.
    """
    conn = sqlite3.connect(path)
    for script in MIGRATIONS[:PREVIOUS]:
        assert isinstance(script, str)
        conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {PREVIOUS}")
    first = (now() - timedelta(days=2)).isoformat(timespec="seconds")
    later = (now() - timedelta(days=1)).isoformat(timespec="seconds")
    for n, (key, seen) in enumerate(zip(OLD_KEYS, (first, later), strict=True), start=1):
        item = Item(key=key, title=MARKUP_PLAIN, url=key, summary=MARKUP_PLAIN)
        conn.execute(
            "INSERT INTO items (id, source, key, title, url, summary, body, published_at, first_seen_at, "
            "last_seen_at, content_hash, fields, record_hash) "
            "VALUES (?, 'feed', ?, ?, ?, ?, '', ?, ?, ?, ?, '{}', '')",
            [n, key, item.title, key, item.summary, seen, seen, seen, item.content_hash()],
        )
    conn.execute(
        "INSERT INTO source_state (source, baseline_at, last_status) VALUES ('feed', ?, 'ok')", [first]
    )
    conn.commit()
    conn.close()


def test_a_previous_schema_database_is_rekeyed_and_a_poll_announces_nothing_new(
    server: HTTPServer, write_sources: Write, cli: Cli, workdir: Path
) -> None:
    db = workdir / "monitor.db"
    old_database(db)
    store = Store(db)
    try:
        assert PREVIOUS >= 3 and store.version == len(MIGRATIONS)
        keys = dict(store.db.execute("SELECT id, key FROM items ORDER BY id").fetchall())
    finally:
        store.close()
    # both fold into one key: the older row holds it, the newer keeps its own (never seen again)
    assert keys == {1: CANONICAL, 2: OLD_KEYS[1]}
    # the feed still lists the post, with yet another session id
    link = "http://x.go.kr/a.do;jsessionid=CD?nttId=1"
    server.expect_request("/feed.rss").respond_with_data(rss(rss_item(MARKUP, link)), content_type=RSS)
    write_sources([rss_source(server)])
    outcome = poll(cli)
    assert (outcome["new"], outcome["updated"], outcome["announced"]) == (0, 0, 0)
    item = stored(cli)[CANONICAL]
    assert item["url"] == "http://x.go.kr/a.do?nttId=1"
    assert rows(cli("events", "--json", ok=True)) == []
    assert datetime.fromisoformat(item["first_seen_at"]) < now() - timedelta(days=1)
