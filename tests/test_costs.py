"""Costs that do not grow with history (issue 18): query plans of the per-poll and per-digest work."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.health import assess
from monitor.jobs import Job, alert_digests, daily_digests, health_digests, weekly_digests
from monitor.store import Store
from monitor.text import now
from tests.seed import bill, config, fail, notice, poll, press, ruleset

TODAY = now().date()
COOP = "협동조합 기본법 일부개정법률안"
# tables that grow with every poll; a full pass over any of them is what issue 18 is about
# (deliveries, source_state, matters' few rows per day and sources are small enough to scan)
GROWING = ("items", "events", "runs", "matches", "delivery_events")
# "-- …": a trigger's statement as SQLite traces it (the trigger body, not a statement of ours)
SKIP = re.compile(
    r"^\s*(--|PRAGMA|BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE|INSERT INTO \w+ \([^)]*\) VALUES)", re.I
)
ALIASES = re.compile(
    r"\b(?:FROM|JOIN)\s+(\w+)(?:\s+(?:AS\s+)?(?!ON\b|WHERE\b|JOIN\b|LEFT\b|INDEXED\b)(\w+))?", re.I
)


def traced(store: Store) -> list[str]:
    """Start recording every statement the store's connection runs (expanded SQL, in order)."""
    seen: list[str] = []
    store.db.conn.set_trace_callback(seen.append)
    return seen


def full_scans(store: Store, statements: list[str]) -> dict[str, list[str]]:
    """Statement → the plan lines that scan a growing table from end to end."""
    found: dict[str, list[str]] = {}
    for sql in dict.fromkeys(statements):
        if SKIP.match(sql):
            continue
        names = {table: table for table in GROWING}
        for table, alias in ALIASES.findall(sql):
            if table in GROWING and alias:
                names[alias] = table
        plan = store.db.conn.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall()
        bad = []
        for row in plan:
            detail = row[-1]
            m = re.match(r"SCAN (\w+)", detail)
            if m and names.get(m.group(1)) in GROWING:
                bad.append(detail)
        if bad:
            found[sql] = bad
    return found


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "monitor.db")
    yield s
    s.close()


