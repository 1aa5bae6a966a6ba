"""Delivery lines a reader understands: rule descriptions, readable events, single parentheses."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from click.testing import Result

from monitor.config import load_rules
from monitor.store import Store
from monitor.text import now
from tests.seed import SOURCES, bill, notice, poll, press

Cli = Callable[..., Result]
COOP = "협동조합 기본법 일부개정법률안"


def test_events_read_as_text_not_python_dicts(
    workdir: Path, write_sources: Callable[..., Path], cli: Cli
) -> None:
    write_sources(SOURCES)
    store = Store(workdir / "monitor.db")
    rules = load_rules(workdir / "rules")
    poll(store, rules, "bills", [bill(1, COOP)], kind="assembly_bills")
    poll(store, rules, "bills", [bill(1, COOP, stage="위원회 심사", stage_date="2026-11-20")],
         kind="assembly_bills")  # fmt: skip
    deadline = now().date() + timedelta(days=5)
    poll(store, rules, "notices", [notice(2, "사회적협동조합 지원법안", deadline)], kind="assembly_notices")
    poll(store, rules, "notices", [notice(2, "사회적협동조합 지원법안", deadline + timedelta(days=3))],
         kind="assembly_notices")  # fmt: skip
    poll(store, rules, "mois", [press(3, "마을기업 공모")])
    poll(store, rules, "mois", [press(3, "마을기업 공모 (기간 연장)")])
    store.close()
    out = cli("events", ok=True).stdout
    assert "{" not in out and "'from'" not in out
    assert "단계 접수 → 위원회 심사 (2026-11-20)" in out
    assert f"의견마감 {deadline.isoformat()} → {(deadline + timedelta(days=3)).isoformat()}" in out
    assert "제목 변경: 마을기업 공모 → 마을기업 공모 (기간 연장)" in out
    rows = [json.loads(line) for line in cli("events", "--json", ok=True).stdout.splitlines()]
    stage = next(r for r in rows if r["type"] == "stage")
    assert stage["from"] == "접수" and stage["to"] == "위원회 심사"  # --json keeps the structure


def test_digest_json_keeps_rule_ids_while_readers_see_descriptions(
    workdir: Path, write_sources: Callable[..., Path], cli: Cli, monkeypatch
) -> None:
    for var in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    write_sources(SOURCES)
    store = Store(workdir / "monitor.db")
    poll(store, load_rules(workdir / "rules"), "bills", [bill(1, COOP)], kind="assembly_bills")
    store.close()
    (line,) = cli("digest", "daily", "--json", ok=True).stdout.splitlines()
    payload = json.loads(line)
    (entry,) = payload["entries"]
    assert entry["rules"] == ["coop-basic-act", "coop-general"] and entry["title"] == COOP
    blocks = json.dumps(payload["messages"], ensure_ascii=False)
    assert "왜: 협동조합 기본법 개정 (긴급) · 제목: ‘협동조합 기본법’ / 그 밖의 협동조합" in blocks
    assert "coop-basic-act" not in blocks
    text = cli("digest", "daily", "--dry-run", ok=True).stdout
    assert "■ 새로 올라온 항목 (1건)" in text and "왜: 그 밖의 협동조합 · 제목: ‘협동조합’" in text
