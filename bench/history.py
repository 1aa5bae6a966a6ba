"""Costs against history (issue 18): the same work on an empty DB, a simulated year and 1M items.

The year is written through the store: `ingest.store_batch` for every poll of 30 sources, one
poll per source per simulated day, with the alert check (`jobs.run_alerts`) after each day's
polls and the daily digest (`jobs.daily_digests` + `send_all`) every day, both delivered to a
transport that accepts every post, so the ledger fills as in service. The clock of every
`monitor` module is set to the simulated day while it is written.

1M items: writing a million through the store takes far too long on 2 cores, so the 1M DB is
made from the year by bulk SQL: the year's items, events, matches and matters copied again and
again as earlier years (timestamps moved back a year per copy, ids below the real year's, keys
suffixed), then the real year itself with its runs and ledger.

Each measurement runs in its own process (`python -m bench.history --measure …`), which reports
its wall time and its peak RSS (VmHWM from /proc/self/status).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bench import corpus

SOURCES = 30
ITEMS_PER_POLL_TO_MEASURE = 14
POLLS_TO_MEASURE = 15


class AcceptAll:
    """A transport that takes every post (the ledger records it as sent): no network."""

    name = "slack"
    can_find = False

    def parts(self, payload: dict[str, Any]) -> list[Any]:
        """Slack messages of the payload."""
        return list(payload["slack"])

    def post(self, part: Any, key: str, number: int) -> str:
        """Accept it."""
        return f"{time.time():.6f}"

    def find(self, key: str, number: int, since: datetime) -> str | None:
        """Nothing to look up."""
        return None


def sources_doc() -> dict[str, Any]:
    """sources.yaml for the bench: 30 RSS sources and one Slack destination."""
    return {
        "notify": {"destinations": {"main": {"type": "slack", "channel": "C0BENCH"}}},
        "sources": [
            {"id": f"src-{n:02d}", "kind": "rss", "name": f"소스 {n:02d}", "url": f"http://127.0.0.1:9/{n}"}
            for n in range(SOURCES)
        ],
    }


def _set_clock(moment: datetime | None) -> None:
    """Point every monitor module's `now` at a fixed moment (None: the real clock)."""
    import monitor.text as text

    real = text.__dict__.setdefault("_bench_real_now", text.now)
    fake = real if moment is None else (lambda: moment)
    for name, module in list(sys.modules.items()):
        if name.startswith("monitor") and getattr(module, "now", None) in (
            real,
            getattr(text, "_bench_fake", None),
        ):
            module.now = fake  # type: ignore[attr-defined]
    text._bench_fake = fake  # type: ignore[attr-defined]


_CONFIG: dict[str, Any] = {}


def _job(store: Any, day: date) -> Any:
    """The jobs' Job, with the config and rules read once (the service keeps them loaded too)."""
    from monitor.config import SourcesFile
    from monitor.jobs import Job

    if not _CONFIG:
        _CONFIG.update(config=SourcesFile.model_validate(sources_doc()), rules=corpus.shipped_rules())
    return Job(store, _CONFIG["config"], _CONFIG["rules"], day, make_transport=lambda d: AcceptAll())


def _items(
    pool: list[corpus.CorpusItem], start: int, count: int, stamp: datetime, full_text: bool = False
) -> list[Any]:
    """`count` new items; with `full_text`, each keeps a 3,000-character body as press releases do."""
    from monitor.sources.base import Item

    return [
        Item(
            key=f"https://example.go.kr/view/{n}",
            title=pool[n % len(pool)].title,
            url=f"https://example.go.kr/view/{n}",
            summary=pool[n % len(pool)].summary,
            body=(pool[n % len(pool)].summary * 12)[:3000] if full_text else "",
            published_at=stamp - timedelta(minutes=n % 60),
        )
        for n in range(start, start + count)
    ]


