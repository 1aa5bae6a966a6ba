"""`monitor run`: APScheduler 3.x wiring, config reload, a single-instance lock, clean shutdown."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import NotifyConfig, RuleSet, Settings, SourcesFile, load_rules, load_sources
from monitor.crontab import schedule_lines, trigger
from monitor.digest import Digest, Section
from monitor.errors import ConfigError, MonitorError
from monitor.http import HttpClient
from monitor.ingest import poll_source
from monitor.jobs import (
    Job,
    daily_digests,
    refresh_calendar,
    retry_unfinished,
    run_alerts,
    send_all,
    weekly_digests,
)
from monitor.rules import Matcher
from monitor.store import Store
from monitor.text import SEOUL, now

log = logging.getLogger(__name__)

JOB_DEFAULTS = {
    # explicit: APScheduler's default misfire_grace_time of 1 s silently skips a late job
    "coalesce": True,
    "max_instances": 1,
    "misfire_grace_time": 600,
}
POLL_GRACE = 900  # a poll up to 15 minutes late still runs
DIGEST_GRACE = 4 * 3600  # a digest up to 4 hours late still goes out
CHECK_EVERY = 60  # seconds between config mtime checks
DELIVERY_EVERY = 600  # seconds between retries of pending deliveries
CATCH_UP_DELAY = 10  # seconds after start before a missed digest runs


class LockError(MonitorError):
    """Another `monitor run` holds the lock on this database."""


@contextmanager
def single_instance(db: Path) -> Iterator[Path]:
    """Hold an exclusive lock next to the DB for as long as the service runs."""
    path = db.with_name(db.name + ".lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = path.open("a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "?"
        fh.close()
        raise LockError(
            f"another `monitor run` (pid {holder}) is already using {db}; stop it first, "
            "or point this one at another database with --db"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    try:
        yield path
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def _mtimes(settings: Settings) -> tuple[tuple[str, float], ...]:
    files = [settings.sources]
    if settings.rules.is_dir():
        files += sorted([*settings.rules.glob("*.yaml"), *settings.rules.glob("*.yml")])
    else:
        files.append(settings.rules)
    return tuple((str(f), f.stat().st_mtime) for f in files if f.exists())


class Runtime:
    """The service's current, validated config and the things built from it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self.config, self.ruleset = self._load()
        self.matcher = Matcher(self.ruleset)
        self.client = HttpClient(self.config.http)
        self.mtimes = _mtimes(settings)
        self.active = 0
        self.scheduler: BaseScheduler | None = None

    def _load(self) -> tuple[SourcesFile, RuleSet]:
        config = load_sources(self.settings.sources)
        return config, load_rules(self.settings.rules, {s.id for s in config.sources})

    @contextmanager
    def job(self, name: str) -> Iterator[Store]:
        """Count a running job and give it its own DB connection."""
        with self.lock:
            self.active += 1
        store = Store(self.settings.db)
        try:
            yield store
        finally:
            store.close()
            with self.lock:
                self.active -= 1

    def make_job(self, store: Store, day: date | None = None) -> Job:
        """A delivery Job on the current config (for today, or the day a late digest was due)."""
        return Job(store, self.config, self.ruleset, day or now().date())

    def reload(self, force: bool = False) -> bool:
        """Pick up changed config; an invalid change keeps the last good one and alerts once."""
        mtimes = _mtimes(self.settings)
        if mtimes == self.mtimes and not force:
            return False
        self.mtimes = mtimes
        try:
            config, ruleset = self._load()
        except ConfigError as e:
            log.error("config change rejected; still running on the last good config: %s", e)
            self._config_alert(str(e))
            return False
        with self.lock:
            self.config, self.ruleset = config, ruleset
            self.matcher = Matcher(ruleset)
            self.client = HttpClient(config.http)
        if self.scheduler is not None:
            schedule(self.scheduler, self)
        log.info("config reloaded: %d sources, %d topics", len(config.sources), len(ruleset.topics))
        return True

    def _config_alert(self, error: str) -> None:
        key = hashlib.sha256(error.encode("utf-8")).hexdigest()[:12]
        ops = self.config.notify.ops
        text = f"설정 변경을 적용하지 못해 이전 설정으로 계속 동작합니다. 파일을 고쳐 주세요:\n{error}"
        digest = Digest("health", f"config|{key}", ops, "⚠️ 설정 오류", [Section("설정 오류", [], note=text)])
        with self.job("config-alert") as store:
            job = self.make_job(store)
            if job.transport(ops).name != "console":
                send_all(job, [digest])


# --- jobs ---------------------------------------------------------------------------------------


