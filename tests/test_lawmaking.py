"""정부 입법예고 and 행정예고 (국민참여입법센터): HTML lists without a key, the REST API with LAWMAKING_OC.

Fixtures in tests/fixtures/lawmaking/: `*_sample.*` and `rest_rejected_401.xml` are verbatim copies of
../shared/samples/ministries/; the rest are built in their shapes (more rows, a second page, a malformed
body). The 행정예고 HTML list had no capture: `admpp_page1.html` says what it is built from.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.errors import ParseError
from monitor.sources.lawmaking import (
    ADMIN,
    NOTICES,
    Refused,
    amendment_from_title,
    clean_title,
    parse_api,
    parse_list_html,
)

FIX = Path(__file__).parent / "fixtures" / "lawmaking"
ORIGIN = "https://opinion.lawmaking.go.kr"
Cli = Callable[..., Result]
OC = "sentinel-oc-4711"


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(x) for x in result.stdout.splitlines() if x.strip()]


def by_key(cli: Cli, source: str) -> dict[str, dict[str, Any]]:
    return {i["key"]: i for i in lines(cli("items", "--json", "--source", source, ok=True))}


def html(name: str) -> Response:
    return Response((FIX / name).read_bytes(), content_type="text/html;charset=UTF-8")


def xml(name: str, status: int = 200) -> Response:
    return Response((FIX / name).read_bytes(), status=status, content_type="application/xml;charset=UTF-8")


@pytest.fixture
def no_oc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAWMAKING_OC", raising=False)


@pytest.fixture
def with_oc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAWMAKING_OC", OC)


def notices_source(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {
        "id": "lawmaking-notices", "kind": "lawmaking_notices", "name": "정부 입법예고",
        "url": server.url_for("/gcom/ogLmPp") + "?isOgYn=Y&opYn=Y", "backfill_days": 10000,
        "page_delay": 0, **extra,
    }  # fmt: skip


def html_pages(request: Request) -> Response:
    page = request.args.get("pageIndex", "1")
    return html({"1": "ogLmPp_page1.html", "2": "ogLmPp_page2.html"}.get(page, "ogLmPp_empty.html"))


# --- HTML lists (no key) ------------------------------------------------------------------------


@pytest.mark.usefixtures("no_oc")
def test_html_list_two_pages_with_deadlines_ministries_and_links(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    server.expect_request("/gcom/ogLmPp").respond_with_handler(html_pages)
    write_sources([notices_source(server)])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert (out["status"], out["fetched"], out["warnings"]) == ("ok", 7, [])
    asked = [r.args.to_dict() for r, _ in server.log if r.path == "/gcom/ogLmPp"]
    # the list's own query string is kept on every page; page 2 is shorter than page 1: the last
    assert asked == [{"isOgYn": "Y", "opYn": "Y"}, {"isOgYn": "Y", "opYn": "Y", "pageIndex": "2"}]
    items = by_key(cli, "lawmaking-notices")
    first = items["88388"]
    assert first["title"] == "산림재난방지법 시행령 일부개정령안 입법예고"
    assert first["url"] == server.url_for("/gcom/ogLmPp/88388") + "?isOgYn=Y&cptOfiOrgCd=1400000&opYn=Y"
    assert first["published_at"] == "2026-09-07T00:00:00+09:00"
    assert first["fields"] == {
        "ministry": "산림청", "law_kind": "대통령령", "law_area": "산림", "period_start": "2026-09-07",
        "deadline": "2026-10-19", "amendment_type": "일부",
    }  # fmt: skip
    assert items["88246"]["fields"]["law_kind"] == "부령"
    assert "law_area" not in items["88332"]["fields"]  # an empty 법령분야 cell
    assert items["88410"]["fields"]["amendment_type"] == "전부"
    assert items["88201"]["fields"]["amendment_type"] == "제정"
    assert items["88150"]["fields"]["deadline"] == "2026-09-30"
    deadlines = {e["key"]: e["to"] for e in lines(cli("events", "--type", "deadline", "--json", ok=True))}
    assert deadlines == {k: v["fields"]["deadline"] for k, v in items.items()}
    flagged = {i["key"]: i["topics"] for i in lines(cli("items", "--json", "--flagged", ok=True))}
    assert flagged["88421"] == ["cooperatives"] and flagged["88150"] == ["community-enterprise"]


@pytest.mark.usefixtures("no_oc")
def test_second_poll_stops_at_the_first_known_page(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    server.expect_request("/gcom/ogLmPp").respond_with_handler(html_pages)
    write_sources([notices_source(server)])
    cli("poll", ok=True)
    server.clear_log()
    (out,) = lines(cli("poll", "--json", ok=True))
    assert (out["new"], out["updated"]) == (0, 0)
    assert [r.args.get("pageIndex") for r, _ in server.log if r.path == "/gcom/ogLmPp"] == [None]


@pytest.mark.usefixtures("no_oc")
def test_a_server_that_ignores_pageIndex_does_not_loop(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    server.expect_request("/gcom/ogLmPp").respond_with_handler(lambda r: html("ogLmPp_sample.html"))
    write_sources([notices_source(server, max_pages=10)])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert out["fetched"] == 3
    assert len([r for r, _ in server.log if r.path == "/gcom/ogLmPp"]) == 2


@pytest.mark.usefixtures("no_oc")
def test_an_empty_list_is_a_failed_run_that_points_at_the_query_string(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    server.expect_request("/gcom/ogLmPp").respond_with_handler(lambda r: html("ogLmPp_empty.html"))
    write_sources([{**notices_source(server), "url": server.url_for("/gcom/ogLmPp")}])
    result = cli("poll", "--json")
    (out,) = lines(result)
    assert result.exit_code == 1 and out["status"] == "failed"
    assert "EmptyResult" in out["error"] and "query string" in out["error"]
    assert "isOgYn=Y&opYn=Y" in cli("sources", ok=True).output  # the warning before polling


@pytest.mark.usefixtures("no_oc")
def test_admin_notice_html_list(server: HTTPServer, write_sources: Callable[..., Path], cli: Cli) -> None:
    server.expect_request("/gcom/admpp").respond_with_handler(
        lambda r: html("admpp_page1.html" if r.args.get("pageIndex", "1") == "1" else "ogLmPp_empty.html")
    )
    write_sources([{"id": "admin", "kind": "lawmaking_admin_notices", "name": "행정예고",
                    "url": server.url_for("/gcom/admpp"), "backfill_days": 10000}])  # fmt: skip
    (out,) = lines(cli("poll", "--json", ok=True))
    assert out["fetched"] == 2
    items = by_key(cli, "admin")
    assert [k for k, v in items.items() if v["topics"]] == ["47120"]  # 사회적협동조합
    coop = items["47120"]
    assert (
        coop["title"] == "사회적협동조합 인가 업무처리 지침 일부개정안 행정예고"
    )  # the 진행 badge is not title
    assert (
        coop["url"]
        == server.url_for("/gcom/admpp/47120") + "?announceType=TYPE6&mappingAdmRulSeq=2000000331002"
    )
    assert coop["fields"] == {
        "ministry": "재정경제부", "law_kind": "지침", "notice_no": "2026-201", "period_start": "2026-09-08",
        "deadline": "2026-09-28", "amendment_type": "일부", "status": "진행",
    }  # fmt: skip
    assert items["47054"]["title"].startswith("소방 공사감리원")  # "[진행]" stripped
    assert items["47054"]["fields"]["amendment_type"] == "제정"


# --- the REST API (LAWMAKING_OC set) -----------------------------------------------------------


@pytest.mark.usefixtures("with_oc")
def test_rest_pages_with_notice_numbers_and_the_oc_kept_secret(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    server.expect_request("/rest/ogLmPp").respond_with_handler(
        lambda r: xml("rest_ogLmPp_page1.xml" if r.args["pageIndex"] == "1" else "rest_ogLmPp_page2.xml")
    )
    write_sources([notices_source(server, page_size=2)])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert (out["status"], out["fetched"]) == ("ok", 3)
    calls = [r.args.to_dict() for r, _ in server.log if r.path == "/rest/ogLmPp"]
    assert calls == [
        {"OC": OC, "pageIndex": "1", "pageSize": "2"},
        {"OC": OC, "pageIndex": "2", "pageSize": "2"},
    ]
    assert not [r for r, _ in server.log if r.path == "/gcom/ogLmPp"]  # no HTML request
    items = by_key(cli, "lawmaking-notices")
    vat = items["88015"]
    assert vat["title"] == "부가가치세법 일부개정법률안 입법예고"
    assert vat["url"] == server.url_for("/gcom/ogLmPp/88015")
    assert vat["published_at"] == "2026-08-04T00:00:00+09:00"
    named = ("ministry", "law_kind", "notice_no", "period_start", "deadline")
    assert {k: vat["fields"][k] for k in named} == {
        "ministry": "재정경제부", "law_kind": "법률", "notice_no": "2026-512",
        "period_start": "2026-08-04", "deadline": "2026-08-20",
    }  # fmt: skip
    assert vat["fields"]["amendment_type"] == "일부" and vat["fields"]["status"] == "진행"
    assert vat["fields"]["files"][0]["name"] == "(법령안) 부가가치세법 일부개정법률(안).hwpx"
    assert items["88421"]["topics"] == ["cooperatives"]
    assert OC.encode() not in (workdir / "monitor.db").read_bytes()


@pytest.mark.usefixtures("with_oc")
def test_intermittent_401_is_retried_with_backoff(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    answers = iter([xml("rest_rejected_401.xml"), xml("rest_rejected_401.xml", status=401),
                    xml("rest_ogLmPp_sample.xml")])  # fmt: skip
    server.expect_request("/rest/ogLmPp").respond_with_handler(lambda r: next(answers))
    write_sources([notices_source(server, page_size=100)])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert (out["status"], out["fetched"], out["warnings"]) == ("ok", 2, [])
    assert len([r for r, _ in server.log if r.path == "/rest/ogLmPp"]) == 3


@pytest.mark.usefixtures("with_oc")
def test_a_lasting_401_falls_back_to_the_html_list_with_a_warning(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    server.expect_request("/rest/ogLmPp").respond_with_handler(lambda r: xml("rest_rejected_401.xml"))
    server.expect_request("/gcom/ogLmPp").respond_with_handler(html_pages)
    write_sources([notices_source(server, api_retries=2)])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert out["fetched"] == 7
    assert len([r for r, _ in server.log if r.path == "/rest/ogLmPp"]) == 3
    assert any("REST API refused" in w and "401" in w for w in out["warnings"])
    assert all(OC not in w for w in out["warnings"])


@pytest.mark.usefixtures("with_oc")
def test_a_slow_api_gets_its_own_generous_timeout(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    def slow(request: Request) -> Response:
        time.sleep(2.5)  # longer than http.read_timeout (2 s in the test config)
        return xml("rest_ogLmPp_sample.xml")

    server.expect_request("/rest/ogLmPp").respond_with_handler(slow)
    write_sources([notices_source(server, page_size=100)])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert (out["status"], out["fetched"]) == ("ok", 2)


@pytest.mark.usefixtures("with_oc")
def test_mode_html_ignores_the_oc(server: HTTPServer, write_sources: Callable[..., Path], cli: Cli) -> None:
    server.expect_request("/gcom/ogLmPp").respond_with_handler(html_pages)
    write_sources([notices_source(server, mode="html")])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert out["fetched"] == 7 and not [r for r, _ in server.log if r.path.startswith("/rest/")]


@pytest.mark.usefixtures("with_oc")
def test_admin_notice_rest_list(server: HTTPServer, write_sources: Callable[..., Path], cli: Cli) -> None:
    server.expect_request("/api/ptcpAdmPp").respond_with_handler(lambda r: xml("rest_ptcpAdmPp_list.xml"))
    write_sources([{"id": "admin", "kind": "lawmaking_admin_notices", "name": "행정예고",
                    "backfill_days": 10000, "url": server.url_for("/gcom/admpp"),
                    "api_url": server.url_for("/api/ptcpAdmPp"),
                    "api_params": {"asndOfiNm": "재정경제부"}}])  # fmt: skip
    (out,) = lines(cli("poll", "--json", ok=True))
    assert out["fetched"] == 2
    (call,) = [r.args.to_dict() for r, _ in server.log if r.path == "/api/ptcpAdmPp"]
    assert call["asndOfiNm"] == "재정경제부" and call["OC"] == OC
    items = by_key(cli, "admin")
    assert items["47054"]["url"] == server.url_for("/gcom/admpp/47054") + (
        "?announceType=TYPE6&mappingAdmRulSeq=2000000329212"
    )
    assert items["47054"]["fields"]["notice_no"] == "2026-138"
    assert items["47120"]["fields"]["deadline"] == "2026-09-28"


# --- the pure parts -----------------------------------------------------------------------------


def test_malformed_rest_body_is_salvaged_field_by_field() -> None:
    page = parse_api((FIX / "rest_ogLmPp_malformed.xml").read_bytes(), NOTICES, ORIGIN)
    (item,) = page.items
    assert item.key == "88421" and item.title == "협동조합 기본법 시행령 일부개정령안 입법예고"
    assert item.fields["ministry"] == "재정경제부" and item.fields["deadline"] == "2026-10-20"
    assert item.fields["notice_no"] == "2026-530" and page.total == 3


def test_rejection_body_raises_refused() -> None:
    with pytest.raises(Refused, match="401"):
        parse_api((FIX / "rest_rejected_401.xml").read_bytes(), NOTICES, ORIGIN)


@pytest.mark.parametrize(
    "body", ["<!DOCTYPE html><html><title>점검</title></html>".encode(), b'{"retMsg": 200}', b"", b"<other/>"]
)
def test_wrong_rest_bodies_are_parse_errors(body: bytes) -> None:
    with pytest.raises(ParseError):
        parse_api(body, NOTICES, ORIGIN)


def test_the_real_sample_page_parses() -> None:
    items = parse_list_html(
        (FIX / "ogLmPp_sample.html").read_text(encoding="utf-8"), ORIGIN + "/gcom/ogLmPp", NOTICES
    )
    assert [i.key for i in items] == ["88388", "88332", "88246"]
    assert [i.fields["deadline"] for i in items] == ["2026-10-19", "2026-10-16", "2026-10-07"]
    assert parse_list_html((FIX / "ogLmPp_sample.html").read_text(encoding="utf-8"), ORIGIN, ADMIN) == []


@pytest.mark.parametrize(
    ("raw", "title", "status"),
    [
        ("[진행]부가가치세법 일부개정법률안 입법예고", "부가가치세법 일부개정법률안 입법예고", "진행"),
        ("[종료] 관세법 시행령 일부개정령안", "관세법 시행령 일부개정령안", "종료"),
        ("[2026] 계획", "[2026] 계획", None),
    ],
)
def test_status_prefix_is_stripped(raw: str, title: str, status: str | None) -> None:
    assert clean_title(raw) == (title, status)


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("부가가치세법 일부개정법률안 입법예고", "일부"),
        ("사회서비스 이용 및 이용권 관리에 관한 법률 전부개정법률안", "전부"),
        ("소방 공사감리원 업무대행자 지정 등에 관한 기준 고시 제정안행정예고", "제정"),
        ("마을기업 육성 및 지원에 관한 규정 폐지령안", "폐지"),
        ("2026년 업무계획", None),
    ],
)
def test_amendment_type_from_title(title: str, kind: str | None) -> None:
    assert amendment_from_title(title) == kind


@pytest.mark.usefixtures("no_oc")
def test_a_later_page_that_fails_keeps_page_one_with_a_warning(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    # a server that answers only the list's own query string: page 2 is a 404
    server.expect_request("/gcom/ogLmPp", query_string="isOgYn=Y&opYn=Y").respond_with_handler(
        lambda r: html("ogLmPp_page1.html")
    )
    server.expect_request("/gcom/ogLmPp").respond_with_data("not found", status=404)
    write_sources([notices_source(server)])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert (out["status"], out["fetched"]) == ("ok", 5)
    assert out["warnings"] == [f"page 2 of the 입법예고 list could not be read (HTTP 404 NOT FOUND from "
                               f"{server.url_for('/gcom/ogLmPp')}?isOgYn=Y&opYn=Y&pageIndex=2)"]  # fmt: skip
