"""What digests and alerts say about agendas (pure: rows in, Sections and Digests out; no I/O).

The daily digest opens with "다가오는 심사 일정": followed bills on a meeting's agenda in the
next days (and any agenda event new since the last digest), grouped by day, each with the time
as the 국회 wrote it, the committee and subcommittee, and the bill's why. Meetings of a followed
bill's own committee whose agenda is not published yet follow in their own group, worded as a
meeting ("소관 위원회 회의 예정"), never as the bill's agenda. An urgent bill's agenda event is
an alert at once (jobs.alert_digests) and a reminder the day before.

Kept apart from monitor/digest.py, which reads it only through `build_daily(lead=…)`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from monitor.digest import (
    WEEKDAYS,
    Context,
    Digest,
    Entry,
    Group,
    Section,
    _priority,
    _topics,
    _why,
    daily_window,
    routed_to,
)
from monitor.text import normalize

AGENDA_DAYS = 7  # the section looks this many days ahead, like "7일 안에 의견 마감"
SECTION_TITLE = "다가오는 심사 일정"
PENDING_LABEL = "소관 위원회 회의 예정 (안건 미공개)"
VANISHED = "⚠ 국회 일정 목록에서 사라짐 (변경·취소 확인 필요)"
# a followed bill still before its committee: a meeting of that committee may take it up
IN_COMMITTEE = ("접수", "위원회 심사")


def day_label(day: str) -> str:
    """`2월 20일 (목)` for an ISO date."""
    d = date.fromisoformat(day)
    return f"{d.month}월 {d.day}일 ({WEEKDAYS[d.weekday()]})"


def short_day(day: str | None) -> str:
    """`2/20 (목)` for an ISO date ('?' when there is none)."""
    if not day:
        return "?"
    d = date.fromisoformat(day)
    return f"{d.month}/{d.day} ({WEEKDAYS[d.weekday()]})"


def meeting_label(meeting: Mapping[str, Any]) -> str:
    """`법제사법위원회 법안심사제1소위원회`: the committee and the meeting (subcommittee) name."""
    committee, name = str(meeting.get("committee") or ""), str(meeting.get("meeting") or "")
    return committee if not name or name == committee else f"{committee} {name}".strip()


def _now_or_then(row: Mapping[str, Any]) -> Mapping[str, Any]:
    """The meeting as stored now (a changed time shows), else as the event recorded it."""
    return {**row["detail"], **{k: v for k, v in (row.get("meeting") or {}).items() if k != "agenda"}}


def agenda_entry(row: Mapping[str, Any], ctx: Context, *, new: bool) -> Entry:
    """One followed bill on one meeting's agenda: the bill (link, why) under the meeting's time and place.

    `row` is an agenda event with its bill's item (Store.agenda_rows or Store.digest_events).
    """
    detail, meeting = row["detail"], _now_or_then(row)
    time_text = meeting.get("time") or "시간 미정"  # as the 국회 wrote it: `전체회의 산회 직후` …
    badges: list[str] = []
    if detail.get("from"):
        badges.append(f"일정 변경 {short_day(detail['from'])} → {short_day(detail.get('date'))}")
    elif new:
        badges.append("새 일정")
    if row.get("vanished") and str(detail.get("date")) >= ctx.today.isoformat():
        badges.append(VANISHED)
    if row["fields"].get("stage"):
        badges.append(str(row["fields"]["stage"]))
    links = [("회의 일정", str(detail["link"]))] if detail.get("link") else []
    return Entry(
        title=row["title"] or str(detail.get("bill") or "(제목 없음)"),
        url=row.get("url"),
        source=f"{time_text} · {meeting_label(meeting)}",
        date=None,  # the day heads the group
        topics=[ctx.label(t) for t in _topics(row["matches"], ctx)],
        badges=badges,
        why=_why(row["matches"], ctx),
        links=links,
        priority=_priority(row["matches"]),
        thread=f"agenda:{row['id']}",
        rules=list(dict.fromkeys(m["rule"] for m in row["matches"])),
        event_ids=[row["id"]] if new else [],
    )


def _order(row: Mapping[str, Any]) -> tuple[str, str, str]:
    meeting = _now_or_then(row)
    return str(meeting.get("date")), str(meeting.get("time_start") or "99"), meeting_label(meeting)


def in_committee(bill: Mapping[str, Any], meeting: Mapping[str, Any]) -> bool:
    """True when a meeting is of the committee a bill sits before (by committee id, else by name)."""
    fields = bill["fields"]
    if fields.get("stage") not in (*IN_COMMITTEE, None):
        return False
    if fields.get("committee_id") and meeting.get("committee_id"):
        return str(fields["committee_id"]) == str(meeting["committee_id"])
    return bool(fields.get("committee")) and normalize(str(fields["committee"])) == normalize(
        str(meeting.get("committee") or "")
    )


def _may_take_bills(meeting: Mapping[str, Any]) -> bool:
    # a 전체회의, a 법안 subcommittee or an 안건조정위원회; not a hearing or a budget subcommittee
    return meeting.get("meeting_kind") in ("전체회의", "안건조정위원회") or bool(meeting.get("bill_review"))


def pending_entries(
    meetings: Sequence[Mapping[str, Any]], followed: Sequence[Mapping[str, Any]], shown: set[tuple[int, str]],
    destination: str, ctx: Context, default: Sequence[str],
) -> list[Entry]:  # fmt: skip
    """Meetings with no agenda published yet, of a committee a followed bill sits before.

    Said as a meeting ("소관 위원회 회의"), never as the bill's agenda; a bill already shown on
    an agenda that day is not listed again. `default`: the digest's own destinations for topics
    without a route.
    """
    bills = routed_to(list(followed), destination, ctx, default)
    out = []
    for row in meetings:
        meeting = row["fields"]
        if meeting.get("agenda_known") or row.get("vanished") or not _may_take_bills(meeting):
            continue
        ours = [b for b in bills if in_committee(b, meeting) and (b["item_id"], meeting["date"]) not in shown]
        if not ours:
            continue
        matches = [m for b in ours for m in b["matches"]]
        names = [b["title"] for b in ours]
        why = [f"소관 의안: {name}" for name in names[:3]]
        if len(names) > 3:
            why.append(f"외 {len(names) - 3}건")
        out.append(
            Entry(
                title=f"{meeting_label(meeting)} 회의",
                url=row.get("url"),
                source=f"{short_day(meeting.get('date'))} {meeting.get('time') or '시간 미정'} · 안건 미공개",
                date=None,
                topics=[ctx.label(t) for t in _topics(matches, ctx)],
                why=why,
                thread=f"meeting:{row['item_id']}",
                rules=list(dict.fromkeys(m["rule"] for m in matches)),
            )
        )
    return out


def agenda_section(
    events: list[dict[str, Any]],
    agenda_rows: Sequence[Mapping[str, Any]],
    meetings: Sequence[Mapping[str, Any]],
    followed: Sequence[Mapping[str, Any]],
    destination: str,
    ctx: Context,
    days: int = AGENDA_DAYS,
    default: Sequence[str] | None = None,
) -> Section:
    """"다가오는 심사 일정" for one destination.

    `events` are the destination's undelivered events (the daily digest's own input): agenda
    events among them are new and carried by the digest (the weekly passes none: it marks
    nothing new). `agenda_rows` (Store.agenda_rows) are the agenda events still standing; those
    from today to `days` ahead are shown whether new or not, grouped by day. `meetings` and
    `followed` (Store.meetings, Store.followed_bills) give the "소관 위원회 회의 예정" group.
    `default`: the digest's destinations for topics without a route (the daily's unless given).
    """
    _, window = daily_window(events, destination, ctx)
    new = {e["id"] for e in window if e["type"] == "agenda"}
    first, last = ctx.today.isoformat(), (ctx.today + timedelta(days=days)).isoformat()
    default = ctx.notify.daily.to if default is None else default
    routed = routed_to(list(agenda_rows), destination, ctx, default)
    shown = sorted(
        (r for r in routed if r["id"] in new or first <= str(r["detail"].get("date")) <= last), key=_order
    )
    by_day: dict[str, list[Entry]] = {}
    for row in shown:
        by_day.setdefault(str(row["detail"]["date"]), []).append(agenda_entry(row, ctx, new=row["id"] in new))
    groups = [Group(day_label(day), entries) for day, entries in by_day.items()]
    on_agenda = {(int(r["item_id"]), str(r["detail"]["date"])) for r in shown}
    upcoming = [m for m in meetings if first <= str(m["fields"].get("date")) <= last]
    pending = pending_entries(upcoming, followed, on_agenda, destination, ctx, default)
    if pending:
        groups.append(Group(PENDING_LABEL, pending))
    return Section(SECTION_TITLE, groups)


# --- alerts ---------------------------------------------------------------------------------------


def build_agenda_alert(event: dict[str, Any], destination: str, ctx: Context) -> Digest:
    """An urgent bill on a meeting's agenda, posted right after the poll that found it."""
    entry = agenda_entry(event, ctx, new=True)
    detail = event["detail"]
    what = "심사 일정 변경" if detail.get("from") else "심사 일정"
    return Digest(
        kind="urgent",
        period=f"event:{event['id']}",
        destination=destination,
        title=f"🔴 긴급: {what} {short_day(detail.get('date'))} · {meeting_label(detail)}",
        sections=[Section(SECTION_TITLE, [Group(day_label(str(detail["date"])), [entry])])],
        event_ids=[event["id"]],
    )


def build_agenda_reminder(row: dict[str, Any], destination: str, ctx: Context) -> Digest:
    """The day before an urgent bill's meeting (the key holds the event: a moved meeting is another)."""
    entry = agenda_entry(row, ctx, new=False)
    detail = row["detail"]
    return Digest(
        kind="reminder",
        period=f"agenda:{row['id']}:D-1",
        destination=destination,
        title=f"⏰ 내일 심사 ({short_day(detail.get('date'))}) · {meeting_label(_now_or_then(row))}",
        sections=[Section("심사 일정 알림", [Group(day_label(str(detail["date"])), [entry])])],
    )


def urgent_tomorrow(agenda_rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows (of tomorrow's agenda) an urgent rule matched."""
    return [r for r in agenda_rows if _priority(r["matches"]) == "urgent"]
