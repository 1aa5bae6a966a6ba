"""국회 회의 일정 via the 열린국회정보 Open API: committee, subcommittee, hearing and plenary meetings.

One item per meeting, with its date, the time as the 국회 wrote it, the committee, the kind of
meeting and its agenda (`ANGUN`) parsed into bill numbers and names. Which followed bills stand
on an agenda is decided after storing (monitor/agenda.py), never here.

Formats and traps: ../shared/sources/ASSEMBLY.md §9 (two date formats, free-text times, 62 bills
in one `ANGUN` field, rows without `ANGUN`, special committees hidden in `TITLE`, no
cancellation flag) and the samples in ../shared/samples/assembly/schedules/.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from monitor.sources.assembly import _call, check, nfc
from monitor.sources.base import Batch, Item, Kind, PollContext
from monitor.text import now, parse_clock, parse_date, plain_text, start_of_day

# Service codes (ASSEMBLY.md §9.1; confirmed by the top-level key of each real capture).
SERVICES = {
    "committee": "nttmdfdcaakvibdar",  # 위원회별 전체회의 일정
    "subcommittee": "nrkqqbvfanfybishu",  # 위원회별 소위원회 일정 (법안심사소위, 안건조정위원회)
    "hearing": "napvpafracrdkxmoq",  # 위원회별 공청회 일정
    "all_committees": "nrsldhjpaemrmolla",  # 위원회별 일정: the three above and more, in one list
    "plenary": "nekcaiymatialqlxr",  # 본회의 일정 (`MEETT…` spelling, agenda in `CONTS`)
}
ServiceName = Literal["committee", "subcommittee", "hearing", "all_committees", "plenary"]
PLENARY = "본회의"

# LINK_URL2's cmtCnclDivCd (observed, not documented: ASSEMBLY.md §9.5 trap 8)
DIVISION_KINDS = {"001": "전체회의", "002": "소위원회", "004": "공청회"}


class ScheduleOptions(BaseModel):
    """Options of `assembly_schedules` (`url` is the Open API base, as for the other 국회 kinds)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    age: int = Field(22, ge=1, description="국회 대수 (UNIT_CD = 1000 + 대수)")
    services: list[ServiceName] = Field(
        default_factory=lambda: ["committee", "subcommittee", "hearing", "plenary"], min_length=1
    )
    days_ahead: int = Field(14, ge=0, le=180)  # schedules appear only shortly ahead (§9.5 trap 10)
    days_behind: int = Field(7, ge=0, le=365)
    page_size: int = Field(100, ge=1, le=1000)
    max_pages: int = Field(10, ge=1, le=100)
    # after a meeting, VCONFBILLCONFLIST (a bill's meetings, from the published minutes) is asked
    # whether a followed bill on its agenda was taken up: at most this many calls per poll
    confirm_per_poll: int = Field(5, ge=0, le=100)


# --- rows → items (pure) ----------------------------------------------------------------------

_BREAK = re.compile(r"<\s*br\s*/?\s*>|\r?\n", re.I)
_LINE = re.compile(r"^(?:(?P<no>\d{1,4})\s*[.)]\s*)?(?:\[(?P<ref>[^\]]{1,20})\]\s*)?(?P<name>.+)$")
_BILL_NO = re.compile(r"^\d{7}$")
# `…(의안번호 2204916)` as VCONFBILLLIST and the minutes write it (ASSEMBLY.md §9.2)
_BILL_NO_IN_NAME = re.compile(r"\(\s*의안번호\s*(\d{7})\s*\)\s*$")
# the proposer in the last brackets: `(송기헌의원 대표발의)`, `(정부)`, `(국토교통위원장)`
_PROPOSER = re.compile(r"\((?P<who>[^()]*(?:의원|정부|위원장|대표발의|인)[^()]*)\)\s*$")
# a special committee's name in brackets after the meeting: `전체회의(…특별위원회)` (trap 5)
_COMMITTEE_IN_TITLE = re.compile(r"^(?P<meeting>[^()]+?)\s*\((?P<committee>.+위원회)\)$")
_BILL_REVIEW = re.compile(r"(법안|법률안).*소위")


def agenda_lines(value: Any) -> list[dict[str, Any]]:
    """An `ANGUN` field as agenda lines: `{"no", "text", "name", "proposer"?, "bill_no"?, "ref"?}`.

    Items are `<br>`-separated with a trailing `<br>` (62 in one real row), each `N. [BILL_NO]
    의안명(제안자)`; non-법률안 items carry other ids (`[ZZ21193]`, kept as `ref`) or none.
    Entities and markup become plain text; an escaped body (`&lt;br&gt;`) is unescaped first.
    """
    text = str(value or "")
    if "&lt;" in text.lower():
        text = html.unescape(text)
    lines: list[dict[str, Any]] = []
    for piece in _BREAK.split(text):
        line = plain_text(piece)
        m = _LINE.match(line) if line else None
        if m is None:
            continue
        name = m.group("name").strip()
        entry: dict[str, Any] = {"no": int(m.group("no")) if m.group("no") else len(lines) + 1, "text": line}
        ref = (m.group("ref") or "").strip()
        numbered = _BILL_NO_IN_NAME.search(name)
        if numbered:
            name = name[: numbered.start()].rstrip()
            entry["bill_no"] = numbered.group(1)
        if _BILL_NO.match(ref):
            entry["bill_no"] = ref
        elif ref:
            entry["ref"] = ref
        who = _PROPOSER.search(name)
        if who:
            entry["proposer"] = who.group("who").strip()
            name = name[: who.start()].rstrip()
        entry["name"] = name
        lines.append(entry)
    return lines