def poll_job(runtime: Runtime, source_id: str) -> None:
    """Poll one source, then post what is urgent (alerts, reminders, source health)."""
    source = next((s for s in runtime.config.sources if s.id == source_id), None)
    if source is None or not source.enabled:
        return
    with runtime.job(f"poll:{source_id}") as store:
        poll_source(source, store, runtime.client, runtime.matcher)
        job = runtime.make_job(store)
        run_alerts(job)
        refresh_calendar(job)  # the `calendar:` feed, when sources.yaml names one


def digest_job(runtime: Runtime, kind: str, day: date | None = None) -> None:
    """Send the daily digest or the weekly summary (pending ones from earlier first).

    Each run is recorded in `runs` as `job:digest:KIND`, so a restart knows whether today's
    scheduled run happened (see `missed_digests`). `day` is the day a late digest was due.
    """
    with runtime.job(f"digest:{kind}") as store:
        run_id = store.begin_run(f"job:digest:{kind}")
        try:
            job = runtime.make_job(store, day)
            retry_unfinished(job)
            send_all(job, daily_digests(job) if kind == "daily" else weekly_digests(job))
        except Exception as e:
            store.finish_run(run_id, "failed", error=f"{type(e).__name__}: {e}")
            raise
        store.finish_run(run_id, "ok")


def deliveries_job(runtime: Runtime) -> None:
    """Retry pending deliveries and post alerts that are due (e.g. D-1 reminders)."""
    with runtime.job("deliveries") as store:
        job = runtime.make_job(store)
        retry_unfinished(job)
        run_alerts(job)


