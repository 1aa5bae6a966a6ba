"""SQLite storage: schema, migrations and every SQL statement (the store never fetches)."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import sqlite_utils

from monitor import matters as mat
from monitor.errors import StoreError
from monitor.rules import Match
from monitor.sources.base import SORTED_JSON, Item, Stored
from monitor.text import iso, now, parse_datetime
from monitor.urls import canonical_key

# Each migration runs in one transaction together with the user_version bump; never edit a
# shipped migration, add the next one.
MIGRATIONS: tuple[str | Callable[[sqlite_utils.Database], None], ...] = (
    """
    CREATE TABLE items (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        key TEXT NOT NULL,
        title TEXT NOT NULL,
        url TEXT,
        summary TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL DEFAULT '',
        published_at TEXT,
        published_raw TEXT,
        first_seen_at TEXT NOT NULL,
        last_seen_at TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        fields TEXT NOT NULL DEFAULT '{}',
        UNIQUE (source, key)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        status TEXT NOT NULL,
        http_status INTEGER,
        requests INTEGER NOT NULL DEFAULT 0,
        fetched INTEGER NOT NULL DEFAULT 0,
        new INTEGER NOT NULL DEFAULT 0,
        updated INTEGER NOT NULL DEFAULT 0,
        flagged INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        warnings TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX runs_source ON runs (source, id);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        item_id INTEGER NOT NULL REFERENCES items (id),
        type TEXT NOT NULL,
        dedupe_key TEXT NOT NULL UNIQUE,
        detail TEXT NOT NULL DEFAULT '{}',
        announce INTEGER NOT NULL DEFAULT 1,
        run_id INTEGER REFERENCES runs (id),
        created_at TEXT NOT NULL
    );
    CREATE INDEX events_item ON events (item_id);
    CREATE TABLE matches (
        id INTEGER PRIMARY KEY,
        event_id INTEGER NOT NULL REFERENCES events (id),
        item_id INTEGER NOT NULL REFERENCES items (id),
        rule TEXT NOT NULL,
        topic TEXT NOT NULL,
        priority TEXT NOT NULL,
        field TEXT NOT NULL,
        terms TEXT NOT NULL,
        snippet TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (event_id, rule)
    );
    CREATE INDEX matches_item ON matches (item_id);
    CREATE TABLE source_state (
        source TEXT PRIMARY KEY,
        etag TEXT,
        last_modified TEXT,
        baseline_at TEXT,
        last_run_at TEXT,
        last_success_at TEXT,
        last_status TEXT,
        last_error TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_item_count INTEGER
    );
    """,
    # 2: threads link items of several sources about one thing (a bill and its 입법예고);
    # record_hash tells a silent field change (stage dates, links) from nothing new.
    """
    ALTER TABLE items ADD COLUMN thread TEXT;
    ALTER TABLE items ADD COLUMN record_hash TEXT NOT NULL DEFAULT '';
    CREATE INDEX items_thread ON items (thread);
    CREATE INDEX matches_event ON matches (event_id);
    """,
    # 3: the delivery ledger: one row per (kind, period, destination), with what it carried
    """
    CREATE TABLE deliveries (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        period TEXT NOT NULL,
        destination TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_attempt_at TEXT,
        payload TEXT NOT NULL,
        parts_sent INTEGER NOT NULL DEFAULT 0,
        ts TEXT NOT NULL DEFAULT '[]',
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        sent_at TEXT,
        UNIQUE (kind, period, destination)
    );
    CREATE TABLE delivery_events (
        delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
        event_id INTEGER NOT NULL REFERENCES events (id),
        skipped INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (delivery_id, event_id)
    );
    CREATE INDEX delivery_events_event ON delivery_events (event_id);
    """,
    # 4: a delivery is claimed (owner + lease) before it is sent; `sending_since` is when the
    # part in flight was started, the bound of the history lookup after a lost answer
    """
    ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
    ALTER TABLE deliveries ADD COLUMN claim_until TEXT;
    ALTER TABLE deliveries ADD COLUMN sending_since TEXT;
    """,
    # 5: a source's stored validators belong to the configuration they were fetched with
    """
    ALTER TABLE source_state ADD COLUMN config_hash TEXT;
    """,
    # 6: keys in the canonical form every kind's items now get (monitor/urls.py)
    lambda db: _canonical_keys(db),
    # 7: the DB's identity, written once at creation: a service that finds another id (or no
    # file) at its path stops instead of carrying on with a new, empty DB (issue 17.3)
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta (key, value) VALUES ('db_id', lower(hex(randomblob(16))));
    INSERT INTO meta (key, value) VALUES ('created_at', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
    """,
    # 8: matters (monitor/matters.py): items about one bill, notice or law, derived from what is stored
    lambda db: _matters_migration(db),
    # 9: full-text search over titles and summaries (제안이유) for the web view, kept in step by triggers
    lambda db: _search_migration(db),
    # 10: indexes for every query a poll, an alert check and a digest run (issue 18.1), so their
    # cost follows what they read, not everything ever stored
    """
    CREATE INDEX events_created ON events (created_at);
    CREATE INDEX events_type ON events (type, id);
    CREATE INDEX events_run ON events (run_id);
    CREATE INDEX items_first_seen ON items (first_seen_at);
    CREATE INDEX items_newest ON items (COALESCE(published_at, first_seen_at), id);
    CREATE INDEX items_deadline ON items (json_extract(fields, '$.deadline'));
    CREATE INDEX items_meeting_date ON items (json_extract(fields, '$.date'))
        WHERE json_extract(fields, '$.meeting_kind') IS NOT NULL;
    CREATE INDEX items_watch ON items (json_extract(fields, '$.watch'))
        WHERE json_extract(fields, '$.watch') IS NOT NULL;
    CREATE INDEX items_unsummarised ON items (source, first_seen_at)
        WHERE json_extract(fields, '$.summary_checked') IS NULL;
    CREATE INDEX matches_topic ON matches (topic, item_id);
    CREATE INDEX runs_status ON runs (status) WHERE status = 'running';
    CREATE INDEX runs_source_status ON runs (source, status, id);
    CREATE INDEX deliveries_destination ON deliveries (destination, kind, id);
    CREATE INDEX deliveries_sent ON deliveries (status, sent_at)
    """,
    # 11: the urgent matches alone, so the alert check after every poll reads the few urgent
    # events of its window instead of every event of the last days (Store.urgent_events)
    """
    CREATE INDEX matches_urgent ON matches (event_id) WHERE priority = 'urgent'
    """,
)

# How far back a daily digest reads before its backfill cutoff: events older than the cutoff are
# counted in its "생략" note (and carried as skipped), those older still are not read at all, so
# a console-only digest (which records nothing) never reloads the whole history.
DAILY_REACH = timedelta(days=30)

# The item columns every event row carries (digest_events, urgent_events).
EVENT_ITEM_COLUMNS = (
    "i.id AS item_id, i.source, i.key, i.title, i.url, i.summary, i.published_at, i.first_seen_at, "
    "i.fields, i.thread, i.matter_id"
)
# "Not yet carried to the destination (the one parameter)": from the event's few ledger rows,
# never from every delivery to the destination (the planner would pick deliveries_destination,
# which grows with the ledger). A daily digest counts an alert's skipped events as not carried
# (they still go to the daily); an alert check counts them as carried (never alerted again).
_NOT_CARRIED = (
    "NOT EXISTS (SELECT 1 FROM delivery_events de INDEXED BY delivery_events_event "
    "JOIN deliveries d ON d.id = de.delivery_id "
    "WHERE de.event_id = e.id AND d.destination = ? AND (d.kind = 'daily' OR {}))"
)
NOT_CARRIED_BY_DIGESTS = _NOT_CARRIED.format("(d.kind = 'urgent' AND de.skipped = 0)")
NOT_CARRIED_BY_ALERTS = _NOT_CARRIED.format("d.kind = 'urgent'")


def _canonical_keys(db: sqlite_utils.Database) -> None:
    """Re-key stored items whose URL-like key has a session id or an http:// scheme.

    Without this, the first poll after an upgrade would store every such post again under its
    new key and announce it a second time. Where several stored rows fold into one key (the same
    post stored twice under two session ids), the row already holding the canonical key keeps
    it, else the oldest takes it; the others stay as they are: they are never seen again and
    announce nothing.
    """
    rows = db.execute(
        "SELECT id, source, key FROM items WHERE key LIKE 'http%' OR key LIKE '//%' ORDER BY id"
    ).fetchall()
    for item_id, source, key in rows:
        canonical = canonical_key(key)
        if canonical == key:
            continue
        taken = db.execute("SELECT 1 FROM items WHERE source = ? AND key = ?", [source, canonical]).fetchone()
        if taken is None:
            db.execute("UPDATE items SET key = ? WHERE id = ?", [canonical, item_id])

MATTERS_SCHEMA = """
CREATE TABLE matters (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    law TEXT,
    law_key TEXT,
    parent_law TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX matters_law ON matters (law_key) WHERE law_key IS NOT NULL;
ALTER TABLE items ADD COLUMN matter_id INTEGER REFERENCES matters (id);
ALTER TABLE items ADD COLUMN kind TEXT;
CREATE INDEX items_matter ON items (matter_id);
CREATE INDEX items_bill_no ON items (json_extract(fields, '$.bill_no')) WHERE kind = 'assembly_bills';
CREATE INDEX items_prom_no ON items (json_extract(fields, '$.prom_no')) WHERE kind = 'assembly_bills';
CREATE INDEX items_promulgation_no ON items (json_extract(fields, '$.promulgation_no'))
    WHERE kind = 'law_changes'
"""


def _matters_migration(db: sqlite_utils.Database) -> None:
    """Create matters and place every stored item in one, from what is stored (no re-poll).

    Items did not record their kind before: it is inferred once from their shape
    (matters.infer_kind) and kept in `items.kind`, which ingest fills from now on.
    """
    for statement in MATTERS_SCHEMA.split(";"):
        if statement.strip():
            db.execute(statement)
    writer = _MatterWriter(db, iso(now()) or "")
    ids = []
    for record in writer.records("1 = 1 ORDER BY id", []):
        db.execute("UPDATE items SET kind = ? WHERE id = ?", [mat.infer_kind(record), record.id])
        ids.append(record.id)
    writer.assign(ids)