def _division(link: str) -> str | None:
    query = parse_qs(urlsplit(link).query)
    return (query.get("cmtCnclDivCd") or [None])[0]


def meeting_kind(name: str, link: str, service: str) -> str:
    """전체회의, 소위원회, 안건조정위원회, 공청회, 청문회 or 본회의: from the name, link and service."""
    if service == "plenary":
        return PLENARY
    if "안건조정" in name:
        return "안건조정위원회"  # listed as a subcommittee row (trap 7)
    if "공청회" in name:
        return "공청회"
    if "청문회" in name:
        return "청문회"
    if "소위" in name:
        return "소위원회"
    if "전체회의" in name:
        return "전체회의"
    by_link = DIVISION_KINDS.get(_division(link) or "")
    if by_link:
        return by_link
    by_service = {"subcommittee": "소위원회", "hearing": "공청회", "committee": "전체회의"}
    return by_service.get(service, name or "회의")


def meeting_item(row: Mapping[str, Any], service: str) -> Item | None:
    """A schedule row as an Item, or None when its date cannot be read.

    The key is committee + date + meeting name + session + 차수: stable across polls, row
    order and time changes; a meeting moved to another day is another item (the agenda step
    tells a move from a new meeting). `fields.agenda_known` is False when the row has no
    `ANGUN` (the agenda is unknown then, not empty: §9.4 step 3).
    """
    plenary = service == "plenary"
    raw_date = row.get("MEETTING_DATE") if plenary else row.get("MEETING_DATE")
    day = parse_date(raw_date)
    if day is None:
        return None
    raw_time = row.get("MEETTING_TIME") if plenary else row.get("MEETING_TIME")
    time_text = nfc(raw_time) or None
    title = nfc(row.get("TITLE"))
    link = nfc(row.get("LINK_URL" if plenary else "LINK_URL2"))
    if plenary:
        committee, name = PLENARY, title
        session, degree = nfc(row.get("MEETINGSESSION")), nfc(row.get("CHA"))
        agenda_raw = row.get("CONTS")
        committee_id = None
    else:
        committee, name = nfc(row.get("COMMITTEE_NAME")), title
        inner = _COMMITTEE_IN_TITLE.match(title)
        if inner:  # `전체회의(…특별위원회)` under `특별위원회` or a standing committee (trap 5)
            committee, name = inner.group("committee"), inner.group("meeting")
        session, degree = nfc(row.get("SESS")), nfc(row.get("DEGREE"))
        agenda_raw = row.get("ANGUN")
        committee_id = nfc(row.get("HR_DEPT_CD")) or None
    kind = meeting_kind(name, link, service)
    agenda = agenda_lines(agenda_raw)
    clock = parse_clock(time_text)
    slot = "|".join([committee, name, session, degree])
    division = _division(link) if link else None
    sch_sn = (parse_qs(urlsplit(link).query).get("cmtSchSn") or [None])[0] if link else None
    fields: dict[str, Any] = {
        "meeting_kind": kind,
        "date": day.isoformat(),
        "time": time_text,
        "time_start": clock[0].strftime("%H:%M") if clock else None,
        "time_end": clock[1].strftime("%H:%M") if clock and clock[1] else None,
        "committee": committee,
        "committee_id": committee_id,
        "meeting": name,
        "subcommittee": name if kind in ("소위원회", "안건조정위원회") else None,
        "bill_review": bool(_BILL_REVIEW.search(re.sub(r"[\s·ㆍ]", "", name))) or None,
        "session": session,
        "degree": degree,
        "slot": slot,
        "sch_sn": sch_sn,
        "division": division,
        "service": SERVICES[service],
        "agenda": agenda,
        "agenda_known": bool(agenda),
    }
    heading = f"{committee} {name}" if committee != name else name
    return Item(
        key=f"{committee}|{day.isoformat()}|{name}|{session}|{degree}",
        title=heading,
        url=link or None,
        summary=" / ".join(line["text"] for line in agenda),
        published_at=start_of_day(day),
        published_raw=str(raw_date),
        fields={k: v for k, v in fields.items() if v not in (None, "")},
    )


# --- talking to the API -----------------------------------------------------------------------


def _row_date(row: Mapping[str, Any]) -> date | None:
    return parse_date(row.get("MEETING_DATE") or row.get("MEETTING_DATE"))


