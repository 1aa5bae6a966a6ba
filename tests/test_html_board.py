"""The html_board kind: the boards configured in sources.yaml and the README example, on a loopback server.

Fixtures in tests/fixtures/boards/: `*_sample.html` are verbatim copies of ../shared/samples/ministries/;
the others are built in their markup (a second coop page, the MOIS 062 board, an EUC-KR board, a
redesigned MOEL page); each says how it was made in its first comment.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from click.testing import Result
from pydantic import ValidationError
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.sources.html_board import BoardOptions, clean_title, parse_board, read_date

BOARDS = Path(__file__).parent / "fixtures" / "boards"
ROOT = Path(__file__).parents[1]
Cli = Callable[..., Result]


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(x) for x in result.stdout.splitlines() if x.strip()]


def shipped(source_id: str) -> dict[str, Any]:
    """An entry of the project's own sources.yaml."""
    doc = yaml.safe_load((ROOT / "sources.yaml").read_text(encoding="utf-8"))
    (entry,) = [s for s in doc["sources"] if s["id"] == source_id]
    return dict(entry)


def local(server: HTTPServer, url: str) -> str:
    """The same path and query on the loopback server."""
    parts = urlsplit(url)
    return server.url_for(parts.path) + (f"?{parts.query}" if parts.query else "")


def serve(server: HTTPServer, url: str, fixture: str, content_type: str = "text/html; charset=utf-8") -> None:
    server.expect_request(urlsplit(url).path).respond_with_data(
        (BOARDS / fixture).read_bytes(), content_type=content_type
    )


def by_key(cli: Cli, source: str) -> dict[str, dict[str, Any]]:
    return {i["key"]: i for i in lines(cli("items", "--json", "--source", source, ok=True))}


# --- every configured board parses to the expected items --------------------------------------

# What each configured board must yield, as data beside its fixtures.
EXPECTED: dict[str, Any] = json.loads((BOARDS / "expected.json").read_text(encoding="utf-8"))
CONFIGURED = [k for k in EXPECTED if not k.startswith("_")]
COOP = "https://www.coop.go.kr/home/boardView.do?brd_mgrno=2&menu_no=2038&brd_no="


