"""The delivery jobs: daily digest, weekly summary, urgent alerts and reminders, retries.

Each job reads the store, builds Digests (monitor.digest), and hands them to the ledger
(monitor.notify). The CLI and the scheduler call these and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from monitor.config import RuleSet, SourcesFile
from monitor.digest import (
    Context,
    Digest,
    build_daily,
    build_reminder,
    build_urgent,
    build_urgent_batch,
    build_weekly,
    deadline_window,
    is_urgent,
    next_week_end,
    resolve_destination,
    should_send,
)
from monitor.digest_agenda import (
    AGENDA_DAYS,
    agenda_section,
    build_agenda_alert,
    build_agenda_reminder,
    urgent_tomorrow,
)
from monitor.errors import DeliveryError
from monitor.health import SourceHealth, assess
from monitor.notify import ConsoleTransport, DeliveryOutcome, Transport, deliver, send, transport_for
from monitor.store import DAILY_REACH, Store
from monitor.text import iso, now, start_of_day

log = logging.getLogger(__name__)


@dataclass
class Job:
    """What every job needs: the store, the config, the rules and the day it runs for."""

    store: Store
    config: SourcesFile
    ruleset: RuleSet
    today: date
    to: str | None = None  # force a transport: console | slack | email
    make_transport: Callable[[str], Transport] | None = None

    @property
    def context(self) -> Context:
        """Labels, routes and source names for the digest builders."""
        return Context(
            notify=self.config.notify,
            ruleset=self.ruleset,
            source_names={s.id: s.name for s in self.config.sources},
            source_kinds={s.id: s.kind for s in self.config.sources},
            today=self.today,
        )

    def health(self) -> list[SourceHealth]:
        """Every enabled source's health today."""
        states = {r["source"]: r for r in self.store.source_health_rows()}
        return assess(self.config.sources, states, now(), self.config.notify.stale_after_intervals)


    def transport(self, destination: str) -> Transport:
        """The transport of a destination (or the forced one).

        Raises DeliveryError for a destination the config no longer names (renamed or removed).
        """
        if self.make_transport is not None:
            return self.make_transport(destination)
        try:
            resolved = resolve_destination(destination, self.config.notify)
        except KeyError:
            known = ", ".join(self.config.notify.destinations) or "-"
            raise DeliveryError(
                f"보낼 곳 '{destination}' 이(가) sources.yaml 의 notify.destinations 에 없습니다 "
                f"(있는 것: {known}); 이름을 바꿨다면 예전 이름도 남겨 두거나 그 전송 기록은 두세요"
            ) from None
        return transport_for(destination, resolved, self.to)

    def destinations(self, default: list[str]) -> list[str]:
        """Every destination a digest may go to: the schedule's, the routes', rule-file channels."""
        names = list(default)
        names += [d for targets in self.config.notify.routes.values() for d in targets]
        names += [f"#{t.channel}" for t in self.ruleset.topics if t.channel]
        return [n for n in dict.fromkeys(names) if self.takes(n)]

    def takes(self, destination: str) -> bool:
        """With `--to slack|email`, only destinations of that type; otherwise every one."""
        if self.to not in ("slack", "email"):
            return True
        try:
            return resolve_destination(destination, self.config.notify).type == self.to
        except KeyError:
            return False


@dataclass(frozen=True)
class AgendaState:
    """What the agenda parts of a digest read from the store, once for every destination."""

    rows: list[dict[str, Any]]  # standing agenda events, from a month back to the section's horizon
    meetings: list[dict[str, Any]]  # stored meetings in the section's days
    followed: list[dict[str, Any]]  # followed bills (for "소관 위원회 회의 예정")

    @classmethod
    def read(cls, store: Store, today: date) -> AgendaState:
        """Agenda rows, meetings and followed bills for a digest built on `today`."""
        horizon = (today + timedelta(days=AGENDA_DAYS)).isoformat()
        # new agenda events of meetings already past are still shown once; a month bounds the read
        rows = store.agenda_rows((today - timedelta(days=30)).isoformat(), horizon)
        meetings = store.meetings(today.isoformat(), horizon)
        return cls(rows, meetings, store.followed_bills() if meetings else [])


