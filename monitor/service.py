"""`monitor run`: APScheduler 3.x wiring, config reload, a single-instance lock, clean shutdown."""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import NotifyConfig, RuleSet, Settings, SourcesFile, load_rules, load_sources
from monitor.crontab import schedule_lines, trigger
from monitor.digest import Digest, Section
from monitor.errors import ConfigError, MonitorError, StoreError
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
from monitor.store import (
    DatabaseGone,
    Store,
    folder_fix,
    gone_message,
    lock_path,
    process_user,
    swapped_message,
)
from monitor.text import SEOUL, now

log = logging.getLogger(__name__)

# Executors: polls have their own threads, so sources that hang (up to every poll thread) never
# starve the digests, deliveries and the service's own checks, which run on the default pool.
POLL_THREADS = 4
DEFAULT_THREADS = 4
JOB_DEFAULTS = {
    # explicit: APScheduler's default misfire_grace_time of 1 s silently skips a late job
    "coalesce": True,
    "max_instances": 1,
    "misfire_grace_time": 600,
}
POLL_GRACE = 900  # a poll up to 15 minutes late still runs
DIGEST_GRACE = 4 * 3600  # a digest up to 4 hours late still goes out
CHECK_EVERY = 60  # seconds between config mtime checks
PRUNE_CRON = "40 3 * * *"  # retention, daily at a quiet hour (Asia/Seoul)
DELIVERY_EVERY = 600  # seconds between retries of pending deliveries
CATCH_UP_DELAY = 10  # seconds after start before a missed digest runs
GUARD_EVERY = 5  # seconds between checks that the DB file is still the one the service opened
# After SIGTERM a running poll gets this long to finish before it is abandoned (rolled back, its
# run marked aborted): under `docker stop`'s default 10 s, with room for the exit itself.
STOP_GRACE = 7.0
# jobs whose function records each run itself (`job:digest:KIND`, see digest_job)
SELF_RECORDED = ("digest:", "catch-up:")


class LockError(MonitorError):
    """Another `monitor run` holds the lock on this database."""


class ServiceLock:
    """The held lock file: the holder's pid on the first line, the DB's identity on the second.

    The identity outlives the service: a later start that finds an identity but no DB knows the
    DB vanished (and stops) rather than taking a missing file for a first start.
    """

    def __init__(self, path: Path, fh: TextIO, remembered: str | None) -> None:
        self.path = path
        self.remembered = remembered  # the DB id a previous service wrote here, if any
        self._fh = fh

    def remember(self, db_id: str | None) -> None:
        """Write our pid and the DB's id into the lock file."""
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(f"{os.getpid()}\n{db_id or ''}\n")
        self._fh.flush()


@contextmanager
def single_instance(db: Path) -> Iterator[ServiceLock]:
    """Hold an exclusive lock beside the DB's resolved path for as long as the service runs.

    A lock file that cannot be created or opened is a StoreError naming it, the user and the fix.
    """
    path = lock_path(db)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = path.open("a+")
    except OSError as e:
        raise StoreError(
            f"잠금 파일 {path} 을(를) 만들 수 없습니다 ({e.strerror}; 실행 사용자 {process_user()}): "
            f"{folder_fix(path.parent)}"
        ) from None
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = (fh.read().split() or ["?"])[0]
        fh.close()
        raise LockError(
            f"another `monitor run` (pid {holder}) is already using {db}; stop it first, "
            "or point this one at another database with --db"
        ) from None
    fh.seek(0)
    lines = fh.read().splitlines()
    lock = ServiceLock(path, fh, lines[1].strip() or None if len(lines) > 1 else None)
    lock.remember(lock.remembered)
    try:
        yield lock
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def open_service_db(db: Path, remembered: str | None) -> str:
    """Create or migrate the service's DB and return its identity.

    A DB that a previous service used (its id in the lock file) but that is no longer there is
    not created again: a new empty DB would re-send every recent alert (issue 17.3).
    """
    if remembered and not db.exists():
        raise DatabaseGone(gone_message(db, remembered))
    store = Store(db)
    try:
        return store.identity or ""
    finally:
        store.close()