# FTS5 with the trigram tokenizer (SQLite ≥ 3.34): any 3 characters match, which suits Korean,
# where words carry particles (협동조합의, 협동조합을) a word tokenizer would not split off.
# External content: the index holds no copy of the text. Indexing a 제안이유 costs more than
# storing the item (every trigram of a few hundred characters), so a poll's transaction does not
# index: `Store.index_pending` indexes, right after it in its own transaction, the items above the
# high-water mark `meta.search_upto` (new ones: no trigger on insert, nothing per item) and those
# queued in `search_pending` (indexed items whose title or summary changed: their old words are
# removed at once, which needs the old text). `search` reads not-yet-indexed items with LIKE.
_SEARCH_UPTO = "(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'search_upto')"
_INDEXED = f"old.id <= {_SEARCH_UPTO} AND NOT EXISTS (SELECT 1 FROM search_pending WHERE item_id = old.id)"
SEARCH_SCHEMA = (
    "CREATE VIRTUAL TABLE items_fts USING fts5(title, summary, content='items', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TABLE search_pending (item_id INTEGER PRIMARY KEY)",
    "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
    "INSERT INTO items_fts (items_fts, rowid, title, summary) "
    f"SELECT 'delete', old.id, old.title, old.summary WHERE {_INDEXED}; "
    "DELETE FROM search_pending WHERE item_id = old.id; END",
    "CREATE TRIGGER items_fts_update AFTER UPDATE OF title, summary ON items "
    "WHEN old.title IS NOT new.title OR old.summary IS NOT new.summary BEGIN "
    "INSERT INTO items_fts (items_fts, rowid, title, summary) "
    f"SELECT 'delete', old.id, old.title, old.summary WHERE {_INDEXED}; "
    f"INSERT OR IGNORE INTO search_pending (item_id) SELECT new.id WHERE new.id <= {_SEARCH_UPTO}; END",
    "INSERT INTO items_fts (items_fts) VALUES ('rebuild')",
    "INSERT INTO meta (key, value) VALUES ('search_upto', (SELECT COALESCE(MAX(id), 0) FROM items))",
)
SEARCH_MIN = 3  # shorter terms have no trigram: they are matched with LIKE


def _search_migration(db: sqlite_utils.Database) -> None:
    """Create the full-text index of items (title, summary) with its triggers and fill it.

    Statements run one by one: a trigger body holds `;`, which the string migrations split on.
    """
    for statement in SEARCH_SCHEMA:
        db.execute(statement)


_LIKE_CLAUSE = "(i.title LIKE ? ESCAPE '\\' OR i.summary LIKE ? ESCAPE '\\')"


def _like(term: str) -> str:
    """A LIKE pattern (ESCAPE '\\') for text holding `term`."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _search_terms(query: str) -> list[str]:
    """The query's words, NFC, at most 10 (an empty list for a blank query)."""
    import unicodedata

    return unicodedata.normalize("NFC", query).split()[:10]


class _MatterWriter:
    """Places items in matters with monitor.matters' pure decisions; every statement is here.

    Runs inside the caller's transaction (a poll's, or the migration's). A matter keeps its id
    when it changes key (a 정부 입법예고's matter becomes its bill's, a bill's its 대안's), so a
    matter someone looked up stays findable; a matter left without items is deleted.
    """

    def __init__(self, db: sqlite_utils.Database, stamp: str) -> None:
        self.db = db
        self.stamp = stamp
        self.lookups = mat.Lookups(
            bill=self._bill,
            bills_by_number=lambda no: self.records(
                "kind = 'assembly_bills' AND json_extract(fields, '$.bill_no') = ?", [no]
            ),
            bills_by_promulgation=lambda no: self.records(
                "kind = 'assembly_bills' AND json_extract(fields, '$.prom_no') = ?", [no]
            ),
            government_bills=lambda first, last: self.records(
                "kind = 'assembly_bills' AND json_extract(fields, '$.proposer_kind') = ? "
                "AND json_extract(fields, '$.propose_date') BETWEEN ? AND ?",
                [mat.GOVERNMENT, first, last],
            ),
        )

    def records(self, where: str, params: Sequence[Any]) -> list[mat.Record]:
        """Items as matters.Record (`fields.thread`-free; kind as stored)."""
        rows = self.db.execute(
            "SELECT id, kind, source, key, title, url, summary, fields, published_at, matter_id "
            f"FROM items WHERE {where}",
            list(params),
        ).fetchall()
        return [
            mat.Record(kind=r[1] or "other", source=r[2], key=r[3], title=r[4] or "", url=r[5],
                       summary=r[6] or "", fields=json.loads(r[7] or "{}"), published=r[8], id=int(r[0]),
                       matter=r[9])
            for r in rows
        ]  # fmt: skip

    def _bill(self, bill_id: str) -> mat.Record | None:
        found = [r for r in self.records("thread = ?", [f"assembly-bill:{bill_id}"]) if r.is_bill]
        return found[0] if found else None

    def _matter_of(self, item_id: int) -> int | None:
        row = self.db.execute("SELECT matter_id FROM items WHERE id = ?", [item_id]).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def _id(self, key: str) -> int | None:
        row = self.db.execute("SELECT id FROM matters WHERE key = ?", [key]).fetchone()
        return int(row[0]) if row else None

    def _key(self, matter_id: int) -> str:
        return str(self.db.execute("SELECT key FROM matters WHERE id = ?", [matter_id]).fetchone()[0])

    def key_for(self, record: mat.Record) -> str:
        """The matter key of a record (monitor.matters decides)."""
        return mat.matter_key(record, record.kind, self.lookups)

    def place(self, item_id: int, depth: int = 0) -> None:
        """Put one item in the matter its key names, moving it (and what follows it) if need be."""
        (record,) = self.records("id = ?", [item_id])
        key, old = self.key_for(record), self._matter_of(item_id)
        if old is not None and self._key(old) == key:
            self.refresh(old)
            return
        target = self._id(key)
        if target is None and old is not None:
            others = [r for r in self.records("matter_id = ?", [old]) if r.id != item_id]
            if all(self.key_for(r) == key for r in others):  # the whole matter moves: it keeps its id
                self.db.execute("UPDATE matters SET key = ? WHERE id = ?", [key, old])
                self.refresh(old)
                return
        if target is None:
            cur = self.db.execute(
                "INSERT INTO matters (key, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                [key, record.title or "(제목 없음)", self.stamp, self.stamp],
            )
            target = int(cur.lastrowid or 0)
        self.db.execute("UPDATE items SET matter_id = ? WHERE id = ?", [target, item_id])
        if old is not None:
            if depth < 3:  # what followed the item there (its 입법예고) follows it here
                for other in self.records("matter_id = ?", [old]):
                    self.place(other.id, depth + 1)
            if self.db.execute("SELECT 1 FROM items WHERE matter_id = ?", [old]).fetchone() is None:
                self.db.execute("DELETE FROM matters WHERE id = ?", [old])
            else:
                self.refresh(old)
        self.refresh(target)

    def refresh(self, matter_id: int) -> None:
        """Name a matter after its principal item and record the law it is about."""
        members = self.records("matter_id = ?", [matter_id])
        if not members:
            return
        lead = mat.principal(self._key(matter_id), members)
        law = mat.law_for(lead)
        values = (mat.title_of(lead), law.name if law else None, law.key if law else None,
                  law.parent if law else None)  # fmt: skip
        stored = self.db.execute(
            "SELECT title, law, law_key, parent_law FROM matters WHERE id = ?", [matter_id]
        ).fetchone()
        if tuple(stored) != values:
            self.db.execute(
                "UPDATE matters SET title = ?, law = ?, law_key = ?, parent_law = ?, updated_at = ? "
                "WHERE id = ?",
                [*values, self.stamp, matter_id],
            )

    def waiting(self, bill: mat.Record) -> list[int]:
        """Items in matters of their own that may belong to this bill now it is stored or changed.

        A 정부 입법예고 of the same law (matters.government_bill_for decides), the bills a 대안
        replaces (`fields.replaces`), a law.go.kr entry with the bill's 공포번호. A post naming
        the bill's number is joined when it is stored or changes, not re-checked here (that
        would scan every item's text).
        """
        law = mat.law_for(bill)
        ids = []
        if law is not None and bill.fields.get("proposer_kind") == mat.GOVERNMENT:
            ids += [r[0] for r in self.db.execute(
                "SELECT i.id FROM items i JOIN matters m ON m.id = i.matter_id "
                "WHERE m.law_key = ? AND m.key LIKE 'notice:%' ORDER BY i.id", [law.key],
            ).fetchall()]  # fmt: skip
        for number in bill.fields.get("replaces") or []:  # a 대안: the bills folded into it
            ids += [r.id for r in self.records(
                "kind = 'assembly_bills' AND json_extract(fields, '$.bill_no') = ? ORDER BY id", [number]
            )]  # fmt: skip
        if bill.fields.get("prom_no"):
            ids += [r[0] for r in self.db.execute(
                "SELECT id FROM items WHERE kind = 'law_changes' "
                "AND json_extract(fields, '$.promulgation_no') = ? ORDER BY id", [bill.fields["prom_no"]],
            ).fetchall()]  # fmt: skip
        return ids

    def assign(self, item_ids: Sequence[int], kind: str | None = None) -> None:
        """Place items (just stored or changed) and re-check what waits for a bill among them.

        `kind`: the kind of them all, recorded on the way (ingest); None: as stored (migration).
        """
        for chunk in _chunks(list(item_ids), 500):
            marks = ",".join("?" * len(chunk))
            rows = self.db.execute(
                f"SELECT id, kind, source, key, title, summary, matter_id FROM items WHERE id IN ({marks})",
                chunk,
            ).fetchall()
            alone: dict[int, tuple[str, str]] = {}
            for item_id, stored_kind, source, key, title, summary, matter_id in rows:
                item_kind = kind or stored_kind or "other"
                if matter_id is not None or item_kind in mat.LAW_KINDS:
                    continue
                # a new post (not a bill, notice or law): no item waits for it and it waits for
                # none, so nothing placed in this batch can move it
                post = mat.Record(item_kind, source, key, title or "", summary=summary or "", id=item_id)
                matter_key = self.key_for(post)
                if matter_key.startswith("item:"):
                    alone[item_id] = (matter_key, mat.title_of(post))
            self._alone(alone, kind)
            rest = [i for i in chunk if i not in alone]
            if kind is not None and rest:
                marks = ",".join("?" * len(rest))
                self.db.execute(f"UPDATE items SET kind = ? WHERE id IN ({marks})", [kind, *rest])
            for item_id in rest:
                self._assign_one(item_id)

    def matter_of_new_post(self, kind: str, source: str, key: str, title: str, summary: str) -> int | None:
        """The matter of a post about to be stored when it is a matter of its own (`item:` key),
        made now, so the item is written once with its matter; None for a law kind or a post
        naming a bill (`assign` places those after the insert, as before).

        A new post cannot be what another item waits for, so placing it before its row exists
        decides the same as placing it after (`assign`'s `_alone` path).
        """
        if kind in mat.LAW_KINDS:
            return None
        post = mat.Record(kind, source, key, title or "", summary=summary or "")
        matter_key = self.key_for(post)
        if not matter_key.startswith("item:"):
            return None
        cur = self.db.conn.execute(
            "INSERT INTO matters (key, title, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING",
            [matter_key, mat.title_of(post), self.stamp, self.stamp],
        )
        return int(cur.lastrowid) if cur.rowcount == 1 and cur.lastrowid else self._id(matter_key)

    def _alone(self, posts: dict[int, tuple[str, str]], kind: str | None) -> None:
        """Make each post its own matter, a statement per batch and not per post (ingest's speed).

        The kind is recorded in the same UPDATE: a row written once more, not twice.
        """
        conn = self.db.conn
        conn.executemany(
            "INSERT INTO matters (key, title, created_at, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO NOTHING",
            [(key, title, self.stamp, self.stamp) for key, title in posts.values()],
        )
        conn.executemany(
            "UPDATE items SET matter_id = (SELECT id FROM matters WHERE key = ?), kind = COALESCE(?, kind) "
            "WHERE id = ?",
            [(key, kind, item_id) for item_id, (key, _) in posts.items()],
        )

    def _assign_one(self, item_id: int) -> None:
        found = self.records("id = ?", [item_id])
        if found:
            record = found[0]
            waiting = self.waiting(record) if record.is_bill else []
            fresh = record.matter is None and self._id(self.key_for(record)) is None
            if waiting and fresh:
                # a notice that waited for this bill lends it its matter (and its id)
                for other in waiting:
                    self.place(other)
            self.place(item_id)
            for other in waiting:
                self.place(other)


