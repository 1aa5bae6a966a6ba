"""An iCalendar (RFC 5545) feed: agenda meetings of followed bills and open comment deadlines.

Built with the `icalendar` library, never by hand. One VEVENT per followed bill on a meeting's
agenda and one per open comment deadline of a followed item (a 입법예고). UIDs are stable, so a
calendar app that subscribed updates an event rather than adding a second one: a meeting keeps
its UID when it moves to another day (SEQUENCE counts the moves), a notice keeps its UID when its
deadline changes. A meeting at a clock time the 국회 wrote clearly (`14:00`, `1400`, `오후 2시`,
`14:00~17:30`) is timed in Asia/Seoul; any other (`전체회의 산회 직후`, `미정`) is all-day, with
the text as given in the description. The same store gives the same bytes (DTSTAMP is when we
recorded the event), so rewriting the file after every poll changes it only when its content does.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from icalendar import Calendar, Event

from monitor.digest import Context, _why
from monitor.digest_agenda import VANISHED, meeting_label
from monitor.store import Store
from monitor.text import SEOUL, parse_clock, parse_datetime

PRODID = "-//policy-monitor//심사 일정·의견 마감//KO"
CALENDAR_NAME = "정책 모니터: 심사 일정·의견 마감"
UID_DOMAIN = "policy-monitor"
DAYS_AHEAD = 60  # default horizon of `monitor calendar`
PAST_DAYS = 14  # meetings this many days back stay in the feed (a calendar keeps recent history)


def _uid(kind: str, *parts: Any) -> str:
    basis = "|".join(str(p) for p in parts)
    return f"{kind}-{hashlib.sha256(basis.encode('utf-8')).hexdigest()[:24]}@{UID_DOMAIN}"


def _stamp(value: str | None) -> datetime:
    parsed = parse_datetime(value) if value else None
    return (parsed or datetime(2000, 1, 1, tzinfo=UTC)).astimezone(UTC)


def _degree(value: Any) -> str:
    text = str(value or "").strip()
    return f"제{text}차" if text.isdigit() else text


def agenda_event(row: Mapping[str, Any], ctx: Context) -> Event:
    """The VEVENT of one agenda row (Store.agenda_rows): the bill at that meeting."""
    detail = row["detail"]
    meeting = {**detail, **{k: v for k, v in (row.get("meeting") or {}).items() if k != "agenda"}}
    day = date.fromisoformat(str(detail["date"]))
    time_text = meeting.get("time")
    clock = parse_clock(time_text)
    event = Event()
    # one UID per bill and meeting, whatever day it moves to (`first`: the day it was first set)
    first = detail.get("first") or day.isoformat()
    event.add("uid", _uid("agenda", row["source"], row["key"], detail.get("slot"), first))
    event.add("dtstamp", _stamp(row["created_at"]))
    event.add("sequence", int(detail.get("moves") or 0))
    if clock is not None:
        event.add("dtstart", datetime.combine(day, clock[0], tzinfo=SEOUL))
        if clock[1] is not None:
            event.add("dtend", datetime.combine(day, clock[1], tzinfo=SEOUL))
    else:
        event.add("dtstart", day)
        event.add("dtend", day + timedelta(days=1))
    event.add("summary", f"[심사] {row['title']} · {meeting_label(meeting)}")
    session = " ".join(p for p in (meeting.get("session"), _degree(meeting.get("degree"))) if p)
    lines = [
        f"의안: {row['title']}" + (f" (의안번호 {detail['bill_no']})" if detail.get("bill_no") else ""),
        f"회의: {meeting_label(meeting)}" + (f" · {session}" if session else ""),
        f"시간: {time_text or '미정'} (국회 일정에 적힌 그대로)",
    ]
    if detail.get("from"):
        lines.append(f"일정 변경: {detail['from']} → {detail['date']}")
    if row.get("vanished"):
        lines.append(VANISHED)
    if detail.get("bill_no") and detail["bill_no"] in (meeting.get("taken_up") or {}):
        lines.append("✔ 회의록 목록(VCONFBILLCONFLIST)에서 이 회의에 오른 것이 확인됨")
    lines += [f"왜: {why}" for why in _why(row["matches"], ctx)]
    if row.get("url"):
        lines.append(f"의안 정보: {row['url']}")
    if detail.get("link"):
        lines.append(f"회의 일정: {detail['link']}")
    event.add("description", "\n".join(lines))
    if detail.get("link") or row.get("url"):
        event.add("url", str(detail.get("link") or row.get("url")))
    event.add("status", "TENTATIVE" if row.get("vanished") else "CONFIRMED")
    event.add("categories", ["심사 일정"])
    return event


def deadline_event(item: Mapping[str, Any], ctx: Context) -> Event:
    """The all-day VEVENT of an open comment deadline (an item with `fields.deadline`)."""
    deadline = date.fromisoformat(str(item["fields"]["deadline"]))
    source = ctx.source_names.get(item["source"], item["source"])
    event = Event()
    event.add("uid", _uid("deadline", item["source"], item["key"]))  # the same when the date moves
    event.add("dtstamp", _stamp(item.get("first_seen_at")))
    event.add("dtstart", deadline)
    event.add("dtend", deadline + timedelta(days=1))
    event.add("summary", f"[의견 마감] {item['title']}")
    lines = [f"출처: {source}", f"의견 제출 마감: {deadline.isoformat()} (이 날까지)"]
    lines += [f"왜: {why}" for why in _why(item["matches"], ctx)]
    if item.get("url"):
        lines.append(f"링크: {item['url']}")
        event.add("url", str(item["url"]))
    event.add("description", "\n".join(lines))
    event.add("categories", ["의견 마감"])
    return event


def build_calendar(
    agenda_rows: Sequence[Mapping[str, Any]], deadline_items: Sequence[Mapping[str, Any]], ctx: Context
) -> bytes:
    """The whole feed as RFC 5545 bytes (CRLF lines, folded), events in date order."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", CALENDAR_NAME)
    cal.add("x-wr-timezone", "Asia/Seoul")
    cal.add("x-wr-caldesc", "따라가는 의안이 안건에 오른 국회 회의와 입법예고 의견 제출 마감일")
    for row in sorted(agenda_rows, key=lambda r: (str(r["detail"]["date"]), r["id"])):
        cal.add_component(agenda_event(row, ctx))
    for item in sorted(deadline_items, key=lambda i: (str(i["fields"]["deadline"]), i["item_id"])):
        cal.add_component(deadline_event(item, ctx))
    cal.add_missing_timezones()  # a VTIMEZONE for Asia/Seoul, as RFC 5545 wants for every TZID
    return bytes(cal.to_ical())


def calendar_feed(store: Store, ctx: Context, days: int = DAYS_AHEAD) -> bytes:
    """The feed for today (ctx.today): agenda meetings from PAST_DAYS back to `days` ahead of
    bills followed now, and comment deadlines of followed items from today to `days` ahead."""
    today, last = ctx.today, (ctx.today + timedelta(days=days)).isoformat()
    followed = {int(b["item_id"]) for b in store.followed_bills()}
    rows = [
        r for r in store.agenda_rows((today - timedelta(days=PAST_DAYS)).isoformat(), last)
        if int(r["item_id"]) in followed
    ]  # fmt: skip
    deadlines = store.flagged_with_deadline(today.isoformat(), last)
    return build_calendar(rows, deadlines, ctx)


def write_if_changed(path: Path, content: bytes) -> bool:
    """Write `content` to `path` atomically (a reader never sees half a file); False if unchanged.

    Raises OSError when the folder is missing or not writable.
    """
    try:
        if path.read_bytes() == content:
            return False
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.chmod(tmp, 0o644)  # served by a web server: readable, like any static file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
