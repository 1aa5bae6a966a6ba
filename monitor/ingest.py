"""Poll one source: fetch → parse → store the diff → events → match, in one transaction."""

from __future__ import annotations

import logging
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from monitor.agenda import record_agenda
from monitor.config import SourceConfig
from monitor.errors import MonitorError, RobotsDisallowed
from monitor.http import HttpClient, collect_notes
from monitor.logs import redact, redact_value, secrets
from monitor.rules import Matcher
from monitor.sources import KINDS, Batch, PollContext
from monitor.sources.clean import clean_batch
from monitor.store import Store
from monitor.text import iso, now

log = logging.getLogger(__name__)

# Threads for one poll cycle: one per host, up to this many. Polling is waiting on the network,
# so a thread per host costs little; the per-host spacing keeps each site's load unchanged.
POLL_WORKERS = 64


@dataclass
class PollOutcome:
    """The result of polling one source, as shown in `monitor poll`."""

    source: str
    name: str
    status: str  # ok | not_modified | failed | blocked
    run_id: int
    fetched: int = 0
    new: int = 0
    updated: int = 0
    flagged: int = 0
    announced: int = 0
    requests: int = 0
    seconds: float = 0.0
    http_status: int | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    agenda: int = 0  # agenda events recorded for followed bills (meetings kinds)

    @property
    def failed(self) -> bool:
        """True when the source did not deliver (failed, or blocked by robots.txt)."""
        return self.status in ("failed", "blocked")


def poll_source(source: SourceConfig, store: Store, client: HttpClient, matcher: Matcher) -> PollOutcome:
    """Poll one source; any failure is recorded and returned, never raised."""
    run_id = store.begin_run(source.id)
    outcome = PollOutcome(source.id, source.name, "failed", run_id)
    started = time.monotonic()
    state = store.state(source.id)
    kind = KINDS[source.kind]
    requests_before = client.thread_requests  # other threads may poll other sources meanwhile
    # validators fetched under another configuration (URL, selectors …) do not apply: an edited
    # source is read in full, so a broken selector shows on the very next poll, not after a 304
    same_config = state.get("config_hash") in (None, source.fetch_fingerprint)
    try:
        ctx = PollContext(
            source=source,
            options=kind.Options.model_validate(source.options),
            client=client,
            etag=state.get("etag") if same_config else None,
            last_modified=state.get("last_modified") if same_config else None,
            baseline=not state.get("baseline_at"),
            stored=lambda key: store.stored(source.id, key),
            watched=lambda: store.watched(source.id),
            thread=store.thread,
            mentions=matcher.mentions,
            unsummarised=lambda limit, skip=(): store.unsummarised(source.id, limit, skip),
            followed=store.followed_bills,
        )
        client.prepare(source)  # per-host TLS, warm-up request for cookies
        with collect_notes() as notes:  # what decoding noticed (header and document disagree …)
            batch = kind.poll(ctx)
        batch.warnings += notes
        clean_batch(batch, source.url, ctx.stored)  # every kind: plain titles, links, keys
        batch = without_secrets(batch)
        outcome.http_status, outcome.warnings = batch.http_status, list(batch.warnings)
        outcome.requests = client.thread_requests - requests_before
        store_batch(source, store, matcher, batch, state, outcome)
    except RobotsDisallowed as e:
        outcome.status, outcome.error = "blocked", str(e)
    except MonitorError as e:
        outcome.status, outcome.error = "failed", f"{type(e).__name__}: {e}"
        outcome.http_status = getattr(e, "status", None) or outcome.http_status
    except Exception as e:  # the job boundary: record and go on with the other sources
        where = {"source": source.id, "run_id": run_id}
        log.exception("source %s run %s: unexpected error", source.id, run_id, extra=where)
        outcome.status, outcome.error = "failed", f"unexpected {type(e).__name__}: {e}"
    if not outcome.failed:
        # the search index of what the poll stored, in its own transaction (store.SEARCH_SCHEMA);
        # if it cannot be written now, the queue waits for the next poll and search reads it by LIKE
        try:
            store.index_pending()
        except sqlite3.Error as e:
            log.warning("source %s: search index not updated (%s); retried after the next poll", source.id, e)
    # an API may echo our request, key and all, in its error text (ASSEMBLY.md: ERROR-290)
    outcome.error = redact(outcome.error) if outcome.error else outcome.error
    outcome.seconds = round(time.monotonic() - started, 3)
    if outcome.failed:
        outcome.requests = client.thread_requests - requests_before
        with store.atomic():
            store.finish_run(
                run_id, outcome.status, error=outcome.error, http_status=outcome.http_status,
                requests=outcome.requests, warnings=outcome.warnings,
            )  # fmt: skip
            store.record_failure(source.id, outcome.status, outcome.error or "")
        log.warning(
            "source %s run %s %s: %s", source.id, run_id, outcome.status, outcome.error,
            extra={"source": source.id, "run_id": run_id},
        )  # fmt: skip
    else:
        log.info(
            "source %s run %s %s: fetched=%d new=%d updated=%d flagged=%d",
            source.id, run_id, outcome.status, outcome.fetched, outcome.new, outcome.updated,
            outcome.flagged, extra={"source": source.id, "run_id": run_id},
        )  # fmt: skip
    return outcome


