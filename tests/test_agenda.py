"""Agenda watch (issue 15): 국회 schedules from a loopback Open API in the real sample shapes.

The rows are the real captures of tests/fixtures/schedules/ with their dates moved to the
coming week (each in its own format: `2024-05-07` or `2025.02.20(목)`); the 62-bill
subcommittee agenda gets one followed and one unfollowed bill of ours in place of two lines.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import Result
from icalendar import Calendar
from pytest_httpserver import HTTPServer

from monitor.digest import WEEKDAYS
from monitor.sources.assembly import parse_envelope
from monitor.sources.schedules import agenda_lines, meeting_item
from monitor.text import now, parse_clock, parse_date
from tests.assembly_api import FakeAssembly, bill_row, notice_row
from tests.slack_api import FakeSlack

Cli = Callable[..., Result]
FIXTURES = Path(__file__).parent / "fixtures" / "schedules"
SUB, FULL = "nrkqqbvfanfybishu", "nttmdfdcaakvibdar"
HEARING, PLENARY = "napvpafracrdkxmoq", "nekcaiymatialqlxr"
COOP = "협동조합 기본법 일부개정법률안"
ROAD = "도로교통법 일부개정법률안"
SELF = "자활기업 육성 및 지원에 관한 법률안"


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(x) for x in result.stdout.splitlines() if x.strip()]


def rows_of(name: str) -> list[dict[str, Any]]:
    """The rows of a captured response, as captured."""
    body = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    (service,) = body
    return copy.deepcopy(body[service][1]["row"])


def dotted(day: date) -> str:
    """`2025.02.20(목)`: the 22대 capture's MEETING_DATE format."""
    return f"{day:%Y.%m.%d}({WEEKDAYS[day.weekday()]})"


def label(day: date) -> str:
    return f"{day.month}월 {day.day}일 ({WEEKDAYS[day.weekday()]})"


def events_of(cli: Cli, type_: str = "agenda") -> list[dict[str, Any]]:
    return lines(cli("events", "--type", type_, "--json", ok=True))


# --- rows → items, on the real captures --------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "service", "key", "expected"),
    [
        ("nrkqqbvfanfybishu.json", "subcommittee",
         "법제사법위원회|2024-05-07|법안심사제1소위원회|제414회국회(임시회)|1",
         {"date": "2024-05-07", "time": "전체회의 산회 직후", "meeting_kind": "소위원회",
          "subcommittee": "법안심사제1소위원회", "bill_review": True, "agenda_known": True}),
        ("nttmdfdcaakvibdar.json", "committee", "법제사법위원회|2024-05-21|전체회의|제414회국회(임시회)|4",
         {"date": "2024-05-21", "time": "10:00", "time_start": "10:00", "meeting_kind": "전체회의"}),
        ("napvpafracrdkxmoq.json", "hearing", "예산결산특별위원회|2023-11-01|공청회|제410회국회(정기회)|4",
         {"meeting_kind": "공청회", "time_start": "14:00", "committee_id": "9700049"}),
        ("nekcaiymatialqlxr.json", "plenary",
         "본회의|2024-05-28|제414-2차(의사일정)|제414회국회(임시회)|제2차",
         {"date": "2024-05-28", "time": "1400", "time_start": "14:00", "meeting_kind": "본회의",
          "agenda_known": False}),
    ],
)  # fmt: skip
def test_real_schedule_rows_become_meetings(
    name: str, service: str, key: str, expected: dict[str, Any]
) -> None:
    (row,) = rows_of(name)
    item = meeting_item(row, service)
    assert item is not None and item.key == key
    assert {k: item.fields.get(k) for k in expected} == expected
    assert item.url == (row.get("LINK_URL2") or row.get("LINK_URL"))


