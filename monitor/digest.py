"""Choose what a digest, summary or alert says (pure: rows in, a Digest out; no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from monitor import matters
from monitor.config import Destination, NotifyConfig, RuleSet
from monitor.health import SourceHealth, failing, health_line
from monitor.matters import View
from monitor.text import iso, parse_date, start_of_day

FIELD_LABELS = {
    "title": "제목",
    "summary": "요약",
    "body": "본문",
    "committee": "위원회",
    "proposer": "제안자",
}
PRIORITY_ORDER = {"normal": 0, "high": 1, "urgent": 2}
WEEKDAYS = "월화수목금토일"


@dataclass
class Entry:
    """One thing to show: a linked title, where it came from, badges and why it was flagged."""

    title: str
    url: str | None
    source: str  # the source's Korean name
    date: str | None
    topics: list[str]  # topic labels
    badges: list[str] = field(default_factory=list)
    why: list[str] = field(default_factory=list)
    links: list[tuple[str, str]] = field(default_factory=list)  # more links: (label, url)
    priority: str = "normal"
    thread: str = ""
    rules: list[str] = field(default_factory=list)  # rule ids (for --json; readers see `why`)
    event_ids: list[int] = field(default_factory=list)  # the events this entry shows
    matter: int | None = None  # the matter's id (`monitor matter ID`)


@dataclass
class Group:
    """Entries under one heading (a topic label, or none)."""

    label: str | None
    entries: list[Entry]


@dataclass
class Section:
    """A titled part of a digest."""

    title: str
    groups: list[Group]
    note: str | None = None

    @property
    def count(self) -> int:
        """How many entries the section shows."""
        return sum(len(g.entries) for g in self.groups)


@dataclass
class Digest:
    """Everything one message (or message series) says, before any rendering."""

    kind: str  # daily | weekly | urgent | reminder
    period: str
    destination: str
    title: str
    sections: list[Section]
    footer: str | None = None
    notes: list[str] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    skipped_event_ids: list[int] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when there is nothing to say (no entries and no note)."""
        return not any(s.count or s.note for s in self.sections)

    @property
    def key(self) -> str:
        """The ledger key; also stamped on Slack messages to find them after a crash."""
        return f"{self.kind}:{self.period}:{self.destination}"


@dataclass(frozen=True)
class Context:
    """What every builder needs to label and route: config, rules, source names, today."""

    notify: NotifyConfig
    ruleset: RuleSet
    source_names: Mapping[str, str]
    source_kinds: Mapping[str, str]
    today: date

    def label(self, topic: str) -> str:
        """Korean label of a topic."""
        return self.ruleset.label(topic)

    def rule_label(self, rule: str) -> str:
        """What a reader sees for a rule: its Korean description (else its topic's label).

        Rule ids stay for staff: `monitor items`, `rules test` and `digest --json` show them.
        """
        for topic in self.ruleset.topics:
            for r in topic.rules:
                if r.id == rule:
                    return r.description or f"{topic.label} 규칙"
        return rule

    @property
    def topic_order(self) -> list[str]:
        """Topic ids in rule-file order."""
        return [t.topic for t in self.ruleset.topics]


# --- routing ----------------------------------------------------------------------------------


def routes_for(topics: Iterable[str], ctx: Context, default: Sequence[str]) -> list[str]:
    """Destinations of an item with these topics: config routes, a rule file's channel, else default."""
    channels = {t.topic: t.channel for t in ctx.ruleset.topics}
    out: list[str] = []
    for topic in topics:
        if topic in ctx.notify.routes:
            out += ctx.notify.routes[topic]
        elif channels.get(topic):
            out.append(f"#{channels[topic]}")
        else:
            out += default
    return list(dict.fromkeys(out))


def routed_to(
    rows: list[dict[str, Any]], destination: str, ctx: Context, default: Sequence[str]
) -> list[dict[str, Any]]:
    """The rows (events or items with matches) whose topics route to this destination."""
    return [r for r in rows if destination in routes_for(_topics(r["matches"], ctx), ctx, default)]


