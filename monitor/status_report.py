"""`monitor status` and the web view's /health: read the DB, judge with monitor.health, one JSON shape.

The verdict and its exit code (0 healthy, 1 degraded, 2 failing) are monitor.health.status;
this module only gathers its inputs from the store (opened read-only) and the DB's file state,
so the CLI and the web answer the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config import SourcesFile
from monitor.health import Status, assess, stuck_runs
from monitor.health import status as status_of

DIGEST_KEYS = ("id", "kind", "period", "destination", "status", "sent_at", "last_error")


@dataclass
class StatusReport:
    """What `monitor status` shows: the verdict (None when the DB cannot be read) and its inputs."""

    db: Path
    status: Status | None = None
    error: str | None = None  # the DB could not be opened (missing, damaged …): failing
    digests: list[dict[str, Any]] = field(default_factory=list)
    unfinished: list[dict[str, Any]] = field(default_factory=list)

    @property
    def code(self) -> int:
        """0 healthy, 1 degraded, 2 failing (the exit code of `monitor status`)."""
        return 2 if self.status is None else self.status.code

    @property
    def word(self) -> str:
        """healthy | degraded | failing."""
        return "failing" if self.status is None else self.status.word

    def to_json(self) -> dict[str, Any]:
        """The object `monitor status --json` prints (and /health serves)."""
        db = str(self.db.absolute())
        if self.status is None:
            return {"status": "failing", "db": db, "error": self.error, "sources": [], "digests": [],
                    "unfinished_deliveries": 0}  # fmt: skip
        report = self.status
        return {
            "status": report.word,
            "db": db,
            "problems": list(report.problems),
            "sources": [
                {"id": h.id, "name": h.name, "ok": h.ok, "state": h.state, "consecutive_failures": h.failures,
                 "failing_days": h.failing_days, "stale": h.stale, "never_run": h.never_run,
                 "last_success_at": h.last_success_at, "last_error": h.error}
                for h in report.sources
            ],
            "stuck_polls": [s.__dict__ for s in report.stuck],
            "failing_jobs": [dict(j) for j in report.jobs],
            "digests": [{k: d[k] for k in DIGEST_KEYS} for d in self.digests],
            "unfinished_deliveries": len(self.unfinished),
        }  # fmt: skip


def collect(db: Path, sources: SourcesFile) -> StatusReport:
    """Read the DB read-only (never creating it) and judge its health; never raises for DB trouble."""
    from monitor.store import Store, StoreError, write_problem
    from monitor.text import now

    try:
        store = Store(db, mode="read")
    except StoreError as e:
        return StatusReport(db, error=str(e))
    try:
        states = {r["source"]: r for r in store.source_health_rows()}
        digests = [d for d in store.deliveries(limit=200) if d["kind"] in ("daily", "weekly")][:5]
        unfinished = store.unfinished_deliveries() + store.deliveries(status="unconfirmed")
        open_runs, jobs = store.open_runs(), store.failing_jobs()
    finally:
        store.close()
    problem = write_problem(db)  # the service could not write: polls stop
    notify = sources.notify
    health = assess(sources.sources, states, now(), notify.stale_after_intervals)
    report = status_of(
        health, unfinished, notify.alert_after_failures, stuck=stuck_runs(open_runs, now()), jobs=jobs,
        problems=[problem] if problem else [],
    )  # fmt: skip
    return StatusReport(db, report, digests=digests, unfinished=unfinished)