def _inode(path: Path) -> tuple[int, int] | None:
    """(device, inode) of a file, None when there is none: a new file at the path differs."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _mtimes(settings: Settings) -> tuple[tuple[str, float], ...]:
    files = [settings.sources]
    if settings.rules.is_dir():
        files += sorted([*settings.rules.glob("*.yaml"), *settings.rules.glob("*.yml")])
    else:
        files.append(settings.rules)
    return tuple((str(f), f.stat().st_mtime) for f in files if f.exists())


class Runtime:
    """The service's current, validated config and the things built from it."""

    def __init__(self, settings: Settings, db_id: str | None = None) -> None:
        self.settings = settings
        self.lock = threading.Lock()
        self.config, self.ruleset = self._load()
        self.matcher = Matcher(self.ruleset)
        self.client = HttpClient(self.config.http)
        self.mtimes = _mtimes(settings)
        self.active = 0
        self.running: dict[str, int] = {}  # job name → how many run now (poll:<source> …)
        self.scheduler: BaseScheduler | None = None
        # the identity of the DB the service opened: jobs open exactly that DB, never a new one
        self.db_id = db_id
        self.db_inode = _inode(settings.db)
        self.fatal: StoreError | None = None  # why the service stopped itself
        self.failed_jobs: set[str] = set()  # jobs whose last run failed (an `ok` run ends it)

    def _load(self) -> tuple[SourcesFile, RuleSet]:
        config = load_sources(self.settings.sources)
        return config, load_rules(self.settings.rules, {s.id for s in config.sources})

    @contextmanager
    def job(self, name: str) -> Iterator[Store]:
        """Count a running job and give it its own connection to the service's own DB.

        A DB that vanished or was replaced stops the service (`stop_fatal`) instead of letting
        the job create a new one.
        """
        with self.lock:
            self.active += 1
            self.running[name] = self.running.get(name, 0) + 1
        try:
            store = self.open_store()
            try:
                yield store
            finally:
                store.close()
        finally:
            with self.lock:
                self.active -= 1
                self.running[name] -= 1

    def open_store(self) -> Store:
        """A connection to the DB the service started on (any DB when started without one)."""
        if self.db_id is None:
            return Store(self.settings.db)
        try:
            return Store(self.settings.db, mode="existing", expect_id=self.db_id)
        except DatabaseGone as e:
            self.stop_fatal(e)
            raise

    def stop_fatal(self, error: StoreError) -> None:
        """Stop the service because its DB is gone: loudly, once, with the one-line reason."""
        with self.lock:
            if self.fatal is not None:
                return
            self.fatal = error
        log.critical("stopping: %s", error)
        if self.scheduler is not None:
            with suppress(SchedulerNotRunningError):
                self.scheduler.shutdown(wait=False)

    def check_db(self) -> None:
        """The guard job: the DB file must still be the one the service opened.

        A stat every few seconds. No file stops the service; so does another file at the path,
        whatever its id: the running DB's `-wal` would be read into it (SQLite ties the two by
        name only).
        """
        inode = _inode(self.settings.db)
        if inode == self.db_inode:
            return
        db = self.settings.db
        message = gone_message(db, self.db_id or "?") if inode is None else swapped_message(db)
        self.stop_fatal(DatabaseGone(message))

    def polls_running(self) -> list[str]:
        """Sources whose poll job runs now."""
        with self.lock:
            return [n.removeprefix("poll:") for n, c in self.running.items() if c and n.startswith("poll:")]

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


def _db_guarded(func: Callable[..., None]) -> Callable[..., None]:
    """A job whose DB cannot be opened logs one line and ends: there is nothing to record the
    failure into (`monitor status` reports the DB itself), and a vanished DB stops the service."""

    @functools.wraps(func)
    def job(runtime: Runtime, *args: Any, **kwargs: Any) -> None:
        try:
            func(runtime, *args, **kwargs)
        except StoreError as e:
            if runtime.fatal is None:
                log.error("%s%s: %s", func.__name__, list(args) or "", e)

    return job


@_db_guarded
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


@_db_guarded
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


@_db_guarded
def deliveries_job(runtime: Runtime) -> None:
    """Retry pending deliveries and post alerts that are due (e.g. D-1 reminders)."""
    with runtime.job("deliveries") as store:
        job = runtime.make_job(store)
        retry_unfinished(job)
        run_alerts(job)


