"""Source health from the runs and source_state tables (pure once the rows are read)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.text import parse_stamp

# A poll still open this long after it started is stuck: the HTTP client's deadlines end a
# healthy poll well before, and a run row left `running` by a process that died counts too.
POLL_DEADLINE = timedelta(minutes=30)


@dataclass(frozen=True)
class SourceHealth:
    """One enabled source: working or failing, since when, and why."""

    id: str
    name: str
    ok: bool  # 정상: has succeeded, no failure since, not stale (the one verdict; see `state`)
    failing_days: int = 0  # 1 = failing since today
    error: str | None = None
    never_run: bool = False
    failures: int = 0  # consecutive
    stale: bool = False  # no success for stale_after × interval
    last_success_at: str | None = None

    @property
    def state(self) -> str:
        """ok | never (아직 수집 전) | failing | stale: what status and the digest footer say."""
        if self.never_run:
            return "never"
        if self.failures:
            return "failing"
        return "stale" if self.stale else "ok"

    @property
    def label(self) -> str:
        """The Korean word for the state, as status and the footer show it."""
        return {"ok": "정상", "never": "아직 수집 전", "failing": "실패", "stale": "멈춤"}[self.state]


def idle_seconds(state: Mapping[str, Any], now: datetime) -> float | None:
    """Seconds since the source last succeeded (None if it never did)."""
    last = parse_stamp(state.get("last_success_at"))
    return (now - last).total_seconds() if last else None


def assess(
    sources: Iterable[Any], states: Mapping[str, Mapping[str, Any]], now: datetime, stale_after: float = 3.0
) -> list[SourceHealth]:
    """Health of every enabled source from its state row; a source that has never succeeded
    is not ok (`never_run` when it has no finished poll yet)."""
    out = []
    for source in sources:
        if not source.enabled:
            continue
        state = states.get(source.id) or {}
        if not state:
            out.append(SourceHealth(source.id, source.name, False, never_run=True))
            continue
        failures = int(state.get("consecutive_failures") or 0)
        idle = idle_seconds(state, now)
        stale = idle is not None and idle > source.interval_seconds * stale_after
        days = 0
        if failures:
            since = parse_stamp(state.get("failing_since") or state.get("last_run_at"))
            days = max((now.date() - since.date()).days + 1, 1) if since else 1
        never = not failures and not state.get("last_success_at")
        out.append(SourceHealth(
            source.id, source.name, failures == 0 and not stale and not never, days,
            state.get("last_error") if failures else None, never_run=never,
            failures=failures, stale=stale, last_success_at=state.get("last_success_at"),
        ))  # fmt: skip
    return out


@dataclass(frozen=True)
class StuckRun:
    """A poll whose run is still open past POLL_DEADLINE."""

    source: str
    run_id: int
    started_at: str
    minutes: int


def stuck_runs(rows: Iterable[Mapping[str, Any]], now: datetime, deadline: timedelta = POLL_DEADLINE
               ) -> list[StuckRun]:  # fmt: skip
    """The open runs (status `running`) that started longer ago than the deadline."""
    out = []
    for row in rows:
        started = parse_stamp(row.get("started_at"))
        if started is not None and now - started > deadline:
            minutes = int((now - started).total_seconds() // 60)
            out.append(StuckRun(str(row["source"]), int(row["id"]), str(row["started_at"]), minutes))
    return out


@dataclass(frozen=True)
class Status:
    """`monitor status`: 0 healthy, 1 degraded, 2 failing, with the reasons."""

    code: int
    sources: list[SourceHealth]
    unfinished: list[Mapping[str, Any]]
    stuck: list[StuckRun] = field(default_factory=list)
    jobs: list[Mapping[str, Any]] = field(default_factory=list)  # failing scheduler jobs
    problems: list[str] = field(default_factory=list)  # the DB or lock cannot be written …

    @property
    def word(self) -> str:
        """healthy | degraded | failing."""
        return ("healthy", "degraded", "failing")[self.code]


def status(
    health: list[SourceHealth],
    unfinished: list[Mapping[str, Any]],
    after_failures: int = 3,
    *,
    stuck: list[StuckRun] | None = None,
    jobs: list[Mapping[str, Any]] | None = None,
    problems: list[str] | None = None,
) -> Status:
    """Failing when a source reached the alert threshold, a delivery or a scheduler job keeps
    failing, a poll is stuck past its deadline, or the DB/lock cannot be written; degraded on any
    failure, staleness, source not yet collected, or delivery still waiting."""
    stuck, jobs, problems = list(stuck or []), list(jobs or []), list(problems or [])
    code = 2 if stuck or problems else 0
    for h in health:
        code = max(code, 2 if h.failures >= after_failures else (0 if h.ok else 1))
    for d in unfinished:
        code = max(code, 2 if d["attempts"] >= 3 or d["status"] == "unconfirmed" else 1)
    for j in jobs:
        code = max(code, 2 if int(j["failures"]) >= after_failures else 1)
    return Status(code, health, unfinished, stuck, jobs, problems)


def health_line(health: list[SourceHealth]) -> str:
    """The digest footer: `정상 13/15 · 국회입법예고 3일째 실패 · 고용노동부 공지 아직 수집 전`."""
    ok = sum(h.ok for h in health)
    parts = [f"정상 {ok}/{len(health)}"]
    for h in health:
        if h.state == "failing":
            parts.append(f"{h.name} {h.failing_days}일째 실패")
        elif not h.ok:
            parts.append(f"{h.name} {h.label}")
    return " · ".join(parts)


def failing(health: list[SourceHealth]) -> list[SourceHealth]:
    """The sources that are failing now (not merely waiting for their first poll, or stale)."""
    return [h for h in health if h.failures]


# --- health alerts ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthAlert:
    """A message for the ops destination about one source (ledger kind `health`)."""

    source: str
    period: str  # the ledger key: one alert per distinct error per failure streak
    title: str
    text: str


def _short(error: str | None) -> str:
    return (error or "알 수 없는 오류")[:300]


# What makes two error texts the same failure kind: request numbers, timestamps, session and
# trace ids change on every poll, so they are folded away before hashing; HTTP status codes
# name the kind and stay.
_CHANGING = re.compile(
    r"(?P<status>\b(?:HTTP|status)[ :=]*[1-5]\d\d\b)"  # kept: the status names the kind
    r"|(?P<hex>\b(?=[0-9a-f-]*\d)(?=[0-9a-f-]*[a-f])[0-9a-f]{6,}(?:-[0-9a-f]+)*\b)"  # trace/session ids
    r"|\d+",  # request numbers, times, counts
    re.IGNORECASE,
)


def error_kind(error: str | None) -> str:
    """An error text with its changing numbers and ids folded away (`HTTP 500` stays)."""
    return _CHANGING.sub(lambda m: m["status"] or ("<id>" if m["hex"] else "#"), error or "")


def _error_key(error: str | None) -> str:
    import hashlib

    return hashlib.sha256(error_kind(error).encode("utf-8")).hexdigest()[:10]


def _fail_alert(source: Any, state: Mapping[str, Any], streak: str) -> HealthAlert:
    failures = state.get("consecutive_failures")
    return HealthAlert(
        source.id,
        f"{source.id}|fail|{streak}|{_error_key(state.get('last_error'))}",
        f"⚠️ 소스 장애: {source.name}",
        f"{source.name}({source.id})이(가) {failures}회 연속 실패했습니다. "
        f"오류: {_short(state.get('last_error'))} · 마지막 성공: {state.get('last_success_at') or '없음'}. "
        f"사이트 주소나 형식이 바뀌었는지 확인하고 `monitor poll {source.id}` 로 다시 시도하세요.",
    )


def _recovery_alert(source: Any, streak: str) -> HealthAlert:
    return HealthAlert(
        source.id,
        f"{source.id}|recovered|{streak}",
        f"✅ 복구: {source.name}",
        f"{source.name}({source.id})이(가) 다시 정상입니다 (장애 시작: {streak or '알 수 없음'}).",
    )


def _stale_alert(source: Any, state: Mapping[str, Any], hours: float) -> HealthAlert:
    return HealthAlert(
        source.id,
        f"{source.id}|stale|{state.get('last_success_at')}",
        f"⏳ 소스 멈춤: {source.name}",
        f"{source.name}({source.id})에서 {hours:.0f}시간째 성공한 수집이 없습니다 "
        f"(수집 간격 {source.interval}).",
    )


def health_alerts(
    sources: Iterable[Any],
    states: Mapping[str, Mapping[str, Any]],
    sent_periods: Iterable[str],
    now: Any,
    *,
    after_failures: int = 3,
    stale_after: float = 3.0,
) -> list[HealthAlert]:
    """Alerts due now: N failures in a row (once per distinct error), recovery, staleness."""
    sent = set(sent_periods)
    # each source's alerted failure streaks, gathered once (not a pass over every period per source)
    streaks_of: dict[str, list[str]] = {}
    for period in sent:
        parts = period.split("|")
        if len(parts) == 4 and parts[1] == "fail":
            streaks_of.setdefault(parts[0], []).append(parts[2])
    alerts: list[HealthAlert] = []
    for source in sources:
        state = states.get(source.id) or {}
        if not source.enabled or not state:
            continue
        failures = int(state.get("consecutive_failures") or 0)
        if failures >= after_failures:
            alert = _fail_alert(source, state, state.get("failing_since") or "")
            if alert.period not in sent:
                alerts.append(alert)
        elif failures == 0:
            # a recovery closes the latest failure streak that raised an alert, once
            streaks = sorted(streaks_of.get(source.id, ()))
            if streaks and f"{source.id}|recovered|{streaks[-1]}" not in sent:
                alerts.append(_recovery_alert(source, streaks[-1]))
        idle = idle_seconds(state, now)
        if idle is not None and idle > source.interval_seconds * stale_after:
            alert = _stale_alert(source, state, idle / 3600)
            if alert.period not in sent:
                alerts.append(alert)

    return alerts
