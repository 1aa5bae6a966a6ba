"""A matter for `monitor matters` and `monitor matter ID`: a line, a Korean timeline, the JSON contract.

Input is one entry of Store.matter_details: {"view": matters.View, "topics", "events", "related"}.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from monitor.digest import deadline_badge
from monitor.matters import pipeline

# What a new item of each kind is, in a timeline
NEW_LABELS = {
    "assembly_bills": "의안 접수",
    "assembly_notices": "국회 입법예고 게시",
    "lawmaking_notices": "정부 입법예고",
    "lawmaking_admin_notices": "행정예고",
    "law_changes": "법령 공포",
}


def event_date(event: Mapping[str, Any]) -> str:
    """When it happened: as the source says (a stage's date, a proposal date), else when we saw it."""
    detail = event.get("detail") or {}
    if event["type"] == "stage" and detail.get("date"):
        return str(detail["date"])[:10]
    # a new item's first deadline is part of its arrival
    arrival = event["type"] == "new" or (event["type"] == "deadline" and not detail.get("from"))
    if arrival and event.get("published_at"):
        return str(event["published_at"])[:10]
    return str(event["created_at"])[:10]


def timeline(detail: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every event of the matter, oldest first: type, date, where it came from and what changed."""
    out = []
    for e in _ordered(detail):
        d = e["detail"] or {}
        row: dict[str, Any] = {
            "type": e["type"], "date": event_date(e), "source": e["source"], "key": e["key"],
            "title": e["title"], "url": e["url"], "seen_at": e["created_at"], "announced": e["announce"],
        }  # fmt: skip
        if e["type"] in ("stage", "deadline"):
            row.update({"from": d.get("from"), "to": d.get("to")})
        elif e["type"] == "updated":
            before, after = d.get("from") or {}, d.get("to") or {}
            row.update({"from": before, "to": after})
            row.update({k: True for k in ("summary_added", "summary_changed") if d.get(k)})
        out.append(row)
    return out


def matter_json(detail: Mapping[str, Any]) -> dict[str, Any]:
    """The `monitor matters --json` object: id, title, law, topics, stage, items, events."""
    view = detail["view"]
    return {
        "id": view.id,
        "title": view.title,
        "law": view.law,
        "topics": list(detail["topics"]),
        "stage": view.stage,
        "items": [{"source": r.source, "key": r.key, "url": r.url, "title": r.title} for r in view.records],
        "events": timeline(detail),
    }


def _facts(detail: Mapping[str, Any], labels: Mapping[str, str], today: date) -> list[str]:
    view = detail["view"]
    facts = [f"법: {view.law}"] if view.law else []
    if view.stage:
        facts.append(f"단계: {view.stage}")
    due = deadline_badge(view.open_deadline(today), today)
    if due:
        facts.append(due)
    if detail["topics"]:
        facts.append("주제: " + ", ".join(labels.get(t, t) for t in detail["topics"]))
    return facts


def matter_lines(detail: Mapping[str, Any], labels: Mapping[str, str], today: date) -> list[str]:
    """Two lines of `monitor matters`: `#ID 제목`, then law, stage, deadline, topics, counts."""
    view = detail["view"]
    facts = [*_facts(detail, labels, today), f"자료 {len(view.records)}건", f"사건 {len(detail['events'])}건"]
    if detail["related"]:
        facts.append(f"같은 법 개정안 {len(detail['related'])}건")
    return [f"#{view.id}  {view.title}", "     " + " · ".join(facts)]


def _what(event: Mapping[str, Any]) -> str:
    d = event["detail"] or {}
    if event["type"] == "new":
        return f"{NEW_LABELS.get(event.get('kind') or '', '새 글')}: {event['title']}"
    if event["type"] == "stage":
        return f"단계 {d.get('from') or '?'} → {d.get('to')}"
    if event["type"] == "deadline":
        return f"의견마감 {d['from']} → {d['to']} 으로 변경" if d.get("from") else f"의견마감 {d.get('to')}"
    before, after = d.get("from") or {}, d.get("to") or {}
    changes = []
    if before.get("title") != after.get("title"):
        changes.append(f"제목 변경: {before.get('title')} → {after.get('title')}")
    if after.get("url") and before.get("url") != after.get("url"):
        changes.append("링크 변경")
    if d.get("summary_added"):
        changes.append("제안이유·요약 추가")
    elif d.get("summary_changed"):
        changes.append("요약 수정")
    return ", ".join(changes) or "내용 수정"


def timeline_lines(
    detail: Mapping[str, Any], names: Mapping[str, str], labels: Mapping[str, str], today: date
) -> list[str]:
    """`monitor matter ID`: title, facts, the road, sources with links, related matters, then every event."""
    view = detail["view"]
    lines = [f"#{view.id} {view.title}", "  " + " · ".join(_facts(detail, labels, today))]
    road = pipeline(view.stage, view.government_notice)
    if road:
        lines.append(f"  진행: {road}")
    lines += ["", "자료:"]
    for r in view.records:
        lines.append(f"  {names.get(r.source, r.source)}: {r.title}")
        if r.url:
            lines.append(f"    {r.url}")
    if detail["related"]:
        lines += ["", f"같은 법 개정안 {len(detail['related'])}건:"]
        lines += [f"  #{r['id']} {r['title']}" for r in detail["related"]]
    lines += ["", "경과 (오래된 것부터):"]
    for event in _ordered(detail):
        quiet = "" if event["announce"] else " (알리지 않음)"
        where = names.get(event["source"], event["source"])
        lines.append(f"  {event_date(event)}  {_what(event)}{quiet} — {where}")
        if event["url"] and event["type"] == "new":
            lines.append(f"              {event['url']}")
    return lines


def _ordered(detail: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return sorted(detail["events"], key=lambda e: (event_date(e), e["id"]))
