"""Ingest: storing items the way a poll does (dedup, events, matches, run rows) into SQLite."""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import corpus
from monitor.config import SourceConfig
from monitor.ingest import PollOutcome, store_batch
from monitor.rules import Matcher
from monitor.sources.base import Batch, Item
from monitor.sources.clean import clean_batch
from monitor.store import Store
from monitor.text import now


def _marked_up(n: int, title: str) -> str:
    """One title in ten as CMS feeds send some: markup and escaped entities (sources/clean.py's slow path)."""
    if n % 10 == 0:
        return f"<b>{title}</b> &amp;quot;공고&amp;quot;"
    if n % 10 == 5:
        return title.replace(" ", " &amp;nbsp;", 1)
    return title


def _items(count: int) -> list[Item]:
    stamp = now()
    return [
        Item(
            key=f"https://example.go.kr/view/{c.key}",
            title=_marked_up(n, c.title),
            url=f"https://example.go.kr/view/{c.key}",
            summary=c.summary,
            published_at=stamp - timedelta(minutes=n),
            published_raw=(stamp - timedelta(minutes=n)).isoformat(),
            fields={"ministry": "행정안전부", "category": "보도자료"},
        )
        for n, c in enumerate(corpus.items(count, seed=3))
    ]


def _store_all(
    store: Store, matcher: Matcher, items: list[Item], sources: int, batch: int
) -> tuple[float, int]:
    """Store items as polls of `batch` items spread over `sources` sources; (seconds, new rows)."""
    # fresh copies, as a parser hands over new Items each poll (cleaning changes them in place);
    # made before the clock starts: the copying is the bench's, not the service's
    copies = [copy.copy(i) for i in items]
    started = time.perf_counter()
    new = 0
    for start in range(0, len(items), batch):
        sid = f"source-{(start // batch) % sources:02d}"
        cfg = SourceConfig.model_validate({"id": sid, "kind": "rss", "name": sid, "url": "http://127.0.0.1/"})
        state = store.state(sid)
        if not state.get("baseline_at"):
            store.save_state(sid, baseline_at=now().isoformat())
            state = store.state(sid)
        outcome = PollOutcome(sid, sid, "ok", store.begin_run(sid))
        polled = Batch(copies[start : start + batch], http_status=200)
        clean_batch(polled, cfg.url, lambda key, sid=sid: store.stored(sid, key))  # as poll_source does
        store_batch(cfg, store, matcher, polled, state, outcome)
        new += outcome.new
    return time.perf_counter() - started, new


def clean_rate(items: list[Item]) -> float:
    """Items per second through the cleaning step alone (plain titles, links, keys, dates)."""
    batch = Batch([copy.copy(i) for i in items])
    started = time.perf_counter()
    clean_batch(batch, "https://example.go.kr/", lambda key: None)
    return len(items) / (time.perf_counter() - started)


RUNS = 3


def run(count: int = 100_000, batch: int = 1000, sources: int = 10) -> dict[str, Any]:
    """Store `count` items into a new DB, then the same again (all already stored), RUNS times:
    the median of each time (one run's figure swings by a tenth on this 2-core machine), rows
    and DB size of the last run, and every run's times."""
    matcher = Matcher(corpus.shipped_rules())
    items = _items(count)
    cleaned_per_s = clean_rate(items)
    firsts, agains = [], []
    for _ in range(RUNS):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "ingest.db"
            store = Store(path)
            first, new = _store_all(store, matcher, items, sources, batch)
            again, new_again = _store_all(store, matcher, items, sources, batch)
            counts = store.counts()
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            store.close()
            size = path.stat().st_size
        firsts.append(first)
        agains.append(again)
    first, again = statistics.median(firsts), statistics.median(agains)
    return {
        "items": count,
        "batch": batch,
        "seconds": first,
        "items_per_s": count / first,
        "new": new,
        "again_seconds": again,
        "again_new": new_again,
        "runs": [round(x, 2) for x in firsts],
        "rows": counts,
        "db_bytes": size,
        "db_mb_per_100k": size / 1e6 * 100_000 / count,
        "clean_items_per_s": cleaned_per_s,
    }
