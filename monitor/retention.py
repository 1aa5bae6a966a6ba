"""Retention (issue 18.3): what the daily prune drops, in small transactions, and the file shrink.

Kept forever: flagged or watched items and every item of a followed matter (with their text),
matters, events, matches, and the delivery ledger's rows, keys, claims and delivery_events (the
send-once guarantee reads them). Dropped after `retention:` days (sources.yaml): the full text
(`body`) of other items not seen for that long, finished runs no event points to (each source's
latest stays), and the rendered payload of deliveries confirmed sent. Every statement is in
monitor/store.py (`Pruning`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from monitor.config import RetentionConfig
from monitor.store import Pruning, Store
from monitor.text import iso, now

log = logging.getLogger(__name__)

BATCH = 500  # rows per transaction: a poll waiting for the write lock waits for one batch only
WHAT = ("body", "runs", "payload")
LABELS = {"body": "본문(전문)을 지울 항목", "runs": "지울 수집·작업 기록", "payload": "내용을 지울 보낸 전송"}


@dataclass
class PruneReport:
    """What a prune did (or, dry, would do): rows per kind, and the DB file's size before and after."""

    counts: dict[str, int] = field(default_factory=dict)
    size_before: int = 0
    size_after: int = 0
    dry_run: bool = False
    vacuumed: bool = False


def cutoffs(config: RetentionConfig) -> dict[str, str]:
    """The cutoff stamp (ISO, Asia/Seoul) of each kind of row."""
    days = {"body": config.item_text_days, "runs": config.runs_days, "payload": config.payload_days}
    stamp = now()
    return {what: iso(stamp - timedelta(days=n)) or "" for what, n in days.items()}


def db_size(store: Store) -> int:
    """Bytes of the DB file and its -wal (0 for an in-memory DB)."""
    total = 0
    for path in (store.path, store.path.with_name(store.path.name + "-wal")):
        if path.exists():
            total += path.stat().st_size
    return total


def prune(store: Store, config: RetentionConfig, *, dry_run: bool = False, vacuum: bool = False,
          batch: int = BATCH) -> PruneReport:  # fmt: skip
    """Apply the retention settings to the store (or count, with `dry_run`).

    Each batch of `batch` rows is its own transaction. Afterwards freed pages go back to the
    file system: incrementally on a DB made by this version, by a full VACUUM when `vacuum`
    (which also switches an older DB to incremental vacuum).
    """
    pruning = Pruning(store)
    report = PruneReport(size_before=db_size(store), dry_run=dry_run)
    for what, before in cutoffs(config).items():
        if dry_run:
            report.counts[what] = pruning.count(what, before)
            continue
        done = 0
        while (n := pruning.batch(what, before, batch)) > 0:
            done += n
        report.counts[what] = done
    if not dry_run:
        pruning.shrink(full=vacuum)
        report.vacuumed = vacuum
    report.size_after = db_size(store)
    log.info("prune: %s; %d → %d bytes", report.counts, report.size_before, report.size_after)
    return report


def report_lines(report: PruneReport) -> list[str]:
    """The Korean lines `monitor prune` prints."""
    verb = "(미리 보기: 아무것도 지우지 않았습니다)" if report.dry_run else ""
    lines = [f"{LABELS[w]}: {report.counts.get(w, 0)}건" for w in WHAT]
    mib = 1024 * 1024
    if report.dry_run:
        lines.append(f"DB 크기 {report.size_before / mib:.1f} MiB {verb}")
    else:
        lines.append(f"DB 크기 {report.size_before / mib:.1f} MiB → {report.size_after / mib:.1f} MiB")
    return lines