def _read_service(
    ctx: PollContext, options: ScheduleOptions, name: str, first: date, warnings: list[str]
) -> list[dict[str, Any]]:
    """Rows of one service, newest meeting first, page by page until older than `first`."""
    service = SERVICES[name]
    rows: list[dict[str, Any]] = []
    previous: list[str] | None = None
    for page_no in range(1, options.max_pages + 1):
        page = _call(ctx, service, {
            "UNIT_CD": f"1000{options.age:02d}", "pIndex": page_no, "pSize": options.page_size,
        })  # fmt: skip
        marks = [f"{r.get('TITLE')}|{r.get('MEETING_DATE') or r.get('MEETTING_DATE')}" for r in page.rows]
        if marks and marks == previous:
            # without a key the server ignores pIndex and repeats the first rows (ASSEMBLY.md §1.7)
            warnings.append(f"{service}: page {page_no} repeated page {page_no - 1}: the API ignores paging")
            break
        previous = marks
        rows += page.rows
        dates = [d for d in map(_row_date, page.rows) if d is not None]
        # rows come newest MEETING_DATE first (all 602 rows of the 22대 capture, §9.2)
        if not page.rows or (dates and min(dates) < first):
            break
        if len(page.rows) < options.page_size or page_no * options.page_size >= page.total:
            break
    else:
        warnings.append(f"{service}: stopped after max_pages={options.max_pages} pages")
    return rows


def _confirm(ctx: PollContext, options: ScheduleOptions, items: list[Item], today: date) -> None:
    """Mark followed bills the minutes show were taken up at a meeting held already.

    VCONFBILLCONFLIST?BILL_ID lists every meeting whose minutes hold the bill (`CONF_DT`
    YYYY-MM-DD, `CONF_ID`; spec only, ASSEMBLY.md §9.4 step 5). The minutes come days after the
    meeting, so a bill not yet found is asked again on a later day (once a day), up to
    `confirm_per_poll` calls per poll. Found: `fields.taken_up[bill_no] = CONF_ID`.
    """
    for item in items:  # what earlier polls learned stays with the meeting
        before = ctx.stored(item.key)
        for name in ("taken_up", "confirm_asked"):
            if before is not None and before.fields.get(name):
                item.fields[name] = dict(before.fields[name])
    budget = options.confirm_per_poll
    past = [i for i in items if i.fields["date"] < today.isoformat() and i.fields.get("agenda")]
    if not budget or not past:
        return
    bill_ids = {
        str(b["fields"]["bill_no"]): str(b["fields"]["bill_id"])
        for b in ctx.followed() if b["fields"].get("bill_no") and b["fields"].get("bill_id")
    }  # fmt: skip
    minutes: dict[str, list[dict[str, Any]]] = {}  # BILL_ID → rows, one call per bill per poll
    for item in past:
        taken, asked = dict(item.fields.get("taken_up") or {}), dict(item.fields.get("confirm_asked") or {})
        for line in item.fields["agenda"]:
            bill_no = str(line.get("bill_no"))
            bill_id = bill_ids.get(bill_no)
            if bill_id is None or bill_no in taken or asked.get(bill_no) == today.isoformat():
                continue
            if bill_id not in minutes:
                if budget <= 0:
                    break
                budget -= 1
                minutes[bill_id] = _call(ctx, "VCONFBILLCONFLIST", {"BILL_ID": bill_id, "pSize": 100}).rows
            asked[bill_no] = today.isoformat()
            for row in minutes[bill_id]:
                if parse_date(row.get("CONF_DT")) == date.fromisoformat(item.fields["date"]):
                    taken[bill_no] = nfc(row.get("CONF_ID")) or True
        if taken:
            item.fields["taken_up"] = taken
        if asked:
            item.fields["confirm_asked"] = asked


def poll_schedules(ctx: PollContext) -> Batch:
    """Poll the chosen schedule services; keep meetings from days_behind ago to days_ahead on."""
    options: ScheduleOptions = ctx.options
    warnings = check(ctx.source, options)
    today = now().date()
    first, last = today - timedelta(days=options.days_behind), today + timedelta(days=options.days_ahead)
    items: list[Item] = []
    for name in dict.fromkeys(options.services):
        for row in _read_service(ctx, options, name, first, warnings):
            item = meeting_item(row, name)
            if item is None:
                raw = row.get("MEETING_DATE") or row.get("MEETTING_DATE")
                warnings.append(f"unreadable meeting date {raw!r} in '{nfc(row.get('TITLE'))[:40]}'")
                continue
            if first.isoformat() <= item.fields["date"] <= last.isoformat():
                items.append(item)
    _confirm(ctx, options, items, today)
    return Batch(items, http_status=200, warnings=warnings)


KIND = Kind(
    "assembly_schedules",
    ScheduleOptions,
    poll_schedules,
    "국회 회의 일정·안건 (위원회·소위원회·공청회·본회의)",
    check,
    meetings=True,
)