ITEM_COLUMNS = (
    "title, url, summary, body, published_at, published_raw, content_hash, fields, thread, record_hash"
)
# every items column but the full text, for listings
ITEM_LIST_COLUMNS = (
    "i.id, i.source, i.key, i.title, i.url, i.summary, i.published_at, i.published_raw, i.first_seen_at, "
    "i.last_seen_at, i.content_hash, i.fields, i.thread, i.record_hash, i.matter_id, i.kind"
)
STORED_COLUMNS = (
    "i.source, i.key, i.title, i.summary, i.fields, i.record_hash, "
    "EXISTS (SELECT 1 FROM matches m WHERE m.item_id = i.id) AS flagged, i.last_seen_at"
)


# Columns the keyword-argument updates may set: names are formatted into SQL, values never are.
RUN_COLUMNS = frozenset(
    {"http_status", "requests", "fetched", "new", "updated", "flagged", "error", "warnings"}
)
DELIVERY_COLUMNS = frozenset(
    {"status", "attempts", "last_error", "next_attempt_at", "payload", "parts_sent", "ts", "sent_at",
     "sending_since"}
)  # fmt: skip


def _check_columns(table: str, values: dict[str, Any], allowed: frozenset[str]) -> None:
    unknown = sorted(set(values) - allowed)
    if unknown:
        raise ValueError(f"not a column {table} may be updated with: {', '.join(unknown)}")


@dataclass(frozen=True)
class Event:
    """An event just recorded, with the item it is about."""

    id: int
    item_id: int
    type: str
    announce: bool
    item: Item


@dataclass
class ApplyResult:
    """What storing one batch did."""

    new: int = 0
    updated: int = 0
    seen: int = 0
    events: tuple[Event, ...] = ()
    written: tuple[int, ...] = ()  # rows inserted or rewritten whose matter assign_matters decides


def _changes(
    item_id: int, old_hash: str, old_title: str, old_fields: dict[str, Any], item: Item,
    old_summary: str = "", old_url: str | None = None,
) -> list[tuple[str, str, dict[str, Any], bool]]:  # fmt: skip
    """Events for a stored item that came back different: (type, dedupe key, detail, announce).

    `updated` is news only when something a reader sees changed: the title or the link
    (deadline and stage have events of their own). A summary filled in or edited (a bill's
    제안이유 fetched later, a post's text reworded) is recorded and matched, so the item can be
    flagged and followed, but not announced (issue 14.3).
    """
    found: list[tuple[str, str, dict[str, Any], bool]] = []
    new_hash = item.content_hash()
    # a link is news when it points elsewhere, not when the site moved to https or spells its
    # host in capitals (the forms canonical_key folds, as keys do)
    relinked = bool(old_url and item.url) and canonical_key(str(old_url)) != canonical_key(str(item.url))
    if old_hash != new_hash or relinked:
        detail: dict[str, Any] = {"from": {"title": old_title}, "to": {"title": item.title}}
        if item.summary != old_summary:
            detail["summary_added" if not old_summary else "summary_changed"] = True
        if relinked:
            detail["from"]["url"], detail["to"]["url"] = old_url, item.url
        # the content hashes key a text change; a link change alone is keyed by the new link
        key = f"{item_id}:updated:{old_hash}:{new_hash}"
        if old_hash == new_hash:
            key = f"{item_id}:updated:url:{hashlib.sha256(str(item.url).encode()).hexdigest()[:16]}"
        found.append(("updated", key, detail, item.title != old_title or relinked))
    old_stage, stage = old_fields.get("stage"), item.fields.get("stage")
    # an item whose stage mirrors another's (a notice and its bill) leaves the event to that one
    if stage and old_stage and stage != old_stage and not item.fields.get("stage_of"):
        # keyed by (item, stage reached): a stage is announced once, whatever flapping follows
        detail = {"from": old_stage, "to": stage, "date": item.fields.get("stage_date")}
        found.append(("stage", f"{item_id}:stage:{stage}", detail, True))
    old_deadline, deadline = old_fields.get("deadline"), item.fields.get("deadline")
    if deadline and deadline != old_deadline:
        detail = {"from": old_deadline, "to": deadline}
        found.append(("deadline", f"{item_id}:deadline:{deadline}", detail, True))
    return found


_WRITE_LOCKS: dict[str, threading.RLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(path: Path) -> threading.RLock:
    """The process-wide lock for write transactions on one database file."""
    key = str(path.resolve()) if str(path) != ":memory:" else f":memory:{threading.get_ident()}"
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.RLock())


OpenMode = Literal["create", "existing", "read"]


class DatabaseMissing(StoreError):
    """No DB file where one was expected (a read command, a mistyped --db)."""


class DatabaseGone(StoreError):
    """The service's DB vanished or was replaced while (or since) it ran: stop, do not recreate."""


def process_user() -> str:
    """The user this process runs as, for messages: `monitor (uid 10001)`."""
    import pwd

    uid = os.geteuid()
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:  # e.g. `docker run --user 1234` with no passwd entry
        return f"uid {uid}"


def _abs(path: Path) -> str:
    return str(path.absolute())


def _writable(path: Path) -> bool:
    effective = os.access in os.supports_effective_ids
    return os.access(path, os.W_OK, effective_ids=effective)


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def folder_fix(folder: Path) -> str:
    """What to do about a folder this user cannot write."""
    if _read_only_fs(folder):
        return (
            f"{folder} 이(가) 읽기 전용으로 마운트되어 있습니다: 쓰기 가능하게 마운트하세요 "
            "(docker -v 의 :ro 를 빼세요) 또는 --db/MONITOR_DB 로 쓸 수 있는 경로를 지정하세요"
        )
    return (
        f"폴더 {folder} 와 그 안의 DB 파일을 이 사용자가 쓸 수 있게 하세요 (예: chown -R {os.geteuid()} "
        f"{folder}) 또는 --db/MONITOR_DB 로 쓸 수 있는 경로를 지정하세요"
    )


def lock_path(db: Path) -> Path:
    """The service's lock file: beside the DB's resolved path, so every spelling of one DB file
    (relative, absolute, through a symlink) takes the same lock."""
    real = Path(db).resolve()
    return real.with_name(real.name + ".lock")


def write_problem(path: Path, *, lock: bool = True) -> str | None:
    """Why this process could not write the DB at path (the file, its -wal/-shm, the service's
    lock file unless `lock` is false, their folder), or None.

    SQLite in WAL mode writes the DB file, `-wal` and `-shm` beside it, and creates the latter two
    in the folder; any of them not writable stops every poll and delivery.
    """
    path = Path(path)
    folder = path.absolute().parent
    files = (path, Path(f"{path}-wal"), Path(f"{path}-shm"), *([lock_path(path)] if lock else []))
    for target in [*(p for p in files if p.exists()), folder]:
        if not _writable(target):
            what = "폴더" if target == folder else ("잠금 파일" if target.suffix == ".lock" else "파일")
            return (
                f"DB {what} {_abs(target)} 에 쓸 수 없습니다 "
                f"(실행 사용자 {process_user()}): {folder_fix(folder)}"
            )
    return None


def missing_message(path: Path) -> str:
    """A read command pointed at a DB file that does not exist."""
    return (
        f"DB 파일이 없습니다: {_abs(path)}. --db 옵션이나 MONITOR_DB 환경 변수의 경로를 확인하세요 "
        "(처음이라면 `monitor poll` 이나 `monitor run` 이 새로 만듭니다)"
    )


def gone_message(path: Path, db_id: str) -> str:
    """The service's DB is no longer at its path."""
    return (
        f"DB 파일 {_abs(path)} 이(가) 사라졌습니다 (DB id {db_id}). 빈 DB를 새로 만들면 보낸 알림을 "
        "다시 보내게 되므로 서비스를 멈춥니다: 백업에서 이 파일을 복구한 뒤 다시 시작하세요 "
        f"(정말 새 DB로 시작하려면 잠금 파일 {_abs(path)}.lock 을 지우세요)"
    )


def swapped_message(path: Path) -> str:
    """The service's DB file was replaced by another file while it ran."""
    return (
        f"DB 파일 {_abs(path)} 이(가) 서비스 실행 중에 다른 파일로 바뀌었습니다. 실행 중인 DB를 바꾸면 남은 "
        "-wal 기록이 새 파일에 섞여 DB가 망가질 수 있으므로 서비스를 멈춥니다: DB는 서비스를 멈춘 뒤에 "
        "바꾸고 다시 시작하세요"
    )


def _replaced_message(path: Path, expected: str, found: str | None) -> str:
    return (
        f"DB 파일 {_abs(path)} 이(가) 다른 DB로 바뀌었습니다 (DB id {expected} → {found or '없음'}). "
        "서비스를 멈춥니다: 원래 DB를 복구하거나, 새 DB로 운영하려면 서비스를 다시 시작하세요"
    )


def _check_before_open(path: Path, mode: OpenMode, expect_id: str | None) -> None:
    """Refuse early what SQLite would report badly: a missing file, a folder we cannot create."""
    if mode != "create":
        if expect_id is not None and not path.exists():
            raise DatabaseGone(gone_message(path, expect_id))
        if not path.exists():
            raise DatabaseMissing(missing_message(path))
        if path.is_dir():
            raise StoreError(f"DB 경로 {_abs(path)} 은(는) 폴더입니다: --db/MONITOR_DB 에 파일 경로를 주세요")
        return
    folder = path.absolute().parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreError(
            f"DB 폴더 {folder} 를 만들 수 없습니다 ({e.strerror}; 실행 사용자 {process_user()}): "
            f"상위 폴더를 이 사용자가 쓸 수 있게 하거나 --db/MONITOR_DB 로 쓸 수 있는 경로를 지정하세요"
        ) from None
    if path.is_dir():
        raise StoreError(f"DB 경로 {_abs(path)} 은(는) 폴더입니다: --db/MONITOR_DB 에 파일 경로를 주세요")
    problem = write_problem(path, lock=False)  # the lock is the service's business
    if problem:
        raise StoreError(problem)


def _needs_migration(path: Path) -> bool:
    """True for a policy-monitor DB whose schema is older than this version's (never raises)."""
    try:
        conn = _connect(path, "read")
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        finally:
            conn.close()
    except sqlite3.Error:
        return False  # the read itself reports what is wrong
    return 0 < version < len(MIGRATIONS)