def test_every_per_poll_and_per_digest_query_uses_an_index(store: Store, tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    notify = {"destinations": {"main": {"type": "slack", "channel": "C0POLICY"}}}
    # some history first: polls, a failing source, a daily and an alert recorded in the ledger
    poll(store, rules, "bills", [bill(n, f"{COOP} {n}") for n in range(1, 30)], kind="assembly_bills")
    poll(store, rules, "notices", [notice(3, "사회적협동조합 지원법안", TODAY + timedelta(days=1))],
         kind="assembly_notices")  # fmt: skip
    poll(store, rules, "mois", [press(n, f"마을기업 소식 {n}") for n in range(40)])
    fail(store, "mois", "HTTP 500 from https://www.mois.go.kr/", days_ago=1)
    job = Job(store, config(notify), rules, TODAY, to="console")
    for digest in daily_digests(job) + alert_digests(job):
        store.create_delivery(digest.kind, digest.period, digest.destination, {}, digest.event_ids,
                              digest.skipped_event_ids)  # fmt: skip

    statements = traced(store)
    # one poll (its store transaction, the lookups kinds make) and the alert check after it
    poll(store, rules, "bills", [bill(1, COOP, stage="위원회 심사"), bill(40, f"{COOP} 40")],
         kind="assembly_bills")  # fmt: skip
    poll(store, rules, "mois", [press(99, "마을기업 새 소식")])
    store.stored("mois", "x")
    store.watched("bills")
    store.unsummarised("bills", 5, ["공포"])
    store.thread("assembly-bill:PRC_SEED0001")
    store.followed_bills()
    store.agenda_events_of(1)
    alert_digests(job)
    health_digests(job)
    # the digests (a dry run builds them all) and status
    daily_digests(job)
    weekly_digests(job)
    assess(config(notify).sources, {r["source"]: r for r in store.source_health_rows()}, now())
    store.open_runs()
    store.failing_jobs()
    store.unfinished_deliveries()
    store.deliveries(limit=200)
    # the bounded listings: `items --flagged --since 7d`, `events --since 7d`
    assert list(store.iter_items(flagged=True, since=timedelta(days=7), body=False))
    assert store.events(since=timedelta(days=7), type_="stage")
    store.db.conn.set_trace_callback(None)

    assert len(set(statements)) > 30  # the trace saw the work (else the check below proves nothing)
    assert any("FROM events" in s for s in statements) and any("source_state" in s for s in statements)
    # the digest window's "not yet carried" check starts from the event's own ledger rows, not
    # from every delivery to the destination (a search, but one that grows with the ledger)
    window = [s for s in set(statements) if "NOT EXISTS (SELECT 1 FROM delivery_events" in s]
    assert window
    for sql in window:
        plan = " / ".join(r[-1] for r in store.db.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "delivery_events_event" in plan and "deliveries_destination" not in plan, plan
    scans = full_scans(store, statements)
    assert scans == {}, "\n".join(f"{sql}\n    {plan}" for sql, plan in scans.items())


def test_the_alert_check_reads_only_the_urgent_events_of_its_window(store: Store, tmp_path: Path) -> None:
    """Many flagged but not urgent events: the alert check's rows are the urgent ones alone, read
    through the urgent-matches index; what an alert or a daily carried is not read again."""
    rules = ruleset(tmp_path)
    notify = {"destinations": {"main": {"type": "slack", "channel": "C0POLICY"}}, "urgent": ["main"]}
    # an urgent bill seen ten days ago, before the alert window: never read again
    poll(store, rules, "bills", [bill(9, f"{COOP} 9")], kind="assembly_bills")
    old = (now() - timedelta(days=10)).isoformat(timespec="seconds")
    store.db.execute("UPDATE events SET created_at = ?", [old])
    poll(store, rules, "mois", [press(n, f"마을기업 소식 {n}") for n in range(200)])  # flagged, normal
    poll(store, rules, "bills", [bill(1, COOP), bill(2, "사회적협동조합 지원법안")], kind="assembly_bills")
    # an urgent match on an unannounced event (a baseline's old item, a silent change): no alert
    (silent,) = store.db.execute("SELECT id, item_id FROM events WHERE item_id = (SELECT MAX(item_id) "
                                 "FROM events)").fetchall()  # fmt: skip
    quiet = store.add_event(silent[1], "stage", f"{silent[1]}:stage:quiet", {}, None, announce=False)
    copied = "item_id, rule, topic, priority, field, terms, snippet, created_at"
    store.db.execute(f"INSERT INTO matches (event_id, {copied}) SELECT ?, {copied} FROM matches "
                     "WHERE event_id = ?", [quiet, silent[0]])  # fmt: skip
    job = Job(store, config(notify), rules, TODAY, to="console")
    cutoff = (now() - timedelta(days=3)).isoformat(timespec="seconds")

    statements = traced(store)
    rows = store.urgent_events("main", cutoff)
    store.db.conn.set_trace_callback(None)
    assert [r["title"] for r in rows] == [COOP, "사회적협동조합 지원법안"]
    assert all(m["priority"] == "urgent" for r in rows for m in r["matches"] if m["rule"] == "coop-basic-act")
    read = next(s for s in statements if "FROM events e" in s)
    plan = " / ".join(r[-1] for r in store.db.conn.execute(f"EXPLAIN QUERY PLAN {read}"))
    assert "matches_urgent" in plan and "SCAN e" not in plan, plan
    assert [d.period for d in alert_digests(job)] == [f"event:{rows[0]['id']}", f"event:{rows[1]['id']}"]

    # an alert carried the first, a batch alert skipped the second: nothing is left to alert,
    # but the skipped one still waits for the daily digest
    store.create_delivery("urgent", f"event:{rows[0]['id']}", "main", {}, [rows[0]["id"]], [])
    assert [r["id"] for r in store.urgent_events("main", cutoff)] == [rows[1]["id"]]
    store.create_delivery("urgent", "events:batch", "main", {}, [], [rows[1]["id"]])
    assert store.urgent_events("main", cutoff) == []
    daily = store.digest_events(undelivered_to="main", since=cutoff)
    assert rows[1]["id"] in [r["id"] for r in daily] and rows[0]["id"] not in [r["id"] for r in daily]
    # another destination has received nothing yet
    assert len(store.urgent_events("ops", cutoff)) == 2


def test_the_check_finds_a_full_scan(store: Store) -> None:
    """The plan check itself: a query with no usable index is reported."""
    found = full_scans(store, ["SELECT * FROM events e WHERE e.detail LIKE '%x%'",
                               "SELECT id FROM items WHERE first_seen_at >= '2026'"])  # fmt: skip
    assert list(found) == ["SELECT * FROM events e WHERE e.detail LIKE '%x%'"]


# --- retention ----------------------------------------------------------------------------------

SOURCES = "sources:\n  - {id: mois, kind: rss, name: 행정안전부, url: 'http://127.0.0.1:9/'}\n"
LONG = "지역 공동체와 주민 생활에 관한 보도자료 본문입니다. " * 60  # ~2 kB of full text per item


def kept_counts(db: Path) -> dict[str, object]:
    """What retention must never drop, counted straight from the file."""
    conn = sqlite3.connect(db)
    try:
        one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "flagged": one("SELECT COUNT(DISTINCT item_id) FROM matches"),
            "flagged_text": one(
                "SELECT COUNT(*) FROM items i WHERE body != '' "
                "AND EXISTS (SELECT 1 FROM matches m WHERE m.item_id = i.id)"
            ),
            "items": one("SELECT COUNT(*) FROM items"),
            "matters": one("SELECT COUNT(*) FROM matters"),
            "events": one("SELECT COUNT(*) FROM events"),
            "matches": one("SELECT COUNT(*) FROM matches"),
            "keys": sorted(conn.execute("SELECT kind, period, destination, status FROM deliveries")),
            "delivery_events": one("SELECT COUNT(*) FROM delivery_events"),
            "notice_text": one("SELECT body FROM items WHERE source = 'notices'"),
        }
    finally:
        conn.close()


def fill(store: Store, tmp_path: Path, old: str) -> None:
    """A few thousand items through the store (a tenth flagged), runs, a sent daily; then aged."""
    rules = ruleset(tmp_path)
    for batch in range(12):
        items = [
            replace(press(n, f"마을기업 소식 {n}" if n % 10 == 0 else f"도로 정비 안내 {n}"), body=LONG)
            for n in range(batch * 250, (batch + 1) * 250)
        ]
        poll(store, rules, "mois", items)
    for _ in range(300):  # polls that found nothing new: runs no event points to
        poll(store, rules, "mois", [])
    # a followed matter: the bill is flagged, its 입법예고 (same matter) is not, and keeps its text
    poll(store, rules, "bills", [bill(7, COOP)], kind="assembly_bills")
    quiet = replace(notice(7, "도로교통법 일부개정법률안", TODAY + timedelta(days=30)), body=LONG)
    poll(store, rules, "notices", [quiet], kind="assembly_notices")
    job = Job(store, config(None), rules, TODAY, to="console")
    for digest in daily_digests(job):
        row = store.create_delivery(digest.kind, digest.period, digest.destination, {"slack": [LONG]},
                                    digest.event_ids, digest.skipped_event_ids)  # fmt: skip
        store.update_delivery(row["id"], status="sent", sent_at=old)
    with store.atomic():
        store.db.execute("UPDATE items SET first_seen_at = ?, last_seen_at = ?", [old, old])
        store.db.execute("UPDATE runs SET started_at = ?, finished_at = ?", [old, old])


def test_prune_keeps_what_matters_and_the_file_shrinks(tmp_path: Path, cli) -> None:
    db = tmp_path / "monitor.db"
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    store = Store(db)
    fill(store, tmp_path, (now() - timedelta(days=400)).isoformat(timespec="seconds"))
    store.close()
    before, size = kept_counts(db), db.stat().st_size
    assert before["flagged"] == 301 and before["flagged_text"] == 300 and before["items"] == 3002
    assert before["keys"] and before["delivery_events"] > 0 and before["notice_text"] == LONG

    dry = cli("prune", "--dry-run", ok=True)
    assert "본문(전문)을 지울 항목: 2700건" in dry.output and "미리 보기" in dry.output
    assert kept_counts(db) == before

    result = cli("prune", ok=True)
    assert "본문(전문)을 지울 항목: 2700건" in result.output
    assert "내용을 지울 보낸 전송: 1건" in result.output
    after = kept_counts(db)
    assert {k: v for k, v in after.items() if k != "keys"} == {k: v for k, v in before.items() if k != "keys"}
    assert after["keys"] == before["keys"]  # every ledger row, its key and status
    conn = sqlite3.connect(db)
    runs = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    unpruned = conn.execute("SELECT COUNT(*) FROM items WHERE body != ''").fetchone()[0]
    payload = conn.execute("SELECT payload FROM deliveries").fetchone()[0]
    linked = conn.execute("SELECT COUNT(*) FROM events e LEFT JOIN runs r ON r.id = e.run_id "
                          "WHERE e.run_id IS NOT NULL AND r.id IS NULL").fetchone()[0]  # fmt: skip
    conn.close()
    assert unpruned == 301  # the flagged items and the followed matter's notice
    assert runs == 12 + 2 + 1  # the runs that recorded events, and mois' latest
    assert payload == "null" and linked == 0
    assert db.stat().st_size < size * 0.6, (size, db.stat().st_size)
    assert "본문(전문)을 지울 항목: 0건" in cli("prune", ok=True).output  # a second prune finds nothing
    assert "본문(전문)을 지울 항목: 0건" in cli("prune", "--dry-run", ok=True).output


def test_an_older_file_shrinks_with_vacuum_once(tmp_path: Path, cli) -> None:
    db = tmp_path / "monitor.db"
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    conn = sqlite3.connect(db)  # a file made before incremental vacuum (auto_vacuum = NONE)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE x (y)")
    conn.execute("DROP TABLE x")
    conn.close()
    store = Store(db)
    assert store.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 0
    fill(store, tmp_path, (now() - timedelta(days=400)).isoformat(timespec="seconds"))
    store.close()
    size = db.stat().st_size
    cli("prune", ok=True)
    assert db.stat().st_size >= size * 0.9  # freed pages stay in the file without a VACUUM
    cli("prune", "--vacuum", ok=True)
    assert db.stat().st_size < size * 0.6
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # from now on, incremental
    conn.close()


def test_a_new_file_gives_pages_back_and_a_sent_delivery_without_content_is_not_resent(
    store: Store, tmp_path: Path
) -> None:
    from monitor.errors import DeliveryError
    from monitor.jobs import resend

    assert store.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    row = store.create_delivery("daily", "2026-01-01", "main", {"slack": ["x"]})
    store.update_delivery(row["id"], status="sent", sent_at="2020-01-01T09:00:00+09:00", payload=None)
    notify = {"destinations": {"main": {"type": "slack", "channel": "C0POLICY"}}}
    job = Job(store, config(notify), ruleset(tmp_path), TODAY, make_transport=lambda d: SlackStub())
    with pytest.raises(DeliveryError, match="보존 기간"):
        resend(job, row["id"], force=True)


class SlackStub:
    """A transport that is not the console one (resend refuses before it would be used)."""

    def parts(self, payload: dict) -> list:
        raise AssertionError("resend used a pruned payload")


# --- streaming commands -------------------------------------------------------------------------


def test_listings_stream_past_the_sql_variable_limit(tmp_path: Path, cli) -> None:
    """More flagged items than SQLite takes `?` in one statement (32,766): pages, not one IN list."""
    db = tmp_path / "monitor.db"
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    store = Store(db)
    poll(store, ruleset(tmp_path), "mois", [press(1, "마을기업 소식 1")])
    event_id, item_id = store.db.execute("SELECT id, item_id FROM events").fetchone()
    stamp = now().isoformat()
    with store.atomic():  # bulk rows the way the store lays them out: 33,000 flagged items
        store.db.conn.executemany(
            "INSERT INTO items (source, key, title, first_seen_at, last_seen_at, content_hash, body) "
            "VALUES ('mois', ?, ?, ?, ?, '', 'x')",
            [(f"k{n}", f"마을기업 {n}", stamp, stamp) for n in range(33_000)],
        )
        store.db.execute(
            "INSERT INTO matches (event_id, item_id, rule, topic, priority, field, terms, snippet, "
            "created_at) SELECT ?, id, 'r' || id, 'community-enterprise', 'normal', 'title', "
            "'[\"마을기업\"]', title, ? FROM items WHERE id != ?",
            [event_id, stamp, item_id],
        )
    store.close()
    out = cli("items", "--flagged", "--json", ok=True).output.splitlines()
    assert len(out) == 33_001 and all('"마을기업"' in line for line in out[:3] + out[-3:])
    assert cli("items", "--flagged", ok=True).output.rstrip().endswith("항목 33001건 (33001 items)")
    tested = cli("rules", "test", ok=True).output
    assert "걸린 항목 33001/33001" in tested


def test_a_wrong_retention_setting_is_one_line_naming_the_field(tmp_path: Path, cli) -> None:
    (tmp_path / "sources.yaml").write_text(
        SOURCES + "retention:\n  item_text_days: 0\n  runs_day: 30\n", encoding="utf-8"
    )
    result = cli("prune", "--dry-run")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "retention item_text_days: Input should be greater than or equal to 1" in result.output
    assert "unknown key 'runs_day'" in result.output


def test_a_batch_is_looked_up_in_one_query_and_a_key_twice_is_new_then_updated(
    store: Store, tmp_path: Path
) -> None:
    """apply_items reads the batch's stored rows at once (not a SELECT per item), and still sees
    what it wrote itself: a key given twice in one batch is one row, `new` then `updated`."""
    rules = ruleset(tmp_path)
    poll(store, rules, "mois", [press(n, f"마을기업 소식 {n}") for n in range(1, 600)])
    first, again = press(900, "마을기업 새 소식"), press(900, "마을기업 새 소식 (수정)")
    statements = traced(store)
    poll(store, rules, "mois", [*(press(n, f"마을기업 소식 {n}") for n in range(1, 600)), first, again])
    store.db.conn.set_trace_callback(None)
    lookups = [s for s in statements if s.startswith("SELECT key, id, content_hash")]
    assert len(lookups) == 2  # 601 keys: two chunks of at most 500
    rows = store.db.execute("SELECT id, title FROM items WHERE key = ?", [first.key]).fetchall()
    assert len(rows) == 1 and rows[0][1] == "마을기업 새 소식 (수정)"
    events = store.db.execute("SELECT type FROM events WHERE item_id = ? ORDER BY id", [rows[0][0]])
    types = [r[0] for r in events]
    assert types == ["new", "updated"]
