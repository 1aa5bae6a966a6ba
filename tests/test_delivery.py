"""Delivery through a loopback Slack Web API and SMTP server: never lost, never twice."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import Result
from pytest_httpserver import HTTPServer

from monitor.config import load_rules
from monitor.store import Store
from tests.seed import SOURCES, bill, poll, press
from tests.slack_api import FakeSlack

Cli = Callable[..., Result]
COOP = "협동조합 기본법 일부개정법률안"


@pytest.fixture
def seeded(workdir: Path, write_sources: Callable[..., Path]) -> Callable[..., None]:
    """Write sources.yaml (with an optional notify section) and put items in monitor.db."""

    def seed(items: list[Any] | None = None, notify: dict[str, Any] | None = None) -> None:
        path = write_sources(SOURCES)
        if notify:
            import yaml

            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
            doc["notify"] = notify
            path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        store = Store(workdir / "monitor.db")
        rules = load_rules(workdir / "rules")
        poll(store, rules, "bills", [bill(1, COOP)], kind="assembly_bills")
        poll(store, rules, "mois", items or [press(1, "2026년 신규 마을기업 156곳 선정")])
        store.close()

    return seed


def ledger(workdir: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(workdir / "monitor.db") as conn:
        return conn.execute(
            "SELECT kind, status, attempts, parts_sent, last_error FROM deliveries ORDER BY id"
        ).fetchall()


def scheduled_retries(workdir: Path) -> None:
    """What the service's deliveries job does every ten minutes."""
    from monitor.config import load_sources
    from monitor.jobs import Job, retry_unfinished
    from monitor.text import now

    store = Store(workdir / "monitor.db")
    try:
        config = load_sources(workdir / "sources.yaml")
        retry_unfinished(Job(store, config, load_rules(workdir / "rules"), now().date()))
    finally:
        store.close()


def make_due(workdir: Path) -> None:

    """Let time pass: every deferred delivery becomes due."""
    with sqlite3.connect(workdir / "monitor.db") as conn:
        conn.execute("UPDATE deliveries SET next_attempt_at = NULL")


def test_daily_digest_posts_once_with_blocks_text_and_metadata(
    slack: FakeSlack, seeded, cli: Cli, workdir: Path
) -> None:
    seeded()
    first = cli("digest", "daily", ok=True)
    assert "보냄" in first.output
    (post,) = slack.posts
    assert post["channel"] == "C0POLICY" and post["text"].startswith("정책 모니터 일일 다이제스트")
    assert post["blocks"][0]["type"] == "header"
    assert post["metadata"]["event_type"] == "policy_monitor_delivery"
    assert post["metadata"]["event_payload"]["key"].startswith("daily:")
    assert "link_names" not in post and "parse" not in post and post["unfurl_links"] is False
    body = json.dumps(post["blocks"], ensure_ascii=False)
    assert COOP in body and "신규 마을기업 156곳" in body and "협동조합 기본법 개정 (긴급)" in body
    assert "coop-basic-act" not in body  # readers see the rule's description, not its id
    second = cli("digest", "daily", ok=True)
    assert len(slack.posts) == 1 and "보낼 내용이 없습니다" in second.output
    assert ledger(workdir) == [("daily", "sent", 1, 1, None)]
    rows = [json.loads(x) for x in cli("deliveries", "--json", ok=True).stdout.splitlines()]
    assert rows[0]["status"] == "sent" and rows[0]["events"] == 2 and rows[0]["ts"] == [slack.posts[0]["ts"]]


def test_events_sent_are_not_sent_again_tomorrow(slack: FakeSlack, seeded, cli: Cli, workdir: Path) -> None:
    seeded()
    cli("digest", "daily", ok=True)
    result = cli("digest", "daily", "--date", "2099-01-02")
    assert result.exit_code == 0 and len(slack.posts) == 1 and "보낼 내용이 없습니다" in result.output