def _connect(path: Path, mode: OpenMode) -> sqlite3.Connection:
    """A connection in the given mode (URI filenames: `rw` never creates, `ro` never writes)."""
    uri = "file:" + quote(_abs(path))
    if mode == "create":
        return sqlite3.connect(str(path))  # sqlite-utils' own way, as before
    if mode == "existing":
        return sqlite3.connect(f"{uri}?mode=rw", uri=True)
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True)
    try:
        conn.execute("PRAGMA user_version").fetchone()
    except sqlite3.OperationalError:
        # A WAL DB in a folder we cannot write: a read-only connection needs -shm, which it
        # cannot create there; nobody can be writing the file through this folder either, so
        # read it as immutable (https://www.sqlite.org/wal.html#readonly)
        conn.close()
        if _writable(path.absolute().parent):
            raise
        conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)
    return conn


def _open_error(path: Path, mode: OpenMode, error: sqlite3.Error) -> StoreError:
    """One line for a DB SQLite could not open or use: damaged, not writable, not a file."""
    name = getattr(error, "sqlite_errorname", "") or ""
    code = getattr(error, "sqlite_errorcode", 0) or 0
    where = _abs(path)
    if name in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or code in (26, 11):
        return StoreError(
            f"DB 파일 {where} 이(가) 손상되었거나 SQLite DB가 아닙니다 ({error}): 서비스를 멈추고 "
            "백업에서 복구하세요. 백업이 없으면 이 파일을 다른 이름으로 옮겨 두고 다시 시작하면 새 DB를 "
            "만듭니다 (--db/MONITOR_DB 경로가 맞는지도 확인하세요)"
        )
    if name.startswith(("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM")):
        folder = path.absolute().parent
        return StoreError(
            f"DB 파일 {where} 을(를) {'열' if mode == 'read' else '열어 쓸'} 수 없습니다 ({error}; "
            f"실행 사용자 {process_user()}): {folder_fix(folder)}"
        )
    if name in ("SQLITE_BUSY", "SQLITE_LOCKED"):
        return StoreError(
            f"DB 파일 {where} 이(가) 다른 프로세스에 잠겨 있습니다 ({error}): 잠시 뒤 다시 실행하세요"
        )
    return StoreError(f"DB 파일 {where} 을(를) 쓸 수 없습니다 ({error}): 파일과 디스크 상태를 확인하세요")