def resolve_destination(name: str, notify: NotifyConfig) -> Destination:
    """The Destination for a name; `#channel` names come from a rule file's `channel:`."""
    if name in notify.destinations:
        return notify.destinations[name]
    if name.startswith("#"):
        return Destination(type="slack", channel=name[1:])
    raise KeyError(name)


# --- entries ----------------------------------------------------------------------------------


def days_left(deadline: str | None, today: date) -> int | None:
    """Days from today to an ISO deadline (0 = today)."""
    d = parse_date(deadline) if deadline else None
    return (d - today).days if d else None


def deadline_badge(deadline: str | None, today: date) -> str | None:
    """`의견마감 D-3 (9/12 금)`, `의견마감 오늘`, or `의견마감 지남`."""
    left = days_left(deadline, today)
    if left is None:
        return None
    d = parse_date(deadline)
    assert d is not None
    when = f"{d.month}/{d.day} {WEEKDAYS[d.weekday()]}"
    if left < 0:
        return f"의견마감 지남 ({when})"
    return f"의견마감 {'오늘' if left == 0 else f'D-{left}'} ({when})"


def _why(matches: Sequence[Mapping[str, Any]], ctx: Context) -> list[str]:
    # the words the matcher produced: same rule, same field, same terms (DESIGN "Matching notes")
    out = []
    ranked = sorted(matches, key=lambda m: -PRIORITY_ORDER.get(m["priority"], 0))
    for m in ranked[:2]:
        terms = ", ".join(f"‘{t}’" for t in m["terms"])
        line = f"{ctx.rule_label(m['rule'])} · {FIELD_LABELS.get(m['field'], m['field'])}: {terms}"
        if m["field"] != "title" and m.get("snippet"):
            line += f" — “{m['snippet']}”"
        out.append(line)
    return out


def _priority(matches: Sequence[Mapping[str, Any]]) -> str:
    return max((m["priority"] for m in matches), key=lambda p: PRIORITY_ORDER.get(p, 0), default="normal")


def _topics(matches: Sequence[Mapping[str, Any]], ctx: Context) -> list[str]:
    found = {m["topic"] for m in matches}
    ordered = [t for t in ctx.topic_order if t in found] + sorted(found - set(ctx.topic_order))
    return ordered


def entry_for(row: Mapping[str, Any], ctx: Context, *, stage_change: bool = False) -> Entry:
    """An entry for an event or item row (with its item fields and matches)."""
    fields = row["fields"]
    badges: list[str] = []
    detail = row.get("detail") or {}
    if stage_change and detail.get("to"):
        badges.append(f"{detail.get('from') or '?'} → {detail['to']}")
    elif fields.get("stage"):
        badges.append(str(fields["stage"]))
    if row.get("type") == "updated":
        badges.append("수정됨")
    if row.get("type") == "deadline" and detail.get("from"):
        badges.append(f"의견마감 변경 {detail['from']} → {detail['to']}")
    if row.get("type") == "agenda" and detail.get("date"):  # a bill on a meeting's agenda
        where = " ".join(p for p in (detail.get("committee"), detail.get("meeting")) if p)
        badges.append(f"심사 일정 {detail['date']} {detail.get('time') or ''} · {where}".replace("  ", " "))
    deadline = deadline_badge(fields.get("deadline"), ctx.today)
    if deadline:
        # D-7, D-3, D-1 (notify.reminder_days) are the reminder days: mark them
        left = days_left(fields.get("deadline"), ctx.today)
        badges.append(f"⏰ {deadline}" if left in ctx.notify.reminder_days else deadline)
    published = row.get("published_at") or row.get("first_seen_at") or ""
    return Entry(
        # items stored before titles were derived (sources/clean.py) may have none: never an empty link
        title=row["title"] or "(제목 없음)",
        url=row.get("url"),
        source=ctx.source_names.get(row["source"], row["source"]),
        date=published[:10] or None,
        topics=[ctx.label(t) for t in _topics(row["matches"], ctx)],
        badges=badges,
        why=_why(row["matches"], ctx),
        priority=_priority(row["matches"]),
        thread=row.get("thread") or f"item:{row.get('item_id')}",
        rules=list(dict.fromkeys(m["rule"] for m in row["matches"])),
        event_ids=[row["id"]] if row.get("type") and row.get("id") is not None else [],
    )


