"""Put items into a real SQLite store the way a poll does, for digest and delivery tests."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from monitor.config import RuleSet, SourcesFile, load_rules
from monitor.ingest import PollOutcome, store_batch
from monitor.rules import Matcher
from monitor.sources.base import Batch, Item
from monitor.store import Store
from monitor.text import now, start_of_day
from tests.conftest import TEST_RULES

SOURCES: list[dict[str, Any]] = [
    {"id": "bills", "kind": "assembly_bills", "name": "국회 법률안", "url": "http://127.0.0.1:9/openapi"},
    {
        "id": "notices",
        "kind": "assembly_notices",
        "name": "국회 입법예고",
        "url": "http://127.0.0.1:9/openapi",
    },
    {"id": "mois", "kind": "rss", "name": "행정안전부 보도자료", "url": "http://127.0.0.1:9/rss"},
]


def config(notify: dict[str, Any] | None = None, sources: list[dict[str, Any]] | None = None) -> SourcesFile:
    """A SourcesFile with the seed sources and an optional notify section."""
    return SourcesFile.model_validate(
        {"sources": sources or SOURCES, **({"notify": notify} if notify else {})}
    )


def ruleset(tmp_path: Path, extra: dict[str, dict[str, Any]] | None = None) -> RuleSet:
    """The test rule set (plus extra topic files) loaded from real YAML files."""
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    for name, doc in {**TEST_RULES, **(extra or {})}.items():
        (folder / name).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_rules(folder)


def poll(
    store: Store, rules: RuleSet, source: str, items: list[Item], kind: str = "rss", baseline: bool = False
) -> PollOutcome:
    """Store a batch through ingest's own transaction (events, matches, run row).

    Unless `baseline` is set, the source counts as polled before, so every item is announced.
    """
    from monitor.config import SourceConfig

    cfg = SourceConfig.model_validate(
        {"id": source, "kind": kind, "name": source, "url": "http://127.0.0.1:9/", "backfill_days": 36500}
    )
    if not baseline and not store.state(source).get("baseline_at"):
        store.save_state(source, baseline_at=now().isoformat(timespec="seconds"))
    run_id = store.begin_run(source)
    outcome = PollOutcome(source, source, "ok", run_id)
    state = store.state(source)
    store_batch(cfg, store, Matcher(rules), Batch(items, http_status=200), state, outcome)
    return outcome


def bill(n: int, title: str, stage: str = "접수", summary: str = "", **fields: Any) -> Item:
    """A bill item as assembly_bills makes it."""
    bill_id = f"PRC_SEED{n:04d}"
    return Item(
        key=bill_id,
        title=title,
        url=f"https://likms.assembly.go.kr/bill/billDetail.do?billId={bill_id}",
        summary=summary,
        published_at=start_of_day(date(2026, 9, 1)),
        fields={
            "bill_id": bill_id,
            "bill_no": f"22{n:05d}",
            "stage": stage,
            "committee": "재정경제기획위원회",
            **fields,
        },
        thread=f"assembly-bill:{bill_id}",
    )


def notice(n: int, title: str, deadline: date) -> Item:
    """A 국회 입법예고 notice for bill n, with its opinion deadline."""
    bill_id = f"PRC_SEED{n:04d}"
    return Item(
        key=bill_id,
        title=title,
        url=f"https://pal.assembly.go.kr/napal/lgsltpa/lgsltpaOngoing/view.do?lgsltPaId={bill_id}",
        fields={
            "bill_id": bill_id,
            "bill_no": f"22{n:05d}",
            "deadline": deadline.isoformat(),
            "stage": "위원회 심사",
            "stage_of": f"assembly-bill:{bill_id}",
        },
        thread=f"assembly-bill:{bill_id}",
    )


def press(n: int, title: str, summary: str = "") -> Item:
    """A ministry press release."""
    return Item(
        key=f"https://www.mois.go.kr/frt/bbs/type010/commonSelectBoardArticle.do?nttId={n}",
        title=title,
        url=f"https://www.mois.go.kr/frt/bbs/type010/commonSelectBoardArticle.do?nttId={n}",
        summary=summary,
        published_at=now() - timedelta(hours=2),
    )


def fail(store: Store, source: str, error: str, days_ago: int = 0) -> None:
    """Record a failed run (the first of a streak `days_ago` days ago)."""
    run_id = store.begin_run(source)
    store.finish_run(run_id, "failed", error=error)
    store.record_failure(source, "failed", error)
    if days_ago:
        stamp = (now() - timedelta(days=days_ago)).isoformat(timespec="seconds")
        store.db.execute("UPDATE runs SET started_at = ? WHERE id = ?", [stamp, run_id])
        store.db.conn.commit()