def daily_digests(job: Job) -> list[Digest]:
    """Build (without sending) the daily digest for every destination."""
    ctx, health = job.context, job.health()
    first, last = deadline_window(job.today, 7)
    deadlines = job.store.flagged_with_deadline(first, last)
    agenda = AgendaState.read(job.store, job.today)
    # the window a recorded daily reads, and a console one too (it records nothing): from what
    # the last daily carried, never further back than DAILY_REACH before the backfill cutoff
    cutoff = start_of_day(job.today) - timedelta(days=job.config.notify.backfill_days)
    reach = iso(cutoff - DAILY_REACH) or ""
    out = []
    for destination in job.destinations(job.config.notify.daily.to):
        floor = job.store.daily_floor(destination)
        events = job.store.digest_events(undelivered_to=destination, since=reach, floor=floor)
        lead = [agenda_section(events, agenda.rows, agenda.meetings, agenda.followed, destination, ctx)]
        views = job.store.matter_views(r.get("matter_id") for r in [*events, *deadlines])
        digest = build_daily(events, deadlines, health, destination, ctx, lead=lead, views=views)
        if should_send(digest, health):
            out.append(digest)
    return out


def weekly_digests(job: Job) -> list[Digest]:
    """Build (without sending) the weekly summary for every destination."""
    ctx, health = job.context, job.health()
    since = iso(start_of_day(job.today) - timedelta(days=7))
    events = job.store.digest_events(since=since)
    deadlines = job.store.flagged_with_deadline(job.today.isoformat(), next_week_end(job.today).isoformat())
    views = job.store.matter_views(r.get("matter_id") for r in [*events, *deadlines])
    agenda = AgendaState.read(job.store, job.today)
    weekly_to = job.config.notify.weekly.to
    out = []
    for destination in job.destinations(weekly_to):
        # the meetings ahead, as the daily opens with them; nothing is marked new in a weekly
        upcoming = agenda_section([], agenda.rows, agenda.meetings, agenda.followed, destination, ctx,
                                  default=weekly_to)  # fmt: skip
        out.append(build_weekly(events, deadlines, health, destination, ctx, views, agenda=[upcoming]))
    return out


def alert_digests(job: Job) -> list[Digest]:
    """Urgent matches not yet sent, and D-1 deadline reminders, for the urgent destinations."""
    ctx = job.context
    cutoff = iso(start_of_day(job.today) - timedelta(days=job.config.notify.backfill_days)) or ""
    tomorrow = (job.today + timedelta(days=1)).isoformat()
    due_tomorrow = job.store.flagged_with_deadline(tomorrow, tomorrow)
    meetings_tomorrow = urgent_tomorrow(job.store.agenda_rows(tomorrow, tomorrow))  # the D-1 of a meeting
    out = []
    cap = job.config.notify.urgent_per_poll
    for destination in job.config.notify.urgent:
        urgent = [e for e in job.store.urgent_events(destination, cutoff) if is_urgent(e)]
        if len(urgent) > cap:  # a flood (a new feed, a site glitch): one post, not hundreds
            out.append(build_urgent_batch(urgent, destination, ctx, cap))
        else:
            for event in urgent:
                alert = build_agenda_alert if event["type"] == "agenda" else build_urgent
                out.append(alert(event, destination, ctx))
        out += [build_reminder(item, destination, ctx, 1) for item in due_tomorrow]
        out += [build_agenda_reminder(row, destination, ctx) for row in meetings_tomorrow]
    return out


def refresh_calendar(job: Job) -> bool:
    """Rewrite the `calendar:` file of sources.yaml (if set) when its content changed.

    True when written. A file that cannot be written is logged, never raised: the poll that
    came before it has succeeded all the same.
    """
    settings = job.config.calendar
    if settings is None:
        return False
    from monitor.ical import calendar_feed, write_if_changed

    path = Path(settings.path)
    try:
        return write_if_changed(path, calendar_feed(job.store, job.context, settings.days))
    except OSError as e:
        log.error("calendar: cannot write %s (%s); check the folder exists and is writable", path, e)
        return False