def test_the_62_bill_agenda_is_split_into_numbered_bills() -> None:
    (row,) = rows_of("nrkqqbvfanfybishu.json")
    agenda = agenda_lines(row["ANGUN"])
    assert len(agenda) == 62 and [a["no"] for a in agenda] == list(range(1, 63))
    assert agenda[0] == {
        "no": 1, "bill_no": "2114084", "name": "특정범죄 가중처벌 등에 관한 법률 일부개정법률안",
        "proposer": "송기헌의원 대표발의",
        "text": "1. [2114084] 특정범죄 가중처벌 등에 관한 법률 일부개정법률안(송기헌의원 대표발의)",
    }  # fmt: skip
    assert agenda[9]["proposer"] == "정부"
    assert agenda[59]["name"] == "거창사건 및 산청·함양사건 관련자 배상 등에 관한 특별법안"
    # non-법률안 items: another id kept as `ref`, or none at all; a name with its own brackets stays whole
    (full,) = rows_of("nttmdfdcaakvibdar.json")
    first, second = agenda_lines(full["ANGUN"])
    assert first["ref"] == "ZZ21193" and "bill_no" not in first
    assert first["name"] == "고위공직자범죄수사처장후보자(오동운) 인사청문요청안"
    assert second["name"] == "고위공직자범죄수사처장후보자(오동운) 인사청문 경과보고서 채택의 건"
    assert "ref" not in second


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1. [2200041] 협동조합 기본법 일부개정법률안(홍길동의원 대표발의)&lt;br&gt;"
         "2. A&amp;B 법률안(정부)&lt;br&gt;",
         [("2200041", "협동조합 기본법 일부개정법률안"), (None, "A&B 법률안")]),
        ("1. [2200041] 가&middot;나 법률안<BR/>"
         "2. 기상법 일부개정법률안(김형동 의원 대표발의)(의안번호 2204916)<br />",
         [("2200041", "가·나 법률안"), ("2204916", "기상법 일부개정법률안")]),
        ("", []),
        (None, []),
    ],
)  # fmt: skip
def test_agenda_markup_entities_and_bill_numbers(
    value: str | None, expected: list[tuple[str | None, str]]
) -> None:
    assert [(a.get("bill_no"), a["name"]) for a in agenda_lines(value)] == expected


def test_both_meeting_date_formats_and_every_captured_time() -> None:
    rows = rows_of("nrsldhjpaemrmolla_22dae_2025-02_20rows.json") + rows_of("nrsldhjpaemrmolla.json")
    items = [meeting_item(r, "all_committees") for r in rows]
    assert all(i is not None for i in items)
    dates = {r["MEETING_DATE"]: i.fields["date"] for r, i in zip(rows, items, strict=True) if i}
    assert dates["2025.02.20(목)"] == "2025-02-20" and dates["2024-05-21"] == "2024-05-21"
    times = {i.fields.get("time"): i.fields.get("time_start") for i in items if i}
    assert times == {
        "10:00": "10:00", "14:00": "14:00", "20:00": "20:00", "21:30": "21:30", "09:30": "09:30",
        "09:00": "09:00", "본회의 산회 직후": None, "본회의 산회 30분 후": None, "미정": None,
        "국감 중지 후": None, "00:00": None, "00:02": None, None: None,
    }  # fmt: skip
    # the real committee is read from TITLE, under `특별위원회` and under a standing committee alike
    titled = [(r, i) for r, i in zip(rows, items, strict=True) if i and "(" in r["TITLE"]]
    special = {i.fields["committee"]: i.fields["meeting"] for r, i in titled}
    assert special["윤석열정부의비상계엄선포를통한내란혐의진상규명국정조사특별위원회"] == "전체회의"
    assert special["12.29여객기참사진상규명과피해자및유가족의피해구제를위한특별위원회"] == "전체회의"
    assert "특별위원회" not in special
    kinds = {i.fields["meeting"]: i.fields["meeting_kind"] for i in items if i}
    assert kinds["안건조정위원회"] == "안건조정위원회" and kinds["예산·결산·기금심사 소위원회"] == "소위원회"
    review = {i.fields["meeting"] for i in items if i and i.fields.get("bill_review")}
    assert review == {
        "법률안심사소위원회", "법안심사제1소위원회", "농림축산식품법안심사소위원회", "법안심사제2소위원회",
        "법안심사 소위원회", "농림축산식품법안심사소위",
    }  # fmt: skip
    plenary = [meeting_item(r, "plenary") for r in rows_of("nekcaiymatialqlxr_22dae_2025-02_20rows.json")]
    plenary_times = {p.fields.get("time"): p.fields.get("time_start") for p in plenary if p}
    assert plenary_times["개원식겸개회식 직후"] is None and plenary_times["00:10"] is None
    assert parse_date("2025.02.20(목)") == date(2025, 2, 20)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14:00", (time(14), None)), ("1400", (time(14), None)), ("09:30", (time(9, 30), None)),
        ("14:00~17:30", (time(14), time(17, 30))), ("오후 2시", (time(14), None)),
        ("오전 10시 30분", (time(10, 30), None)), ("10시 반", (time(10, 30), None)),
        ("2시", None), ("전체회의 산회 직후", None), ("본회의 산회 30분 후", None), ("미정", None),
        ("국감 중지 후", None), ("00:00", None), ("00:02", None), ("00:10", None), (None, None), ("", None),
        ("17:30~14:00", None),
    ],
)  # fmt: skip
def test_meeting_times_are_clock_times_only_when_clear(text: str | None, expected: Any) -> None:
    assert parse_clock(text) == expected