def _json(value: Any) -> str:
    return SORTED_JSON.encode(value)  # json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class Store:
    """One SQLite file in WAL mode; one Store (connection) per thread or job."""

    def __init__(self, path: Path | str, *, mode: OpenMode = "create", expect_id: str | None = None) -> None:
        """Open (and in `create` mode make and migrate) the DB.

        `mode`: `create` makes the file when missing (poll, digest, the service's first start);
        `existing` never creates one; `read` opens read-only and never writes (read commands).
        `expect_id`: the identity the caller knows this DB by (the service); another id, or no
        file, raises `DatabaseGone`. Every failure is a `StoreError` with a one-line message.
        """
        self.path = Path(path)
        self.mode = mode
        memory = str(path) == ":memory:"
        if not memory:
            _check_before_open(self.path, mode, expect_id)
        # an older schema (the package was upgraded, the service not restarted yet): bring it up
        # to date when we may write it, then read as usual
        migrate_first = mode == "read" and not memory and _needs_migration(self.path)
        if migrate_first and not write_problem(self.path, lock=False):
            Store(self.path, mode="existing").close()
        try:
            self.db = sqlite_utils.Database(self.path if memory else _connect(self.path, mode))
        except sqlite3.Error as e:
            raise _open_error(self.path, mode, e) from None
        try:
            conn = self.db.conn
            if mode == "create" and not memory and not conn.execute(
                "SELECT 1 FROM sqlite_master LIMIT 1"
            ).fetchone():
                # a new file gives back the pages retention frees (`monitor prune`, issue 18.3);
                # it can only be chosen before the first table exists
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
            if mode != "read":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA busy_timeout=10000")
            if mode == "read":
                self._check_readable()
            else:
                self.migrate()
            if expect_id is not None and self.identity != expect_id:
                raise DatabaseGone(_replaced_message(self.path, expect_id, self.identity))
        except sqlite3.Error as e:
            self.db.conn.close()
            raise _open_error(self.path, mode, e) from None
        except StoreError:
            self.db.conn.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        self.db.conn.close()

    @contextmanager
    def atomic(self) -> Iterator[Store]:
        """Group statements into one transaction (nested blocks use savepoints).

        Transactions on one file from threads of this process take turns: a deferred
        transaction that reads and then writes fails at once (SQLITE_BUSY, no busy_timeout
        wait) when another connection committed in between, as concurrent polls would.
        """
        with _write_lock(self.path):
            conn = self.db.conn
            if conn.in_transaction:  # nested: a savepoint inside the open transaction
                with self.db.atomic():
                    yield self
                return
            # IMMEDIATE: take the write lock first, so the transaction never reads a snapshot it
            # then cannot write on (SQLITE_BUSY_SNAPSHOT: another process committed in between)
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield self
            except BaseException:
                self.db.rollback()
                raise
            try:
                conn.execute("COMMIT")
            except BaseException:
                self.db.rollback()
                raise

    # -- schema -------------------------------------------------------------------------------

    @property
    def identity(self) -> str | None:
        """The id written into this DB when it was created (None before migration 4)."""
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'db_id'").fetchone()
        except sqlite3.OperationalError:  # no meta table: an older DB opened read-only
            return None
        return str(row[0]) if row else None

    def _check_readable(self) -> None:
        """A read-only open of a DB this version can read, or a StoreError saying what to do."""
        version = self.version
        if version == 0 and not self.db.table_names():
            raise DatabaseMissing(
                f"DB 파일 {_abs(self.path)} 이(가) 비어 있습니다 (아직 수집 전): `monitor poll` 로 먼저 "
                "수집하거나, --db/MONITOR_DB 가 맞는 파일을 가리키는지 확인하세요"
            )
        if version > len(MIGRATIONS):
            raise StoreError(
                f"DB 파일 {_abs(self.path)} 은(는) 더 새 버전의 policy-monitor 가 만든 것입니다 "
                f"(스키마 {version}, 이 버전은 {len(MIGRATIONS)}까지): policy-monitor 를 업데이트하세요"
            )
        if version < len(MIGRATIONS):
            # queries name the newest columns: an older schema cannot be read as it is
            raise StoreError(
                f"DB 파일 {_abs(self.path)} 의 스키마가 오래되었습니다 ({version}): 쓰기 명령"
                "(`monitor poll` 또는 `monitor run`)을 한 번 실행하면 새 스키마로 바뀝니다"
            )

    @property
    def version(self) -> int:
        """The schema version (PRAGMA user_version)."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply pending migrations, each in its own transaction."""
        for number, script in enumerate(MIGRATIONS, start=1):
            if self.version >= number:
                continue
            with self.db.atomic():
                if callable(script):  # a data migration that needs code (re-keying …)
                    script(self.db)
                else:
                    for statement in script.split(";"):
                        if statement.strip():
                            self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")

    # -- runs and source state ----------------------------------------------------------------

    def begin_run(self, source: str) -> int:
        """Record the start of a poll (committed at once) and close runs left by a crash."""
        stamp = iso(now())
        with self.db.atomic():
            self.db.execute(
                "UPDATE runs SET status = 'aborted', finished_at = ?, "
                "error = 'the process stopped during this poll' "
                "WHERE source = ? AND status = 'running'",
                [stamp, source],
            )
            cur = self.db.execute(
                "INSERT INTO runs (source, started_at, status) VALUES (?, ?, 'running')",
                [source, stamp],
            )
        return int(cur.lastrowid or 0)

    def finish_run(self, run_id: int, status: str, **values: Any) -> None:
        """Close a run with its outcome and counts."""
        _check_columns("runs", values, RUN_COLUMNS)
        values = {k: (_json(v) if k == "warnings" else v) for k, v in values.items()}
        values.update(status=status, finished_at=iso(now()))
        sets = ", ".join(f"{k} = ?" for k in values)
        self.db.execute(f"UPDATE runs SET {sets} WHERE id = ?", [*values.values(), run_id])

    def open_runs(self) -> list[dict[str, Any]]:
        """Runs still marked running (a poll under way, or one whose process died), oldest first."""
        return self.rows("SELECT * FROM runs WHERE status = 'running' ORDER BY started_at, id")

    def abort_runs(self, sources: Sequence[str], error: str) -> int:
        """Close these sources' open runs as aborted, committed at once; returns how many.

        For a stop that cannot wait for a poll: called without the process-wide write lock (the
        abandoned poll may hold it) and with a short busy timeout, so it never holds up the exit.
        """
        if not sources:
            return 0
        self.db.execute("PRAGMA busy_timeout=1000")
        marks = ",".join("?" * len(sources))
        cur = self.db.execute(
            f"UPDATE runs SET status = 'aborted', finished_at = ?, error = ? "
            f"WHERE status = 'running' AND source IN ({marks})",
            [iso(now()), error, *sources],
        )
        self.db.conn.commit()
        return int(cur.rowcount)

    def failing_jobs(self) -> list[dict[str, Any]]:
        """Scheduler jobs (`job:<id>` runs) whose latest runs failed: job, failures, since, last error.

        The service records a failed or missed job as a run and, once it works again, an `ok` run
        that ends the streak.
        """
        return self.rows(
            "SELECT r.source AS job, COUNT(*) AS failures, MIN(r.started_at) AS since, "
            "(SELECT l.error FROM runs l WHERE l.source = r.source ORDER BY l.id DESC LIMIT 1) AS error "
            "FROM runs r WHERE r.source >= 'job:' AND r.source < 'job;' AND r.status IN ('failed', 'missed') "
            "AND r.id > COALESCE((SELECT MAX(o.id) FROM runs o WHERE o.source = r.source "
            "AND o.status = 'ok'), 0) GROUP BY r.source ORDER BY r.source"
        )

    def state(self, source: str) -> dict[str, Any]:
        """The source's state row (empty dict before its first poll)."""
        row = self.db.execute("SELECT * FROM source_state WHERE source = ?", [source]).fetchone()
        if row is None:
            return {}
        cols = [c[0] for c in self.db.execute("SELECT * FROM source_state LIMIT 0").description]
        return dict(zip(cols, row, strict=True))

    def save_state(self, source: str, **values: Any) -> None:
        """Update (or create) the source's state row."""
        self.db["source_state"].upsert({"source": source, **values}, pk="source")

    def record_failure(self, source: str, status: str, error: str) -> int:
        """Count one more consecutive failure; returns the new count."""
        failures = int(self.state(source).get("consecutive_failures") or 0) + 1
        self.save_state(
            source,
            last_run_at=iso(now()),
            last_status=status,
            last_error=error,
            consecutive_failures=failures,
        )
        return failures

    # -- items and events ---------------------------------------------------------------------

    def _stored(self, where: str, params: Sequence[Any]) -> list[Stored]:
        rows = self.db.execute(f"SELECT {STORED_COLUMNS} FROM items i WHERE {where}", list(params))
        return [
            Stored(r[0], r[1], r[2], r[3], json.loads(r[4] or "{}"), r[5], bool(r[6]), r[7])
            for r in rows.fetchall()
        ]

    def stored(self, source: str, key: str) -> Stored | None:
        """What we hold about one item of a source, or None if we have never seen it."""
        found = self._stored("i.source = ? AND i.key = ?", [source, key])
        return found[0] if found else None

    def watched(self, source: str) -> list[Stored]:
        """Items of a source that a rule flagged or that carry `fields.watch`, least recently seen first."""
        return self._stored(
            "i.source = ? AND (EXISTS (SELECT 1 FROM matches m WHERE m.item_id = i.id) "
            "OR json_extract(i.fields, '$.watch') IS NOT NULL) ORDER BY i.last_seen_at, i.id",
            [source],
        )

    def unsummarised(self, source: str, limit: int, skip_stages: Sequence[str] = ()) -> list[Stored]:
        """Items of a source whose summary was never fetched (`fields.summary_checked` unset).

        Oldest pending first: first seen earliest, then the newest by `fields.propose_date`
        (so a baseline's recent bills come before its old ones); items whose `fields.stage` is in
        `skip_stages` (final stages) are left out. At most `limit`.
        """
        marks = ", ".join("?" * len(skip_stages)) or "NULL"
        return self._stored(
            "i.source = ? AND json_extract(i.fields, '$.summary_checked') IS NULL "
            f"AND COALESCE(json_extract(i.fields, '$.stage'), '') NOT IN ({marks}) "
            "ORDER BY i.first_seen_at, json_extract(i.fields, '$.propose_date') DESC, i.id LIMIT ?",
            [source, *skip_stages, limit],
        )

    def thread(self, thread: str) -> list[Stored]:
        """Items of every source in one thread (a bill and its notices)."""
        return self._stored("i.thread = ?", [thread])

    def apply_items(
        self, source: str, items: Sequence[Item], *, run_id: int, announce_after: datetime | None,
        kind: str | None = None,
    ) -> ApplyResult:  # fmt: skip
        """Store a batch and record what happened: `new`, `updated`, `stage`, `deadline` events.

        `announce_after` is set on a source's first (baseline) poll: only items published
        after it are announced. `kind`: the source's kind, written with each new item, and a
        new post that is a matter of its own gets that matter in the same INSERT (not written
        twice); `written` lists the items `assign_matters` still has to place. Call inside
        `atomic()`.
        """
        stamp = iso(now()) or ""
        writer = _MatterWriter(self.db, stamp) if kind is not None else None
        result = ApplyResult()
        events: list[Event] = []
        written: list[int] = []
        # the stored rows of the whole batch, one query per 500 keys instead of one per item
        stored: dict[str, tuple[Any, ...]] = {}
        for chunk in _chunks(list(dict.fromkeys(item.key for item in items)), 500):
            marks = ",".join("?" * len(chunk))
            for found_row in self.db.execute(
                "SELECT key, id, content_hash, title, fields, record_hash, summary, url FROM items "
                f"WHERE source = ? AND key IN ({marks})",
                [source, *chunk],
            ).fetchall():
                stored[found_row[0]] = found_row[1:]
        for item in items:
            record = item.record_hash()
            row = stored.get(item.key)
            values = [
                item.title, item.url, item.summary, item.body, iso(item.published_at),
                item.published_raw, item.content_hash(), _json(item.fields), item.thread, record,
            ]  # fmt: skip
            if row is None:
                matter_id = (
                    writer.matter_of_new_post(kind or "", source, item.key, item.title, item.summary)
                    if writer is not None else None
                )  # fmt: skip
                cur = self.db.execute(
                    f"INSERT INTO items (source, key, {ITEM_COLUMNS}, first_seen_at, last_seen_at, kind, "
                    f"matter_id) VALUES (?, ?, {', '.join('?' * len(values))}, ?, ?, ?, ?)",
                    [source, item.key, *values, stamp, stamp, kind, matter_id],
                )
                item_id = int(cur.lastrowid or 0)
                announce = announce_after is None or (
                    item.published_at is not None and item.published_at >= announce_after
                )
                found = [("new", f"{item_id}:new", {}, announce)]
                if item.fields.get("deadline"):
                    detail = {"from": None, "to": item.fields["deadline"]}
                    found.append(("deadline", f"{item_id}:deadline:{detail['to']}", detail, announce))
                result.new += 1
                if matter_id is None:
                    written.append(item_id)
            elif row[4] == record:
                self.db.execute("UPDATE items SET last_seen_at = ? WHERE id = ?", [stamp, row[0]])
                result.seen += 1
                continue
            else:
                item_id = int(row[0])
                assignments = ", ".join(f"{c.strip()} = ?" for c in ITEM_COLUMNS.split(","))
                self.db.execute(
                    f"UPDATE items SET {assignments}, last_seen_at = ? WHERE id = ?",
                    [*values, stamp, item_id],
                )
                written.append(item_id)
                found = _changes(item_id, row[1], row[2], json.loads(row[3] or "{}"), item, row[5], row[6])
                # counted as news only when announced: a 제안이유 filled in later is not an update
                result.updated += any(kind == "updated" and announce for kind, _, _, announce in found)
                result.seen += not found
            # the row as written now: a key twice in one batch (clean.py keeps one, but any
            # caller may not) finds it the second time, as a lookup per item would have
            stored[item.key] = (item_id, values[6], item.title, values[7], record, item.summary, item.url)
            for type_, key, detail, announce in found:
                event_id = self.add_event(item_id, type_, key, detail, run_id, announce, created_at=stamp)
                if event_id is not None:
                    events.append(Event(event_id, item_id, type_, announce, item))
        result.events = tuple(events)
        result.written = tuple(written)
        return result

    def assign_matters(self, kind: str, item_ids: Sequence[int]) -> None:
        """Record the kind of items just stored and place them in matters (monitor/matters.py).

        Call inside `atomic()`, after apply_items: a bill stored now also takes in the 정부
        입법예고 and law.go.kr entries that waited for it.
        """
        _MatterWriter(self.db, iso(now()) or "").assign(item_ids, kind)

    def add_event(
        self, item_id: int, type_: str, dedupe_key: str, detail: dict[str, Any],
        run_id: int | None, announce: bool = True, created_at: str | None = None,
    ) -> int | None:  # fmt: skip
        """Record an event once; returns its id, or None if that event exists already.

        `created_at`: the caller's stamp for a batch written in one transaction (default now).
        """
        cur = self.db.execute(
            "INSERT OR IGNORE INTO events (item_id, type, dedupe_key, detail, announce, run_id, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [item_id, type_, dedupe_key, _json(detail), int(announce), run_id, created_at or iso(now())],
        )
        return int(cur.lastrowid) if cur.rowcount == 1 and cur.lastrowid else None

    def add_matches(self, event_id: int, item_id: int, matches: Sequence[Match]) -> None:
        """Record which rules fired on an event, with the why."""
        stamp = iso(now())
        for m in matches:
            self.db.execute(
                "INSERT OR IGNORE INTO matches (event_id, item_id, rule, topic, priority, field, "
                "terms, snippet, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [event_id, item_id, m.rule, m.topic, m.priority, m.field, _json(list(m.terms)),
                 m.snippet, stamp],
            )  # fmt: skip

    # -- queries ------------------------------------------------------------------------------

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run a query and return rows as dicts."""
        cur = self.db.execute(sql, list(params))
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def items(
        self, *, topic: str | None = None, since: timedelta | None = None, flagged: bool = False,
        source: str | None = None, limit: int | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Stored items, newest first, each with its matches (the latest per rule), as a list."""
        return list(self.iter_items(topic=topic, since=since, flagged=flagged, source=source, limit=limit))

    def iter_items(
        self, *, topic: str | None = None, since: timedelta | None = None, flagged: bool = False,
        source: str | None = None, limit: int | None = None, body: bool = True, matches: bool = True,
        page: int = 500,
    ) -> Iterator[dict[str, Any]]:  # fmt: skip
        """Stored items, newest first, read `page` rows at a time (memory stays flat).

        Each row has its matches (the latest per rule; one query per page, never an unbounded
        `IN` list) unless `matches` is false; `body` false leaves the full text out.
        """
        where, params = ["1 = 1"], []
        if since is not None:
            where.append("i.first_seen_at >= ?")
            params.append(iso(now() - since))
        if source:
            where.append("i.source = ?")
            params.append(source)
        if flagged or topic:
            where.append("EXISTS (SELECT 1 FROM matches m WHERE m.item_id = i.id"
                         + (" AND m.topic = ?" if topic else "") + ")")  # fmt: skip
            if topic:
                params.append(topic)
        column = "i.*" if body else ITEM_LIST_COLUMNS
        sql = (
            f"SELECT {column} FROM items i WHERE {' AND '.join(where)} "
            # the newest-first index serves a listing of everything; a bounded one (--since) is
            # read through first_seen_at and sorted, not by walking every item in that order
            + ("ORDER BY COALESCE(i.published_at, i.first_seen_at) || '' DESC, i.id DESC" if since is not None
               else "ORDER BY COALESCE(i.published_at, i.first_seen_at) DESC, i.id DESC")
        )  # fmt: skip
        if limit:
            sql += f" LIMIT {int(limit)}"
        cur = self.db.conn.execute(sql, params)
        cols = [c[0] for c in cur.description]
        while rows := cur.fetchmany(page):
            items = [dict(zip(cols, r, strict=True)) for r in rows]
            for it in items:
                it["fields"] = json.loads(it["fields"] or "{}")
                it["matches"] = []
            if matches:
                by_id = {it["id"]: it for it in items}
                marks = ",".join("?" * len(by_id))
                for m in self.rows(
                    f"SELECT * FROM matches WHERE item_id IN ({marks}) ORDER BY id DESC", list(by_id)
                ):
                    target = by_id[m["item_id"]]
                    if any(x["rule"] == m["rule"] for x in target["matches"]):
                        continue
                    m["terms"] = json.loads(m["terms"])
                    target["matches"].append(m)
            yield from items

    def flagged_count(self) -> int:
        """How many items some rule flagged."""
        return int(self.db.execute("SELECT COUNT(DISTINCT item_id) FROM matches").fetchone()[0])

    def events(
        self, *, since: timedelta | None = None, type_: str | None = None,
        source: str | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Recorded events with their item's source, key and title, oldest first, as a list."""
        return list(self.iter_events(since=since, type_=type_, source=source))

    def iter_events(
        self, *, since: timedelta | None = None, type_: str | None = None,
        source: str | None = None, page: int = 500,
    ) -> Iterator[dict[str, Any]]:  # fmt: skip
        """Recorded events with their item's source, key and title, oldest first, `page` at a time."""
        where, params = ["1 = 1"], []
        if since is not None:
            where.append("e.created_at >= ?")
            params.append(iso(now() - since))
        if type_:
            where.append("e.type = ?")
            params.append(type_)
        if source:
            where.append("i.source = ?")
            params.append(source)
        cur = self.db.conn.execute(
            "SELECT e.id, e.type, e.detail, e.announce, e.created_at, e.run_id, i.source, "
            "i.key, i.title, i.url FROM events e JOIN items i ON i.id = e.item_id "
            f"WHERE {' AND '.join(where)} ORDER BY e.id",
            params,
        )
        cols = [c[0] for c in cur.description]
        while rows := cur.fetchmany(page):
            for row in rows:
                r = dict(zip(cols, row, strict=True))
                r["detail"] = json.loads(r["detail"])
                r["announce"] = bool(r["announce"])
                yield r

    def last_runs(self) -> dict[str, dict[str, Any]]:
        """The latest run of every source."""
        rows = self.rows(
            "SELECT r.* FROM runs r JOIN (SELECT source, MAX(id) AS id FROM runs GROUP BY source)"
            " last ON last.id = r.id"
        )
        return {r["source"]: r for r in rows}

    def counts(self) -> dict[str, int]:
        """Row counts of the main tables."""
        return {
            t: int(self.db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])
            for t in ("items", "events", "matches", "runs")
        }

    # -- digests ------------------------------------------------------------------------------

    def digest_events(
        self,
        *,
        undelivered_to: str | None = None,
        since: str | None = None,
        until: str | None = None,
        floor: int | None = None,
    ) -> list[dict[str, Any]]:
        """Announced events some rule matched, with their item and matches, oldest first.

        `undelivered_to` leaves out events a daily digest or an alert already carried (or
        holds, pending) for that destination: the digest window is our own event ids. An
        alert's skipped events (more than one poll may post) still go to the daily digest.
        `floor`: the lowest event id to read (a daily digest's window, `daily_floor`).
        """
        where, params = ["e.announce = 1", "EXISTS (SELECT 1 FROM matches m WHERE m.event_id = e.id)"], []
        if undelivered_to is not None:
            where.append(NOT_CARRIED_BY_DIGESTS)
            params.append(undelivered_to)
        # seen_at: the latest created_at up to this event in id order. Ids only grow, so an
        # event recorded while the clock was set back is not older than the one before it
        # (a digest would otherwise drop it as old); the wall clock alone never decides.
        # `seen_at >= T` holds exactly from the first event created at T or later on, so the
        # window is an id range found through events_created, never a pass over every event.
        first = self._first_event_at(since) if since is not None else 1
        last = self._first_event_at(until) if until is not None else 2**62
        if floor is not None:
            first = max(first, floor)
        where.append("e.id >= ? AND e.id < ?")
        window = [first, last]
        rows = self.rows(
            "WITH seen AS (SELECT id, MAX(created_at) OVER (ORDER BY id ROWS UNBOUNDED PRECEDING) "
            "AS seen_at FROM events WHERE id >= ? AND id < ?) "
            f"SELECT e.id, e.type, e.detail, e.created_at, s.seen_at, {EVENT_ITEM_COLUMNS} "
            "FROM events e JOIN seen s ON s.id = e.id JOIN items i ON i.id = e.item_id "
            f"WHERE {' AND '.join(where)} ORDER BY e.id",
            [*window, *params, *window],
        )
        low = self._first_event_at(since) if since is not None else 1
        if rows and low < first:
            # the latest created_at between `since` and a floor above it counts too (a clock set
            # back); events before `since`'s first one were all created before it, so they cannot
            before = self.db.execute(
                "SELECT MAX(created_at) FROM events WHERE id >= ? AND id < ?", [low, first]
            ).fetchone()
            if before is not None and before[0] is not None:
                for r in rows:
                    r["seen_at"] = max(r["seen_at"], before[0])
        return self._with_matches(rows, "event_id", "id")

    def urgent_events(self, undelivered_to: str, since: str) -> list[dict[str, Any]]:
        """What an alert check may post: announced new/stage/agenda events an `urgent` rule
        matched, from the first event created at `since` on, that no alert (its skipped events
        included) or daily digest carried (or holds) for `undelivered_to`; with item and
        matches, oldest first (the rows of `digest_events`, less `seen_at`).

        Read through the urgent matches (partial index matches_urgent, migration 11): the check
        after every poll costs what the window's few urgent events cost, not its every event.
        """
        first = self._first_event_at(since)
        rows = self.rows(
            f"SELECT e.id, e.type, e.detail, e.created_at, {EVENT_ITEM_COLUMNS} "
            "FROM events e JOIN items i ON i.id = e.item_id "
            "WHERE e.id IN (SELECT m.event_id FROM matches m INDEXED BY matches_urgent "
            "WHERE m.priority = 'urgent' AND m.event_id >= ?) "
            "AND e.announce = 1 AND e.type IN ('new', 'stage', 'agenda') "
            f"AND {NOT_CARRIED_BY_ALERTS} ORDER BY e.id",
            [first, undelivered_to],
        )
        return self._with_matches(rows, "event_id", "id")

    def _first_event_at(self, stamp: str) -> int:
        """The id of the first event whose seen_at is `stamp` or later (past the last id if none)."""
        row = self.db.execute(
            "SELECT MIN(id) FROM events INDEXED BY events_created WHERE created_at >= ?", [stamp]
        ).fetchone()
        if row and row[0] is not None:
            return int(row[0])
        top = self.db.execute("SELECT MAX(id) FROM events").fetchone()
        return int(top[0] or 0) + 1

    def daily_floor(self, destination: str) -> int:
        """The lowest event id a daily digest for `destination` needs to read (1: all).

        Every event up to the highest one the latest daily to this destination carried was
        read by that digest (shown, carried as skipped, or not routed there).
        """
        row = self.db.execute(
            "SELECT MAX(event_id) FROM delivery_events WHERE delivery_id = (SELECT MAX(id) FROM deliveries "
            "WHERE destination = ? AND kind = 'daily')",
            [destination],
        ).fetchone()
        return int(row[0]) + 1 if row and row[0] is not None else 1

    def flagged_with_deadline(self, first: str, last: str) -> list[dict[str, Any]]:
        """Flagged items whose `fields.deadline` falls in [first, last] (ISO dates)."""
        rows = self.rows(
            "SELECT i.id AS item_id, i.source, i.key, i.title, i.url, i.summary, i.published_at, "
            "i.first_seen_at, i.fields, i.thread, i.matter_id FROM items i "
            "WHERE json_extract(i.fields, '$.deadline') BETWEEN ? AND ? "
            "AND EXISTS (SELECT 1 FROM matches m WHERE m.item_id = i.id) "
            "ORDER BY json_extract(i.fields, '$.deadline'), i.id",
            [first, last],
        )
        return self._with_matches(rows, "item_id", "item_id")

    def matter_views(self, ids: Iterable[int]) -> dict[int, mat.View]:
        """Matters by id with their items and how many other matters share their law."""
        wanted = sorted({int(i) for i in ids if i is not None})
        views: dict[int, mat.View] = {}
        writer = _MatterWriter(self.db, "")
        for chunk in _chunks(wanted, 500):
            marks = ",".join("?" * len(chunk))
            for row in self.rows(
                "SELECT m.*, (SELECT COUNT(*) FROM matters o WHERE o.law_key = m.law_key AND o.id != m.id) "
                f"AS related FROM matters m WHERE m.id IN ({marks})",
                chunk,
            ):
                views[row["id"]] = mat.View(
                    row["id"], row["key"], row["title"], row["law"], [], int(row["related"] or 0)
                )
            for record in writer.records(f"matter_id IN ({marks}) ORDER BY id", chunk):
                views[int(record.matter or 0)].records.append(record)
        return {k: v for k, v in views.items() if v.records}

    def matter_ids(
        self, *, topic: str | None = None, since: timedelta | None = None, followed: bool = True,
    ) -> list[int]:  # fmt: skip
        """Ids of matters, the most recently active first.

        `followed`: only matters with an item some rule flagged or that is watched
        (`fields.watch`); `topic`: only those a rule of that topic matched; `since`: only those
        with an event recorded within that period.
        """
        where, params = ["1 = 1"], []
        if followed:
            where.append(
                "EXISTS (SELECT 1 FROM items i WHERE i.matter_id = m.id AND "
                "(json_extract(i.fields, '$.watch') IS NOT NULL "
                "OR EXISTS (SELECT 1 FROM matches x WHERE x.item_id = i.id)))"
            )
        if topic:
            where.append(
                "EXISTS (SELECT 1 FROM items i JOIN matches x ON x.item_id = i.id "
                "WHERE i.matter_id = m.id AND x.topic = ?)"
            )
            params.append(topic)
        if since is not None:
            where.append(
                "EXISTS (SELECT 1 FROM items i JOIN events e ON e.item_id = i.id "
                "WHERE i.matter_id = m.id AND e.created_at >= ?)"
            )
            params.append(iso(now() - since))
        rows = self.db.execute(
            "SELECT m.id FROM matters m LEFT JOIN items i ON i.matter_id = m.id LEFT JOIN events e ON "
            f"e.item_id = i.id WHERE {' AND '.join(where)} GROUP BY m.id ORDER BY MAX(e.id) DESC, m.id DESC",
            params,
        ).fetchall()
        return [int(r[0]) for r in rows]

    def matter_id(self, ref: str) -> int | None:
        """The id of a matter named by its id, its key (`bill:PRC_…`), a BILL_ID or a bill number."""
        ref = ref.strip()
        if ref.isdigit():
            row = self.db.execute("SELECT id FROM matters WHERE id = ?", [int(ref)]).fetchone()
            if row:
                return int(row[0])
        for sql, value in (
            ("SELECT id FROM matters WHERE key = ?", ref),
            ("SELECT id FROM matters WHERE key = ?", f"bill:{ref}"),
            ("SELECT matter_id FROM items WHERE kind = 'assembly_bills' "
             "AND json_extract(fields, '$.bill_no') = ?", ref),
        ):  # fmt: skip
            row = self.db.execute(sql, [value]).fetchone()
            if row and row[0] is not None:
                return int(row[0])
        return None

    def matter_details(self, ids: Sequence[int]) -> list[dict[str, Any]]:
        """Each matter with its items (View), topics, related matters and every event, oldest first.

        Events carry their item's source, key, title, url, kind and published_at.
        """
        views = self.matter_views(ids)
        out = []
        for matter_id in ids:
            view = views.get(matter_id)
            if view is None:
                continue
            events = self.rows(
                "SELECT e.id, e.type, e.detail, e.announce, e.created_at, i.source, i.key, i.title, i.url, "
                "i.kind, i.published_at FROM events e JOIN items i ON i.id = e.item_id "
                "WHERE i.matter_id = ? ORDER BY e.id",
                [matter_id],
            )
            for e in events:
                e["detail"] = json.loads(e["detail"] or "{}")
                e["announce"] = bool(e["announce"])
            topics = [r["topic"] for r in self.rows(
                "SELECT x.topic FROM matches x JOIN items i ON i.id = x.item_id WHERE i.matter_id = ? "
                "GROUP BY x.topic ORDER BY MIN(x.id)", [matter_id],
            )]  # fmt: skip
            related = self.rows(
                "SELECT o.id, o.title FROM matters o JOIN matters m ON m.law_key = o.law_key "
                "WHERE m.id = ? AND o.id != m.id ORDER BY o.id",
                [matter_id],
            )
            out.append({"view": view, "topics": topics, "events": events, "related": related})
        return out

    def _with_matches(self, rows: list[dict[str, Any]], column: str, key: str) -> list[dict[str, Any]]:
        for r in rows:
            r["fields"] = json.loads(r["fields"] or "{}")
            if "detail" in r:
                r["detail"] = json.loads(r["detail"] or "{}")
            r["matches"] = []
        by_key = {r[key]: r for r in rows}
        for chunk in _chunks(list(by_key), 500):
            marks = ",".join("?" * len(chunk))
            for m in self.rows(f"SELECT * FROM matches WHERE {column} IN ({marks}) ORDER BY id", chunk):
                target = by_key[m[column]]["matches"]
                if any(x["rule"] == m["rule"] for x in target):
                    continue
                m["terms"] = json.loads(m["terms"])
                target.append(m)
        return rows

    def source_health_rows(self) -> list[dict[str, Any]]:
        """Every source's state, with when its current run of failures began."""
        return self.rows(
            "SELECT s.*, (SELECT MIN(r.started_at) FROM runs r WHERE r.source = s.source "
            "AND r.status IN ('failed', 'blocked') AND r.started_at > COALESCE(s.last_success_at, '') "
            # only the runs since the source's last success: a bounded window, not its history
            "AND r.id > COALESCE((SELECT MAX(o.id) FROM runs o WHERE o.source = s.source "
            "AND o.status IN ('ok', 'not_modified')), 0)) "
            "AS failing_since FROM source_state s"
        )

    # -- the delivery ledger ------------------------------------------------------------------

    def delivery(self, delivery_id: int) -> dict[str, Any] | None:
        """One ledger row by id."""
        rows = self.rows("SELECT * FROM deliveries WHERE id = ?", [delivery_id])
        return _decode_delivery(rows[0]) if rows else None

    def find_delivery(self, kind: str, period: str, destination: str) -> dict[str, Any] | None:
        """The ledger row for (kind, period, destination), if any."""
        rows = self.rows(
            "SELECT * FROM deliveries WHERE kind = ? AND period = ? AND destination = ?",
            [kind, period, destination],
        )
        return _decode_delivery(rows[0]) if rows else None

    def create_delivery(
        self, kind: str, period: str, destination: str, payload: Any,
        event_ids: Sequence[int] = (), skipped_ids: Sequence[int] = (),
    ) -> dict[str, Any]:  # fmt: skip
        """Record a delivery to make, with the events it carries, once (returns the row)."""
        stamp = iso(now())
        with self.atomic():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO deliveries (kind, period, destination, status, payload, "
                "created_at, updated_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)",
                [kind, period, destination, _json(payload), stamp, stamp],
            )
            if cur.rowcount == 1:
                delivery_id = int(cur.lastrowid or 0)
                for event_id in event_ids:
                    self.db.execute(
                        "INSERT OR IGNORE INTO delivery_events (delivery_id, event_id) VALUES (?, ?)",
                        [delivery_id, event_id],
                    )
                for event_id in skipped_ids:
                    self.db.execute(
                        "INSERT OR IGNORE INTO delivery_events (delivery_id, event_id, skipped) "
                        "VALUES (?, ?, 1)",
                        [delivery_id, event_id],
                    )
        found = self.find_delivery(kind, period, destination)
        assert found is not None
        return found

    def update_delivery(self, delivery_id: int, **values: Any) -> None:
        """Change a ledger row (status, attempts, errors, ts …); committed at once."""
        _check_columns("deliveries", values, DELIVERY_COLUMNS)
        values = {k: (_json(v) if k in ("ts", "payload") else v) for k, v in values.items()}
        values["updated_at"] = iso(now())
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.atomic():
            self.db.execute(f"UPDATE deliveries SET {sets} WHERE id = ?", [*values.values(), delivery_id])

    def deliveries(self, *, status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Ledger rows, newest first, with how many events each carried."""
        where, params = ("WHERE d.status = ?", [status]) if status else ("", [])
        rows = self.rows(
            "SELECT d.*, (SELECT COUNT(*) FROM delivery_events de WHERE de.delivery_id = d.id "
            f"AND de.skipped = 0) AS events FROM deliveries d {where} ORDER BY d.id DESC LIMIT ?",
            [*params, limit],
        )
        return [_decode_delivery(r) for r in rows]

    def delivery_periods(self, kind: str, destination: str) -> list[str]:
        """Periods of every ledger row of a kind for a destination (whatever their status)."""
        rows = self.db.execute(
            "SELECT period FROM deliveries WHERE kind = ? AND destination = ?", [kind, destination]
        ).fetchall()
        return [r[0] for r in rows]

    def claim_delivery(
        self, delivery_id: int, owner: str, lease: timedelta, dead: Callable[[str], bool]
    ) -> tuple[dict[str, Any] | None, str | None]:
        """Take a ledger row for sending, atomically across processes (BEGIN IMMEDIATE).

        Returns (the row as it is now, None) when taken, or (None, holder) when another owner
        holds a live claim: one whose lease has not run out and whose process `dead(holder)`
        does not know to be gone. The returned row is read inside the claim, so a row another
        process finished meanwhile comes back `sent`.
        """
        stamp = now()
        with self.atomic():
            row = self.delivery(delivery_id)
            if row is None:
                return None, None
            holder, until = row.get("claimed_by"), parse_datetime(row.get("claim_until"))
            if holder and holder != owner and until is not None and until > stamp and not dead(holder):
                return None, holder
            self.db.execute(
                "UPDATE deliveries SET claimed_by = ?, claim_until = ? WHERE id = ?",
                [owner, iso(stamp + lease), delivery_id],
            )
        return dict(row, claimed_by=owner, claim_until=iso(stamp + lease)), None

    def renew_claim(self, delivery_id: int, owner: str, lease: timedelta) -> bool:
        """Extend our claim; False when it is no longer ours (it ran out and was taken over)."""
        with self.atomic():
            cur = self.db.execute(
                "UPDATE deliveries SET claim_until = ? WHERE id = ? AND claimed_by = ?",
                [iso(now() + lease), delivery_id, owner],
            )
        return cur.rowcount == 1

    def release_claim(self, delivery_id: int, owner: str) -> None:
        """Give a claimed row back (only if it is still ours)."""
        with self.atomic():
            self.db.execute(
                "UPDATE deliveries SET claimed_by = NULL, claim_until = NULL WHERE id = ? AND claimed_by = ?",
                [delivery_id, owner],
            )

    def unfinished_deliveries(self) -> list[dict[str, Any]]:
        """Rows not yet confirmed sent (pending or sending), oldest first."""
        rows = self.rows("SELECT * FROM deliveries WHERE status IN ('pending', 'sending') ORDER BY id")
        return [_decode_delivery(r) for r in rows]

    # -- agenda (meetings, followed bills, agenda events) --------------------------------------

    def followed_bills(self) -> list[dict[str, Any]]:
        """The bills the committee follows, one row per bill, with the why of every item about it.

        A bill is followed when any item of its thread (`assembly-bill:…`: the bill and its 국회
        입법예고) was flagged by a rule or carries `fields.watch`. The row is the bill's own item
        where stored (else its 입법예고), with `matches` = the latest match per rule over the
        whole thread. This one query decides what "followed" means for agenda events and the
        calendar; matters (issue 14) can take its place.
        """
        rows = self.rows(
            "WITH followed AS (SELECT DISTINCT i.thread FROM items i "
            "WHERE i.thread >= 'assembly-bill:' AND i.thread < 'assembly-bill;' "
            "AND (EXISTS (SELECT 1 FROM matches m WHERE m.item_id = i.id) "
            "OR json_extract(i.fields, '$.watch') IS NOT NULL)) "
            "SELECT i.id AS item_id, i.source, i.key, i.title, i.url, i.summary, i.fields, i.thread "
            "FROM items i JOIN followed f ON f.thread = i.thread "
            "ORDER BY i.thread, json_extract(i.fields, '$.stage_of') IS NOT NULL, i.id"
        )
        threads: dict[str, dict[str, Any]] = {}
        members: dict[int, str] = {}
        for r in rows:
            r["fields"] = json.loads(r["fields"] or "{}")
            members[r["item_id"]] = r["thread"]
            threads.setdefault(r["thread"], dict(r, matches=[]))
        for chunk in _chunks(list(members), 500):
            marks = ",".join("?" * len(chunk))
            for m in self.rows(f"SELECT * FROM matches WHERE item_id IN ({marks}) ORDER BY id DESC", chunk):
                target = threads[members[m["item_id"]]]["matches"]
                if not any(x["rule"] == m["rule"] for x in target):
                    target.append(dict(m, terms=json.loads(m["terms"])))
        return list(threads.values())

    def agenda_events_of(self, item_id: int) -> list[dict[str, Any]]:
        """The `agenda` events of one item (a bill), oldest first, with their dedupe keys."""
        rows = self.rows(
            "SELECT id, dedupe_key, detail, created_at FROM events WHERE item_id = ? AND type = 'agenda' "
            "ORDER BY id",
            [item_id],
        )
        for r in rows:
            r["detail"] = json.loads(r["detail"] or "{}")
        return rows

    def agenda_rows(self, first: str, last: str) -> list[dict[str, Any]]:
        """Agenda events whose meeting date is in [first, last] (ISO dates), ordered by date.

        Each row is the event (detail, announce, created_at), its bill's item (title, url,
        fields, thread), the event's matches, and the meeting as stored now: `meeting` (its
        fields: the time as last given …) and `vanished` (a successful poll of its source no
        longer listed it: changed or cancelled, unconfirmed; ASSEMBLY.md §9.5 trap 9). An event
        another one replaced (`detail.replaces`: the meeting moved) is left out.
        """
        rows = self.rows(
            "SELECT e.id, e.type, e.detail, e.announce, e.created_at, i.id AS item_id, i.source, i.key, "
            "i.title, i.url, i.summary, i.published_at, i.first_seen_at, i.fields, i.thread, "
            "s.fields AS meeting FROM events e JOIN items i ON i.id = e.item_id "
            "LEFT JOIN items s ON s.source = json_extract(e.detail, '$.meeting_source') "
            "AND s.key = json_extract(e.detail, '$.meeting_key') "
            "WHERE e.type = 'agenda' AND json_extract(e.detail, '$.date') BETWEEN ? AND ? "
            "AND NOT EXISTS (SELECT 1 FROM events l WHERE l.item_id = e.item_id AND l.type = 'agenda' "
            "AND json_extract(l.detail, '$.replaces') = e.id) "
            "ORDER BY json_extract(e.detail, '$.date'), e.id",
            [first, last],
        )
        for r in rows:
            r["meeting"] = json.loads(r["meeting"]) if r["meeting"] else None
            r["announce"] = bool(r["announce"])
            r["vanished"] = r["meeting"] is None or bool(r["meeting"].get("vanished_at"))
        return self._with_matches(rows, "event_id", "id")

    def mark_unlisted_meetings(self, source: str, listed: set[str], today: str) -> int:
        """Mark the source's stored meetings from `today` on that this poll did not list.

        The schedules have no cancellation flag, and a row may vanish and come back (§9.5 trap
        9): the mark (`fields.vanished_at`) says "changed or cancelled, unconfirmed". Clearing
        `record_hash` makes the row's next listing rewrite it, mark gone. Call in the poll's
        transaction, after apply_items. Returns how many were newly marked.
        """
        rows = self.db.execute(
            "SELECT id, key FROM items WHERE source = ? "
            "AND json_extract(fields, '$.meeting_kind') IS NOT NULL AND json_extract(fields, '$.date') >= ? "
            "AND json_extract(fields, '$.vanished_at') IS NULL",
            [source, today],
        ).fetchall()
        gone = [item_id for item_id, key in rows if key not in listed]
        for item_id in gone:
            self.db.execute(
                "UPDATE items SET fields = json_set(fields, '$.vanished_at', ?), record_hash = '' "
                "WHERE id = ?",
                [iso(now()), item_id],
            )
        return len(gone)

    def meetings(self, first: str, last: str) -> list[dict[str, Any]]:
        """Stored meetings (`fields.meeting_kind` set) whose date is in [first, last], by date.

        `vanished` as in agenda_rows: a successful poll of its source no longer listed it.
        """
        rows = self.rows(
            "SELECT i.id AS item_id, i.source, i.key, i.title, i.url, i.fields FROM items i "
            "WHERE json_extract(i.fields, '$.meeting_kind') IS NOT NULL "
            "AND json_extract(i.fields, '$.date') BETWEEN ? AND ? "
            "ORDER BY json_extract(i.fields, '$.date'), json_extract(i.fields, '$.time_start'), i.id",
            [first, last],
        )
        for r in rows:
            r["fields"] = json.loads(r["fields"] or "{}")
            r["vanished"] = bool(r["fields"].get("vanished_at"))
        return rows

    # -- the web view (issue 16): search and matter facts ------------------------------------------

    def index_pending(self) -> int:
        """Index the items queued for search since the last call (one transaction); returns how many.

        Called after each poll's own transaction (ingest.poll_source), so a poll holds the write
        lock only for storing; see SEARCH_SCHEMA.
        """
        with self.atomic():
            upto = int(self.db.execute(_SEARCH_UPTO[1:-1]).fetchone()[0])
            newest = int(self.db.execute("SELECT COALESCE(MAX(id), 0) FROM items").fetchone()[0])
            edited = self.db.execute(
                "INSERT INTO items_fts (rowid, title, summary) SELECT i.id, i.title, i.summary "
                "FROM search_pending p JOIN items i ON i.id = p.item_id WHERE p.item_id <= ?",
                [upto],
            ).rowcount
            self.db.execute("DELETE FROM search_pending")
            if newest > upto:
                self.db.execute(
                    "INSERT INTO items_fts (rowid, title, summary) SELECT id, title, summary FROM items "
                    "WHERE id > ? AND id <= ?",
                    [upto, newest],
                )
                self.db.execute("UPDATE meta SET value = ? WHERE key = 'search_upto'", [str(newest)])
        return max(edited, 0) + max(newest - upto, 0)

    def search(self, query: str, limit: int = 200) -> list[dict[str, Any]]:
        """Items whose title or summary holds every word of `query`, newest first (at most `limit`).

        Words of 3 characters or more go through the trigram index (items_fts); shorter ones
        (`법`, `조합`) have no trigram and are matched with LIKE. Case-insensitive for Latin
        letters. Rows: item id, source, key, title, summary, url, published_at, first_seen_at,
        matter_id, matter_title.
        """
        terms = _search_terms(query)
        if not terms:
            return []
        where, params = [], []
        long = [t for t in terms if len(t) >= SEARCH_MIN]
        if long:  # each word a quoted phrase: FTS5 syntax in a query (AND, *, ") stays literal
            # items queued but not indexed yet (index_pending runs right after a poll) by LIKE
            queued = " AND ".join([_LIKE_CLAUSE] * len(long))
            where.append(
                "(i.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?) "
                f"OR ((i.id > {_SEARCH_UPTO} OR i.id IN (SELECT item_id FROM search_pending)) AND {queued}))"
            )
            params.append(" AND ".join('"' + t.replace('"', '""') + '"' for t in long))
            for t in long:
                params += [_like(t)] * 2
        for t in terms:
            if len(t) < SEARCH_MIN:
                where.append(_LIKE_CLAUSE)
                params += [_like(t)] * 2
        return self.rows(
            "SELECT i.id, i.source, i.key, i.title, i.summary, i.url, i.published_at, i.first_seen_at, "
            "i.matter_id, m.title AS matter_title FROM items i LEFT JOIN matters m ON m.id = i.matter_id "
            f"WHERE {' AND '.join(where)} ORDER BY COALESCE(i.published_at, i.first_seen_at) DESC, i.id DESC "
            "LIMIT ?",
            [*params, int(limit)],
        )

    def matter_topics(self, ids: Iterable[int]) -> dict[int, list[str]]:
        """The topics rules matched on each matter's items, first match first (matters with none left out)."""
        out: dict[int, list[str]] = {}
        for chunk in _chunks(sorted({int(i) for i in ids}), 500):
            marks = ",".join("?" * len(chunk))
            for matter_id, topic in self.db.execute(
                "SELECT i.matter_id, x.topic FROM matches x JOIN items i ON i.id = x.item_id "
                f"WHERE i.matter_id IN ({marks}) GROUP BY i.matter_id, x.topic ORDER BY MIN(x.id)",
                chunk,
            ).fetchall():
                out.setdefault(int(matter_id), []).append(str(topic))
        return out

    def matters_of_items(self, item_ids: Iterable[int]) -> dict[int, int]:
        """Item id → the id of the matter it is in (items in none left out)."""
        out: dict[int, int] = {}
        for chunk in _chunks(sorted({int(i) for i in item_ids}), 500):
            marks = ",".join("?" * len(chunk))
            for item_id, matter_id in self.db.execute(
                f"SELECT id, matter_id FROM items WHERE id IN ({marks}) AND matter_id IS NOT NULL", chunk
            ).fetchall():
                out[int(item_id)] = int(matter_id)
        return out

    def matter_matches(self, matter_id: int) -> list[dict[str, Any]]:
        """Why a matter is followed: the latest match of each rule on each of its items, oldest first.

        Rows: rule, topic, priority, field, terms (list), snippet, created_at, item_id, source, title.
        """
        rows = self.rows(
            "SELECT x.rule, x.topic, x.priority, x.field, x.terms, x.snippet, x.created_at, x.item_id, "
            "i.source, i.title FROM matches x JOIN items i ON i.id = x.item_id WHERE i.matter_id = ? "
            "AND x.id = (SELECT MAX(y.id) FROM matches y WHERE y.item_id = x.item_id AND y.rule = x.rule) "
            "ORDER BY x.id",
            [matter_id],
        )
        for r in rows:
            r["terms"] = json.loads(r["terms"] or "[]")
        return rows
