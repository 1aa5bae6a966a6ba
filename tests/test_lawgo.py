"""law_changes (국가법령정보센터 lsHstInf by regDt) against a loopback DRF.

Fixtures in tests/fixtures/lawgo/: the `<law>` rows are the real ones of ../shared/samples/ministries/
(`*_sample.xml` are verbatim copies); the page wrappers, the second page, the empty day and the two
"사용자 정보 검증에 실패하였습니다" bodies are built (the failure's exact markup was not captured).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.errors import ApiError, ParseError
from monitor.sources import lawgo
from monitor.sources.lawgo import parse_law_search
from monitor.text import SEOUL

FIX = Path(__file__).parent / "fixtures" / "lawgo"
Cli = Callable[..., Result]
OC = "sentinel-law-oc"


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(x) for x in result.stdout.splitlines() if x.strip()]


def drf(request: Request) -> Response:
    day, page = request.args.get("regDt"), request.args.get("page")
    name = {
        ("20260902", "1"): "lsHstInf_20260902_sample.xml",
        ("20260901", "1"): "lsHstInf_20260901_page1.xml",
        ("20260901", "2"): "lsHstInf_20260901_page2.xml",
    }.get((day, page), "empty_day.xml")
    return Response((FIX / name).read_bytes(), content_type="application/xml;charset=UTF-8")


@pytest.fixture
def api(server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    monkeypatch.setenv("LAW_GO_KR_OC", OC)
    monkeypatch.setattr(lawgo, "now", lambda: datetime(2026, 9, 2, 9, 0, tzinfo=SEOUL))
    server.expect_request("/DRF/lawSearch.do").respond_with_handler(drf)
    return server


def source(server: HTTPServer, **extra: Any) -> dict[str, Any]:
    return {"id": "law-changes", "kind": "law_changes", "name": "법령 제·개정", "backfill_days": 10000,
            "url": server.url_for("/DRF/lawSearch.do"), "days": 3, "display": 3, **extra}  # fmt: skip


def test_changes_are_paged_deduplicated_and_carry_dates(
    api: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    write_sources([source(api)])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert (out["status"], out["fetched"]) == ("ok", 5)  # 289029 is listed three times, kept once
    calls = [(r.args["regDt"], r.args["page"]) for r, _ in api.log if r.path == "/DRF/lawSearch.do"]
    assert calls == [("20260902", "1"), ("20260901", "1"), ("20260901", "2"), ("20260831", "1")]
    call = next(r.args for r, _ in api.log if r.path == "/DRF/lawSearch.do")
    assert (call["OC"], call["target"], call["type"], call["display"]) == (OC, "lsHstInf", "XML", "3")
    items = {i["key"]: i for i in lines(cli("items", "--json", ok=True))}
    assert set(items) == {"289029", "265271", "289323", "289305", "289410"}
    olympics = items["289323"]
    assert olympics["title"] == "2018 평창 동계올림픽대회 및 동계패럴림픽대회 지원 등에 관한 특별법"
    assert olympics["fields"] == {
        "ministry": "문화체육관광부", "ministry_code": "1371000", "law_kind": "법률", "law_id": "011532",
        "amendment_type": "타법개정", "promulgated": "2026-09-08", "promulgation_no": "21901",
        "effective": "2027-09-09", "status": "연혁",
    }  # fmt: skip
    assert olympics["published_at"] == "2026-09-08T00:00:00+09:00"
    assert olympics["url"] == "https://www.law.go.kr/lsInfoP.do?lsiSeq=289323"
    assert items["289410"]["topics"] == ["cooperatives"]
    # 법령상세링크 carries the OC (OC=test in the samples): it is never used or stored
    db = (workdir / "monitor.db").read_bytes()
    assert OC.encode() not in db and b"OC=test" not in db


def test_max_age_days_skips_old_history_rows_loaded_again(
    api: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    write_sources([source(api, max_age_days=180)])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert out["fetched"] == 4
    keys = {i["key"] for i in lines(cli("items", "--json", ok=True))}
    assert "265271" not in keys  # 대통령비서실 직제, promulgated 2024-09-10, re-loaded 2026-09-02


@pytest.mark.parametrize("body", ["user_check_failed.html", "user_check_failed.xml"])
def test_a_200_saying_the_user_check_failed_is_a_failed_run(
    body: str,
    server: HTTPServer,
    write_sources: Callable[..., Path],
    cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAW_GO_KR_OC", OC)
    server.expect_request("/DRF/lawSearch.do").respond_with_data(
        (FIX / body).read_bytes(), content_type="text/html"
    )
    write_sources([source(server)])
    result = cli("poll", "--json")
    (out,) = lines(result)
    assert result.exit_code == 1 and out["status"] == "failed"
    assert "사용자 정보 검증에 실패하였습니다" in out["error"] and "EmptyResult" not in out["error"]
    assert OC not in out["error"]


def test_without_the_oc_the_source_warns_and_fails_without_a_request(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LAW_GO_KR_OC", raising=False)
    write_sources([source(server)])
    assert "LAW_GO_KR_OC 가 설정되지 않았습니다" in cli("sources", ok=True).output
    (out,) = lines(cli("poll", "--json"))
    assert out["status"] == "failed" and "LAW_GO_KR_OC is not set" in out["error"]
    assert not [r for r, _ in server.log if r.path == "/DRF/lawSearch.do"]


def test_days_without_changes_are_empty_unless_allowed(
    api: HTTPServer, write_sources: Callable[..., Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lawgo, "now", lambda: datetime(2026, 10, 5, 9, 0, tzinfo=SEOUL))
    write_sources([source(api)])
    (out,) = lines(cli("poll", "--json"))
    assert out["status"] == "failed" and "EmptyResult: no law changes" in out["error"]
    write_sources([source(api, allow_empty=True)])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert (out["status"], out["fetched"]) == ("ok", 0)


def test_result_codes_and_wrong_bodies() -> None:
    error = (
        b'<?xml version="1.0" encoding="UTF-8"?><LawSearch><resultCode>01</resultCode>'
        b"<resultMsg>fail</resultMsg></LawSearch>"
    )
    with pytest.raises(ApiError, match="01: fail"):
        parse_law_search(error)
    with pytest.raises(ParseError, match="HTML page"):
        parse_law_search(b"<html><body>Service Unavailable</body></html>")
    with pytest.raises(ParseError, match="JSON"):
        parse_law_search(b'{"LawSearch": {"law": []}}')


def test_the_real_search_sample_parses() -> None:
    # a verbatim copy of ../shared/samples/ministries/lawgo_lawSearch_target-law_query-관세법.xml
    sample = Path(__file__).parent / "fixtures" / "lawgo" / "lawgo_lawSearch_target-law_query-관세법.xml"
    (item,), total = parse_law_search(sample.read_bytes())
    assert total == 1 and item.key == "288689" and item.title == "관세법"
    assert item.fields["ministry"] == "재정경제부" and item.fields["effective"] == "2026-08-11"
    assert "short_name" not in item.fields  # an empty CDATA