# --- matters: one entry per matter, with all its news of the period ---------------------------

# What decides a matter's section: an urgent rule first, then a stage move, a comment deadline
# within the week, anything new (issue 14.4)
NEWS_RANK = {"stage": 3, "deadline": 2, "new": 1}
# the event types a matter's entry shows (agenda events have their own section)
MATTER_NEWS = frozenset({"new", "updated", "deadline", "stage"})


def matter_of(row: Mapping[str, Any]) -> str:
    """The key rows of one matter share (`matter:ID`; an item not placed yet stands alone)."""
    if row.get("matter_id") is not None:
        return f"matter:{row['matter_id']}"
    return str(row.get("thread") or f"item:{row.get('item_id')}")


@dataclass
class MatterNews:
    """What one matter brings to a digest: its events of the period and its due deadlines."""

    key: str
    view: View | None
    events: list[dict[str, Any]] = field(default_factory=list)
    due: list[dict[str, Any]] = field(default_factory=list)  # item rows with a deadline in the window

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every row, events first."""
        return self.events + self.due

    @property
    def matches(self) -> list[dict[str, Any]]:
        """The matches of every row, one per rule (the highest priority kept)."""
        best: dict[str, dict[str, Any]] = {}
        for m in (m for r in self.rows for m in r["matches"]):
            held = best.get(m["rule"])
            if held is None or PRIORITY_ORDER.get(m["priority"], 0) > PRIORITY_ORDER.get(held["priority"], 0):
                best[m["rule"]] = m
        return list(best.values())

    def has(self, type_: str) -> bool:
        """True when one of its events is of this type."""
        return any(e["type"] == type_ for e in self.events)


def collect(
    events: Sequence[dict[str, Any]], due: Sequence[dict[str, Any]], views: Mapping[int, View]
) -> dict[str, MatterNews]:
    """Events and due items by matter, in the order matters first appear."""
    found: dict[str, MatterNews] = {}
    for row, bucket in [*((e, "events") for e in events), *((d, "due") for d in due)]:
        key = matter_of(row)
        news = found.get(key)
        if news is None:
            news = found[key] = MatterNews(key, views.get(row["matter_id"]) if row.get("matter_id") else None)
        getattr(news, bucket).append(row)
    return found


def _rank(news: MatterNews, ctx: Context, window_end: str) -> tuple[int, int]:
    """(urgent, kind) of a matter's most important news: the section it goes in."""
    ranks = []
    for e in news.events:
        kind = "stage" if e["type"] == "stage" else "new"
        # a deadline set or changed inside the window is deadline news; a new item's first one
        # is part of the new item, and a far one is an update
        if e["type"] == "deadline" and (e["detail"] or {}).get("from") and ctx.today.isoformat() <= (
            e["detail"].get("to") or ""
        ) <= window_end:
            kind = "deadline"
        ranks.append((int(_priority(e["matches"]) == "urgent"), NEWS_RANK[kind]))
    ranks += [(int(_priority(d["matches"]) == "urgent"), NEWS_RANK["deadline"]) for d in news.due]
    return max(ranks)


def _deadline_of(news: MatterNews, ctx: Context) -> str | None:
    if news.view is not None:
        found = news.view.open_deadline(ctx.today)
        if found:
            return found
    dates = sorted(str(r["fields"]["deadline"]) for r in news.rows if r["fields"].get("deadline"))
    return dates[0] if dates else None