# -- retention (monitor/retention.py decides; issue 18.3) -----------------------------------------
# What may go, as WHERE clauses on one table each. What the send-once guarantee needs (every
# ledger row and key, claims, delivery_events) and what a followed matter needs (its items'
# text, its events) is never among them.

# the full text of an item no rule flagged, nobody watches and no followed matter holds
PRUNE_BODY = (
    "i.body != '' AND i.last_seen_at < ? "
    "AND NOT EXISTS (SELECT 1 FROM matches m WHERE m.item_id = i.id) "
    "AND json_extract(i.fields, '$.watch') IS NULL "
    "AND NOT EXISTS (SELECT 1 FROM items o WHERE o.matter_id = i.matter_id AND o.id != i.id "
    "AND (json_extract(o.fields, '$.watch') IS NOT NULL "
    "OR EXISTS (SELECT 1 FROM matches x WHERE x.item_id = o.id)))"
)
# a finished run no event points to, other than each source's (or job's) latest
PRUNE_RUN = (
    "r.started_at < ? AND r.status != 'running' "
    "AND NOT EXISTS (SELECT 1 FROM events e WHERE e.run_id = r.id) "
    "AND r.id != (SELECT MAX(l.id) FROM runs l WHERE l.source = r.source)"
)
# the rendered payload of a delivery confirmed sent (its row, key and events stay)
PRUNE_PAYLOAD = "d.status = 'sent' AND d.sent_at < ? AND d.payload != 'null'"
PRUNE_TABLES = {"body": ("items i", PRUNE_BODY), "runs": ("runs r", PRUNE_RUN),
                "payload": ("deliveries d", PRUNE_PAYLOAD)}  # fmt: skip