def poll_once(store: Any, sid: str, items: list[Any]) -> None:
    """One poll's store work: the batch through ingest.store_batch (run row, events, matches, matters)."""
    from monitor.config import SourceConfig
    from monitor.ingest import PollOutcome, store_batch
    from monitor.rules import Matcher
    from monitor.sources.base import Batch

    cfg = SourceConfig.model_validate({"id": sid, "kind": "rss", "name": sid, "url": "http://127.0.0.1:9/"})
    state = store.state(sid)
    if not state.get("baseline_at"):
        store.save_state(sid, baseline_at="2000-01-01T00:00:00+09:00")
        state = store.state(sid)
    outcome = PollOutcome(sid, sid, "ok", store.begin_run(sid))
    matcher = _MATCHER.get("m") or _MATCHER.setdefault("m", Matcher(corpus.shipped_rules()))
    store_batch(cfg, store, matcher, Batch(items, http_status=200), state, outcome)


_MATCHER: dict[str, Any] = {}


def build_year(path: Path, total: int, days: int) -> dict[str, Any]:
    """Write `total` items over `days` simulated days (ending yesterday) through the store and jobs."""
    from monitor.jobs import daily_digests, run_alerts, send_all
    from monitor.store import Store
    from monitor.text import tz

    started = time.monotonic()
    pool = corpus.items(20_000, seed=11)
    store = Store(path)
    per_poll = max(1, total // (days * SOURCES))
    n = 0
    today = datetime.now(tz()).date()
    try:
        for back in range(days, 0, -1):
            day = today - timedelta(days=back)
            for s in range(SOURCES):
                moment = datetime.combine(day, datetime.min.time(), tz()) + timedelta(hours=7, minutes=s)
                _set_clock(moment)
                # a third of the sources are press releases that keep their full text
                poll_once(store, f"src-{s:02d}", _items(pool, n, per_poll, moment, full_text=s % 3 == 0))
                n += per_poll
            _set_clock(datetime.combine(day, datetime.min.time(), tz()) + timedelta(hours=8))
            job = _job(store, day)
            run_alerts(job)
            _set_clock(datetime.combine(day, datetime.min.time(), tz()) + timedelta(hours=8, minutes=30))
            send_all(job, daily_digests(job))
    finally:
        _set_clock(None)
        store.close()
    return {"items": n, "days": days, "seconds": time.monotonic() - started, **counts(path)}


def counts(path: Path) -> dict[str, int]:
    """Rows of the tables that grow, and the file size."""
    conn = sqlite3.connect(path)
    try:
        rows = {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("items", "events", "matches", "matters", "runs", "deliveries", "delivery_events")
        }
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return {**rows, "db_bytes": path.stat().st_size}


def kept(path: Path) -> dict[str, Any]:
    """What retention must never drop: flagged items (and their text), matters, events, matches, ledger."""
    conn = sqlite3.connect(path)
    try:

        def one(sql: str) -> Any:
            return conn.execute(sql).fetchone()[0]

        keys = conn.execute(
            "SELECT kind, period, destination, status FROM deliveries ORDER BY 1, 2, 3"
        ).fetchall()
        return {
            "flagged_items": one("SELECT COUNT(DISTINCT item_id) FROM matches"),
            "flagged_text_bytes": one(
                "SELECT SUM(LENGTH(body)) FROM items i "
                "WHERE EXISTS (SELECT 1 FROM matches m WHERE m.item_id = i.id)"
            ),
            "matters": one("SELECT COUNT(*) FROM matters"),
            "events": one("SELECT COUNT(*) FROM events"),
            "matches": one("SELECT COUNT(*) FROM matches"),
            "ledger_keys": len(keys),
            "ledger_hash": hash(tuple(keys)),
            "delivery_events": one("SELECT COUNT(*) FROM delivery_events"),
        }
    finally:
        conn.close()


def prune_year(path: Path) -> dict[str, Any]:
    """`monitor prune`'s work with the default retention on the year: what went, what stayed, the size."""
    from monitor.config import RetentionConfig
    from monitor.retention import prune
    from monitor.store import Store

    before = kept(path)
    started = time.monotonic()
    store = Store(path, mode="existing")
    try:
        report = prune(store, RetentionConfig())
    finally:
        store.close()
    after = kept(path)
    return {
        "counts": report.counts,
        "seconds": time.monotonic() - started,
        "size_before": report.size_before,
        "size_after": report.size_after,
        "kept": after,
        "kept_same": before == after,
    }


def _shift(stamp: str | None, years: int) -> str | None:
    if not stamp or years == 0:
        return stamp
    return f"{int(stamp[:4]) - years:04d}{stamp[4:]}"


def build_big(year: Path, path: Path, target: int) -> dict[str, Any]:
    """A DB of about `target` items: copies of the year as earlier years, then the year itself."""
    from monitor.store import Store

    started = time.monotonic()
    Store(path).close()  # the schema (and its own db id) through the store
    conn = sqlite3.connect(path)
    conn.create_function("shift", 2, _shift, deterministic=True)
    conn.execute("ATTACH ? AS y", [str(year)])
    n_items = conn.execute("SELECT COUNT(*) FROM y.items").fetchone()[0]
    copies = max(0, -(-target // n_items) - 1)
    off = {
        t: conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM y.{t}").fetchone()[0] + 1
        for t in ("items", "events", "matches", "matters")
    }
    cols = {
        t: [r[1] for r in conn.execute(f"PRAGMA y.table_info({t})")]
        for t in (
            "items",
            "events",
            "matches",
            "matters",
            "runs",
            "deliveries",
            "delivery_events",
            "source_state",
        )
    }
    conn.execute("BEGIN")
    for t in ("runs", "deliveries", "source_state"):
        conn.execute(f"INSERT INTO {t} SELECT * FROM y.{t}")
    for k in range(copies + 1):
        years, last = copies - k, k == copies
        suffix = "" if last else f"#{k}"
        expr = {
            "matters": {
                "id": f"id + {k * off['matters']}",
                "key": f"key || '{suffix}'",
                "created_at": f"shift(created_at, {years})",
                "updated_at": f"shift(updated_at, {years})",
            },
            "items": {
                "id": f"id + {k * off['items']}",
                "key": f"key || '{suffix}'",
                "matter_id": f"matter_id + {k * off['matters']}",
                "published_at": f"shift(published_at, {years})",
                "first_seen_at": f"shift(first_seen_at, {years})",
                "last_seen_at": f"shift(last_seen_at, {years})",
            },
            "events": {
                "id": f"id + {k * off['events']}",
                "item_id": f"item_id + {k * off['items']}",
                "dedupe_key": f"dedupe_key || '{suffix}'",
                "run_id": "run_id" if last else "NULL",
                "created_at": f"shift(created_at, {years})",
            },
            "matches": {
                "id": f"id + {k * off['matches']}",
                "event_id": f"event_id + {k * off['events']}",
                "item_id": f"item_id + {k * off['items']}",
                "created_at": f"shift(created_at, {years})",
            },
        }
        for t in ("matters", "items", "events", "matches"):
            select = ", ".join(expr[t].get(c, c) for c in cols[t])
            conn.execute(f"INSERT INTO {t} ({', '.join(cols[t])}) SELECT {select} FROM y.{t}")
    conn.execute(
        f"INSERT INTO delivery_events SELECT delivery_id, event_id + {copies * off['events']}, skipped "
        "FROM y.delivery_events"
    )
    conn.execute("COMMIT")
    conn.execute("DETACH y")
    conn.close()
    return {"copies": copies, "seconds": time.monotonic() - started, **counts(path)}


# --- measurements (each in its own process) -------------------------------------------------------


def _hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure(what: str, db: Path, workdir: Path, out: Path) -> None:
    """Run one measurement in this process; write {seconds, peak_mb, …} as JSON to `out`."""
    import atexit

    started = time.perf_counter()
    result: dict[str, Any] = {}

    def report() -> None:
        result.setdefault("seconds", time.perf_counter() - started)
        result["peak_mb"] = _hwm_mb()
        out.write_text(json.dumps(result), encoding="utf-8")

    atexit.register(report)
    if what == "poll":
        from monitor.jobs import run_alerts
        from monitor.store import Store
        from monitor.text import now

        pool = corpus.items(2000, seed=5)
        store = Store(db, mode="existing")
        _job(store, now().date())  # config and rules loaded before the clock starts
        store_s, alert_s = [], []
        base = 10_000_000 + int(time.time()) % 1000 * 1000
        # 15 polls, the median of each part: one poll's figure swings by a millisecond with the
        # garbage collector and the page cache, as much as the whole per-poll work on an empty DB
        for rep in range(POLLS_TO_MEASURE):
            items = _items(pool, base + rep * ITEMS_PER_POLL_TO_MEASURE, ITEMS_PER_POLL_TO_MEASURE, now())
            t0 = time.perf_counter()
            poll_once(store, "src-00", items)
            t1 = time.perf_counter()
            run_alerts(_job(store, now().date()))
            t2 = time.perf_counter()
            store_s.append(t1 - t0)
            alert_s.append(t2 - t1)
        store.close()
        result.update(
            store_s=statistics.median(store_s),
            alert_s=statistics.median(alert_s),
            seconds=statistics.median([a + b for a, b in zip(store_s, alert_s, strict=True)]),
        )
        return
    # a CLI command, as staff run it, output thrown away (or cut after 10 lines: `| head`)
    from monitor.cli import main

    args = {
        "items-flagged": ["items", "--flagged", "--since", "7d"],
        "items-json-head": ["items", "--json"],
        "digest": ["digest", "daily", "--dry-run"],
        "status": ["status", "--json"],
    }[what]
    os.environ.update(
        MONITOR_DB=str(db),
        MONITOR_SOURCES=str(workdir / "sources.yaml"),
        MONITOR_RULES=str(corpus.ROOT / "rules"),
    )
    try:
        main.main(args, prog_name="monitor", standalone_mode=True)
    except SystemExit as e:
        result["exit"] = e.code or 0
        raise


def _run_measure(what: str, db: Path, workdir: Path) -> dict[str, Any]:
    out = workdir / f"m-{what}.json"
    out.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "bench.history",
        "--measure",
        what,
        "--db",
        str(db),
        "--workdir",
        str(workdir),
        "--out",
        str(out),
    ]
    started = time.perf_counter()
    if what == "items-json-head":
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=corpus.ROOT)
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(10)]
        proc.stdout.close()  # `| head`: the reader goes away after 10 lines
        code = proc.wait()
        wall = time.perf_counter() - started
        found = json.loads(out.read_text()) if out.exists() else {}
        return {**found, "wall_s": wall, "exit": code, "lines": sum(bool(x) for x in lines)}
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=corpus.ROOT, text=True)
    wall = time.perf_counter() - started
    found = json.loads(out.read_text()) if out.exists() else {}
    failed = done.returncode not in (0, 1) and what != "status"  # status: 1 = degraded, a verdict
    return {
        **found,
        "wall_s": wall,
        "exit": done.returncode,
        "error": done.stderr.strip().splitlines()[-1] if failed and done.stderr.strip() else None,
    }