@_db_guarded
def prune_job(runtime: Runtime) -> None:
    """Apply `retention:` once a day (small transactions; freed pages go back to the file)."""
    from monitor.retention import prune

    if not runtime.config.retention.enabled:
        return
    with runtime.job("prune") as store:
        prune(store, runtime.config.retention)


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
            executor="polls",
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
    scheduler.add_job(
        prune_job, trigger(PRUNE_CRON, SEOUL), args=[runtime], id="prune", name="보존 기간 정리",
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
    executors = {"default": ThreadPoolExecutor(DEFAULT_THREADS), "polls": ThreadPoolExecutor(POLL_THREADS)}
    scheduler = cls(timezone=SEOUL, job_defaults=dict(JOB_DEFAULTS), executors=executors)
    runtime.scheduler = scheduler
    schedule(scheduler, runtime)
    scheduler.add_job(
        runtime.reload, IntervalTrigger(seconds=CHECK_EVERY, timezone=SEOUL), id="service:reload",
        name="설정 변경 확인",
    )  # fmt: skip
    if runtime.db_id is not None:
        scheduler.add_job(
            runtime.check_db, IntervalTrigger(seconds=GUARD_EVERY, timezone=SEOUL), id="service:guard",
            name="DB 파일 확인",
        )  # fmt: skip
    scheduler.add_listener(_listener(runtime), EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_EXECUTED)
    return scheduler


def _listener(runtime: Runtime) -> Callable[[JobExecutionEvent], None]:
    def on_event(event: JobExecutionEvent) -> None:
        if runtime.fatal is not None:
            return  # stopping: the DB is gone, there is nothing to record into
        if event.code == EVENT_JOB_EXECUTED:
            if event.job_id not in runtime.failed_jobs:
                return
            what, error = "ok", None  # a job that failed works again: end its streak
        else:
            what = "missed" if event.code == EVENT_JOB_MISSED else "failed"
            error = f"{type(event.exception).__name__}: {event.exception}" if event.exception else what
            log.error("job %s %s: %s", event.job_id, what, error)
        if event.job_id.startswith(SELF_RECORDED) and what != "missed":
            return  # digest_job wrote its own run row (ok or failed)
        try:
            with runtime.job("listener") as store, store.atomic():
                run_id = store.begin_run(f"job:{event.job_id}")
                store.finish_run(run_id, what, error=error)
            (runtime.failed_jobs.discard if what == "ok" else runtime.failed_jobs.add)(event.job_id)
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


def run(settings: Settings, out: TextIO, grace: float = STOP_GRACE, web_socket: Any = None) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code.

    `web_socket`: a bound socket (monitor.web.serve.bind) to serve the read-only web view on,
    in a thread of this process, on the same DB (`monitor run --web`); it stops with the service.

    Raises StoreError (one line) when the DB or its lock cannot be used, or when the DB vanished
    or was replaced while the service ran.
    """
    with single_instance(settings.db) as lock:
        runtime = Runtime(settings)
        # create or migrate the DB before the first job, and learn its identity
        runtime.db_id = open_service_db(settings.db, lock.remembered)
        runtime.db_inode = _inode(settings.db)
        lock.remember(runtime.db_id)
        with runtime.job("service:start") as store:
            runtime.failed_jobs = {j["job"].removeprefix("job:") for j in store.failing_jobs()}
            # runs left open by a process that died (kill -9, power): nothing of this service
            # runs yet, so none of them is live; closing them keeps `status` from calling them stuck
            left = sorted({r["source"] for r in store.open_runs()})
            store.abort_runs(left, "the process stopped during this run (found when the service started)")
        scheduler = build_scheduler(runtime)
        web = _web_server(runtime, web_socket) if web_socket is not None else None

        stopping = threading.Event()

        def stop(signum: int, frame: Any) -> None:
            log.warning("signal %s: stopping (a running poll finishes or is rolled back)", signum)
            stopping.set()  # a signal before the scheduler started: do not start it
            if web is not None:  # open requests end alongside the running jobs, within the grace
                web.server.should_exit = True
            with suppress(SchedulerNotRunningError):
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
        if web is not None:
            web.start()
            out.write(f"웹 보기: {web.url}\n")
        out.flush()
        if not stopping.is_set():
            scheduler.start()  # blocks until a signal (or a vanished DB) shuts it down
        if web is not None and not web.stop(timeout=min(grace, 3.0)):
            log.warning("the web view did not stop within %.0f s; it ends with the process", min(grace, 3.0))
        return _finish(runtime, out, grace)


def _web_server(runtime: Runtime, sock: Any) -> Any:
    """The web view on the service's DB and its current (reloaded) config, not started yet."""
    from monitor.web.app import create_app
    from monitor.web.auth import token_from_env
    from monitor.web.serve import WebServer

    app = create_app(runtime.settings, lambda: (runtime.config, runtime.ruleset), token_from_env(os.environ))
    return WebServer(app, sock)


def _finish(runtime: Runtime, out: TextIO, grace: float) -> int:
    """Let running jobs end within the grace, then leave: 0 after a signal, StoreError when the
    DB vanished. A poll still running is abandoned: SQLite discards its uncommitted transaction,
    and its run row is closed here as aborted (or at the next start, if the DB is busy)."""
    deadline = time.monotonic() + grace
    while runtime.active and time.monotonic() < deadline:
        time.sleep(0.1)
    if runtime.active:
        log.warning("leaving %d unfinished job(s); their uncommitted writes are discarded", runtime.active)
        if runtime.fatal is None:
            _abort_open_polls(runtime)
        else:
            sys.stderr.write(f"Error: {runtime.fatal}\n")
        sys.stdout.flush()
        logging.shutdown()
        os._exit(2 if runtime.fatal is not None else 0)
    if runtime.fatal is not None:
        raise runtime.fatal
    out.write("policy-monitor 서비스 종료\n")
    return 0


def _abort_open_polls(runtime: Runtime) -> None:
    """Mark the runs of abandoned polls aborted, so the stop leaves no run `running`."""
    sources = runtime.polls_running()
    try:
        store = runtime.open_store()
        try:
            store.abort_runs(sources, "the service stopped (SIGTERM) during this poll; nothing was stored")
        finally:
            store.close()
    except Exception as e:  # the DB is busy or gone: the next start closes these runs
        log.warning("could not mark the abandoned polls %s aborted: %s", sources, e)


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