# --- the pipeline: bills, notices and schedules from one loopback API --------------------------


@dataclass
class World:
    api: FakeAssembly
    coop: dict[str, Any]
    road: dict[str, Any]
    welfare: dict[str, Any]
    sub: dict[str, Any]  # the 62-bill subcommittee row, with the co-op and the road bill on it
    meet: date


def build_world(api: FakeAssembly, meet: date) -> World:
    """Three bills (followed urgent, unfollowed, followed before 보건복지위원회) and real schedule rows."""
    today = now().date()
    coop = api.add(bill_row(41, COOP, "2026-03-02", committee="재정경제기획위원회", committee_id="9700590",
                            COMMITTEE_DT="2026-03-03"))  # fmt: skip
    road = api.add(bill_row(42, ROAD, "2026-03-02", committee="행정안전위원회", COMMITTEE_DT="2026-03-03"))
    welfare = api.add(bill_row(43, SELF, "2026-03-02", committee="보건복지위원회", committee_id="9700341",
                               COMMITTEE_DT="2026-03-03"))  # fmt: skip
    api.notices += [
        notice_row(coop, (today + timedelta(days=5)).isoformat()),
        notice_row(road, (today + timedelta(days=6)).isoformat()),  # unfollowed: no calendar entry
        notice_row(welfare, (today - timedelta(days=1)).isoformat()),  # followed, but closed
    ]
    (sub,) = rows_of("nrkqqbvfanfybishu.json")
    sub["MEETING_DATE"] = meet.isoformat()  # this capture's own format
    sub["ANGUN"] = sub["ANGUN"].replace(
        "30. [2119065] 각급 법원 판사 정원법 일부개정법률안(정부)",
        f"30. [{coop['BILL_NO']}] {COOP}(홍길동의원 대표발의)",
    ).replace("31. [2119063] 검사정원법 일부개정법률안(정부)", f"31. [{road['BILL_NO']}] {ROAD}(김철수의원)")
    later = rows_of("nrsldhjpaemrmolla_22dae_2025-02_20rows.json")
    welfare_sub = next(
        r for r in later if r["COMMITTEE_NAME"] == "보건복지위원회" and r["TITLE"] == "법안심사제1소위원회"
    )
    welfare_sub["MEETING_DATE"] = dotted(today + timedelta(days=5))  # no ANGUN: the agenda is unknown
    defense = next(r for r in later if r["TITLE"] == "전체회의" and r["COMMITTEE_NAME"] == "국방위원회")
    defense["MEETING_DATE"] = dotted(today + timedelta(days=2))
    old = next(r for r in later if r["COMMITTEE_NAME"] == "국토교통위원회" and r["MEETING_TIME"] == "미정")
    old["MEETING_DATE"] = dotted(today - timedelta(days=40))  # outside days_behind: dropped, ends paging
    (hearing,) = rows_of("napvpafracrdkxmoq.json")
    hearing["MEETING_DATE"] = (today + timedelta(days=6)).isoformat()
    (plenary,) = rows_of("nekcaiymatialqlxr.json")
    plenary["MEETTING_DATE"] = (today + timedelta(days=4)).isoformat()
    api.schedules = {
        SUB: sorted([sub, welfare_sub], key=lambda r: str(parse_date(r["MEETING_DATE"])), reverse=True),
        FULL: [defense, old],
        HEARING: [hearing],
        PLENARY: [plenary],
    }
    return World(api, coop, road, welfare, sub, meet)