MEASURES = ("poll", "items-flagged", "items-json-head", "digest", "status")


def run(quick: bool = False, big: bool = False, million: int = 1_000_000) -> dict[str, Any]:
    """Build the DBs and measure every command on each; figures and ratios to the empty DB."""
    from monitor.store import Store

    workdir = Path(tempfile.mkdtemp(prefix="bench-history-"))
    try:
        (workdir / "sources.yaml").write_text(
            yaml.safe_dump(sources_doc(), allow_unicode=True), encoding="utf-8"
        )
        dbs: dict[str, dict[str, Any]] = {}
        empty = workdir / "empty.db"
        Store(empty).close()
        dbs["empty"] = {"path": empty, "build": counts(empty)}
        year = workdir / "year.db"
        total, days = (15_000, 60) if quick else (150_000, 365)
        dbs["year"] = {"path": year, "build": build_year(year, total, days)}
        if big:
            dbs["1M"] = {"path": workdir / "big.db", "build": build_big(year, workdir / "big.db", million)}
        out: dict[str, Any] = {"quick": quick, "big": big, "dbs": {}}
        for name, entry in dbs.items():
            # the per-poll work first (it writes 210 new items), then the read commands
            figures = {what: _run_measure(what, entry["path"], workdir) for what in MEASURES}
            out["dbs"][name] = {"build": entry["build"], "figures": figures}
        out["prune"] = prune_year(year)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)  # the 1M DB takes a few GB
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.history")
    parser.add_argument("--measure", choices=MEASURES)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--big", action="store_true")
    a = parser.parse_args()
    if a.measure:
        measure(a.measure, a.db, a.workdir, a.out)
    else:
        print(json.dumps(run(a.quick, a.big), indent=1, default=str))
