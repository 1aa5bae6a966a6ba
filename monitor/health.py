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