@pytest.fixture
def world(api: FakeAssembly, server: HTTPServer, write_sources: Callable[..., Path]) -> Callable[..., World]:
    def make(meet: date | None = None, **config: Any) -> World:
        built = build_world(api, meet or now().date() + timedelta(days=3))
        base = server.url_for("/portal/openapi")
        path = write_sources([
            {"id": "bills", "kind": "assembly_bills", "name": "국회 법률안", "url": base,
             "backfill_days": 36500, "summaries": "none"},
            {"id": "notices", "kind": "assembly_notices", "name": "국회 입법예고", "url": base,
             "backfill_days": 36500, "summaries": "none"},
            {"id": "schedules", "kind": "assembly_schedules", "name": "국회 회의 일정", "url": base},
        ])  # fmt: skip
        if config:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            doc.update(config)
            path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        return built

    return make


def test_a_followed_bill_on_a_subcommittee_agenda_gives_exactly_one_agenda_event(
    world: Callable[..., World], cli: Cli, workdir: Path
) -> None:
    w = world()
    (_, _, schedules) = lines(cli("poll", "--json", ok=True))
    assert schedules["status"] == "ok" and schedules["agenda"] == 1
    assert schedules["fetched"] == 5  # the 40-day-old meeting is outside days_behind
    (event,) = events_of(cli)
    assert (event["source"], event["key"], event["title"]) == ("bills", w.coop["BILL_ID"], COOP)
    detail = event["detail"]
    assert detail["date"] == event["to"] == w.meet.isoformat() and event["from"] is None
    assert detail["time"] == "전체회의 산회 직후"
    assert (detail["committee"], detail["subcommittee"], detail["meeting_kind"]) == (
        "법제사법위원회", "법안심사제1소위원회", "소위원회",
    )  # fmt: skip
    assert detail["bill_no"] == w.coop["BILL_NO"] and detail["agenda_no"] == 30
    assert detail["link"] == w.sub["LINK_URL2"] and event["announce"] is True
    # the unfollowed bill on the same agenda (stored, not flagged) and the 60 we never stored stay silent
    stored = {i["key"] for i in lines(cli("items", "--source", "bills", "--json", ok=True))}
    assert w.road["BILL_ID"] in stored
    # a meeting is not news: rules never flag one, whatever its agenda says
    flagged = lines(cli("items", "--flagged", "--json", ok=True))
    assert {i["source"] for i in flagged} == {"bills", "notices"}
    listing = cli("events", "--type", "agenda", ok=True).output
    where = "법제사법위원회 법안심사제1소위원회"
    assert f"심사 일정 {w.meet.isoformat()} 전체회의 산회 직후 · {where}" in listing
    # the calls carried UNIT_CD (필수) and the key, and read only what the window needs
    calls = w.api.calls_to(SUB)
    assert calls[0]["UNIT_CD"] == "100022" and calls[0]["KEY"] == "sentinel-key-123"
    assert len(calls) == 1 and len(w.api.calls_to(FULL)) == 1
    assert b"sentinel-key-123" not in (workdir / "monitor.db").read_bytes()
    # a re-poll adds nothing
    assert "심사 일정" not in cli("poll", ok=True).output
    (_, _, again) = lines(cli("poll", "--json", ok=True))
    assert again["agenda"] == 0 and len(events_of(cli)) == 1


