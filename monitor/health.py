"""Source health from the runs and source_state tables (pure once the rows are read)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.text import parse_datetime


@dataclass(frozen=True)
class SourceHealth:
    """One enabled source: working or failing, since when, and why."""

    id: str
    name: str
    ok: bool
    failing_days: int = 0  # 1 = failing since today
    error: str | None = None
    never_run: bool = False
    failures: int = 0  # consecutive
    stale: bool = False  # no success for stale_after × interval
    last_success_at: str | None = None


def idle_seconds(state: Mapping[str, Any], now: datetime) -> float | None:
    """Seconds since the source last succeeded (None if it never did)."""
    last = parse_datetime(state.get("last_success_at"))
    return (now - last).total_seconds() if last else None


def assess(
    sources: Iterable[Any], states: Mapping[str, Mapping[str, Any]], now: datetime, stale_after: float = 3.0
) -> list[SourceHealth]:
    """Health of every enabled source from its state row (a source never polled counts as ok)."""
    out = []
    for source in sources:
        if not source.enabled:
            continue
        state = states.get(source.id) or {}
        if not state:
            out.append(SourceHealth(source.id, source.name, True, never_run=True))
            continue
        failures = int(state.get("consecutive_failures") or 0)
        idle = idle_seconds(state, now)
        stale = idle is not None and idle > source.interval_seconds * stale_after
        days = 0
        if failures:
            since = parse_datetime(state.get("failing_since") or state.get("last_run_at"))
            days = max((now.date() - since.date()).days + 1, 1) if since else 1
        out.append(SourceHealth(
            source.id, source.name, failures == 0, days, state.get("last_error") if failures else None,
            failures=failures, stale=stale, last_success_at=state.get("last_success_at"),
        ))  # fmt: skip
    return out


@dataclass(frozen=True)
class Status:
    """`monitor status`: 0 healthy, 1 degraded, 2 failing, with the reasons."""

    code: int
    sources: list[SourceHealth]
    unfinished: list[Mapping[str, Any]]

    @property
    def word(self) -> str:
        """healthy | degraded | failing."""
        return ("healthy", "degraded", "failing")[self.code]


def status(
    health: list[SourceHealth], unfinished: list[Mapping[str, Any]], after_failures: int = 3
) -> Status:
    """Failing when a source reached the alert threshold or a delivery keeps failing; degraded on
    any failure, staleness or delivery still waiting."""
    code = 0
    for h in health:
        code = max(code, 2 if h.failures >= after_failures else (1 if h.failures or h.stale else 0))
    for d in unfinished:
        code = max(code, 2 if d["attempts"] >= 3 or d["status"] == "unconfirmed" else 1)
    return Status(code, health, unfinished)


def health_line(health: list[SourceHealth]) -> str:
    """The digest footer: `정상 14/15 · 국회입법예고 3일째 실패`."""
    ok = sum(h.ok for h in health)
    parts = [f"정상 {ok}/{len(health)}"]
    parts += [f"{h.name} {h.failing_days}일째 실패" for h in health if not h.ok]
    return " · ".join(parts)


def failing(health: list[SourceHealth]) -> list[SourceHealth]:
    """The sources that are failing now."""
    return [h for h in health if not h.ok]


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
            streaks = sorted(
                p.split("|")[2] for p in sent if p.startswith(f"{source.id}|fail|") and p.count("|") == 3
            )
            if streaks and f"{source.id}|recovered|{streaks[-1]}" not in sent:
                alerts.append(_recovery_alert(source, streaks[-1]))
        idle = idle_seconds(state, now)
        if idle is not None and idle > source.interval_seconds * stale_after:
            alert = _stale_alert(source, state, idle / 3600)
            if alert.period not in sent:
                alerts.append(alert)

    return alerts