def schedule(scheduler: BaseScheduler, runtime: Runtime) -> None:
    """(Re)build every job from the current config: memory job store, nothing pickled."""
    for job in scheduler.get_jobs():
        if not job.id.startswith("service:"):
            job.remove()
    config = runtime.config
    start = now()
    for index, source in enumerate(s for s in config.sources if s.enabled):
        interval = source.interval_seconds
        scheduler.add_job(
            poll_job,
            IntervalTrigger(seconds=interval, jitter=min(300, interval // 10), timezone=SEOUL),
            args=[runtime, source.id],
            id=f"poll:{source.id}",
            name=f"수집 {source.name}",
            misfire_grace_time=POLL_GRACE,
            # first polls right after start, a few seconds apart
            next_run_time=start + timedelta(seconds=5 + 3 * index),
        )
    for kind, schedule_cfg in (("daily", config.notify.daily), ("weekly", config.notify.weekly)):
        if schedule_cfg.enabled:
            scheduler.add_job(
                digest_job,
                trigger(schedule_cfg.cron, SEOUL),  # standard crontab meaning (1 = Monday)
                args=[runtime, kind],
                id=f"digest:{kind}",
                name="일일 다이제스트" if kind == "daily" else "주간 요약",
                misfire_grace_time=DIGEST_GRACE,
            )
    scheduler.add_job(
        deliveries_job, IntervalTrigger(seconds=DELIVERY_EVERY, timezone=SEOUL), args=[runtime],
        id="deliveries", name="전송 재시도·알림",
    )  # fmt: skip


DIGEST_NAMES = {"daily": "일일 다이제스트", "weekly": "주간 요약"}


def digest_schedule_lines(notify: NotifyConfig, start: datetime) -> list[str]:
    """`일일 다이제스트: 12/1 (화) 08:30, …`: the next three fire times of each digest schedule."""
    pairs = (("daily", notify.daily), ("weekly", notify.weekly))
    return schedule_lines([(DIGEST_NAMES[k], c.cron, c.enabled) for k, c in pairs], SEOUL, start)


def missed_digests(runtime: Runtime, start: datetime) -> list[tuple[str, datetime]]:
    """Digests whose fire time passed less than DIGEST_GRACE before a start and did not run.

    APScheduler's memory job store computes the first fire time from the moment a job is added,
    so a service started at 08:32 would never see the 08:30 fire: misfire_grace_time applies
    only to a fire time the scheduler knew about. A run counts as done when a `job:digest:KIND`
    run row started at or after the fire time (a restart after the digest sends nothing again;
    the ledger would refuse a second daily of the same date anyway).
    """
    out = []
    notify = runtime.config.notify
    with runtime.job("catch-up") as store:
        for kind, cfg in (("daily", notify.daily), ("weekly", notify.weekly)):
            if not cfg.enabled:
                continue
            trig, previous, fire = trigger(cfg.cron, SEOUL), None, None
            moment = start - timedelta(seconds=DIGEST_GRACE)
            while (when := trig.get_next_fire_time(previous, moment)) is not None and when <= start:
                fire, previous, moment = when, when, when
            if fire is None:
                continue
            (last,) = store.db.execute(
                "SELECT MAX(started_at) FROM runs WHERE source = ?", [f"job:digest:{kind}"]
            ).fetchone()
            if last is None or datetime.fromisoformat(last) < fire:
                out.append((kind, fire))
    return out


def schedule_missed(scheduler: BaseScheduler, runtime: Runtime, start: datetime) -> list[str]:
    """Run at start every digest a late start missed (within DIGEST_GRACE); returns log lines."""
    lines = []
    enabled = sum(s.enabled for s in runtime.config.sources)
    for kind, fire in missed_digests(runtime, start):
        # after the first polls have started (they begin 5 s after start, 3 s apart)
        when = start + timedelta(seconds=CATCH_UP_DELAY + 3 * enabled)
        scheduler.add_job(
            digest_job, args=[runtime, kind], kwargs={"day": fire.date()}, id=f"catch-up:{kind}",
            name=f"{DIGEST_NAMES[kind]} (늦은 시작)", next_run_time=when,
            misfire_grace_time=DIGEST_GRACE,
        )  # fmt: skip
        late = int((start - fire).total_seconds() // 60)
        lines.append(
            f"{DIGEST_NAMES[kind]}: {fire:%m/%d %H:%M} 예정이던 것을 {late}분 늦게 시작해 곧 보냅니다"
        )
    return lines


def build_scheduler(runtime: Runtime, blocking: bool = True) -> BaseScheduler:
    """The scheduler with explicit defaults, the listeners and the config watcher."""
    from apscheduler.schedulers.background import BackgroundScheduler

    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(
        timezone=SEOUL, job_defaults=dict(JOB_DEFAULTS), executors={"default": ThreadPoolExecutor(4)}
    )
    runtime.scheduler = scheduler
    schedule(scheduler, runtime)
    scheduler.add_job(
        runtime.reload, IntervalTrigger(seconds=CHECK_EVERY, timezone=SEOUL), id="service:reload",
        name="설정 변경 확인",
    )  # fmt: skip
    scheduler.add_listener(_listener(runtime), EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def _listener(runtime: Runtime) -> Callable[[JobExecutionEvent], None]:
    def on_event(event: JobExecutionEvent) -> None:
        what = "missed" if event.code == EVENT_JOB_MISSED else "failed"
        error = f"{type(event.exception).__name__}: {event.exception}" if event.exception else what
        log.error("job %s %s: %s", event.job_id, what, error)
        try:
            with runtime.job("listener") as store, store.atomic():
                run_id = store.begin_run(f"job:{event.job_id}")
                store.finish_run(run_id, what, error=error)
        except Exception:  # the listener must never take the scheduler down
            log.exception("could not record the %s job %s", what, event.job_id)

    return on_event


def describe(scheduler: BaseScheduler) -> list[tuple[str, str, str]]:
    """(job id, name, next run in KST) for the start-up schedule."""
    rows = []
    for job in sorted(scheduler.get_jobs(), key=lambda j: j.id):
        when = getattr(job, "next_run_time", None) or job.trigger.get_next_fire_time(None, now())
        rows.append(
            (job.id, job.name, when.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M:%S KST") if when else "-")
        )
    return rows


def run(settings: Settings, out: TextIO, grace: float = 20.0) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    with single_instance(settings.db):
        runtime = Runtime(settings)
        Store(settings.db).close()  # create or migrate the DB before the first job
        scheduler = build_scheduler(runtime)

        def stop(signum: int, frame: Any) -> None:
            log.warning("signal %s: stopping (a running poll finishes or is rolled back)", signum)
            scheduler.shutdown(wait=False)

        def hup(signum: int, frame: Any) -> None:
            scheduler.add_job(
                runtime.reload, kwargs={"force": True}, id="service:reload-now", replace_existing=True
            )

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)
        for warning in _start_warnings(runtime):
            out.write(f"경고: {warning}\n")
        started = now()
        late = schedule_missed(scheduler, runtime, started)
        out.write("policy-monitor 서비스 시작 · 예정된 작업:\n")
        for job_id, name, when in describe(scheduler):
            out.write(f"  {when}  {job_id:<28} {name}\n")
        out.write("다이제스트 일정 (다음 3번, 한국 시간):\n")
        for line in digest_schedule_lines(runtime.config.notify, started) + late:
            out.write(f"  {line}\n")
        out.flush()
        scheduler.start()  # blocks until a signal shuts it down
        deadline = time.monotonic() + grace
        while runtime.active and time.monotonic() < deadline:
            time.sleep(0.1)
        if runtime.active:
            # an unfinished poll's transaction is rolled back by SQLite; its run row is marked
            # aborted at the next start
            log.warning(
                "leaving %d unfinished job(s); their uncommitted writes are discarded", runtime.active
            )
            logging.shutdown()
            os._exit(0)
        out.write("policy-monitor 서비스 종료\n")
        return 0


def _start_warnings(runtime: Runtime) -> list[str]:
    from monitor.sources import KINDS

    out = []
    for source in runtime.config.sources:
        if source.enabled:
            kind = KINDS[source.kind]
            out += [
                f"{source.id}: {w}" for w in kind.check(source, kind.Options.model_validate(source.options))
            ]
    return list(dict.fromkeys(out))