def test_a_changed_time_or_a_row_that_vanishes_and_returns_adds_nothing_a_moved_date_one_event(
    world: Callable[..., World], cli: Cli
) -> None:
    w = world()
    assert "    심사 일정: 따라가는 의안이 회의 안건에 오른 것 1건" in cli("poll", ok=True).output
    w.sub["MEETING_TIME"] = "14:00"
    cli("poll", ok=True)
    w.api.schedules[SUB] = [r for r in w.api.schedules[SUB] if r is not w.sub]  # gone for a poll …
    cli("poll", ok=True)
    assert len(events_of(cli)) == 1
    digest = cli("digest", "daily", "--dry-run", ok=True).output
    assert "국회 일정 목록에서 사라짐" in digest  # changed or cancelled: unconfirmed (no cancel flag)
    w.api.schedules[SUB].insert(0, w.sub)  # … and back
    cli("poll", ok=True)
    assert len(events_of(cli)) == 1
    digest = cli("digest", "daily", "--dry-run", ok=True).output
    assert "사라짐" not in digest
    assert "14:00 · 법제사법위원회 법안심사제1소위원회" in digest  # the time as given now
    before = Calendar.from_ical(cli("calendar", ok=True).stdout)
    (uid,) = [str(e["UID"]) for e in before.walk("VEVENT") if str(e["SUMMARY"]).startswith("[심사]")]
    moved = w.meet + timedelta(days=1)
    w.sub["MEETING_DATE"] = moved.isoformat()
    cli("poll", ok=True)
    cli("poll", ok=True)
    first, second = events_of(cli)
    assert (second["from"], second["to"]) == (w.meet.isoformat(), moved.isoformat())
    assert second["detail"]["replaces"] == first["id"] and second["announce"] is True
    listing = cli("events", "--type", "agenda").output
    assert f"일정 변경 {w.meet.isoformat()} → {moved.isoformat()} 14:00" in listing
    digest = cli("digest", "daily", "--dry-run", ok=True).output
    old, new = f"{w.meet.month}/{w.meet.day}", f"{moved.month}/{moved.day}"
    assert f"일정 변경 {old} ({WEEKDAYS[w.meet.weekday()]}) → {new} ({WEEKDAYS[moved.weekday()]})" in digest
    assert label(w.meet) not in digest.split("■ 다가오는 심사 일정")[1].split("■")[0]  # the old day is gone
    after = Calendar.from_ical(cli("calendar", ok=True).stdout)
    (meeting,) = [e for e in after.walk("VEVENT") if str(e["SUMMARY"]).startswith("[심사]")]
    assert str(meeting["UID"]) == uid and int(meeting["SEQUENCE"]) == 1  # the app updates it in place
    assert meeting.decoded("DTSTART").date() == moved and meeting.decoded("DTSTART").hour == 14
    assert meeting["DTSTART"].params["TZID"] == "Asia/Seoul"  # Korea time, with its VTIMEZONE
    assert [str(tz["TZID"]) for tz in after.walk("VTIMEZONE")] == ["Asia/Seoul"]


def test_the_daily_digest_opens_with_the_upcoming_agenda(world: Callable[..., World], cli: Cli) -> None:
    w = world()
    cli("poll", ok=True)
    text = cli("digest", "daily", "--dry-run", ok=True).output
    sections = [line for line in text.splitlines() if line.startswith("■ ")]
    assert sections[0].startswith("■ 다가오는 심사 일정")
    agenda = text.split("■ 다가오는 심사 일정")[1].split("\n■ ")[0]
    day = agenda.split(f"[{label(w.meet)}]")[1]
    assert f"• [긴급] {COOP}" in day
    assert "전체회의 산회 직후 · 법제사법위원회 법안심사제1소위원회 · 새 일정 · 위원회 심사" in day
    assert "왜: 협동조합 기본법 개정 (긴급) · 제목: ‘협동조합 기본법’" in day
    assert f"회의 일정: {w.sub['LINK_URL2']}" in day
    assert ROAD not in agenda
    # the welfare bill's own committee meets with no agenda yet: said as a meeting, not its agenda
    pending = agenda.split("[소관 위원회 회의 예정 (안건 미공개)]")[1]
    welfare_day = now().date() + timedelta(days=5)
    assert "• 보건복지위원회 법안심사제1소위원회 회의" in pending
    when = f"{welfare_day.month}/{welfare_day.day} ({WEEKDAYS[welfare_day.weekday()]})"
    assert f"{when} 본회의 산회 직후 · 안건 미공개" in pending
    assert f"왜: 소관 의안: {SELF}" in pending and "[긴급]" not in pending
    # the JSON entries carry the rule ids for staff
    (payload,) = lines(cli("digest", "daily", "--json", ok=True))
    assert payload["entries"][0]["title"] == COOP
    assert set(payload["entries"][0]["rules"]) == {"coop-basic-act", "coop-general"}


