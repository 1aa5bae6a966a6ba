"""What each page shows, read from the store (opened read-only by the caller) into plain dicts.

No HTML here (templates render, autoescaped) and no relevance decisions: "followed" is the
store's (Store.matter_ids, Store.followed_bills), the why is the matcher's recorded matches.
Links from sources pass `safe_url` (http and https only), so a `javascript:` link never renders.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from monitor.digest import FIELD_LABELS, Context, days_left, deadline_badge
from monitor.digest_agenda import agenda_entry, day_label, meeting_label
from monitor.matters import View, pipeline
from monitor.render.matter import NEW_LABELS, _ordered, _what, event_date
from monitor.store import Store
from monitor.text import normalize, parse_duration

WEEK = 7
DEADLINE_DAYS = 14  # the front page lists comment deadlines this far ahead
PERIODS = {"7d": "최근 7일", "30d": "최근 30일", "90d": "최근 90일", "365d": "최근 1년"}
NO_STAGE = "단계 없음"
SEARCH_LIMIT = 200
SNIPPET_CHARS = 60


def safe_url(url: Any) -> str | None:
    """The URL when it is http(s) with a host, else None (a `javascript:` or relative link is dropped)."""
    if not url:
        return None
    text = str(url).strip()
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    return text if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def matter_row(view: View, topics: Sequence[str], ctx: Context) -> dict[str, Any]:
    """One matter in a list: id, title, law, stage, topic labels, deadline badge, how many items."""
    due = view.open_deadline(ctx.today)
    return {
        "id": view.id,
        "title": view.title,
        "law": view.law,
        "stage": view.stage,
        "topics": [ctx.label(t) for t in topics],
        "deadline": deadline_badge(due, ctx.today),
        "items": len(view.records),
        "related": view.related,
    }


def followed_bill_items(store: Store) -> set[int]:
    """Item ids of the bills the committee follows (agenda rows of others are not shown)."""
    return {int(b["item_id"]) for b in store.followed_bills()}


def agenda(store: Store, ctx: Context, days: int = WEEK) -> list[dict[str, Any]]:
    """다가오는 심사 일정: followed bills on meetings from today to `days` ahead, grouped by day."""
    today = ctx.today
    followed = followed_bill_items(store)
    rows = [r for r in store.agenda_rows(today.isoformat(), (today + timedelta(days=days)).isoformat())
            if int(r["item_id"]) in followed]  # fmt: skip
    matters = store.matters_of_items([int(r["item_id"]) for r in rows])
    days_out: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = agenda_entry(row, ctx, new=False)
        day = str(row["detail"]["date"])
        group = days_out.setdefault(day, {"date": day, "label": day_label(day), "left": days_left(day, today),
                                          "entries": []})  # fmt: skip
        group["entries"].append({
            "title": entry.title, "url": safe_url(entry.url), "where": entry.source, "badges": entry.badges,
            "topics": entry.topics, "why": entry.why, "matter": matters.get(int(row["item_id"])),
            "links": [(label, u) for label, link in entry.links if (u := safe_url(link))],
        })  # fmt: skip
    return list(days_out.values())


def deadlines(store: Store, ctx: Context, days: int = DEADLINE_DAYS) -> list[dict[str, Any]]:
    """의견 마감: followed items with a comment deadline from today to `days` ahead, soonest first."""
    today = ctx.today
    out = []
    for item in store.flagged_with_deadline(today.isoformat(), (today + timedelta(days=days)).isoformat()):
        deadline = str(item["fields"]["deadline"])
        left = days_left(deadline, today)
        out.append({
            "title": item["title"], "url": safe_url(item["url"]), "deadline": deadline,
            "dday": "D-day" if left == 0 else f"D-{left}", "label": day_label(deadline[:10]),
            "source": ctx.source_names.get(item["source"], item["source"]), "matter": item.get("matter_id"),
        })  # fmt: skip
    return out


def moved(store: Store, ctx: Context, days: int = WEEK) -> list[dict[str, Any]]:
    """Followed matters with an event in the last `days` days, most recently active first."""
    ids = store.matter_ids(since=timedelta(days=days))
    views, topics = store.matter_views(ids), store.matter_topics(ids)
    return [matter_row(views[i], topics.get(i, []), ctx) for i in ids if i in views]


def chart_counts(store: Store, ctx: Context) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Followed matters counted by topic label and stage ({label: {stage: n}}) and the stages in use.

    A matter under two topics counts in both; stages are ordered by how many matters stand there.
    """
    ids = store.matter_ids()
    views, topics = store.matter_views(ids), store.matter_topics(ids)
    counts: dict[str, Counter[str]] = {}
    stages: Counter[str] = Counter()
    order = {t: n for n, t in enumerate(ctx.topic_order)}
    for matter_id in ids:
        view = views.get(matter_id)
        if view is None:
            continue
        stage = view.stage or NO_STAGE
        stages[stage] += 1
        for topic in sorted(topics.get(matter_id) or ["-"], key=lambda t: order.get(t, len(order))):
            label = "지정 (watch)" if topic == "-" else ctx.label(topic)
            counts.setdefault(label, Counter())[stage] += 1
    return {k: dict(v) for k, v in counts.items()}, [s for s, _ in stages.most_common()]