@pytest.mark.parametrize("failure", ["500", "hang"])
def test_slack_outage_delays_the_digest_which_then_arrives_exactly_once(
    slack: FakeSlack, seeded, cli: Cli, workdir: Path, failure: str
) -> None:
    seeded()
    slack.script = [failure] * 3
    slack.hang_seconds = 1.5
    result = cli("digest", "daily")
    assert result.exit_code == 1 and slack.posts == []
    (row,) = ledger(workdir)
    assert row[0] == "daily" and row[1] in ("pending", "sending") and row[2] == 1 and row[4]
    scheduled_retries(workdir)  # the service's retry job: not due yet, not hammered
    assert ledger(workdir)[0][2] == 1
    slack.script = []
    cli("digest", "daily", ok=True)  # by hand: tried now
    assert len(slack.posts) == 1 and ledger(workdir)[0][1] == "sent"
    make_due(workdir)
    cli("digest", "daily", ok=True)
    assert len(slack.posts) == 1


def test_rate_limit_is_retried_by_the_client(slack: FakeSlack, seeded, cli: Cli, workdir: Path) -> None:
    seeded()
    slack.script = ["429"]
    cli("digest", "daily", ok=True)
    assert len(slack.posts) == 1 and slack.attempts == 2 and ledger(workdir)[0][1] == "sent"


@pytest.mark.parametrize(
    ("error", "words"),
    [("invalid_auth", "SLACK_BOT_TOKEN을 확인하세요"), ("channel_not_found", "채널 id/이름을 확인하세요")],
)
def test_auth_and_channel_errors_are_clear_and_not_hammered(
    slack: FakeSlack, seeded, cli: Cli, workdir: Path, error: str, words: str
) -> None:
    seeded()
    slack.script = [error] * 5
    result = cli("digest", "daily")
    assert result.exit_code == 1 and error in result.output and words in result.output
    for _ in range(3):
        scheduled_retries(workdir)
    assert slack.attempts == 1  # the service waits an hour before trying again
    (row,) = ledger(workdir)
    assert row[1] == "pending" and error in row[4]
    cli("digest", "daily")  # someone fixed the token and asks again: tried at once
    assert slack.attempts == 2


def test_a_lost_answer_is_found_in_history_not_posted_twice(
    slack: FakeSlack, seeded, cli: Cli, workdir: Path
) -> None:
    seeded()
    slack.script = ["drop-after-post"]
    slack.hang_seconds = 1.5
    assert cli("digest", "daily").exit_code == 1
    assert len(slack.posts) == 1 and ledger(workdir)[0][1] == "sending"
    make_due(workdir)
    cli("digest", "daily", ok=True)
    assert len(slack.posts) == 1 and slack.history_calls == 1
    assert ledger(workdir)[0][1:4] == ("sent", 2, 1)


def test_kill_9_between_post_and_record_does_not_post_twice(slack: FakeSlack, seeded, workdir: Path) -> None:
    seeded()
    slack.script = ["drop-after-post"]
    slack.hang_seconds = 3
    env = {**os.environ, "SLACK_TIMEOUT": "30"}
    cmd = [sys.executable, "-m", "monitor", "digest", "daily"]
    proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not slack.posts and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # the post is in the channel; its answer never recorded
    proc.wait(timeout=10)
    assert len(slack.posts) == 1 and ledger(workdir)[0][1] == "sending"
    done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert len(slack.posts) == 1 and ledger(workdir)[0][1] == "sent"


def test_a_long_digest_resumes_after_the_last_confirmed_part(
    slack: FakeSlack, seeded, cli: Cli, workdir: Path
) -> None:
    seeded([press(n, f"마을기업 소식 {n:03d} " + "가" * 150) for n in range(120)])
    slack.script = ["ok", "ok", "500"]
    assert cli("digest", "daily").exit_code == 1
    (row,) = ledger(workdir)
    # an HTTP 500 to a post does not prove it was not posted: the row stays `sending`
    assert row[1] == "sending" and row[3] == 2
    make_due(workdir)
    cli("digest", "daily", ok=True)
    assert slack.history_calls == 1  # part 3 was looked for before it was posted
    parts = [p["text"] for p in slack.posts]
    total = int(re.search(r"[(, ]1/(\d+)\)", parts[0]).group(1))
    assert len(parts) == total and len(set(parts)) == total  # every part exactly once, in order
    assert [int(re.search(r"[(, ](\d+)/\d+\)", t).group(1)) for t in parts] == list(range(1, total + 1))