def test_the_weekly_summary_shows_the_meetings_ahead_after_its_counts(
    world: Callable[..., World], cli: Cli
) -> None:
    """The representatives see the coming 법안심사 too: the same agenda as the daily, after the
    counts by topic, with nothing marked new (a weekly carries no agenda events)."""
    w = world()
    cli("poll", ok=True)
    text = cli("digest", "weekly", "--dry-run", ok=True).output
    sections = [line for line in text.splitlines() if line.startswith("■ ")]
    assert sections[0].startswith("■ 이번 주 주제별 건수") and sections[1].startswith("■ 다가오는 심사 일정")
    agenda = text.split("■ 다가오는 심사 일정")[1].split("\n■ ")[0]
    day = agenda.split(f"[{label(w.meet)}]")[1]
    assert f"• [긴급] {COOP}" in day and "법제사법위원회 법안심사제1소위원회" in day
    assert "새 일정" not in agenda
    pending = agenda.split("[소관 위원회 회의 예정 (안건 미공개)]")[1]
    assert "• 보건복지위원회 법안심사제1소위원회 회의" in pending


def test_the_calendar_holds_the_meeting_and_each_open_deadline_with_stable_uids(
    world: Callable[..., World], cli: Cli, workdir: Path
) -> None:
    w = world()
    cli("poll", ok=True)
    feed = cli("calendar", ok=True).stdout_bytes
    assert feed.startswith(b"BEGIN:VCALENDAR\r\n") and feed.endswith(b"END:VCALENDAR\r\n")
    cal = Calendar.from_ical(feed)
    assert str(cal["X-WR-TIMEZONE"]) == "Asia/Seoul" and str(cal["PRODID"]).endswith("//KO")
    events = {str(e["SUMMARY"]): e for e in cal.walk("VEVENT")}
    assert set(events) == {
        f"[심사] {COOP} · 법제사법위원회 법안심사제1소위원회",
        f"[의견 마감] {COOP}",
    }  # nothing for the unfollowed bill's 입법예고, nor for a closed deadline
    meeting = events[f"[심사] {COOP} · 법제사법위원회 법안심사제1소위원회"]
    assert meeting.decoded("DTSTART") == w.meet and meeting.decoded("DTEND") == w.meet + timedelta(days=1)
    assert "시간: 전체회의 산회 직후 (국회 일정에 적힌 그대로)" in str(meeting["DESCRIPTION"])
    assert str(meeting["URL"]) == w.sub["LINK_URL2"] and str(meeting["STATUS"]) == "CONFIRMED"
    deadline = events[f"[의견 마감] {COOP}"]
    assert deadline.decoded("DTSTART") == now().date() + timedelta(days=5)
    assert str(deadline["URL"]).startswith("https://pal.assembly.go.kr/")
    uids = [str(e["UID"]) for e in cal.walk("VEVENT")]
    assert len(set(uids)) == 2 and all(u.endswith("@policy-monitor") for u in uids)
    assert cli("calendar", ok=True).stdout_bytes == feed  # the same store, the same bytes
    out = workdir / "일정.ics"
    result = cli("calendar", "--out", str(out), "--days", "30", ok=True)
    assert out.read_bytes() == feed and "일정 2건, 썼습니다" in result.stderr
    assert "바뀐 것이 없어" in cli("calendar", "--out", str(out), ok=True).stderr
    assert b"BEGIN:VEVENT" not in Calendar.from_ical(cli("calendar", "--days", "2", ok=True).stdout).to_ical()


def test_an_urgent_bill_on_tomorrows_agenda_is_alerted_at_once_and_reminded_the_day_before(
    world: Callable[..., World], cli: Cli, slack: FakeSlack
) -> None:
    tomorrow = now().date() + timedelta(days=1)
    world(meet=tomorrow)
    cli("poll", ok=True)
    texts = [p["text"] for p in slack.posts]
    short = f"{tomorrow.month}/{tomorrow.day} ({WEEKDAYS[tomorrow.weekday()]})"
    alert = f"🔴 긴급: 심사 일정 {short} · 법제사법위원회 법안심사제1소위원회"
    reminder = f"⏰ 내일 심사 ({short}) · 법제사법위원회 법안심사제1소위원회"
    assert sum(t.startswith(alert) for t in texts) == 1 and sum(t.startswith(reminder) for t in texts) == 1
    posted = json.dumps([p["blocks"] for p in slack.posts if p["text"].startswith(alert)], ensure_ascii=False)
    assert COOP in posted and "전체회의 산회 직후" in posted
    cli("poll", ok=True)
    assert len(slack.posts) == len(texts)  # neither comes twice
    # the digest does not repeat the alerted event as new, but still lists tomorrow's meeting
    cli("digest", "daily", ok=True)
    daily = json.dumps(slack.posts[-1]["blocks"], ensure_ascii=False)
    assert COOP in daily and "새 일정" not in daily


