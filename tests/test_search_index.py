"""The search index is filled after the poll's transaction, and search never misses a queued item."""

from __future__ import annotations

from pathlib import Path

from monitor.sources.base import Item
from monitor.store import Store


def titles(store: Store, query: str) -> list[str]:
    return [r["title"] for r in store.search(query)]


def test_queued_items_are_found_before_and_after_indexing_and_edits_leave_no_stale_words(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "monitor.db")
    run = store.begin_run("feed")
    with store.atomic():
        store.apply_items("feed", [Item("a", "협동조합 기본법 개정안", summary="사회적협동조합의 인가 절차")],
                          run_id=run, announce_after=None)  # fmt: skip
    upto = "(SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'search_upto')"
    queued = store.db.execute(f"SELECT COUNT(*) FROM items WHERE id > {upto}").fetchone()[0]
    match = "SELECT COUNT(*) FROM items_fts WHERE items_fts MATCH '\"인가 절차\"'"
    fts = store.db.execute(match).fetchone()[0]
    assert (queued, fts) == (1, 0)  # the poll's transaction did not index it
    assert titles(store, "인가 절차") == ["협동조합 기본법 개정안"]  # found by LIKE meanwhile
    assert store.index_pending() == 1
    assert store.index_pending() == 0  # nothing left
    assert titles(store, "인가 절차") == ["협동조합 기본법 개정안"]  # now through the index
    with store.atomic():
        store.apply_items("feed", [Item("a", "사회서비스원 설립 안내", summary="돌봄 통합지원")],
                          run_id=run, announce_after=None)  # fmt: skip
    queued = store.db.execute("SELECT item_id FROM search_pending").fetchall()
    assert len(queued) == 1 and titles(store, "인가 절차") == []  # old words gone at once
    assert titles(store, "사회서비스원") == ["사회서비스원 설립 안내"]  # the edit is found by LIKE meanwhile
    assert store.index_pending() == 1
    assert titles(store, "협동조합") == [] and titles(store, "인가 절차") == []
    assert titles(store, "사회서비스원") == ["사회서비스원 설립 안내"]
    # the index agrees with the table (FTS5's own consistency check raises on a mismatch)
    store.db.execute("INSERT INTO items_fts (items_fts, rank) VALUES ('integrity-check', 1)")
    store.close()