def matter_list(
    store: Store, ctx: Context, *, topic: str | None, stage: str | None, law: str | None, period: str | None
) -> list[dict[str, Any]]:
    """/matters: followed matters, most recently active first, filtered by topic id, stage, law, period.

    `law` matches a part of the law's name, spacing ignored (`협동조합` finds 협동조합 기본법);
    `period` is a key of PERIODS (an event within it); an unknown period is ignored.
    """
    since = parse_duration(period) if period in PERIODS else None
    ids = store.matter_ids(topic=topic or None, since=since)
    views, topics = store.matter_views(ids), store.matter_topics(ids)
    wanted_law = normalize(law) if law else ""
    out = []
    for matter_id in ids:
        view = views.get(matter_id)
        if view is None:
            continue
        if stage and (view.stage or NO_STAGE) != stage:
            continue
        if wanted_law and wanted_law not in normalize(view.law or ""):
            continue
        out.append(matter_row(view, topics.get(matter_id, []), ctx))
    return out


def stages_in_use(store: Store) -> list[str]:
    """The stages followed matters stand at now (for the filter's choices), most common first."""
    ids = store.matter_ids()
    views = store.matter_views(ids)
    return [s for s, _ in Counter(v.stage or NO_STAGE for v in views.values()).most_common()]


def _event_text(event: Mapping[str, Any]) -> str:
    if event["type"] == "agenda":
        d = event["detail"] or {}
        moved_from = f" (일정 변경: {d['from']} →)" if d.get("from") else ""
        return f"심사 일정 {d.get('date')} {d.get('time') or '시간 미정'} · {meeting_label(d)}{moved_from}"
    return _what(event)


def matter_page(store: Store, ctx: Context, matter_id: int) -> dict[str, Any] | None:
    """/matters/{id}: the matter, its road, why it is followed, its sources, related matters, timeline."""
    found = store.matter_details([matter_id])
    if not found:
        return None
    detail = found[0]
    view: View = detail["view"]
    names = ctx.source_names
    why = [{
        "rule": ctx.rule_label(m["rule"]), "rule_id": m["rule"], "topic": ctx.label(m["topic"]),
        "priority": m["priority"], "field": FIELD_LABELS.get(m["field"], m["field"]), "terms": m["terms"],
        "snippet": m["snippet"], "source": names.get(m["source"], m["source"]), "title": m["title"],
    } for m in store.matter_matches(matter_id)]  # fmt: skip
    sources = [{
        "source": names.get(r.source, r.source), "kind": NEW_LABELS.get(r.kind, "자료"), "title": r.title,
        "url": safe_url(r.url), "published": (r.published or "")[:10],
    } for r in view.records]  # fmt: skip
    timeline = [{
        "date": event_date(e), "text": _event_text(e), "source": names.get(e["source"], e["source"]),
        "url": safe_url(e["url"]) if e["type"] == "new" else None, "quiet": not e["announce"],
        "type": e["type"],
    } for e in _ordered(detail)]  # fmt: skip
    return {
        **matter_row(view, detail["topics"], ctx),
        "road": pipeline(view.stage, view.government_notice),
        "why": why,
        "sources": sources,
        "related": detail["related"],
        "timeline": timeline,
    }


def _snippet(text: str, terms: Sequence[str]) -> list[tuple[str, bool]]:
    """A short piece of `text` around the first term, as (text, is_hit) segments for <mark>."""
    low = text.lower()
    hits = [(low.find(t.lower()), t) for t in terms if t and low.find(t.lower()) >= 0]
    if not hits:
        return [(text[:SNIPPET_CHARS * 2] + ("…" if len(text) > SNIPPET_CHARS * 2 else ""), False)]
    first = min(hits)[0]
    start = max(0, first - SNIPPET_CHARS)
    end = min(len(text), first + SNIPPET_CHARS)
    piece = text[start:end]
    segments: list[tuple[str, bool]] = [("…", False)] if start else []
    segments += _highlight(piece, terms)
    if end < len(text):
        segments.append(("…", False))
    return segments


def _highlight(text: str, terms: Sequence[str]) -> list[tuple[str, bool]]:
    """The whole of `text` as (text, is_hit) segments."""
    segments: list[tuple[str, bool]] = []
    i, low = 0, text.lower()
    while i < len(text):
        found = [(low.find(t.lower(), i), t) for t in terms if t and low.find(t.lower(), i) >= 0]
        if not found:
            segments.append((text[i:], False))
            break
        at, term = min(found)
        if at > i:
            segments.append((text[i:at], False))
        segments.append((text[at : at + len(term)], True))
        i = at + len(term)
    return segments


def search(store: Store, ctx: Context, query: str) -> dict[str, Any]:
    """/search: items whose title or summary hold every word of the query, grouped by matter."""
    terms = unicodedata.normalize("NFC", query).split()  # as the store reads the query
    rows = store.search(query, limit=SEARCH_LIMIT) if terms else []
    groups: dict[Any, dict[str, Any]] = {}
    for row in rows:
        key = row["matter_id"] if row["matter_id"] is not None else f"item:{row['id']}"
        title = row["matter_title"] or row["title"]
        group = groups.setdefault(key, {"matter": row["matter_id"], "title": title, "items": []})
        text = row["summary"] or ""
        group["items"].append({
            "title": _highlight(row["title"], terms),
            "url": safe_url(row["url"]), "source": ctx.source_names.get(row["source"], row["source"]),
            "date": (row["published_at"] or row["first_seen_at"] or "")[:10],
            "snippet": _snippet(text, terms) if text else [],
        })  # fmt: skip
    return {"query": query, "groups": list(groups.values()), "count": len(rows), "limit": SEARCH_LIMIT}