def test_the_service_rewrites_the_calendar_after_each_poll(
    world: Callable[..., World], workdir: Path, cli: Cli
) -> None:
    from monitor.config import Settings
    from monitor.service import Runtime, poll_job

    w = world(calendar={"path": "feed/policy.ics", "days": 30})
    (workdir / "feed").mkdir()
    runtime = Runtime(Settings(workdir / "monitor.db", workdir / "sources.yaml", workdir / "rules"))
    for source in ("bills", "notices", "schedules"):
        poll_job(runtime, source)
    feed = (workdir / "feed" / "policy.ics").read_text(encoding="utf-8")
    assert f"SUMMARY:[심사] {COOP}" in feed.replace("\r\n ", "") and f"{w.meet:%Y%m%d}" in feed
    mtime = (workdir / "feed" / "policy.ics").stat().st_mtime_ns
    poll_job(runtime, "schedules")
    assert (workdir / "feed" / "policy.ics").stat().st_mtime_ns == mtime  # unchanged: not rewritten


def test_a_calendar_file_that_cannot_be_written_is_logged_and_the_poll_still_counts(
    world: Callable[..., World], workdir: Path, cli: Cli, caplog: pytest.LogCaptureFixture
) -> None:
    from monitor.config import Settings
    from monitor.service import Runtime, poll_job

    world(calendar={"path": "no-such-folder/policy.ics"})
    runtime = Runtime(Settings(workdir / "monitor.db", workdir / "sources.yaml", workdir / "rules"))
    with caplog.at_level("ERROR", logger="monitor.jobs"):
        poll_job(runtime, "schedules")
    assert "calendar: cannot write no-such-folder/policy.ics" in caplog.text
    assert not (workdir / "no-such-folder").exists()
    (run,) = [r for r in lines(cli("sources", "--json", ok=True)) if r["id"] == "schedules"]
    assert run["status"] == "ok"


@pytest.mark.parametrize(
    ("calendar", "message"),
    [
        ({"path": ""}, "sources.yaml: calendar path: must name a file, e.g. calendar/policy.ics"),
        ({"path": "x.ics", "days": 0}, "sources.yaml: calendar days: Input should be greater than or equal"),
        ({"path": "x.ics", "file": "y"}, "sources.yaml: unknown key 'file'"),
    ],
)
def test_a_wrong_calendar_setting_is_a_one_line_config_error(
    world: Callable[..., World], cli: Cli, calendar: dict[str, Any], message: str
) -> None:
    world(calendar=calendar)
    result = cli("calendar")
    first, second, *rest = result.output.splitlines()
    assert result.exit_code == 2 and first.startswith(f"Error: {message}") and not rest
    assert second.startswith("설정 파일을 고친 뒤")