def without_secrets(batch: Batch) -> Batch:
    """The batch with any API key or token a server echoed back (in a link, a title …) replaced."""
    values = secrets()
    if not values:
        return batch
    batch.warnings = [redact(w, values) for w in batch.warnings]
    for item in batch.items:
        item.key, item.title, item.summary, item.body = (
            redact(item.key, values), redact(item.title, values), redact(item.summary, values),
            redact(item.body, values),
        )  # fmt: skip
        item.url = redact(item.url, values) if item.url else item.url
        item.published_raw = redact(item.published_raw, values) if item.published_raw else item.published_raw
        item.fields = redact_value(item.fields, values)
    return batch


def store_batch(
    source: SourceConfig, store: Store, matcher: Matcher, batch: Batch, state: dict[str, Any],
    outcome: PollOutcome,
) -> None:  # fmt: skip
    """Write a successful batch, its events, matches, state and run row in one transaction."""
    stamp = iso(now())
    with store.atomic():
        if batch.not_modified:
            outcome.status = "not_modified"
        else:
            outcome.status = "ok"
            baseline = not state.get("baseline_at")
            # First poll of a new source: store everything, announce only the recent past.
            announce_after = now() - timedelta(days=source.backfill_days) if baseline else None
            result = store.apply_items(
                source.id, batch.items, run_id=outcome.run_id, announce_after=announce_after,
                kind=source.kind,
            )
            outcome.fetched, outcome.new, outcome.updated = (
                len(batch.items), result.new, result.updated,
            )  # fmt: skip
            flagged: set[int] = set()
            meetings = KINDS[source.kind].meetings
            for event in result.events:
                # a meeting is context, not news: its followed bills get agenda events below
                matches = [] if meetings else matcher.match_item(event.item, source.id, source.kind)
                if matches:
                    store.add_matches(event.id, event.item_id, matches)
                    flagged.add(event.item_id)
                outcome.announced += int(event.announce and event.type == "new")
            outcome.flagged = len(flagged)  # items, not events: a notice's new + deadline is one
            # matters follow from what is stored now (a bill also takes in what waited for it)
            store.assign_matters(source.kind, result.written)
            if meetings:
                today = now().date()
                store.mark_unlisted_meetings(source.id, {i.key for i in batch.items}, today.isoformat())
                outcome.agenda = record_agenda(store, source.id, batch.items, outcome.run_id, today)

        state_update = dict(
            last_run_at=stamp, last_success_at=stamp, last_status=outcome.status,
            last_error=None, consecutive_failures=0,
            # a 304 answers validators sent under this configuration only (see poll_source)
            config_hash=source.fetch_fingerprint,
        )  # fmt: skip
        if not batch.not_modified:
            state_update.update(
                etag=batch.etag, last_modified=batch.last_modified,
                last_item_count=len(batch.items), baseline_at=state.get("baseline_at") or stamp,
            )  # fmt: skip
        store.save_state(source.id, **state_update)
        store.finish_run(
            outcome.run_id, outcome.status, http_status=batch.http_status,
            fetched=outcome.fetched, new=outcome.new, updated=outcome.updated,
            flagged=outcome.flagged, warnings=outcome.warnings, requests=outcome.requests,
        )  # fmt: skip


def host_of(source: SourceConfig) -> str:
    """The host (with port) a source is fetched from: the unit of politeness and concurrency."""
    return urlsplit(source.url).netloc.lower()


def poll_sources(
    sources: list[SourceConfig], store: Store, client: HttpClient, matcher: Matcher,
    *, workers: int = POLL_WORKERS,
) -> list[PollOutcome]:  # fmt: skip
    """Poll several sources, hosts side by side; one failing never stops the others.

    Sources on one host are polled one after another by one thread (the client keeps the
    per-host spacing); different hosts run concurrently, up to `workers` threads, each with its
    own Store on the same file. Outcomes come back in the order of `sources`.
    """
    groups: dict[str, list[int]] = {}
    for index, source in enumerate(sources):
        groups.setdefault(host_of(source), []).append(index)
    threads = min(len(groups), max(1, workers))
    if threads <= 1 or str(store.path) == ":memory:":
        return [poll_source(s, store, client, matcher) for s in sources]
    outcomes: list[PollOutcome | None] = [None] * len(sources)

    def poll_host(indexes: list[int]) -> None:
        own = Store(store.path)  # SQLite connections belong to one thread
        try:
            for index in indexes:
                outcomes[index] = poll_source(sources[index], own, client, matcher)
        finally:
            own.close()

    with ThreadPoolExecutor(threads, thread_name_prefix="poll") as pool:
        futures = [pool.submit(poll_host, indexes) for indexes in groups.values()]
    for future in futures:
        future.result()  # poll_source records its failures; anything raised here is a bug
    return [o for o in outcomes if o is not None]
