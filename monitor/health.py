"""Source health from the runs and source_state tables (pure once the rows are read)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
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


def assess(
    sources: Iterable[Any], states: Mapping[str, Mapping[str, Any]], today: date
) -> list[SourceHealth]:
    """Health of every enabled source from its state row (a source never polled counts as ok)."""
    out = []
    for source in sources:
        if not source.enabled:
            continue
        state = states.get(source.id) or {}
        failures = int(state.get("consecutive_failures") or 0)
        if not state:
            out.append(SourceHealth(source.id, source.name, True, never_run=True))
            continue
        if failures == 0:
            out.append(SourceHealth(source.id, source.name, True))
            continue
        since = parse_datetime(state.get("failing_since") or state.get("last_run_at"))
        days = (today - since.date()).days + 1 if since else 1
        out.append(SourceHealth(source.id, source.name, False, max(days, 1), state.get("last_error")))
    return out


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


def _error_key(error: str | None) -> str:
    import hashlib

    return hashlib.sha256((error or "").encode("utf-8")).hexdigest()[:10]


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
        last_success = parse_datetime(state.get("last_success_at"))
        if last_success is not None:
            idle = (now - last_success).total_seconds()
            alert = _stale_alert(source, state, idle / 3600)
            if idle > source.interval_seconds * stale_after and alert.period not in sent:
                alerts.append(alert)
    return alerts