def test_schedules_without_a_key_warn_and_paging_stops_at_the_window(
    api: FakeAssembly, server: HTTPServer, write_sources: Callable[..., Path], cli: Cli,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    today = now().date()
    rows = []
    for n, row in enumerate(rows_of("nrsldhjpaemrmolla_22dae_2025-02_20rows.json")):
        row["MEETING_DATE"] = dotted(today + timedelta(days=10 - 3 * n))  # 10 days ahead … 47 back
        rows.append(row)
    api.schedules = {"nrsldhjpaemrmolla": rows}
    write_sources([{"id": "schedules", "kind": "assembly_schedules", "name": "국회 회의 일정",
                    "url": server.url_for("/portal/openapi"), "services": ["all_committees"],
                    "page_size": 3, "days_behind": 7, "days_ahead": 7}])  # fmt: skip
    (out,) = lines(cli("poll", "--json", ok=True))
    # meetings from 7 days back to 7 ahead: +7 +4 +1 -2 -5; the page holding -8 ends the reading
    assert out["fetched"] == 5 and len(api.calls_to("nrsldhjpaemrmolla")) == 3
    monkeypatch.delenv("ASSEMBLY_API_KEY")
    api.calls.clear()
    (out,) = lines(cli("poll", "--json", ok=True))
    assert any("ASSEMBLY_API_KEY" in w for w in out["warnings"])
    assert any("repeated page 1" in w for w in out["warnings"])


def test_real_envelopes_of_every_schedule_service_parse() -> None:
    for name in ("nrkqqbvfanfybishu.json", "nttmdfdcaakvibdar.json", "napvpafracrdkxmoq.json",
                 "nekcaiymatialqlxr.json", "nrsldhjpaemrmolla_22dae_2025-02_20rows.json"):  # fmt: skip
        service = name.split(".")[0].split("_")[0]
        page = parse_envelope((FIXTURES / name).read_bytes(), service)
        assert page.rows and page.total >= len(page.rows)


def test_a_meeting_read_after_it_was_held_is_recorded_quietly_and_the_minutes_confirm_the_bill(
    world: Callable[..., World], cli: Cli
) -> None:
    held = now().date() - timedelta(days=2)
    w = world(meet=held)
    coop_id = w.coop["BILL_ID"]
    # VCONFBILLCONFLIST in the spec's field names (no real row was ever captured: ASSEMBLY.md §9.6)
    w.api.bill_meetings[coop_id] = [
        {"BILL_ID": coop_id, "BILL_NM": COOP, "CONF_KND": "상임위원회 회의록", "CONF_ID": "N054001",
         "ERACO": "제22대", "SESS": "제414회", "DGR": "제1차", "CONF_DT": held.isoformat(),
         "DOWN_URL": "https://record.assembly.go.kr/assembly/viewer/minutes/download/pdf.do?id=54001"},
    ]  # fmt: skip
    cli("poll", ok=True)
    (event,) = events_of(cli)
    assert event["detail"]["date"] == held.isoformat() and event["announce"] is False  # not news now
    digest = cli("digest", "daily", "--dry-run", ok=True).output
    assert COOP not in digest.split("■ 다가오는 심사 일정")[1].split("\n■ ")[0]
    calls = w.api.calls_to("VCONFBILLCONFLIST")
    assert [c["BILL_ID"] for c in calls] == [coop_id]  # only the followed bill, not the other 61
    meetings = lines(cli("items", "--source", "schedules", "--json", ok=True))
    (sub,) = [m for m in meetings if m["fields"]["date"] == held.isoformat()]
    assert sub["fields"]["taken_up"] == {w.coop["BILL_NO"]: "N054001"}
    cal = Calendar.from_ical(cli("calendar", ok=True).stdout_bytes)
    (meeting,) = [e for e in cal.walk("VEVENT") if str(e["SUMMARY"]).startswith("[심사]")]
    assert meeting.decoded("DTSTART") == held  # the feed keeps two weeks of past meetings
    assert "회의록 목록(VCONFBILLCONFLIST)에서 이 회의에 오른 것이 확인됨" in str(meeting["DESCRIPTION"])
    cli("poll", ok=True)
    assert len(w.api.calls_to("VCONFBILLCONFLIST")) == 1  # confirmed: never asked again
    (again,) = [m for m in lines(cli("items", "--source", "schedules", "--json", ok=True))
                if m["fields"]["date"] == held.isoformat()]  # fmt: skip
    assert again["fields"]["taken_up"] == {w.coop["BILL_NO"]: "N054001"}


def test_minutes_not_out_yet_are_asked_again_only_on_a_later_day(
    world: Callable[..., World], cli: Cli
) -> None:
    w = world(meet=now().date() - timedelta(days=1))
    cli("poll", ok=True)
    cli("poll", ok=True)
    assert len(w.api.calls_to("VCONFBILLCONFLIST")) == 1  # INFO-200 today: asked once today
    meetings = lines(cli("items", "--source", "schedules", "--json", ok=True))
    (sub,) = [m for m in meetings if m["fields"].get("confirm_asked")]
    assert sub["fields"]["confirm_asked"] == {w.coop["BILL_NO"]: now().date().isoformat()}
    assert "taken_up" not in sub["fields"]