@pytest.mark.parametrize("source_id", CONFIGURED)
def test_every_configured_board_parses_to_the_expected_items(
    source_id: str, server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    expected = EXPECTED[source_id]
    entry = shipped(source_id)
    entry["url"] = local(server, entry["url"])
    serve(server, entry["url"], expected["fixture"])
    write_sources([{**entry, "backfill_days": 10000, "pages": 1}])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert out["status"] == "ok" and out["warnings"] == []
    items = by_key(cli, source_id)
    if source_id == "seis-cards":  # no detail_url: the card's own link, resolved against the page
        items = {urlsplit(k).path + "?" + urlsplit(k).query: v for k, v in items.items()}
    for key, want in expected["items"].items():
        item = items[key]
        assert item["title"] == want["title"]
        assert item["url"] == (want["url"] or server.url_for(key))
        assert item["published_at"][:10] == want["date"]
        assert item["fields"].items() >= want["fields"].items(), item["fields"]
    assert out["fetched"] == len(items) == expected["count"]


def test_pinned_rows_repeated_on_every_page_are_kept_once(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    entry = shipped("coop-notice")
    entry["url"] = local(server, entry["url"])

    def handler(request: Request) -> Response:  # the site has two pages; later ones repeat the last
        page = (
            "coop_notice_sample.html"
            if request.args.get("pageIndex", "1") == "1"
            else "coop_notice_page2.html"
        )
        return Response((BOARDS / page).read_bytes(), content_type="text/html")

    server.expect_request("/home/boardList.do").respond_with_handler(handler)
    write_sources([{**entry, "pages": 3}])
    (out,) = lines(cli("poll", "--json", ok=True))
    asked = [r.args.get("pageIndex") for r, _ in server.log if r.path == "/home/boardList.do"]
    # page 3 repeats page 2 (there is no page 3) and ends the paging
    assert asked == [None, "2", "3"]
    assert all(r.args["brd_mgrno"] == "2" for r, _ in server.log if r.path == "/home/boardList.do")
    items = by_key(cli, "coop-notice")
    assert out["fetched"] == 8 and len(items) == 8  # 4 pinned + 2 + 2, not 4 + 2 + 4 + 2
    assert sorted(k for k, v in items.items() if v["fields"]["pinned"]) == [
        "13466",
        "14595",
        "14826",
        "14893",
    ]
    assert items["14870"]["title"] == "[서울센터] 2026년 사회적협동조합 경영공시 작성 실무교육 안내"
    assert items["14870"]["fields"]["attachment"] is True


def test_relevant_board_posts_are_flagged(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    entry = shipped("mois-sse-notice")
    entry["url"] = local(server, entry["url"])
    serve(server, entry["url"], "mois_sse_notice.html")
    write_sources([{**entry, "backfill_days": 10000}])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert out["flagged"] == 2  # 마을기업 and 자활기업 (the test rules' community-enterprise topic)
    flagged = {i["key"]: i["topics"] for i in lines(cli("items", "--json", "--flagged", ok=True))}
    assert flagged == {"121877": ["community-enterprise"], "121655": ["community-enterprise"]}


# --- the README documents the options exactly: its example is what we poll ----------------------


def readme_board_examples() -> list[dict[str, Any]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## 소스 추가하기", 1)[1].split("\n## ", 1)[0]
    entries = []
    for block in re.findall(r"```yaml\n(.*?)```", section, re.S):
        doc = yaml.safe_load(block)
        listed = doc["sources"] if isinstance(doc, dict) else doc
        entries += [e for e in listed if isinstance(e, dict) and e.get("kind") == "html_board"]
    return entries


def test_the_readme_example_entries_poll_a_local_board(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    examples = {e["id"]: e for e in readme_board_examples()}
    assert set(examples) >= {"coop-notice", "seis-cards"}
    coop, seis = dict(examples["coop-notice"]), dict(examples["seis-cards"])
    coop["url"], seis["url"] = local(server, coop["url"]), local(server, seis["url"])
    serve(server, coop["url"], "coop_notice_sample.html")
    serve(server, seis["url"], "seis_cards_sample.html")
    write_sources([coop, seis])
    outs = lines(cli("poll", "--json", ok=True))
    assert [(o["source"], o["status"], o["fetched"]) for o in outs] == [
        ("coop-notice", "ok", 6),
        ("seis-cards", "ok", 6),
    ]
    items = by_key(cli, "coop-notice")
    assert items["14595"]["url"] == COOP + "14595" and items["14595"]["fields"]["pinned"] is True
    cards = lines(cli("items", "--json", "--source", "seis-cards", ok=True))
    assert {c["fields"].get("deadline") for c in cards} >= {"2026-09-15", "2026-10-12", "2026-09-21"}


def test_readme_documents_every_option() -> None:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("### 게시판 소스 (`html_board`)", 1)[1]
    for name in BoardOptions.model_fields:
        assert f"`{name}`" in section, f"README does not document html_board option {name!r}"


# --- JavaScript ids, EUC-KR, deadlines ----------------------------------------------------------

MOFE_BOARD = {
    "kind": "html_board", "name": "재정경제부 보도자료 (EUC-KR)",
    "row": "table.board_list tbody tr", "title": "td.subject a", "date": "td",
    "department": "td:nth-of-type(3)", "attachment": "img[alt=첨부파일]", "pinned": "span.ico_notice",
    "id_regex": "fn_egov_select\\('(MOSF_\\d+)'\\)",
    "detail_url": "/nw/nes/detailNesDtaView.do?searchBbsId1=MOSFBBS_000000000028"
                  "&searchNttId1={id}&menuNo=4010100",
}  # fmt: skip


@pytest.mark.parametrize(
    ("content_type", "options"),
    [
        ("text/html", {}),
        ("text/html; charset=EUC-KR", {}),
        ("text/html; charset=utf-8", {"encoding": "euc-kr"}),
    ],
)
def test_euc_kr_board_with_javascript_ids(
    content_type: str,
    options: dict[str, str],
    server: HTTPServer,
    write_sources: Callable[..., Path],
    cli: Cli,
) -> None:
    server.expect_request("/nw/nes/nesdta.do").respond_with_data(
        (BOARDS / "mofe_press_euckr.html").read_bytes(), content_type=content_type
    )
    # a wrong charset header is what `encoding:` is for
    write_sources([{**MOFE_BOARD, **options, "id": "mofe-board", "url": server.url_for("/nw/nes/nesdta.do")}])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert out["fetched"] == 3
    items = by_key(cli, "mofe-board")
    assert items["MOSF_000000000078790"]["title"] == "똠방각하 세미나: 사회적금융 활성화 방안 논의"
    new = items["MOSF_000000000078809"]
    assert new["title"] == "협동조합 기본법 시행령 개정안 국무회의 의결"  # 새글 and whitespace gone
    assert new["url"] == server.url_for(
        "/nw/nes/detailNesDtaView.do?searchBbsId1=MOSFBBS_000000000028&searchNttId1=MOSF_000000000078809&menuNo=4010100"
    )
    assert new["published_at"].startswith("2026-09-11T00:00:00+09:00")
    assert new["fields"] == {
        "department": "협동조합과",
        "attachment": True,
        "pinned": False,
        "truncated": False,
    }
    assert items["MOSF_000000000078790"]["published_at"].startswith("2026-09-08")
    pinned = items["MOSF_000000000078001"]
    assert pinned["title"] == "보도자료 게시 기준 안내" and pinned["fields"]["category"] == "공지"
    assert new["topics"] == ["cooperatives"]


def test_period_deadline_is_recorded_as_a_deadline_event(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    entry = shipped("seis-cards")
    entry["url"] = local(server, entry["url"])
    serve(server, entry["url"], "seis_cards_sample.html")
    write_sources([entry])
    cli("poll", ok=True)
    deadlines = sorted(e["to"] for e in lines(cli("events", "--type", "deadline", "--json", ok=True)))
    assert deadlines == ["2026-09-15", "2026-09-21", "2026-10-12", "2026-12-31"]  # the 공지 cards have none


# --- a board that yields nothing is broken, never quiet -----------------------------------------


def test_zero_rows_is_a_failed_run_that_names_the_selector(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    entry = shipped("moel-notice")
    entry["url"] = local(server, entry["url"])
    serve(server, entry["url"], "moel_notice_redesigned.html")
    write_sources([entry])
    result = cli("poll", "--json")
    assert result.exit_code == 1
    (out,) = lines(result)
    assert out["status"] == "failed" and out["fetched"] == 0
    assert "EmptyResult: selector found nothing: row selector 'table.tstyle_list tbody tr'" in out["error"]
    listing = cli("sources", ok=True).output
    # the row's last column is its consecutive failures (header "연속 실패")
    assert "selector found nothing" in listing and re.search(r"^moel-notice .* 실패 .* 1회$", listing, re.M)


def test_rows_without_titles_fail_and_allow_empty_accepts_an_empty_board(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    entry = shipped("moel-notice")
    entry["url"] = local(server, entry["url"])
    serve(server, entry["url"], "moel_notice_sample.html")
    write_sources([{**entry, "title": "td.subject a"}])
    (out,) = lines(cli("poll", "--json"))
    assert out["status"] == "failed"
    assert "title selector 'td.subject a' matched in none of the 4 rows" in out["error"]
    write_sources([{**entry, "row": "table.gone tr", "allow_empty": True}])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert (out["status"], out["fetched"]) == ("ok", 0)


def test_javascript_links_without_id_regex_fail_with_advice(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    entry = shipped("coop-notice")
    entry["url"] = local(server, entry["url"])
    serve(server, entry["url"], "coop_notice_sample.html")
    del entry["id_regex"], entry["detail_url"]
    write_sources([entry])
    (out,) = lines(cli("poll", "--json"))
    assert out["status"] == "failed" and "set id_regex and detail_url" in out["error"]


# --- the pure parts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "title", "prefix", "truncated"),
    [
        (
            "\n\t\t\t[공고]\n\t\t\t2026년 제3차 사회적기업 인증 공고\n\t\t\n",
            "2026년 제3차 사회적기업 인증 공고",
            "공고",
            False,
        ),
        ("새글 2026년 사회서비스원 설립 지원", "2026년 사회서비스원 설립 지원", None, False),
        ("[고용노동부 공고] 2026년 인증 공고", "[고용노동부 공고] 2026년 인증 공고", None, False),
        ("[ 알림 ]  협동조합 교육 안내(9...", "협동조합 교육 안내(9...", "알림", True),
        ("마을기업 지원사업 결과…", "마을기업 지원사업 결과…", None, True),
        ("NEW 협동조합 NEW", "협동조합", None, False),
    ],
)
def test_title_cleaning(raw: str, title: str, prefix: str | None, truncated: bool) -> None:
    from monitor.sources.html_board import DEFAULT_PREFIXES

    assert clean_title(raw, DEFAULT_PREFIXES) == (title, prefix, truncated)


@pytest.mark.parametrize(
    ("text", "fmt", "iso"),
    [
        ("2026.09.09", None, "2026-09-09T00:00:00+09:00"),
        ("2026.09.10.", None, "2026-09-10T00:00:00+09:00"),
        ("2026. 9. 7.", None, "2026-09-07T00:00:00+09:00"),
        ("2026/09/11", None, "2026-09-11T00:00:00+09:00"),
        ("2026-09-08", None, "2026-09-08T00:00:00+09:00"),
        ("2026-09-08 14:30", None, "2026-09-08T14:30:00+09:00"),
        ("등록일 2026.09.09", None, "2026-09-09T00:00:00+09:00"),
        ("2026.07.30 ~ 2026.09.15", None, "2026-07-30T00:00:00+09:00"),
        ("26.09.10", "%y.%m.%d", "2026-09-10T00:00:00+09:00"),
    ],
)
def test_date_formats(text: str, fmt: str | None, iso: str) -> None:
    parsed = read_date(text, fmt)
    assert parsed is not None and parsed.isoformat() == iso


@pytest.mark.parametrize("text", ["1,176", "D-29", "", "2026.13.40"])
def test_non_dates_are_not_dates(text: str) -> None:
    assert read_date(text) is None


def test_a_date_quoted_in_a_title_does_not_win_over_the_date_cell() -> None:
    html = (
        "<table><tr><td>1</td><td><a href='/v?id=1'>결과 안내 (2026.8.31. 기준)</a></td>"
        "<td>2026.09.02.</td></tr></table>"
    )
    options = BoardOptions(row="tr", title="a", date="td")
    (item,) = parse_board(html, "https://example.go.kr/list", options).items
    assert item.published_at is not None and item.published_at.date().isoformat() == "2026-09-02"


def test_named_group_and_second_alternative_ids() -> None:
    html = (
        "<ul><li><a href=\"javascript:goView('A', '77')\">첫 글</a></li>"
        "<li><a href='/bbs/view.do?nttId=78'>둘째 글</a></li></ul>"
    )
    options = BoardOptions(
        row="li",
        title="a",
        id_regex=r"nttId=(\d+)|goView\('\w+', '(\d+)'\)",
        detail_url="/bbs/view.do?nttId={id}",
    )
    items = parse_board(html, "https://example.go.kr/bbs/list.do", options).items
    assert [(i.key, i.url) for i in items] == [
        ("77", "https://example.go.kr/bbs/view.do?nttId=77"),
        ("78", "https://example.go.kr/bbs/view.do?nttId=78"),
    ]
    named = BoardOptions(row="li", title="a", id_regex=r"goView\('(?P<board>\w+)', '(?P<id>\d+)'\)",
                         detail_url="/b/{board}/{id}")  # fmt: skip
    first = parse_board(html, "https://example.go.kr/", named).items[0]
    assert first.url == "https://example.go.kr/b/A/77"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"row": "tr[", "title": "a"}, "not a valid CSS selector"),
        ({"row": "tr", "title": "a", "id_regex": "fView\\('\\d+'\\)"}, "needs a group"),
        ({"row": "tr", "title": "a", "id_regex": "fView\\((\\d+"}, "not a valid regular expression"),
        ({"row": "tr", "title": "a", "detail_url": "/v?id={id}"}, "detail_url needs id_regex"),
        ({"row": "tr", "title": "a", "encoding": "klingon"}, "unknown encoding"),
        ({"row": "tr", "title": "a", "id_regex": "v=(\\d+)", "detail_url": "/v?no={no}"}, "does not fill"),
        ({"row": "tr"}, "title"),
    ],
)
def test_bad_options_are_rejected(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        BoardOptions.model_validate(options)


def test_a_bad_selector_in_sources_yaml_is_reported_with_the_source(
    write_sources: Callable[..., Path], cli: Cli
) -> None:
    write_sources([{**shipped("coop-notice"), "row": "table tbody tr["}])
    result = cli("sources")
    assert result.exit_code != 0
    assert "source 'coop-notice'" in result.output and "not a valid CSS selector" in result.output


def test_unchanged_single_page_board_uses_conditional_get(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    body = (BOARDS / "moel_notice_sample.html").read_bytes()

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"b1"':
            return Response(status=304)
        return Response(body, headers={"ETag": '"b1"', "Content-Type": "text/html; charset=utf-8"})

    entry = shipped("moel-notice")
    entry["url"] = local(server, entry["url"])
    server.expect_request("/news/notice/noticeList.do").respond_with_handler(handler)
    write_sources([entry])
    cli("poll", ok=True)
    (out,) = lines(cli("poll", "--json", ok=True))
    assert out["status"] == "not_modified"


def test_a_later_page_that_fails_keeps_the_first_with_a_warning(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    entry = shipped("coop-notice")
    entry["url"] = local(server, entry["url"])
    server.expect_request("/home/boardList.do", query_string="brd_mgrno=2&menu_no=2038").respond_with_data(
        (BOARDS / "coop_notice_sample.html").read_bytes(), content_type="text/html"
    )
    server.expect_request("/home/boardList.do").respond_with_data("gone", status=404)
    write_sources([entry])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert (out["status"], out["fetched"]) == ("ok", 6)
    assert len(out["warnings"]) == 1 and out["warnings"][0].startswith("page 2 could not be read (HTTP 404")


def test_rows_nested_in_rows_are_read_within_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    # hostile or broken markup: each row holds all the following ones, so every selector searches
    # the rest of the page (quadratic); the board reads a bounded part and says so (issue 17.2)
    from monitor.sources import html_board

    monkeypatch.setattr(html_board, "PARSE_SECONDS", 0.3)
    page = html_board.parse_board(
        "<table><tr><td>" * 20000, "https://www.example.go.kr/", BoardOptions(row="table tr", title="td a")
    )
    assert page.items == []
    assert any("only the first 1000 were read" in w for w in page.warnings)
    assert any("took longer than 0 s; kept the first" in w for w in page.warnings)
