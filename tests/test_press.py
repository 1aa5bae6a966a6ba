"""press_releases (정책브리핑 via data.go.kr pressReleaseList) against a loopback API.

No live capture of this API was available: tests/fixtures/press/ is built from the envelope, field
names and error names documented in MINISTRIES.md §1.4 (each file says so).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

from monitor.errors import ApiError, ParseError
from monitor.sources import press
from monitor.sources.press import parse_press, windows
from monitor.text import SEOUL

FIX = Path(__file__).parent / "fixtures" / "press"
PATH = "/1371000/pressReleaseService/pressReleaseList"
KEY = "sentinel+data/key=="  # a decoded key: '+', '/' and '=' must reach the server intact
Cli = Callable[..., Result]


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(x) for x in result.stdout.splitlines() if x.strip()]


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_GO_KR_KEY", KEY)
    monkeypatch.setattr(press, "now", lambda: datetime(2026, 9, 10, 18, 0, tzinfo=SEOUL))


def source(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {"id": "press", "kind": "press_releases", "name": "정책브리핑 보도자료", "backfill_days": 10000,
            "url": server.url_for(PATH), **extra}  # fmt: skip


def serve(server: HTTPServer, name: str) -> None:
    server.expect_request(PATH).respond_with_data(
        (FIX / name).read_bytes(), content_type="text/xml;charset=UTF-8"
    )


@pytest.mark.usefixtures("key")
def test_press_releases_with_ministry_text_and_files(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    serve(server, "pressReleaseList.xml")
    write_sources([source(server)])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert (out["status"], out["fetched"]) == ("ok", 3)
    (call,) = [r.args.to_dict() for r, _ in server.log if r.path == PATH]
    assert call == {"serviceKey": KEY, "startDate": "20260908", "endDate": "20260910", "pageNo": "1",
                    "numOfRows": "1000"}  # fmt: skip
    items = {i["key"]: i for i in lines(cli("items", "--json", ok=True))}
    village = items["156760101"]
    assert village["title"] == '2027년 신규 마을기업 "156곳" 지정 공모 시작'
    assert village["url"] == "https://www.korea.kr/briefing/pressReleaseView.do?newsId=156760101"
    assert village["published_at"] == "2026-09-10T14:00:00+09:00"
    assert village["fields"]["ministry"] == "행정안전부"
    assert [f["name"] for f in village["fields"]["files"]] == ["0910 마을기업 공모(보도자료).hwpx",
                                                              "0910 마을기업 공모(보도자료).pdf"]  # fmt: skip
    assert "<" not in village["summary"] and "사회적협동조합 등 사회연대경제기업" in village["summary"]
    assert village["summary"].startswith("- 행정안전부, 지역 일자리 1,200개 창출 기대 -")
    # 사회적협동조합 is only in the text: matched through the summary
    assert set(village["topics"]) == {"community-enterprise", "cooperatives"}
    assert any(m["field"] == "summary" and m["topic"] == "cooperatives" for m in village["matches"])
    assert items["156760088"]["fields"]["ministry"] == "보건복지부"
    assert KEY.encode() not in (workdir / "monitor.db").read_bytes()


@pytest.mark.usefixtures("key")
def test_a_long_lookback_is_split_into_windows_of_three_days(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    serve(server, "pressReleaseList.xml")
    write_sources([source(server, lookback_days=7)])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert out["fetched"] == 3  # the same releases in every window are kept once
    calls = [(r.args["startDate"], r.args["endDate"]) for r, _ in server.log if r.path == PATH]
    assert calls == [("20260908", "20260910"), ("20260905", "20260907"), ("20260904", "20260904")]


@pytest.mark.usefixtures("key")
def test_ministries_filter_keeps_only_those(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    serve(server, "pressReleaseList.xml")
    write_sources([source(server, ministries=["보건복지부"])])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert out["fetched"] == 1
    write_sources([source(server, ministries=["해양수산부"])])  # quiet ministry: not a broken source
    (out,) = lines(cli("poll", "--json", ok=True))
    assert (out["status"], out["fetched"]) == ("ok", 0)


@pytest.mark.usefixtures("key")
@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("error_three_days_over.xml", "ApiError: 98: THREE_DAYS_OVER_ERROR"),
        ("error_gateway_key_not_registered.xml", "ApiError: 30: SERVICE_KEY_IS_NOT_REGISTERED_ERROR"),
        ("empty_window.xml", "EmptyResult: no press releases"),
    ],
)
def test_error_codes_in_the_body_are_reported(
    body: str, error: str, server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    serve(server, body)
    write_sources([source(server)])
    result = cli("poll", "--json")
    (out,) = lines(result)
    assert result.exit_code == 1 and out["status"] == "failed"
    assert out["error"].startswith(error) and KEY not in out["error"]


@pytest.mark.usefixtures("key")
def test_http_errors_do_not_show_the_key(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    server.expect_request(PATH).respond_with_data("SERVICE_KEY_IS_NULL", status=401)
    write_sources([source(server)])
    (out,) = lines(cli("poll", "--json"))
    assert out["status"] == "failed" and "HTTP 401" in out["error"]
    assert "serviceKey" not in out["error"] and "sentinel" not in out["error"]


def test_without_a_key_the_source_warns_and_fails(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DATA_GO_KR_KEY", raising=False)
    write_sources([source(server)])
    assert "DATA_GO_KR_KEY 가 설정되지 않았습니다" in cli("sources", ok=True).output
    (out,) = lines(cli("poll", "--json"))
    assert out["status"] == "failed" and "DATA_GO_KR_KEY is not set" in out["error"]


def test_windows_never_exceed_three_days() -> None:
    spans = windows(date(2026, 9, 10), 10)
    assert spans[0] == (date(2026, 9, 8), date(2026, 9, 10)) and spans[-1][0] == date(2026, 9, 1)
    assert all((end - start).days <= 2 for start, end in spans)
    assert sum((end - start).days + 1 for start, end in spans) == 10


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"response": {"header": {"resultCode": "0"}}}', "JSON"),
        (b"<html><body>502</body></html>", "HTML page"),
    ],
)
def test_wrong_bodies_are_parse_errors(body: bytes, error: str) -> None:
    with pytest.raises(ParseError, match=error):
        parse_press(body)


def test_no_data_code_is_an_empty_page() -> None:
    body = b"<response><header><resultCode>03</resultCode><resultMsg>NODATA_ERROR</resultMsg></header>"
    body += b"</response>"
    assert parse_press(body) == []
    with pytest.raises(ApiError, match="99: LIMITED"):
        parse_press(
            b"<response><header><resultCode>99</resultCode><resultMsg>LIMITED</resultMsg></header></response>"
        )