class Pruning:
    """The statements of `monitor prune`, on a Store's connection (see monitor/retention.py)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def count(self, what: str, before: str) -> int:
        """How many rows `what` (body, runs, payload) would touch for a cutoff `before`."""
        t, where = PRUNE_TABLES[what]
        return int(self.store.db.execute(f"SELECT COUNT(*) FROM {t} WHERE {where}", [before]).fetchone()[0])

    def batch(self, what: str, before: str, size: int) -> int:
        """Drop one batch (its own transaction); returns how many rows it touched (0: done)."""
        t, where = PRUNE_TABLES[what]
        column = t[-1]  # the table's alias
        db = self.store.db
        with self.store.atomic():
            ids = [r[0] for r in db.execute(
                f"SELECT {column}.id FROM {t} WHERE {where} LIMIT ?", [before, size]
            ).fetchall()]  # fmt: skip
            if not ids:
                return 0
            marks = ",".join("?" * len(ids))
            if what == "body":
                db.execute(f"UPDATE items SET body = '' WHERE id IN ({marks})", ids)
            elif what == "runs":
                db.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids)
            else:
                db.execute(f"UPDATE deliveries SET payload = 'null' WHERE id IN ({marks})", ids)
        return len(ids)

    def incremental(self) -> bool:
        """True when the file gives freed pages back (auto_vacuum = INCREMENTAL)."""
        return int(self.store.db.execute("PRAGMA auto_vacuum").fetchone()[0]) == 2

    def shrink(self, full: bool) -> None:
        """Give freed pages back to the file system.

        `full`: a one-off VACUUM that also switches an older file to incremental vacuum (it
        rewrites the whole file: needs as much free disk again and holds the write lock).
        Otherwise `PRAGMA incremental_vacuum` where the file allows it. Then the WAL is
        checkpointed and truncated, so the main file and its -wal both shrink.
        """
        conn = self.store.db.conn
        with _write_lock(self.store.path):
            if full:
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
                conn.execute("VACUUM")
            elif self.incremental():
                # one page per step: executescript steps it to the end, execute() only once
                conn.executescript("PRAGMA incremental_vacuum;")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _decode_delivery(row: dict[str, Any]) -> dict[str, Any]:
    row["payload"] = json.loads(row["payload"] or "null")
    row["ts"] = json.loads(row["ts"] or "[]")
    return row


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