def matter_entry(news: MatterNews, ctx: Context, *, section: str = "new", pipeline: bool = False) -> Entry:
    """One entry for a matter: its title and link, every news of the period as badges, its links.

    Badges read `위원회 심사 → 체계자구 심사 · 의견마감 D-5 (…)`: the stage move (or the current
    stage), what else happened (new, 수정됨, a changed deadline), the open deadline, and how many
    other matters are about the same law.
    """
    rows = news.rows
    first = rows[0]
    view = news.view
    lead = view.lead if view else None
    badges: list[str] = []
    moves = sorted((e for e in news.events if e["type"] == "stage"), key=lambda e: e["id"])
    stage = (view.stage if view else None) or first["fields"].get("stage")
    if moves:
        to = stage if stage else moves[-1]["detail"].get("to")
        badges.append(f"{moves[0]['detail'].get('from') or '?'} → {to}")
    elif stage and not pipeline:
        badges.append(str(stage))
    if pipeline and view is not None and view.on_assembly_road:
        road = matters.pipeline(stage, view.government_notice)
        if road:
            badges.append(road)
    deadline = _deadline_of(news, ctx)
    shown = deadline_badge(deadline, ctx.today)
    if shown:
        # D-7, D-3, D-1 (notify.reminder_days) are the reminder days: mark them
        left = days_left(deadline, ctx.today)
        badges.append(f"⏰ {shown}" if left in ctx.notify.reminder_days else shown)
    for e in news.events:
        detail = e["detail"] or {}
        if e["type"] == "deadline" and detail.get("from"):
            badges.append(f"의견마감 변경 {detail['from']} → {detail['to']}")
    if section != "new" and news.has("new"):
        badges.append("새 항목")
    if news.has("updated"):
        badges.append("수정됨")
    if view is not None and view.related:
        badges.append(f"같은 법 개정안 {view.related}건")
    matches = news.matches
    source = lead.source if lead else first["source"]
    url = lead.url if lead else first.get("url")
    published = (lead.published if lead else None) or first.get("published_at") or first.get("first_seen_at")
    links: list[tuple[str, str]] = []
    for record in view.records if view else []:
        label = ctx.source_names.get(record.source, record.source)
        if record.url and record.url != url and (label, record.url) not in links:
            links.append((label, record.url))
    for row in rows if view is None else []:
        if row.get("url") and row["url"] != url:
            label = ctx.source_names.get(row["source"], row["source"])
            if (label, row["url"]) not in links:
                links.append((label, row["url"]))
    return Entry(
        title=(view.title if view else first["title"]) or "(제목 없음)",
        url=url,
        source=ctx.source_names.get(source, source),
        date=str(published or "")[:10] or None,
        topics=[ctx.label(t) for t in _topics(matches, ctx)],
        badges=list(dict.fromkeys(badges)),
        why=_why(matches, ctx),
        links=links,
        priority=_priority(matches),
        thread=news.key,
        rules=list(dict.fromkeys(m["rule"] for m in matches)),
        event_ids=[e["id"] for e in news.events],
        matter=view.id if view else None,
    )


def _grouped(entries: list[Entry], ctx: Context, keep_order: bool = False) -> list[Group]:
    """Entries under their first topic's label, topics in rule-file order, urgent first within
    (or in the given order: soonest deadline first)."""
    labels = [ctx.label(t) for t in ctx.topic_order]
    by_label: dict[str, list[Entry]] = {}
    for entry in entries:
        by_label.setdefault(entry.topics[0] if entry.topics else "", []).append(entry)
    order = [lb for lb in labels if lb in by_label] + sorted(lb for lb in by_label if lb not in labels)
    arrange = (lambda entries: entries) if keep_order else _sort_urgent_first
    return [Group(label or None, arrange(by_label[label])) for label in order]


def _sort_urgent_first(entries: list[Entry]) -> list[Entry]:
    """Urgent first, then high; newest first within a priority."""
    by_date = sorted(entries, key=lambda e: e.date or "", reverse=True)
    return sorted(by_date, key=lambda e: -PRIORITY_ORDER[e.priority])


