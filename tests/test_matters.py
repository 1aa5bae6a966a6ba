"""Matters (issue 14): one bill with its notices, stages, 대안 and 공포; digests by matter; the CLI.

Polls run against loopback servers in the real shapes: the 국회 Open API (tests/assembly_api.py),
the 국민참여입법센터 list (fixtures/lawmaking/ogLmPp_coop_act.html) and a law.go.kr day
(fixtures/lawgo/lsHstInf_coop_act.xml), both in the markup of ../shared/samples/ministries/.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

from monitor.jobs import Job, daily_digests, weekly_digests
from monitor.matters import (
    Law,
    Lookups,
    Record,
    bill_numbers,
    government_bill_for,
    infer_kind,
    law_of,
    matter_key,
    pipeline,
)
from monitor.render.text import render_text
from monitor.store import MIGRATIONS, Store
from monitor.text import now
from tests.assembly_api import FakeAssembly, bill_row, notice_row
from tests.seed import bill, config, poll, ruleset

FIX = Path(__file__).parent / "fixtures"
Cli = Callable[..., Result]
COOP = "협동조합 기본법 일부개정법률안"


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(x) for x in result.stdout.splitlines() if x.strip()]


# --- the law a title is about (real titles of the samples and the issue) ------------------------


@pytest.mark.parametrize(
    ("title", "name", "parent"),
    [
        ("협동조합 기본법 일부개정법률안", "협동조합 기본법", None),  # the issue
        ("사회적경제기본법안", "사회적경제기본법", None),  # the issue
        ("협동조합 기본법 일부개정법률안(대안)", "협동조합 기본법", None),
        # nxtkyptyaolzcbfwl
        ("벤처투자 촉진에 관한 법률 일부개정법률안(대안)", "벤처투자 촉진에 관한 법률", None),
        # nwbpacrgavhjryiph names the proposer in BILL_NM
        ("문화다양성의 보호와 증진에 관한 법률 일부개정법률안(이자스민의원 등 10인)",
         "문화다양성의 보호와 증진에 관한 법률", None),
        ("관광진흥법 일부개정법률안 (김성원의원 등 10인)", "관광진흥법", None),  # a pal list row
        ("전자인법안", "전자인법", None),  # nzmimeepazxkubdpn
        ("방위산업에관한특별조치법중개정법률안", "방위산업에관한특별조치법", None),  # BILLRCP, 16대
        ("[진행]부가가치세법 일부개정법률안 입법예고", "부가가치세법", None),  # rest/ogLmPp
        ("산림재난방지법 시행령 일부개정령안 입법예고", "산림재난방지법 시행령", "산림재난방지법"),
        ("산림복지 진흥에 관한 법률 시행규칙 일부개정령안 입법예고", "산림복지 진흥에 관한 법률 시행규칙",
         "산림복지 진흥에 관한 법률"),
        ("관세청과 그 소속기관 직제 시행규칙 일부개정령안 입법예고", "관세청과 그 소속기관 직제 시행규칙",
         "관세청과 그 소속기관 직제"),
        ("「협동조합 기본법」 일부개정", "협동조합 기본법", None),
        ("「협동조합 기본법 시행령」 일부개정령안 입법예고", "협동조합 기본법 시행령", "협동조합 기본법"),
        ("사회서비스 이용 및 이용권 관리에 관한 법률 전부개정법률안",
         "사회서비스 이용 및 이용권 관리에 관한 법률", None),
        ("사회적기업 육성법 폐지법률안", "사회적기업 육성법", None),
        ("사회적경제 기본법 제정법률안", "사회적경제 기본법", None),
        ("부가가치세법 일부개정법률(안)", "부가가치세법", None),  # the attachment's name
        # law.go.kr titles are the law's name
        ("5ㆍ18민주유공자예우 및 단체설립에 관한 법률", "5ㆍ18민주유공자예우 및 단체설립에 관한 법률", None),
        ("경찰공무원 임용령", "경찰공무원 임용령", None),
    ],
)  # fmt: skip
def test_law_of_names_the_law_a_title_enacts_or_amends(title: str, name: str, parent: str | None) -> None:
    law = law_of(title)
    assert law is not None and (law.name, law.parent) == (name, parent)


def test_law_keys_relate_spellings_of_one_law() -> None:
    assert law_of("사회적경제기본법안").key == law_of("사회적경제 기본법 제정법률안").key  # type: ignore[union-attr]
    assert law_of("협동조합 기본법 시행령 개정").key != law_of(COOP).key  # type: ignore[union-attr]
    assert law_of("") is None and law_of(None) is None


def test_bill_numbers_and_the_road() -> None:
    named = "「협동조합 기본법」 개정안(의안번호 2214415) 및 제2214416호, 의안번호: 제161473호"
    assert bill_numbers(named) == ["2214415", "2214416", "161473"]
    assert bill_numbers("소방청공고 제2026-138호 (2026. 7. 23.)") == []
    assert pipeline("체계자구 심사") == "접수 › 위원회 심사 › [체계자구 심사] › 본회의 심의 › 정부이송 › 공포"
    assert (
        pipeline("원안가결")
        == "접수 › 위원회 심사 › 체계자구 심사 › 본회의 심의 › [원안가결] › 정부이송 › 공포"
    )
    assert pipeline("위원회 심사", government_notice=True).startswith("정부 입법예고 › 접수 › [위원회 심사]")
    assert pipeline("대안반영폐기") == "접수 › … › [대안반영폐기]" and pipeline(None) is None


# --- matter keys from identifiers (pure, with lookups as the store answers them) -----------------


def gov_bill(n: int, title: str, proposed: str, kind: str = "정부") -> Record:
    return Record("assembly_bills", "bills", f"PRC_{n}", title, fields={
        "bill_id": f"PRC_{n}", "bill_no": f"22{n:05d}", "proposer_kind": kind, "propose_date": proposed,
    })  # fmt: skip


def lookups(*bills: Record) -> Lookups:
    by_id = {b.key: b for b in bills}
    return Lookups(
        bill=by_id.get,
        bills_by_number=lambda no: [b for b in bills if b.fields.get("bill_no") == no],
        bills_by_promulgation=lambda no: [b for b in bills if b.fields.get("prom_no") == no],
        government_bills=lambda first, last: [
            b
            for b in bills
            if b.fields.get("proposer_kind") == "정부" and first <= b.fields["propose_date"] <= last
        ],
    )


NOTICE = Record(
    "lawmaking_notices", "lawmaking-notices", "88015", "협동조합 기본법 일부개정법률안 입법예고",
    fields={"law_kind": "법률", "period_start": "2026-08-04", "deadline": "2026-09-14"},
)  # fmt: skip


def test_a_government_notice_joins_the_government_bill_of_its_law_within_a_year() -> None:
    assert matter_key(NOTICE, NOTICE.kind, lookups()) == "notice:lawmaking-notices:88015"
    member = gov_bill(1, COOP, "2026-09-01", kind="의원")
    late = gov_bill(2, COOP, "2027-08-05")
    other_law = gov_bill(3, "사회적기업 육성법 일부개정법률안", "2026-09-01")
    before = gov_bill(4, COOP, "2026-08-01")
    assert matter_key(NOTICE, NOTICE.kind, lookups(member, late, other_law, before)).startswith("notice:")
    first, second = (
        gov_bill(5, COOP, "2026-10-20"),
        gov_bill(6, "협동조합기본법 일부개정법률안", "2026-12-01"),
    )
    assert matter_key(NOTICE, NOTICE.kind, lookups(second, late, first)) == "bill:PRC_5"  # the earliest
    # a 시행령's notice never becomes a 국회 bill
    decree = Record("lawmaking_notices", "lawmaking-notices", "87990",
                    "협동조합 기본법 시행령 일부개정령안 입법예고",
                    fields={"law_kind": "대통령령", "period_start": "2026-08-03"})  # fmt: skip
    assert government_bill_for(decree, lookups(first)) is None


def test_law_entries_bill_numbers_and_alternatives_are_followed_by_identifier() -> None:
    promulgated = Record("assembly_bills", "bills", "PRC_7", COOP, fields={
        "bill_id": "PRC_7", "bill_no": "2200007", "prom_no": "21950", "prom_law_nm": "협동조합 기본법",
        "alternative": {"bill_id": "PRC_9", "bill_no": "DD20544"},
    })  # fmt: skip
    alternative = gov_bill(9, COOP + "(대안)", "2026-10-01", kind="위원장")
    ours = Record("law_changes", "law-changes", "289500", "협동조합 기본법",
                  fields={"law_id": "011487", "promulgation_no": "21950"})  # fmt: skip
    other_law = Record("law_changes", "law-changes", "289501", "조세특례제한법",
                       fields={"law_id": "001584", "promulgation_no": "21950"})  # fmt: skip
    found = lookups(promulgated, alternative)
    assert matter_key(ours, "law_changes", found) == "bill:PRC_9"  # the bill's, which is its 대안's
    assert matter_key(other_law, "law_changes", found) == "law:001584:21950"  # a 타법개정 row
    assert matter_key(promulgated, "assembly_bills", found) == "bill:PRC_9"
    post = Record("rss", "mois", "p1", "개정안(의안번호 2200007) 설명회")
    assert matter_key(post, "rss", found) == "bill:PRC_9"
    assert matter_key(post, "rss", lookups()) == "item:mois:p1"
    # a meeting names the bills on its agenda but is about none of them alone
    meeting = Record("assembly_schedules", "schedules", "m1", "재정경제기획위원회 전체회의",
                     summary="1. 협동조합 기본법 일부개정법률안(의안번호 2200007)",
                     fields={"meeting_kind": "전체회의", "slot": "재경위|전체회의|1"})  # fmt: skip
    assert matter_key(meeting, "assembly_schedules", found) == "item:schedules:m1"
    assert infer_kind(meeting) == "assembly_schedules" and infer_kind(promulgated) == "assembly_bills"
    assert infer_kind(ours) == "law_changes" and infer_kind(post) == "other"
    assert Law("협동조합 기본법", "협동조합기본법") == law_of(COOP)


# --- real polls: a bill, its 입법예고 and a stage move -----------------------------------------


@pytest.fixture
def api(api: FakeAssembly, monkeypatch: pytest.MonkeyPatch) -> FakeAssembly:
    # the loopback Open API of tests/conftest.py, with the other sources' keys set for these tests
    fake = api
    monkeypatch.delenv("LAWMAKING_OC", raising=False)
    monkeypatch.setenv("LAW_GO_KR_OC", "sentinel-law-oc")
    for var in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    return fake


def assembly(server: HTTPServer, **notices: Any) -> list[dict[str, Any]]:
    base = server.url_for("/portal/openapi")
    # the notices list first: a 입법예고 takes its bill's 제안이유 on a later poll, as in the issue
    return [
        {"id": "notices", "kind": "assembly_notices", "name": "국회 입법예고", "url": base,
         "backfill_days": 36500, "summaries": "none", **notices},
        {"id": "bills", "kind": "assembly_bills", "name": "국회 법률안", "url": base, "backfill_days": 36500},
    ]  # fmt: skip


def test_a_bill_and_its_notice_are_one_matter_in_digests_and_the_cli(
    api: FakeAssembly, server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    today = now().date()
    write_sources(assembly(server))
    api.add(bill_row(1, "도로교통법 일부개정법률안", (today - timedelta(days=30)).isoformat()))
    cli("poll", ok=True)  # the baseline
    coop = api.add(bill_row(41, COOP, (today - timedelta(days=2)).isoformat(), committee="재정경제기획위원회",
                            COMMITTEE_DT=(today - timedelta(days=1)).isoformat()))  # fmt: skip
    api.notices.append(notice_row(coop, (today + timedelta(days=5)).isoformat()))
    api.summaries[coop["BILL_NO"]] = "사회적협동조합의 공익사업 범위를 넓히려는 것임."
    api.add(bill_row(2, "주택법 일부개정법률안", today.isoformat()))  # unflagged
    cli("poll", ok=True)
    coop.update(LAW_SUBMIT_DT=today.isoformat())  # the next poll: a stage move
    cli("poll", ok=True)

    events = lines(cli("events", "--json", ok=True))
    # the notice took its bill's 제안이유 on this poll: recorded and matched, not news (14.3)
    (filled,) = [e for e in events if e["type"] == "updated"]
    assert filled["source"] == "notices" and filled["announce"] is False

    daily = cli("digest", "daily", "--dry-run", ok=True).stdout
    assert daily.count(f"• [긴급] {COOP}") == 1 and "수정됨" not in daily
    assert "■ 진행 단계가 바뀐 의안 (1건)" in daily and "새로 올라온 항목 (1건)" not in daily
    assert "위원회 심사 → 체계자구 심사 · 의견마감 D-5" in daily
    assert "국회 입법예고: https://pal.assembly.go.kr/napal/lgsltpa/lgsltpaOngoing/view.do" in daily
    assert "7일 안에 의견 마감" not in daily  # shown once, with its deadline, under the stage move

    weekly = cli("digest", "weekly", "--dry-run", ok=True).stdout
    assert weekly.count(f"• [긴급] {COOP}") == 1 and "■ 움직인 의안과 현재 단계 (1건)" in weekly
    (line,) = [x for x in weekly.splitlines() if "체계자구 심사" in x and "국회 법률안" in x]
    assert (
        "접수 › 위원회 심사 › [체계자구 심사] › 본회의 심의 › 정부이송 › 공포" in line
        and "의견마감 D-5" in line
    )
    assert "의견 제출 필요" not in weekly  # the same matter, already listed
    assert "협동조합 1건" in weekly

    followed = lines(cli("matters", "--json", ok=True))
    (matter,) = followed  # the unflagged bills are not followed
    assert set(matter) == {"id", "title", "law", "topics", "stage", "items", "events"}
    assert matter["law"] == "협동조합 기본법" and matter["stage"] == "체계자구 심사"
    assert matter["title"] == f"{COOP} (홍길동의원 등 10인)" and matter["topics"] == ["cooperatives"]
    assert sorted(i["source"] for i in matter["items"]) == ["bills", "notices"]
    assert {i["url"] for i in matter["items"]} == {
        coop["LINK_URL"], f"https://pal.assembly.go.kr/napal/lgsltpa/lgsltpaOngoing/view.do?lgsltPaId={coop['BILL_ID']}"
    }  # fmt: skip
    kinds = [(e["type"], e["source"]) for e in matter["events"]]
    assert {("new", "bills"), ("new", "notices"), ("deadline", "notices"), ("stage", "bills")} <= set(kinds)
    stage = next(e for e in matter["events"] if e["type"] == "stage")
    assert (stage["from"], stage["to"], stage["date"]) == ("위원회 심사", "체계자구 심사", today.isoformat())
    assert [e["date"] for e in matter["events"]] == sorted(e["date"] for e in matter["events"])
    everything = lines(cli("matters", "--all", "--json", ok=True))
    assert len(everything) == 3 and {m["title"].split(" (")[0] for m in everything} == {
        COOP, "도로교통법 일부개정법률안", "주택법 일부개정법률안",
    }  # fmt: skip
    assert lines(cli("matters", "--json", "--topic", "community-enterprise", ok=True)) == []
    assert len(lines(cli("matters", "--json", "--since", "1d", ok=True))) == 1

    timeline = cli("matter", str(matter["id"]), ok=True).stdout
    assert f"#{matter['id']} {COOP} (홍길동의원 등 10인)" in timeline
    assert "법: 협동조합 기본법 · 단계: 체계자구 심사 · 의견마감 D-5" in timeline
    assert "경과 (오래된 것부터):" in timeline and "단계 위원회 심사 → 체계자구 심사" in timeline
    assert "의안 접수: 협동조합 기본법 일부개정법률안 — 국회 법률안" in timeline
    assert "제안이유·요약 추가 (알리지 않음) — 국회 입법예고" in timeline
    assert timeline.index("의안 접수") < timeline.index("단계 위원회 심사 → 체계자구 심사")
    assert cli("matter", coop["BILL_NO"], ok=True).stdout == timeline  # by bill number, by BILL_ID
    assert cli("matter", coop["BILL_ID"], ok=True).stdout == timeline
    missing = cli("matter", "999")
    assert missing.exit_code == 2 and "사안 '999' 을(를) 찾지 못했습니다" in missing.output
    assert "Traceback" not in missing.output


def test_a_government_notice_and_its_later_bill_form_one_matter(
    api: FakeAssembly, server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    page = (FIX / "lawmaking" / "ogLmPp_coop_act.html").read_bytes()
    server.expect_request("/gcom/ogLmPp").respond_with_data(page, content_type="text/html;charset=UTF-8")
    write_sources([
        {"id": "lawmaking-notices", "kind": "lawmaking_notices", "name": "정부 입법예고",
         "url": server.url_for("/gcom/ogLmPp") + "?isOgYn=Y&opYn=Y", "backfill_days": 36500},
        *assembly(server),
    ])  # fmt: skip
    cli("poll", ok=True)
    (waiting,) = [m for m in lines(cli("matters", "--json", ok=True)) if m["law"] == "협동조합 기본법"]
    assert waiting["stage"] == "정부 입법예고" and [i["key"] for i in waiting["items"]] == ["88015"]
    # a member's bill of the same law is a matter of its own; the government's joins the notice
    api.add(bill_row(50, COOP, "2026-10-02", proposer="이협동의원 등 11인"))
    cli("poll", ok=True)
    government = api.add(
        bill_row(51, COOP, "2026-10-20", proposer="정부", kind="정부", COMMITTEE_DT="2026-10-21")
    )
    cli("poll", ok=True)
    matters = {m["id"]: m for m in lines(cli("matters", "--json", ok=True))}
    joined = matters[waiting["id"]]  # the matter kept its id
    assert joined["title"] == f"{COOP} (정부)" and joined["stage"] == "위원회 심사"
    assert sorted((i["source"], i["key"]) for i in joined["items"]) == [
        ("bills", government["BILL_ID"]), ("lawmaking-notices", "88015"),
    ]  # fmt: skip
    assert [e["type"] for e in joined["events"]][:3] == ["new", "deadline", "new"]  # notice first, then bill
    member = next(m for m in matters.values() if m["title"].startswith(f"{COOP} (이협동"))
    assert [i["key"] for i in member["items"]] == ["PRC_T00050X0Y4W1U5V3T3U5P1Q4P6P9"]
    decree = next(m for m in matters.values() if m["law"] == "협동조합 기본법 시행령")
    assert [i["key"] for i in decree["items"]] == ["87990"]
    timeline = cli("matter", str(joined["id"]), ok=True).stdout
    assert "진행: 정부 입법예고 › 접수 › [위원회 심사]" in timeline
    assert "정부 입법예고: 협동조합 기본법 일부개정법률안 입법예고 — 정부 입법예고" in timeline
    assert "같은 법 개정안 1건:" in timeline and "이협동의원" in timeline


def test_promulgation_and_the_committee_alternative_join_the_bill(
    api: FakeAssembly, server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    day = (FIX / "lawgo" / "lsHstInf_coop_act.xml").read_bytes()
    server.expect_request("/DRF/lawSearch.do").respond_with_data(day, content_type="application/xml")
    write_sources([
        *assembly(server),
        {"id": "law-changes", "kind": "law_changes", "name": "법령 제·개정", "days": 1,
         "backfill_days": 36500, "url": server.url_for("/DRF/lawSearch.do")},
    ])  # fmt: skip
    first = api.add(bill_row(60, COOP, "2026-06-01", COMMITTEE_DT="2026-06-02"))
    second = api.add(
        bill_row(61, COOP, "2026-06-05", proposer="김협동의원 등 12인", COMMITTEE_DT="2026-06-06")
    )
    api.notices.append(notice_row(first, "2026-06-20"))
    cli("poll", ok=True)
    before = {m["items"][0]["key"]: m["id"] for m in lines(cli("matters", "--json", ok=True)) if m["items"]}
    # the law.go.kr entry came first: a matter of its own until a bill with its 공포번호 is known
    assert any(m["items"][0]["key"] == "289500" for m in lines(cli("matters", "--all", "--json", ok=True)))

    # both are folded into the committee's alternative, which passes and is promulgated
    for b in (first, second):
        b.update(CMT_PROC_DT="2026-09-01", CMT_PROC_RESULT_CD="대안반영폐기", PROC_DT="2026-10-28",
                 PROC_RESULT_CD="대안반영폐기")  # fmt: skip
    alt = api.add(bill_row(62, COOP + "(대안)", "2026-09-01", proposer="재정경제기획위원장", kind="위원장",
                           CMT_PROC_DT="2026-09-01", PROC_DT="2026-10-28",
                           PROC_RESULT_CD="원안가결"))  # fmt: skip
    cli("poll", ok=True)
    api.allbill[alt["BILL_NO"]] = [{"BILL_ID": alt["BILL_ID"], "BILL_NO": alt["BILL_NO"],
                                    "GVRN_TRSF_DT": "2026-11-03", "PROM_DT": "2026-11-10", "PROM_NO": "21950",
                                    "PROM_LAW_NM": "협동조합 기본법"}]  # fmt: skip
    cli("poll", ok=True)
    everything = lines(cli("matters", "--all", "--json", ok=True))
    (matter,) = [m for m in everything if any(i["key"] == alt["BILL_ID"] for i in m["items"])]
    keys = sorted((i["source"], i["key"]) for i in matter["items"])
    assert keys == sorted([
        ("bills", first["BILL_ID"]), ("notices", first["BILL_ID"]), ("bills", second["BILL_ID"]),
        ("bills", alt["BILL_ID"]), ("law-changes", "289500"),
    ])  # fmt: skip
    assert matter["id"] == before[first["BILL_ID"]]  # the first bill's matter carried on
    assert matter["title"] == f"{COOP}(대안)" and matter["stage"] == "공포"
    assert before[second["BILL_ID"]] not in {m["id"] for m in everything}  # merged into the first's
    (other,) = [m for m in everything if any(i["key"] == "289501" for i in m["items"])]
    assert other["law"] == "조세특례제한법" and len(other["items"]) == 1  # a 타법개정 row stays apart
    stages = [e["to"] for e in matter["events"] if e["type"] == "stage"]
    assert stages.count("대안반영폐기") == 2 and stages[-1] == "공포"


# --- events are news (14.3) --------------------------------------------------------------------


def test_only_a_new_title_or_link_is_announced(tmp_path: Path) -> None:
    from tests.seed import press

    store = Store(tmp_path / "monitor.db")
    rules = ruleset(tmp_path)
    post = press(1, "마을기업 공모", "첫 요약")
    poll(store, rules, "mois", [post])
    post.summary = "고친 요약: 마을기업 신청 기간 안내"
    poll(store, rules, "mois", [post])
    post.url = post.url + "&page=2"
    poll(store, rules, "mois", [post])
    post.url = post.url.replace("https://www.mois.go.kr", "http://WWW.MOIS.GO.KR")  # the same page
    poll(store, rules, "mois", [post])
    post.title = "마을기업 공모 (기간 연장)"
    poll(store, rules, "mois", [post])
    rows = store.events(type_="updated")
    assert [(r["announce"], sorted(k for k in r["detail"] if k.startswith("summary"))) for r in rows] == [
        (False, ["summary_changed"]), (True, []), (True, []),
    ]  # fmt: skip
    assert rows[1]["detail"]["to"]["url"].endswith("&page=2")
    assert (
        len(store.rows("SELECT * FROM matches m JOIN events e ON e.id = m.event_id WHERE e.type = 'updated'"))
        == 3
    )
    store.close()


# --- the migration, on a database made by the previous release ---------------------------------


PREVIOUS = FIX / "prev_release" / "monitor-2ab8ac2.sqlite"
PREVIOUS_SOURCES = [
    {"id": "bills", "kind": "assembly_bills", "name": "국회 법률안", "url": "http://127.0.0.1:9/"},
    {"id": "notices", "kind": "assembly_notices", "name": "국회 입법예고", "url": "http://127.0.0.1:9/"},
    {"id": "lawmaking-notices", "kind": "lawmaking_notices", "name": "정부 입법예고", "url": "http://127.0.0.1:9/"},
    {"id": "law-changes", "kind": "law_changes", "name": "법령 제·개정", "url": "http://127.0.0.1:9/"},
    {"id": "mois", "kind": "rss", "name": "행정안전부 보도자료", "url": "http://127.0.0.1:9/"},
]  # fmt: skip


def test_the_migration_derives_matters_from_a_previous_release_database(tmp_path: Path) -> None:
    db = tmp_path / "monitor.db"
    shutil.copyfile(PREVIOUS, db)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (3,)  # as 2ab8ac2 left it
        (made,) = conn.execute("SELECT MAX(created_at) FROM events").fetchone()
        items = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    store = Store(db)
    assert store.version == len(MIGRATIONS)
    assert store.rows("SELECT COUNT(*) AS n FROM items WHERE matter_id IS NULL") == [{"n": 0}]
    members = {}
    for row in store.rows(
        "SELECT i.source, i.key, m.key AS matter FROM items i JOIN matters m ON m.id = i.matter_id"
    ):
        members.setdefault(row["matter"], set()).add((row["source"], row["key"]))
    coop, passed, government = (f"PRC_T000{n}X0Y4W1U5V3T3U5P1Q4P6P9" for n in (41, 42, 43))
    press = "https://www.mois.go.kr/frt/bbs/type010/commonSelectBoardArticle.do?bbsId=BBSMSTR_000000000008&nttId=7"
    assert members[f"bill:{coop}"] == {("bills", coop), ("notices", coop), ("mois", press)}
    assert members[f"bill:{passed}"] == {("bills", passed), ("law-changes", "289500")}
    assert members[f"bill:{government}"] == {("bills", government), ("lawmaking-notices", "88015")}
    assert members["law:001584:21950"] == {("law-changes", "289501")}
    assert sum(len(m) for m in members.values()) == items
    laws = {r["key"]: r["law"] for r in store.rows("SELECT key, law FROM matters")}
    assert laws[f"bill:{coop}"] == laws[f"bill:{government}"] == "협동조합 기본법"

    today = date.fromisoformat(made[:10])  # the digests as of the day the old release polled
    job = Job(store, config(sources=PREVIOUS_SOURCES), ruleset(tmp_path), today)
    for digest in [*daily_digests(job), *weekly_digests(job)]:
        text = render_text(digest)
        entries = [e for s in digest.sections for g in s.groups for e in g.entries]
        assert len({e.matter for e in entries}) == len(entries), text  # each matter at most once
        assert text.count(f"{COOP} (홍길동의원 등 10인)") == 1, text
        assert text.count(f"{COOP} (정부)") == 1 and text.count(f"{COOP} (김협동의원 등 12인)") == 1, text
    daily = render_text(daily_digests(job)[0])
    assert "위원회 심사 → 체계자구 심사 · 의견마감 D-5" in daily
    assert "행정안전부 보도자료: https://www.mois.go.kr/" in daily  # the press release's link, on the bill
    store.close()
    again = Store(db)  # a second open changes nothing
    assert again.version == len(MIGRATIONS) and len(again.rows("SELECT * FROM matters")) == len(members)
    again.close()


def test_matter_seeds_through_the_digest_keep_the_daily_digest_one_line_per_matter(tmp_path: Path) -> None:
    store = Store(tmp_path / "monitor.db")
    rules = ruleset(tmp_path)
    poll(
        store,
        rules,
        "bills",
        [bill(1, COOP), bill(2, COOP, proposer="김협동의원 등 12인")],
        kind="assembly_bills",
    )
    (digest,) = daily_digests(Job(store, config(), rules, now().date()))
    text = render_text(digest)
    assert text.count("같은 법 개정안 1건") == 2  # competing bills point at each other
    store.close()


def test_a_decree_notice_has_no_assembly_road() -> None:
    # a 시행령·시행규칙 goes from 입법예고 to 공포 without the 국회: no 접수 › 위원회 심사 … road
    from monitor.matters import Record, View

    decree = Record("lawmaking_notices", "gov", "90121", "「협동조합 기본법 시행령」 일부개정령안 입법예고",
                    fields={"stage": "정부 입법예고"})  # fmt: skip
    act = Record("lawmaking_notices", "gov", "90122", "협동조합 기본법 일부개정법률안 입법예고",
                 fields={"stage": "정부 입법예고"})  # fmt: skip
    assert not View(1, "notice:gov:90121", decree.title, None, [decree]).on_assembly_road
    assert View(2, "notice:gov:90122", act.title, None, [act]).on_assembly_road


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "monitor.db")
    yield opened
    opened.close()


def test_a_new_post_is_stored_with_its_kind_and_matter_and_a_post_naming_a_bill_joins_it(
    store: Store, tmp_path: Path
) -> None:
    """New posts get their own matter and their kind in the INSERT itself; one naming a stored
    bill's number still joins that bill's matter (placed after the insert)."""
    from tests.seed import press

    rules = ruleset(tmp_path)
    poll(store, rules, "bills", [bill(7, "협동조합 기본법 일부개정법률안")], kind="assembly_bills")
    naming_title = "협동조합 기본법 개정안(의안번호 2200007) 설명자료"
    written: list[str] = []
    store.db.conn.set_trace_callback(written.append)
    poll(store, rules, "mois", [press(1, "마을기업 소식")])  # a post of its own: one write of its row
    store.db.conn.set_trace_callback(None)
    assert [w for w in written if w.startswith("INSERT INTO items")] and not [
        w for w in written if w.startswith("UPDATE items")
    ]
    poll(store, rules, "mois", [press(2, naming_title)])
    rows = {r[0]: r[1:] for r in store.db.execute(
        "SELECT i.key, i.kind, m.key FROM items i JOIN matters m ON m.id = i.matter_id"
    ).fetchall()}  # fmt: skip
    alone, naming = press(1, "").key, press(2, "").key
    assert rows[alone] == ("rss", f"item:mois:{alone}")
    assert rows[naming] == ("rss", "bill:PRC_SEED0007")
    unplaced = store.db.execute("SELECT COUNT(*) FROM items WHERE matter_id IS NULL OR kind IS NULL")
    assert unplaced.fetchone() == (0,)


def test_a_bill_folded_into_a_later_one_of_a_large_batch_follows_it(store: Store, tmp_path: Path) -> None:
    """600 new bills in one poll (two chunks of placement): a bill folded into a 대안 that was
    itself folded into another follows the chain whatever chunk each is in."""
    items = [bill(100 + n, f"법안 {n}") for n in range(600)]
    items[10] = bill(110, "법안 10", alternative={"bill_id": "PRC_SEED0690"})
    items[590] = bill(690, "법안 590", alternative={"bill_id": "PRC_SEED0695"})
    items[595] = bill(695, "법안 595(대안)")
    poll(store, ruleset(tmp_path), "bills", items, kind="assembly_bills")
    placed = dict(store.db.execute(
        "SELECT i.key, m.key FROM items i JOIN matters m ON m.id = i.matter_id "
        "WHERE i.key IN ('PRC_SEED0110', 'PRC_SEED0690', 'PRC_SEED0695')"
    ).fetchall())  # fmt: skip
    assert placed == dict.fromkeys(["PRC_SEED0110", "PRC_SEED0690", "PRC_SEED0695"], "bill:PRC_SEED0695")