def health_digests(job: Job) -> list[Digest]:
    """Source health alerts for the ops destination: failures, recoveries, staleness."""
    from monitor.digest import Section
    from monitor.health import health_alerts

    notify = job.config.notify
    states = {r["source"]: r for r in job.store.source_health_rows()}
    sent = job.store.delivery_periods("health", notify.ops)
    alerts = health_alerts(
        job.config.sources, states, sent, now(),
        after_failures=notify.alert_after_failures, stale_after=notify.stale_after_intervals,
    )  # fmt: skip
    return [
        Digest("health", a.period, notify.ops, a.title, [Section("소스 상태", [], note=a.text)])
        for a in alerts
    ]


def send_all(job: Job, digests: list[Digest]) -> list[DeliveryOutcome]:
    """Deliver digests; one destination failing never stops the others."""
    outcomes = []
    for digest in digests:
        try:
            transport = job.transport(digest.destination)
            outcomes.append(deliver(job.store, digest, transport))
        except DeliveryError as e:
            log.error("delivery %s: %s", digest.key, e)
            outcomes.append(DeliveryOutcome(None, digest.key, "failed", str(e)))
    return outcomes


def run_alerts(job: Job) -> list[DeliveryOutcome]:
    """Post urgent alerts, D-1 reminders and source health alerts, through a real transport only.

    Without Slack or e-mail there is nobody to alert: items stay for the daily digest, and
    source health shows in its footer and in `monitor status`.
    """
    candidates = alert_digests(job) + health_digests(job)
    digests = [d for d in candidates if not isinstance(job.transport(d.destination), ConsoleTransport)]

    return send_all(job, digests)


def retry_unfinished(job: Job, now_ok: bool = False) -> list[DeliveryOutcome]:
    """Retry every pending (or interrupted) delivery whose time has come (or now, when asked)."""
    outcomes = []
    for row in job.store.unfinished_deliveries():
        if not job.takes(row["destination"]):
            continue
        try:
            transport = job.transport(row["destination"])
        except DeliveryError as e:
            outcomes.append(DeliveryOutcome(row["id"], row["destination"], "failed", str(e)))
            continue
        if isinstance(transport, ConsoleTransport):
            continue
        outcomes.append(send(job.store, row, transport, now_ok=now_ok))
    return outcomes



def resend(job: Job, delivery_id: int, force: bool = False) -> DeliveryOutcome:
    """Send a ledger row again on purpose (an `unconfirmed` one someone checked, say).

    The destination is resolved before the row is touched, so a destination renamed since is
    a one-line DeliveryError and the row stays as it was. A `sent` row is sent again only with
    `force`; a `sending` row is looked up first, as any retry.
    """
    row = job.store.delivery(delivery_id)
    if row is None:
        raise DeliveryError(
            f"전송 기록 #{delivery_id} 이(가) 없습니다 (`monitor deliveries` 로 번호를 확인하세요)"
        )
    transport = job.transport(row["destination"])
    if row["status"] == "sent" and not force:
        raise DeliveryError(
            f"전송 기록 #{delivery_id} 은(는) {row['sent_at'] or ''} 에 이미 보냈습니다 "
            "(받았다는 확인이 있음); 정말 한 번 더 보내려면 --force 를 붙이세요"
        )
    if isinstance(transport, ConsoleTransport):
        raise DeliveryError(
            f"보낼 곳 '{row['destination']}' 의 Slack·e-mail 설정이 없습니다 (SLACK_BOT_TOKEN, SMTP_HOST 등)"
        )
    if row["payload"] is None:  # retention dropped what a sent row carried (`retention.payload_days`)
        raise DeliveryError(
            f"전송 기록 #{delivery_id} 의 내용은 보존 기간(retention.payload_days)이 지나 지웠습니다: "
            "다시 보낼 수 없습니다 (기록과 키는 남아 있어 중복 전송은 막힙니다)"
        )
    restart = row["status"] in ("unconfirmed", "sent")
    return send(job.store, row, transport, force=force, now_ok=True, restart=restart)