# --- the daily digest ---------------------------------------------------------------------------


def daily_window(
    events: list[dict[str, Any]], destination: str, ctx: Context
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(skipped, window): the destination's events older than notify.backfill_days, and the rest."""
    routed = routed_to(events, destination, ctx, ctx.notify.daily.to)
    cutoff = iso(start_of_day(ctx.today) - timedelta(days=ctx.notify.backfill_days)) or ""
    # seen_at, not created_at: a poll under a clock set back does not make its items "old"
    skipped = [e for e in routed if e.get("seen_at", e["created_at"]) < cutoff]
    window = [e for e in routed if e.get("seen_at", e["created_at"]) >= cutoff]
    return skipped, window


def build_daily(
    events: list[dict[str, Any]],
    deadline_items: list[dict[str, Any]],
    health: list[SourceHealth],
    destination: str,
    ctx: Context,
    lead: Sequence[Section] = (),
    views: Mapping[int, View] | None = None,
) -> Digest:
    """The weekday digest for one destination from the events it has not received yet.

    `lead` sections open the digest (the agenda watch's "다가오는 심사 일정",
    monitor/digest_agenda.py); their entries' events are in `events` too. Then one entry per
    matter (`views`: the matters of the rows, from Store.matter_views), in the section of its
    most important news: a stage move, a comment deadline within seven days, anything new; an
    urgent rule's news outranks the others. The entry carries the rest.
    """
    skipped, window = daily_window(events, destination, ctx)
    news = [e for e in window if e["type"] in MATTER_NEWS]  # agenda events are the lead's
    due = routed_to(deadline_items, destination, ctx, ctx.notify.daily.to)
    week_end = (ctx.today + timedelta(days=7)).isoformat()
    placed: dict[str, list[MatterNews]] = {"new": [], "stage": [], "deadline": []}
    for found in collect(news, due, views or {}).values():
        _, rank = _rank(found, ctx, week_end)
        placed[next(name for name, value in NEWS_RANK.items() if value == rank)].append(found)
    soon = sorted(placed["deadline"], key=lambda n: _deadline_of(n, ctx) or "")
    moved = _sort_urgent_first([matter_entry(n, ctx, section="stage") for n in placed["stage"]])
    due_soon = [matter_entry(n, ctx, section="deadline") for n in soon]
    sections = [
        *lead,
        Section("새로 올라온 항목", _grouped([matter_entry(n, ctx) for n in placed["new"]], ctx)),
        Section("진행 단계가 바뀐 의안", [Group(None, moved)]),
        Section("7일 안에 의견 마감", [Group(None, due_soon)]),
    ]
    notes = []
    if skipped:
        notes.append(
            f"오래 쉬었다가 보내는 다이제스트라 {ctx.notify.backfill_days}일보다 오래된 항목 "
            f"{len(skipped)}건은 생략했습니다 (`monitor items --flagged` 로 볼 수 있습니다)."
        )
    day = ctx.today
    digest = Digest(
        kind="daily",
        period=day.isoformat(),
        destination=destination,
        title=f"정책 모니터 일일 다이제스트 · {day.month}월 {day.day}일 ({WEEKDAYS[day.weekday()]})",
        sections=[s for s in sections if s.count],
        footer=f"소스 상태: {health_line(health)}" if health else None,
        notes=notes,
        event_ids=[e["id"] for e in window],
        skipped_event_ids=[e["id"] for e in skipped],
    )
    if digest.empty and failing(health):
        # an empty day sends nothing, unless a source is failing: then only the health line
        digest.notes.append("새로 표시할 항목은 없습니다.")
    return cap_entries(digest, ctx.notify.digest_max_entries)


MORE_HINT = "`monitor items --flagged --since 2d` 로 모두 볼 수 있습니다"


def cap_entries(digest: Digest, limit: int, hint: str = MORE_HINT) -> Digest:
    """Show at most `limit` entries (sections in order) and say how many more there are.

    The events of entries left out are carried as skipped (accounted for, not shown), like the
    backfill cut: they do not come back in the next digest. Bounds a digest's Slack messages.
    """
    shown, dropped = 0, []
    for section in digest.sections:
        for group in section.groups:
            room = max(limit - shown, 0)
            dropped += group.entries[room:]
            group.entries = group.entries[:room]
            shown += len(group.entries)
        section.groups = [g for g in section.groups if g.entries]
    if not dropped:
        return digest
    digest.sections = [s for s in digest.sections if s.count or s.note]
    left_out = {i for e in dropped for i in e.event_ids}
    digest.event_ids = [i for i in digest.event_ids if i not in left_out]
    digest.skipped_event_ids = sorted(set(digest.skipped_event_ids) | left_out)
    digest.notes.append(f"외 {len(dropped)}건 더 — {hint}.")
    return digest


def should_send(digest: Digest, health: list[SourceHealth]) -> bool:
    """An empty day sends nothing unless a source is failing or items were skipped."""
    return not digest.empty or bool(failing(health)) or bool(digest.notes)


# --- the weekly summary ---------------------------------------------------------------------------


def iso_week(day: date) -> str:
    """`2026-W38` for a date."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def build_weekly(
    events: list[dict[str, Any]],
    deadline_items: list[dict[str, Any]],
    health: list[SourceHealth],
    destination: str,
    ctx: Context,
    views: Mapping[int, View] | None = None,
    agenda: Sequence[Section] = (),
) -> Digest:
    """The representatives' summary of the past seven days and the two weeks ahead.

    After the counts by topic, `agenda` (the agenda watch's "다가오는 심사 일정",
    monitor/digest_agenda.py: meetings that take up a followed bill in the coming days). Then
    each matter once: the ones that moved, then those with a comment deadline this week or
    next, grouped by topic, each with its road (`접수 › [위원회 심사] › …`) and D-day on its
    line; then new laws and important new items not listed above.
    """
    routed = routed_to(events, destination, ctx, ctx.notify.weekly.to)
    due = routed_to(deadline_items, destination, ctx, ctx.notify.weekly.to)
    by_matter = collect([e for e in routed if e["type"] in MATTER_NEWS], due, views or {})
    per_topic: dict[str, set[str]] = {}
    for news in by_matter.values():
        for topic in _topics([m for e in news.events for m in e["matches"]], ctx):
            per_topic.setdefault(topic, set()).add(news.key)
    counts = " · ".join(f"{ctx.label(t)} {len(per_topic[t])}건" for t in ctx.topic_order if t in per_topic)
    listed: set[str] = set()

    def pick(
        test: Callable[[MatterNews], bool], key: Callable[[MatterNews], str] | None = None
    ) -> list[Entry]:
        chosen = [n for n in by_matter.values() if n.key not in listed and test(n)]
        listed.update(n.key for n in chosen)
        chosen = sorted(chosen, key=key) if key else chosen
        return [matter_entry(n, ctx, section="weekly", pipeline=True) for n in chosen]

    moved = pick(lambda n: n.has("stage"))
    needs_opinion = pick(lambda n: bool(n.due), lambda n: _deadline_of(n, ctx) or "")
    laws = pick(lambda n: any(
        e["type"] == "new" and ctx.source_kinds.get(e["source"]) == "law_changes" for e in n.events
    ))  # fmt: skip
    important = pick(lambda n: any(
        e["type"] == "new" and _priority(e["matches"]) in ("high", "urgent") for e in n.events
    ))  # fmt: skip
    sections = [
        Section("이번 주 주제별 건수", [], note=counts or "이번 주에 표시된 항목이 없습니다."),
        *agenda,
        Section("움직인 의안과 현재 단계", _grouped(moved, ctx)),
        Section("의견 제출 필요 (이번 주·다음 주 마감)", _grouped(needs_opinion, ctx, keep_order=True)),
        Section("새로 공포·시행되는 법령", [Group(None, laws)]),
        Section("중요 항목", [Group(None, _sort_urgent_first(important))]),
    ]
    week_start = ctx.today - timedelta(days=7)
    digest = Digest(
        kind="weekly",
        period=iso_week(ctx.today),
        destination=destination,
        title=(
            f"정책 모니터 주간 요약 · {week_start.month}/{week_start.day}–{ctx.today.month}/{ctx.today.day}"
        ),
        sections=[s for s in sections if s.count or s.note],
        footer=f"소스 상태: {health_line(health)}" if health else None,
        event_ids=[e["id"] for e in routed],
    )
    return cap_entries(digest, ctx.notify.digest_max_entries, "`monitor matters --since 7d`")


def deadline_window(today: date, days: int) -> tuple[str, str]:
    """ISO dates from today to today + days."""
    return today.isoformat(), (today + timedelta(days=days)).isoformat()


def next_week_end(today: date) -> date:
    """Sunday of next week: notices due this week or next need an opinion now."""
    return today + timedelta(days=(6 - today.weekday()) + 7)


# --- alerts ---------------------------------------------------------------------------------------


def build_urgent(event: dict[str, Any], destination: str, ctx: Context) -> Digest:
    """An alert for one urgent match, posted right after the poll that found it."""
    entry = entry_for(event, ctx, stage_change=event["type"] == "stage")
    title = "🔴 긴급: 의안 단계 변경" if event["type"] == "stage" else "🔴 긴급: 새 항목"
    return Digest(
        kind="urgent",
        period=f"event:{event['id']}",
        destination=destination,
        title=title,
        sections=[Section(entry.topics[0] if entry.topics else "긴급", [Group(None, [entry])])],
        event_ids=[event["id"]],
    )


def build_urgent_batch(events: list[dict[str, Any]], destination: str, ctx: Context, shown: int) -> Digest:
    """One alert for more urgent matches than a poll may post one by one (notify.urgent_per_poll).

    Lists the first `shown`; the others are carried as skipped: never alerted again, still in the
    next daily digest (which leaves out only the urgent events an alert showed).
    """
    entries = [entry_for(e, ctx, stage_change=e["type"] == "stage") for e in events[:shown]]
    more = len(events) - shown
    note = (
        f"외 {more}건 더 — 다음 일일 다이제스트와 `monitor items --flagged --since 1d` 에서 볼 수 있습니다."
        if more > 0 else None
    )  # fmt: skip
    return Digest(
        kind="urgent",
        period=f"events:{events[0]['id']}-{events[-1]['id']}",
        destination=destination,
        title=f"🔴 긴급: 새 항목 {len(events)}건",
        sections=[Section("긴급", [Group(None, entries)], note=note)],
        event_ids=[e["id"] for e in events[:shown]],
        skipped_event_ids=[e["id"] for e in events[shown:]],
    )


def build_reminder(item: dict[str, Any], destination: str, ctx: Context, days: int) -> Digest:
    """A D-n reminder for a notice's opinion deadline (the key holds the deadline: a change resets it)."""
    entry = entry_for(item, ctx)
    deadline = item["fields"]["deadline"]
    label = "내일" if days == 1 else ("오늘" if days == 0 else f"{days}일 뒤")
    return Digest(
        kind="reminder",
        period=f"item:{item['item_id']}:{deadline}:D-{days}",
        destination=destination,
        title=f"⏰ 의견 마감 {label} ({deadline})",
        sections=[Section("의견 제출 마감 알림", [Group(None, [entry])])],
    )


def is_urgent(event: Mapping[str, Any]) -> bool:
    """True for a new item, a stage change or an agenda appearance that an `urgent` rule matched."""
    return event["type"] in ("new", "stage", "agenda") and _priority(event["matches"]) == "urgent"
