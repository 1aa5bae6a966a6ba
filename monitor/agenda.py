"""Agenda watch: followed bills found on meetings' agendas, recorded as `agenda` events.

Runs in ingest's transaction right after a meetings kind (`assembly_schedules`) stored its
batch. For each followed bill (Store.followed_bills) on a meeting's agenda it records one
`agenda` event on the bill's own item, keyed by bill + meeting date + committee, so a re-poll,
a changed time or a row that vanishes and comes back adds nothing. A meeting moved to another
day (the same meeting — committee, name, session, 차수, or the same `cmtSchSn` — listed on a
new date while the old date is listed no more) is a new event that `replaces` the old one and
says where it came `from` (일정 변경). The event carries the bill's matches, so it reaches
digests and alerts like any matched event; bills nobody follows stay silent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from monitor.rules import Match
from monitor.sources.base import Item
from monitor.store import Store
from monitor.text import normalize


@dataclass(frozen=True)
class Appearance:
    """A followed bill on one meeting's agenda: the bill's row, the meeting, the agenda line."""

    bill: Mapping[str, Any]
    meeting: Item
    line: Mapping[str, Any]


def appearances(meetings: Sequence[Item], followed: Sequence[Mapping[str, Any]]) -> list[Appearance]:
    """Each followed bill on each meeting's agenda, once per meeting (pure).

    A line matches by BILL_ID where it carries one, else by BILL_NO (the `[2114084]` of
    `ANGUN`); names are never compared (the same name stands for dozens of bills: §9.5 trap 11).
    """
    by_id = {str(b["fields"].get("bill_id")): b for b in followed if b["fields"].get("bill_id")}
    by_no = {str(b["fields"].get("bill_no")): b for b in followed if b["fields"].get("bill_no")}
    found: list[Appearance] = []
    for meeting in meetings:
        seen: set[int] = set()
        for line in meeting.fields.get("agenda") or []:
            bill = by_id.get(str(line.get("bill_id"))) or by_no.get(str(line.get("bill_no")))
            if bill is None or bill["item_id"] in seen:
                continue
            seen.add(bill["item_id"])
            found.append(Appearance(bill, meeting, line))
    return found


def same_meeting(detail: Mapping[str, Any], meeting: Mapping[str, Any]) -> bool:
    """True when an agenda event's meeting is this meeting, whatever the date says."""
    if detail.get("slot") and detail.get("slot") == meeting.get("slot"):
        return True
    return bool(detail.get("sch_sn")) and detail.get("sch_sn") == meeting.get("sch_sn")


def _matches(bill: Mapping[str, Any]) -> list[Match]:
    return [
        Match(m["rule"], m["topic"], m["priority"], m["field"], tuple(m["terms"]), m["snippet"])
        for m in bill.get("matches") or []
    ]


def _detail(appearance: Appearance, source: str) -> dict[str, Any]:
    bill, meeting, f = appearance.bill, appearance.meeting, appearance.meeting.fields
    return {
        "bill_id": bill["fields"].get("bill_id"),
        "bill_no": bill["fields"].get("bill_no") or appearance.line.get("bill_no"),
        "bill": bill["title"] or appearance.line.get("name"),
        "date": f["date"],
        "time": f.get("time"),
        "committee": f.get("committee"),
        "subcommittee": f.get("subcommittee"),
        "meeting": f.get("meeting"),
        "meeting_kind": f.get("meeting_kind"),
        "session": f.get("session"),
        "degree": f.get("degree"),
        "agenda_no": appearance.line.get("no"),
        "link": meeting.url,
        "meeting_source": source,
        "meeting_key": meeting.key,
        "slot": f.get("slot"),
        "sch_sn": f.get("sch_sn"),
        "from": None,
        "to": f["date"],
    }


def _record(
    store: Store, source: str, appearance: Appearance, listed: set[tuple[str, str]], run_id: int,
    today: date,
) -> bool:  # fmt: skip
    """Record one appearance unless it is known; True when an event was added."""
    bill, fields = appearance.bill, appearance.meeting.fields
    item_id, day = int(bill["item_id"]), str(fields["date"])
    history = store.agenda_events_of(item_id)
    replaced = {h["detail"].get("replaces") for h in history}
    current = [h for h in history if h["id"] not in replaced and same_meeting(h["detail"], fields)]
    latest = current[-1] if current else None
    if latest is not None and latest["detail"].get("date") == day:
        return False  # seen before: a re-poll, a changed time, a row that came back
    base = f"{item_id}:agenda:{day}:{normalize(str(fields.get('committee') or ''))}"
    key, detail = base, _detail(appearance, source)
    if latest is not None:
        old = latest["detail"]
        still_listed = (str(old.get("slot")), str(old.get("date"))) in listed or (
            old.get("sch_sn") and (f"sn:{old['sch_sn']}", str(old.get("date"))) in listed
        )
        if not still_listed:  # the meeting moved: 일정 변경
            detail.update({
                "from": old.get("date"), "replaces": latest["id"],
                # the calendar keeps one UID per meeting (`first` day) and counts the moves
                "first": old.get("first") or old.get("date"), "moves": int(old.get("moves") or 0) + 1,
            })  # fmt: skip
            if any(h["dedupe_key"] == base for h in history):  # moved back to a date used before
                key = f"{base}:after:{latest['id']}"
    event_id = store.add_event(item_id, "agenda", key, detail, run_id, announce=day >= today.isoformat())
    if event_id is None:
        return False
    store.add_matches(event_id, item_id, _matches(bill))
    return True


def record_agenda(store: Store, source: str, meetings: Sequence[Item], run_id: int, today: date) -> int:
    """Record `agenda` events for every followed bill on the batch's meetings; returns how many.

    Call inside the poll's transaction, after the meetings were stored. Events for meetings
    from today on are announced; earlier ones (a row read after the meeting) are recorded only.
    """
    followed = store.followed_bills()
    if not followed:
        return 0
    listed: set[tuple[str, str]] = set()
    for meeting in meetings:
        listed.add((str(meeting.fields.get("slot")), str(meeting.fields.get("date"))))
        if meeting.fields.get("sch_sn"):
            listed.add((f"sn:{meeting.fields['sch_sn']}", str(meeting.fields.get("date"))))
    return sum(_record(store, source, a, listed, run_id, today) for a in appearances(meetings, followed))
