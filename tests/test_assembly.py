"""국회 kinds against a loopback Open API: envelopes, paging, stages, watchlist, notices, 제안이유."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

from monitor.errors import ApiError, ParseError
from monitor.sources.assembly import bill_item, lead_proposers, notice_item, parse_envelope
from monitor.text import now
from tests.assembly_api import FakeAssembly, bill_row, notice_row

# verbatim copies of ../shared/samples/assembly/open_*.json (real 열린국회정보 answers)
SAMPLES = Path(__file__).parent / "fixtures" / "assembly"
Cli = Callable[..., Result]

COOP = "협동조합 기본법 일부개정법률안"


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(x) for x in result.stdout.splitlines() if x.strip()]


# --- the envelope, on the real captured responses ---------------------------------------------


def test_real_bill_row_parses_with_stage_and_link() -> None:
    page = parse_envelope((SAMPLES / "open_TVBPMBILL11_bill_search_1row.json").read_bytes(), "TVBPMBILL11")
    assert page.total == 25858 and len(page.rows) == 1
    item = bill_item(page.rows[0])
    assert item.key == "PRC_K2S4R0S4Q3P0L0K9J0J9I5Q7P2Q4O6"
    assert item.title == "문화다양성의 보호와 증진에 관한 법률 일부개정법률안"
    assert (
        item.url
        == "https://likms.assembly.go.kr/bill/billDetail.do?billId=PRC_K2S4R0S4Q3P0L0K9J0J9I5Q7P2Q4O6"
    )
    f = item.fields
    assert (f["bill_no"], f["committee"], f["proposer_kind"], f["stage"]) == (
        "2126707", "문화체육관광위원회", "의원", "임기만료폐기",
    )  # fmt: skip
    assert f["propose_date"] == "2024-05-29" and f["lead_proposers"] == ["이자스민"]
    assert item.published_at is not None and item.published_at.isoformat() == "2024-05-29T00:00:00+09:00"


def test_real_notice_row_has_its_deadline() -> None:
    page = parse_envelope(
        (SAMPLES / "open_nknalejkafmvgzmpt_ongoing_notice_1row.json").read_bytes(), "nknalejkafmvgzmpt"
    )
    item = notice_item(page.rows[0], None, None)
    assert item.fields["deadline"] == "2025-12-08" and item.fields["bill_no"] == "2214415"
    assert item.url and item.url.startswith("https://pal.assembly.go.kr/napal/lgsltpa/lgsltpaOngoing/view.do")
    assert item.thread == "assembly-bill:PRC_Q2Q5P1P1X0Y4W1U5V3T3U5P1Q4P6P9"
    assert item.fields["stage"] == "위원회 심사"


def test_real_error_and_empty_envelopes() -> None:
    assert parse_envelope((SAMPLES / "open_error_INFO-200_no_data.json").read_bytes(), "ALLBILL").rows == []
    with pytest.raises(ApiError, match="ERROR-300: 필수 값이 누락"):
        parse_envelope((SAMPLES / "open_ALLBILL_error_ERROR-300_no_BILL_NO.json").read_bytes(), "ALLBILL")


def test_real_committee_alternative_with_provisional_number() -> None:
    page = parse_envelope(
        (SAMPLES / "open_nxtkyptyaolzcbfwl_committee_alt_1row.json").read_bytes(), "nxtkyptyaolzcbfwl"
    )
    item = bill_item(page.rows[0])
    assert item.fields["bill_no"] == "DD20544" and item.fields["proposer_kind"] == "위원장"
    assert item.fields["stage"] == "체계자구 심사"


def test_missing_row_block_is_empty_not_a_crash() -> None:
    body = {
        "TVBPMBILL11": [{"head": [{"list_total_count": 0}, {"RESULT": {"CODE": "INFO-000", "MESSAGE": ""}}]}]
    }
    assert parse_envelope(json.dumps(body).encode(), "TVBPMBILL11").rows == []


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"<!DOCTYPE html><html><title>Bad Request</title></html>", "HTML page"),
        (b"<TVBPMBILL11><head/></TVBPMBILL11>", "XML"),
        (b'{"other": []}', "no 'TVBPMBILL11' block"),
        (b"[1, 2]", "expected a JSON object"),
        (b"\xff\xfe{", "not JSON"),
    ],
)
def test_wrong_bodies_are_parse_errors(body: bytes, error: str) -> None:
    with pytest.raises(ParseError, match=error):
        parse_envelope(body, "TVBPMBILL11")


def test_names_are_nfc_and_several_lead_proposers_are_kept() -> None:
    row = bill_row(
        1, "\uf9e1씨 법 일부개정법률안", "2026-09-01", proposer="최형두의원ㆍ이준석의원ㆍ황정아의원 등 11인"
    )
    item = bill_item(row)
    assert item.title.startswith("\u674e")  # U+F9E1 (compatibility 李) → U+674E
    assert item.fields["lead_proposers"] == ["최형두", "이준석", "황정아"]
    assert lead_proposers("국회운영위원장") == ["국회운영위원장"]
    assert lead_proposers("윤미향의원 등 10인 외 1인") == ["윤미향"]


# --- polling a loopback API -------------------------------------------------------------------


@pytest.fixture
def assembly_sources(server: HTTPServer, write_sources: Callable[..., Path]) -> Callable[..., Path]:
    def write(bills: dict[str, Any] | None = None, notices: dict[str, Any] | None = None) -> Path:
        base = server.url_for("/portal/openapi")
        sources = [
            {"id": "bills", "kind": "assembly_bills", "name": "국회 법률안", "url": base,
             "backfill_days": 36500, "page_size": 10, **(bills or {})},
            {"id": "notices", "kind": "assembly_notices", "name": "국회 입법예고", "url": base,
             "backfill_days": 36500, **(notices or {})},
        ]  # fmt: skip
        return write_sources(sources)

    return write


def many_bills(api: FakeAssembly, count: int, start: int = 1) -> None:
    for n in range(start, start + count):
        api.add(bill_row(n, "도로교통법 일부개정법률안", f"2026-{1 + n // 28 % 12:02d}-{1 + n % 28:02d}"))


def test_paging_reads_until_known_unchanged_and_never_stops_after_page_one(
    api: FakeAssembly, assembly_sources: Callable[..., Path], cli: Cli
) -> None:
    many_bills(api, 35)
    assembly_sources()
    (bills, _) = lines(cli("poll", "--json", ok=True))
    assert bills["new"] == 35  # 4 pages of 10: the baseline read them all
    assert len(api.calls_to("TVBPMBILL11")) == 4
    api.calls.clear()
    api.add(bill_row(900, "주택법 일부개정법률안", "2026-12-30"))
    api.add(bill_row(901, "건축법 일부개정법률안", "2026-12-31"))
    (bills, _) = lines(cli("poll", "--json", ok=True))
    assert bills["new"] == 2 and bills["updated"] == 0
    # page 1 had 2 new rows, page 2 was all known: two requests, then stop
    assert [c["pIndex"] for c in api.calls_to("TVBPMBILL11")] == ["1", "2"]
    api.calls.clear()
    (bills, _) = lines(cli("poll", "--json", ok=True))
    assert bills["new"] == 0 and [c["pIndex"] for c in api.calls_to("TVBPMBILL11")] == ["1"]


def test_the_key_is_sent_as_KEY_with_Type_json_and_never_stored(
    api: FakeAssembly, assembly_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    many_bills(api, 3)
    assembly_sources()
    cli("poll", ok=True)
    call = api.calls_to("TVBPMBILL11")[0]
    assert call["KEY"] == "sentinel-key-123" and call["Type"] == "json" and call["AGE"] == "22"
    assert b"sentinel-key-123" not in (workdir / "monitor.db").read_bytes()


def test_without_a_key_the_repeated_page_is_detected(
    api: FakeAssembly, assembly_sources: Callable[..., Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ASSEMBLY_API_KEY")
    many_bills(api, 30)
    assembly_sources(bills={"page_size": 5})
    (bills, _) = lines(cli("poll", "--json", ok=True))
    assert bills["new"] == 5 and len(api.calls_to("TVBPMBILL11")) == 2
    assert any("repeated page 1" in w for w in bills["warnings"])
    assert any("ASSEMBLY_API_KEY" in w for w in bills["warnings"])
    listing = cli("sources", ok=True).output
    assert "ASSEMBLY_API_KEY" in listing


def test_info_200_is_an_empty_success_and_error_codes_fail_with_code(
    api: FakeAssembly, assembly_sources: Callable[..., Path], cli: Cli
) -> None:
    assembly_sources()
    api.errors["TVBPMBILL11"] = {"CODE": "ERROR-290", "MESSAGE": "인증키가 유효하지 않습니다."}
    result = cli("poll", "--json")
    assert result.exit_code == 1
    (bills, notices) = lines(result)
    assert bills["status"] == "failed" and "ERROR-290: 인증키가 유효하지 않습니다." in bills["error"]
    assert notices["status"] == "ok" and notices["fetched"] == 0  # INFO-200: nothing in 입법예고 today


def test_a_bill_advancing_yields_exactly_one_stage_event_per_stage(
    api: FakeAssembly, assembly_sources: Callable[..., Path], cli: Cli
) -> None:
    coop = api.add(bill_row(7, COOP, "2026-03-02", committee="재정경제기획위원회", committee_id="9700590"))
    many_bills(api, 25, start=100)  # newer bills push the co-op bill off page 1
    for n in range(100, 125):
        api.bills[f"PRC_T{n:05d}X0Y4W1U5V3T3U5P1Q4P6P9"]["PROPOSE_DT"] = "2026-04-01"
    assembly_sources()
    cli("poll", ok=True)
    steps = [
        {"COMMITTEE_DT": "2026-03-03"},
        {"CMT_PRESENT_DT": "2026-04-10", "CMT_PROC_DT": "2026-05-01", "CMT_PROC_RESULT_CD": "수정가결"},
        {"LAW_SUBMIT_DT": "2026-05-02"},
        {"LAW_PROC_DT": "2026-05-20", "LAW_PROC_RESULT_CD": "수정가결"},
        {"PROC_DT": "2026-05-28", "PROC_RESULT_CD": "수정가결"},
    ]
    for step in steps:
        coop.update(step)
        cli("poll", ok=True)
        cli("poll", ok=True)  # re-polling unchanged data adds nothing
    api.allbill[coop["BILL_NO"]] = [
        {"BILL_ID": coop["BILL_ID"], "BILL_NO": coop["BILL_NO"], "GVRN_TRSF_DT": "2026-06-02"}
    ]
    cli("poll", ok=True)
    cli("poll", ok=True)
    api.allbill[coop["BILL_NO"]][0].update(
        PROM_DT="2026-06-10", PROM_LAW_NM="협동조합 기본법", PROM_NO="21000"
    )
    cli("poll", ok=True)
    cli("poll", ok=True)
    stages = [(e["from"], e["to"]) for e in lines(cli("events", "--type", "stage", "--json", ok=True))]
    assert stages == [
        ("접수", "위원회 심사"),
        ("위원회 심사", "체계자구 심사"),
        ("체계자구 심사", "본회의 심의"),
        ("본회의 심의", "수정가결"),
        ("수정가결", "정부이송"),
        ("정부이송", "공포"),
    ]
    (item,) = [
        i for i in lines(cli("items", "--source", "bills", "--json", ok=True)) if i["key"] == coop["BILL_ID"]
    ]
    assert item["fields"]["stage"] == "공포" and item["fields"]["prom_no"] == "21000"
    assert item["fields"]["bill_no"] == "2200007" and item["fields"]["committee"] == "재정경제기획위원회"
    # once promulgated the bill leaves the watchlist
    api.calls.clear()
    cli("poll", ok=True)
    assert not [c for c in api.calls_to("TVBPMBILL11") if "BILL_ID" in c] and not api.calls_to("ALLBILL")


def test_vetoed_bill_with_gov_row_first(
    api: FakeAssembly, assembly_sources: Callable[..., Path], cli: Cli
) -> None:
    coop = api.add(bill_row(8, COOP, "2026-03-02", PROC_DT="2026-05-28", PROC_RESULT_CD="원안가결"))
    assembly_sources()
    cli("poll", ok=True)
    gov = coop["BILL_ID"].replace("PRC_", "GOV_")
    api.allbill[coop["BILL_NO"]] = [
        {"BILL_ID": gov, "BILL_NO": coop["BILL_NO"], "RGS_CONF_RSLT": "재의요구"},
        {"BILL_ID": coop["BILL_ID"], "BILL_NO": coop["BILL_NO"], "GVRN_TRSF_DT": "2026-06-02"},
    ]
    cli("poll", ok=True)
    (event,) = lines(cli("events", "--type", "stage", "--json", ok=True))
    assert (event["from"], event["to"]) == ("원안가결", "재의요구")


def test_alternative_replaces_a_closed_bill_and_joins_the_watchlist(
    api: FakeAssembly, assembly_sources: Callable[..., Path], cli: Cli
) -> None:
    coop = api.add(bill_row(9, COOP, "2026-03-02", COMMITTEE_DT="2026-03-03"))
    assembly_sources()
    cli("poll", ok=True)
    coop.update(CMT_PROC_DT="2026-05-01", CMT_PROC_RESULT_CD="대안반영폐기", PROC_DT="2026-05-28",
                PROC_RESULT_CD="대안반영폐기")  # fmt: skip
    alt = api.add(
        bill_row(50, COOP + "(대안)", "2026-05-01", proposer="재정경제기획위원장", kind="위원장",
                 CMT_PROC_DT="2026-05-01", LAW_SUBMIT_DT="2026-05-01")
    )  # fmt: skip
    cli("poll", ok=True)
    items = {i["key"]: i for i in lines(cli("items", "--source", "bills", "--json", ok=True))}
    assert items[coop["BILL_ID"]]["fields"]["stage"] == "대안반영폐기"
    assert items[coop["BILL_ID"]]["fields"]["alternative"]["bill_no"] == alt["BILL_NO"]
    assert items[alt["BILL_ID"]]["fields"]["replaces"] == [coop["BILL_NO"]]
    assert "topics" in items[alt["BILL_ID"]] and items[alt["BILL_ID"]]["topics"] == ["cooperatives"]
    # the alternative advances: it is followed although it never reached page 1 again
    many_bills(api, 12, start=200)
    for n in range(200, 212):
        api.bills[f"PRC_T{n:05d}X0Y4W1U5V3T3U5P1Q4P6P9"]["PROPOSE_DT"] = "2026-06-01"
    cli("poll", ok=True)
    alt.update(PROC_DT="2026-05-28", PROC_RESULT_CD="원안가결")
    cli("poll", ok=True)
    stage_events = [(e["key"], e["to"]) for e in lines(cli("events", "--type", "stage", "--json", ok=True))]
    assert (coop["BILL_ID"], "대안반영폐기") in stage_events and (alt["BILL_ID"], "원안가결") in stage_events


def test_summary_makes_a_bill_relevant_and_is_fetched_once(
    api: FakeAssembly, assembly_sources: Callable[..., Path], cli: Cli
) -> None:
    tax = api.add(bill_row(11, "조세특례제한법 일부개정법률안", "2026-09-01", committee="재정경제기획위원회"))
    api.add(bill_row(12, "도로교통법 일부개정법률안", "2026-09-01"))
    api.summaries[tax["BILL_NO"]] = "사회적협동조합에 대한 법인세 감면 적용기한을 3년 연장하려는 것임."
    assembly_sources()
    (bills, _) = lines(cli("poll", "--json", ok=True))
    assert bills["flagged"] == 1
    (flagged,) = lines(cli("items", "--flagged", "--json", ok=True))
    assert flagged["key"] == tax["BILL_ID"] and flagged["matches"][0]["field"] == "summary"
    assert len(api.calls_to("BPMBILLSUMMARY")) == 2  # each new bill once
    api.calls.clear()
    cli("poll", ok=True)
    assert api.calls_to("BPMBILLSUMMARY") == []


def test_prefilter_fetches_summaries_only_for_promising_bills(
    api: FakeAssembly, assembly_sources: Callable[..., Path], cli: Cli
) -> None:
    api.add(bill_row(21, COOP, "2026-09-01"))
    api.add(bill_row(22, "조세특례제한법 일부개정법률안", "2026-09-01", committee="재정경제기획위원회"))
    api.add(bill_row(23, "도로교통법 일부개정법률안", "2026-09-01", committee="행정안전위원회"))
    api.add(bill_row(24, "문화재보호법 일부개정법률안", "2026-09-01", committee="문화체육관광위원회"))
    assembly_sources(bills={"summaries": "prefilter", "watch_committees": ["재정경제기획위원회"]})
    cli("poll", ok=True)
    asked = sorted(c["BILL_NO"] for c in api.calls_to("BPMBILLSUMMARY"))
    assert asked == ["2200021", "2200022"]


def test_watch_list_in_sources_yaml_follows_a_bill(
    api: FakeAssembly, assembly_sources: Callable[..., Path], cli: Cli
) -> None:
    old = api.add(bill_row(31, "국가재정법 일부개정법률안", "2025-01-01", COMMITTEE_DT="2025-01-02"))
    many_bills(api, 12, start=300)
    for n in range(300, 312):
        api.bills[f"PRC_T{n:05d}X0Y4W1U5V3T3U5P1Q4P6P9"]["PROPOSE_DT"] = "2026-06-01"
    assembly_sources(bills={"watch": [old["BILL_NO"]], "max_pages": 1})
    cli("poll", ok=True)
    old.update(LAW_SUBMIT_DT="2026-07-01")
    cli("poll", ok=True)
    (event,) = lines(cli("events", "--type", "stage", "--json", ok=True))
    assert (event["key"], event["to"]) == (old["BILL_ID"], "체계자구 심사")


def test_notices_carry_deadlines_link_to_their_bill_and_record_deadline_events(
    api: FakeAssembly, assembly_sources: Callable[..., Path], cli: Cli
) -> None:
    coop = api.add(
        bill_row(41, COOP, "2026-09-01", committee="재정경제기획위원회", COMMITTEE_DT="2026-09-02")
    )
    api.notices.append(notice_row(coop, "2026-09-12"))
    api.summaries[coop["BILL_NO"]] = "협동조합연합회의 공동사업 범위를 확대함."
    assembly_sources()
    cli("poll", ok=True)
    items = {i["source"]: i for i in lines(cli("items", "--json", ok=True))}
    notice = items["notices"]
    assert notice["fields"]["deadline"] == "2026-09-12" and notice["fields"]["bill_no"] == coop["BILL_NO"]
    assert (
        notice["fields"]["stage"] == "위원회 심사" and notice["fields"]["committee"] == "재정경제기획위원회"
    )
    assert notice["summary"] == "협동조합연합회의 공동사업 범위를 확대함."
    assert notice["topics"] == ["cooperatives"]
    assert items["bills"]["fields"]["bill_no"] == coop["BILL_NO"]
    cli("poll", ok=True)
    api.notices[0]["NOTI_ED_DT"] = "2026-09-19"
    cli("poll", ok=True)
    cli("poll", ok=True)
    deadlines = [(e["from"], e["to"]) for e in lines(cli("events", "--type", "deadline", "--json", ok=True))]
    assert deadlines == [(None, "2026-09-12"), ("2026-09-12", "2026-09-19")]
    assert (
        len(api.calls_to("nknalejkafmvgzmpt")) == 4
        and api.calls_to("nknalejkafmvgzmpt")[0]["pSize"] == "1000"
    )


def test_a_long_watchlist_is_refreshed_in_bounded_rounds(
    api: FakeAssembly, assembly_sources: Callable[..., Path], cli: Cli
) -> None:
    for n in range(60, 66):
        api.add(bill_row(n, COOP, "2025-01-01", COMMITTEE_DT="2025-01-02"))
    many_bills(api, 12, start=400)
    for n in range(400, 412):
        api.bills[f"PRC_T{n:05d}X0Y4W1U5V3T3U5P1Q4P6P9"]["PROPOSE_DT"] = "2026-06-01"
    assembly_sources(bills={"refresh_per_poll": 4, "max_pages": 2})
    cli("poll", ok=True)
    refreshed: list[str] = []
    for _ in range(3):
        time.sleep(1.05)  # last_seen_at has one-second resolution; real polls are an hour apart
        api.calls.clear()
        cli("poll", ok=True)
        per_bill = [c["BILL_ID"] for c in api.calls_to("TVBPMBILL11") if "BILL_ID" in c]
        assert len(per_bill) <= 4
        refreshed += per_bill
    assert len(set(refreshed)) == 6  # every watched bill came round


def test_a_bill_relevant_only_by_its_reasons_and_older_than_the_service_is_found_and_followed(
    api: FakeAssembly, assembly_sources: Callable[..., Path], cli: Cli
) -> None:
    # proposed a week before the first poll: older than backfill_days, so the baseline stores it
    # without its 제안이유 and announces nothing (issue 11.6)
    week_ago = (now() - timedelta(days=7)).date().isoformat()
    tax = api.add(bill_row(31, "조세특례제한법 일부개정법률안", week_ago, committee="재정경제기획위원회",
                           committee_id="9700590", COMMITTEE_DT=week_ago))  # fmt: skip
    api.add(bill_row(32, "도로교통법 일부개정법률안", week_ago))
    api.summaries[tax["BILL_NO"]] = "사회적협동조합에 대한 법인세 감면 적용기한을 3년 연장하려는 것임."
    assembly_sources(bills={"backfill_days": 3}, notices={"backfill_days": 3})
    cli("poll", ok=True)
    assert api.calls_to("BPMBILLSUMMARY") == []
    assert lines(cli("items", "--flagged", "--json", ok=True)) == []

    cli("poll", ok=True)  # the backfill reads the stored bills' 제안이유
    assert sorted(c["BILL_NO"] for c in api.calls_to("BPMBILLSUMMARY")) == ["2200031", "2200032"]
    (flagged,) = lines(cli("items", "--flagged", "--json", ok=True))
    assert flagged["key"] == tax["BILL_ID"] and flagged["matches"][0]["field"] == "summary"
    assert "사회적협동조합" in flagged["summary"]
    # flagged, but nothing announced: the daily digest has no entry for it
    preview = cli("digest", "daily", "--dry-run", ok=True).output
    assert "조세특례제한법" not in preview

    tax.update(LAW_SUBMIT_DT=now().date().isoformat())  # it moves on: followed, reported
    cli("poll", ok=True)
    stages = [(e["from"], e["to"]) for e in lines(cli("events", "--type", "stage", "--json", ok=True))]
    assert stages == [("위원회 심사", "체계자구 심사")]
    preview = cli("digest", "daily", "--dry-run", ok=True).output
    assert "조세특례제한법" in preview and "체계자구 심사" in preview
    api.calls.clear()
    cli("poll", ok=True)
    assert api.calls_to("BPMBILLSUMMARY") == []  # each 제안이유 once


def test_the_summary_backfill_is_bounded_per_poll(
    api: FakeAssembly, assembly_sources: Callable[..., Path], cli: Cli
) -> None:
    old = (now() - timedelta(days=30)).date().isoformat()
    for n in range(40, 52):
        api.add(bill_row(n, "도로교통법 일부개정법률안", old))
    assembly_sources(bills={"backfill_days": 3, "summary_backfill": 5, "page_size": 100})
    cli("poll", ok=True)
    asked: list[int] = []
    for _ in range(3):
        api.calls.clear()
        cli("poll", ok=True)
        asked.append(len(api.calls_to("BPMBILLSUMMARY")))
    assert asked == [5, 5, 2]