def test_without_slack_settings_the_digest_prints_to_the_console(
    seeded, cli: Cli, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL", "SMTP_HOST"):
        monkeypatch.delenv(var, raising=False)
    seeded()
    out = cli("digest", "daily", ok=True).stdout
    assert "정책 모니터 일일 다이제스트" in out and "■ 새로 올라온 항목 (2건)" in out
    assert ledger(workdir) == []  # a preview, not a delivery


def test_json_prints_block_kit_payloads_without_sending(slack: FakeSlack, seeded, cli: Cli) -> None:
    seeded()
    (line,) = cli("digest", "daily", "--json", ok=True).stdout.splitlines()
    payload = json.loads(line)
    assert payload["kind"] == "daily" and payload["messages"][0]["blocks"][0]["type"] == "header"
    assert slack.posts == []


def test_urgent_alert_goes_out_right_after_the_poll_and_not_again_in_the_digest(
    slack: FakeSlack, seeded, cli: Cli, workdir: Path, server: HTTPServer
) -> None:
    from tests.feeds import Entry, feed

    seeded()
    server.expect_request("/rss").respond_with_data(feed([Entry(1, "「협동조합 기본법」 개정 공청회 안내")]))
    path = workdir / "sources.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("http://127.0.0.1:9/rss", server.url_for("/rss")),
        encoding="utf-8",
    )
    cli("poll", "mois", ok=True)
    urgent = [p for p in slack.posts if p["text"].startswith("🔴 긴급")]
    assert len(urgent) == 2  # the seeded bill and the new press release
    cli("poll", "mois", ok=True)
    assert len([p for p in slack.posts if p["text"].startswith("🔴 긴급")]) == 2
    cli("digest", "daily", ok=True)
    daily = json.dumps(slack.posts[-1]["blocks"], ensure_ascii=False)
    assert "협동조합 기본법」 개정 공청회" not in daily and "신규 마을기업" in daily


class Inbox:
    """Collects messages for aiosmtpd."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    import socket

    with socket.socket() as probe:  # aiosmtpd checks readiness by connecting: it needs a real port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_STARTTLS", "0")
    monkeypatch.setenv("SMTP_FROM", "monitor@example.org")
    yield inbox
    controller.stop()


EMAIL_NOTIFY = {
    "destinations": {
        "main": {"type": "slack"},
        "reps": {"type": "email", "to": ["rep1@example.org", "rep2@example.org"]},
    },
    "weekly": {"cron": "0 9 * * mon", "to": ["reps"]},
}


def test_weekly_summary_by_email_with_html_and_text(
    smtp: Inbox, seeded, cli: Cli, workdir: Path, monkeypatch
) -> None:
    import email

    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    seeded(notify=EMAIL_NOTIFY)
    cli("digest", "weekly", ok=True)
    (envelope,) = smtp.messages
    assert sorted(envelope.rcpt_tos) == ["rep1@example.org", "rep2@example.org"]
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert "주간 요약" in str(msg["Subject"]) and msg["X-Policy-Monitor-Delivery"].startswith("weekly:")
    kinds = [part.get_content_type() for part in msg.walk()]
    assert "text/plain" in kinds and "text/html" in kinds
    html = msg.get_body(("html",)).get_content()
    assert "협동조합 기본법 일부개정법률안" in html and "<a href=" in html
    cli("digest", "weekly", ok=True)
    assert len(smtp.messages) == 1


def test_smtp_down_leaves_the_summary_pending(seeded, cli: Cli, workdir: Path, monkeypatch) -> None:
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", "9")
    monkeypatch.setenv("SMTP_STARTTLS", "0")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    seeded(notify=EMAIL_NOTIFY)
    result = cli("digest", "weekly")
    assert result.exit_code == 1 and "메일 서버(127.0.0.1:9) 전송 실패" in result.output
    assert ledger(workdir)[0][:2] == ("weekly", "pending")


def test_resend_posts_a_row_again_on_purpose(slack: FakeSlack, seeded, cli: Cli, workdir: Path) -> None:
    seeded()
    cli("digest", "daily", ok=True)
    refused = cli("resend", "1")  # confirmed sent: a second copy only when asked for
    assert refused.exit_code == 2 and "이미 보냈습니다" in refused.output and "--force" in refused.output
    assert len(slack.posts) == 1 and ledger(workdir)[0][1] == "sent"
    cli("resend", "1", "--force", ok=True)
    assert len(slack.posts) == 2
    missing = cli("resend", "99")
    assert missing.exit_code == 2 and "#99" in missing.output and "Traceback" not in missing.output
