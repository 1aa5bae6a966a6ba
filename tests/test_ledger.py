"""The ledger under concurrency and lost answers: claimed before sent, looked up before re-sent.

Real subprocesses against the loopback Slack Web API (tests/slack_api.py): it takes names in
chat.postMessage but only IDs in conversations.history, can be slowed, drop answers, fail
history and page it.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer

from monitor.config import load_rules, load_sources
from monitor.jobs import Job
from monitor.notify import CLAIM_LEASE, send, transport_for
from monitor.store import Store
from monitor.text import iso, now
from tests.seed import press
from tests.slack_api import FakeSlack
from tests.test_delivery import ledger, make_due, seeded  # noqa: F401  (seeded: a fixture)

Cli = Callable[..., Result]
CASES = Path(__file__).parent / "fixtures" / "cases"
DIGEST = [sys.executable, "-m", "monitor", "digest", "daily"]


def run(cmd: list[str], workdir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=workdir, env=dict(os.environ), capture_output=True, text=True, timeout=120)


def together(cmd: list[str], workdir: Path, n: int = 2) -> list[tuple[int, str]]:
    """Start n copies of a command at once; their exit codes and stderr."""
    procs = [
        subprocess.Popen(cmd, cwd=workdir, env=dict(os.environ), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(n)
    ]  # fmt: skip
    errors = [p.communicate(timeout=120)[1] for p in procs]
    return [(p.returncode, err) for p, err in zip(procs, errors, strict=True)]


def sql(workdir: Path, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(workdir / "monitor.db") as conn:
        return conn.execute(query, params).fetchall()


# --- 12.2: a channel name is resolved to its ID before any history lookup ------------------------


def test_case_13_channel_name_and_a_lost_answer_end_with_exactly_one_post(
    slack: FakeSlack, server: HTTPServer, write_sources: Callable[..., Path], workdir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("SLACK_CHANNEL", "#policy")
    slack.filler_channels = 250  # the channel is on the second page of conversations.list
    rss = (CASES / "13-feed.rss").read_text(encoding="utf-8")
    recent = format_datetime(now() - timedelta(hours=1))
    server.expect_request("/feed.rss").respond_with_data(
        rss.replace("Mon, 30 Nov 2026 10:00:00 +0900", recent), content_type="application/rss+xml"
    )
    url = server.url_for("/feed.rss")
    write_sources([{"id": "bughunt-13", "kind": "rss", "name": "시험 피드", "url": url}])
    assert run([sys.executable, "-m", "monitor", "poll"], workdir).returncode == 0
    slack.script = ["drop-after-post"]
    slack.hang_seconds = 2
    first = run(DIGEST, workdir)
    assert first.returncode == 1 and len(slack.posts) == 1
    assert slack.posts[0]["channel"] == "C0POLICY"  # Slack took the name and answered with the ID
    assert ledger(workdir)[0][1] == "sending"
    make_due(workdir)
    second = run(DIGEST, workdir)
    assert second.returncode == 0, second.stderr
    assert len(slack.posts) == 1 and "마을기업 지정 결과 공고" in slack.texts()[0]
    assert ledger(workdir)[0][1] == "sent" and slack.history_calls == 1
    assert slack.list_calls == 2  # the name was looked up (two pages), then history by ID


def test_the_id_a_post_returns_is_used_for_the_lookup(
    slack: FakeSlack, seeded, workdir: Path, monkeypatch: pytest.MonkeyPatch, cli: Cli
) -> None:
    monkeypatch.setenv("SLACK_CHANNEL", "policy")
    seeded([press(n, f"마을기업 소식 {n:03d} " + "가" * 150) for n in range(60)])
    slack.script = ["ok", "drop-after-post"]
    slack.hang_seconds = 1.5
    store = Store(workdir / "monitor.db")
    config = load_sources(workdir / "sources.yaml")
    job = Job(store, config, load_rules(workdir / "rules"), now().date())
    from monitor.jobs import daily_digests, send_all

    transport = transport_for("main", config.notify.destinations["main"])
    job.make_transport = lambda name: transport
    (outcome,) = send_all(job, daily_digests(job))
    assert outcome.status == "sending" and len(slack.posts) == 2
    make_due(workdir)
    row = store.find_delivery("daily", now().date().isoformat(), "main")
    assert send(store, row, transport).status == "sent"
    assert slack.list_calls == 0 and slack.history_calls == 1  # the first answer gave the ID
    parts = [p["metadata"]["event_payload"]["part"] for p in slack.posts]
    assert parts == list(range(len(parts))) and len(parts) >= 3
    store.close()


# --- 17.1: two processes at once -----------------------------------------------------------------


def test_two_digests_started_together_post_once(slack: FakeSlack, seeded, workdir: Path) -> None:
    seeded()
    slack.delay = 0.5  # Slack answers in half a second
    outcomes = together(DIGEST, workdir)
    assert len(slack.posts) == 1, outcomes
    assert all(code == 0 for code, _ in outcomes), outcomes
    assert any("in progress" in err or "이미 보냄" in err for _, err in outcomes)
    assert ledger(workdir)[0][:2] == ("daily", "sent")
    assert sql(workdir, "SELECT claimed_by FROM deliveries") == [(None,)]  # released


def test_two_polls_at_once_post_each_urgent_alert_once(
    slack: FakeSlack, server: HTTPServer, write_sources: Callable[..., Path], workdir: Path
) -> None:
    from tests.feeds import Entry, feed

    urgent = [Entry(n, f"「협동조합 기본법」 일부개정 공청회 {n}") for n in range(1, 4)]
    server.expect_request("/rss").respond_with_data(feed(urgent))
    write_sources([{"id": "mois", "kind": "rss", "name": "행정안전부", "url": server.url_for("/rss"),
                    "backfill_days": 30}])  # fmt: skip
    store = Store(workdir / "monitor.db")
    store.save_state("mois", baseline_at=iso(now() - timedelta(days=1)))  # polled before
    store.close()
    slack.delay = 0.5
    together([sys.executable, "-m", "monitor", "poll"], workdir)
    keys = [p["metadata"]["event_payload"]["key"] for p in slack.posts]
    assert len(keys) == len(set(keys)) == 3


# --- 17.1: a lookup that cannot finish keeps the row `sending` -----------------------------------


@pytest.mark.parametrize(("failure", "times"), [("missing_scope", 1), ("500", 1), ("429", 3)])
def test_a_lost_answer_with_failing_history_is_never_posted_twice(
    slack: FakeSlack, seeded, workdir: Path, failure: str, times: int
) -> None:
    seeded()
    slack.script = ["drop-after-post"]
    slack.hang_seconds = 2
    assert run(DIGEST, workdir).returncode == 1
    assert len(slack.posts) == 1 and ledger(workdir)[0][1] == "sending"
    slack.history_script = [failure] * times  # the WebClient retries a rate limit (429) twice itself
    make_due(workdir)
    second = run(DIGEST, workdir)
    assert second.returncode == 1 and len(slack.posts) == 1
    (row,) = ledger(workdir)
    assert row[1] == "sending" and "보냈는지 확인하지 못해" in row[4]  # never `pending` without proof
    make_due(workdir)
    third = run(DIGEST, workdir)  # history answers again
    assert third.returncode == 0, third.stderr
    assert len(slack.posts) == 1 and ledger(workdir)[0][1] == "sent"


def test_history_is_read_through_every_page_back_to_the_claim(
    slack: FakeSlack, seeded, workdir: Path
) -> None:
    seeded()
    slack.script = ["drop-after-post"]
    slack.hang_seconds = 1.5
    assert run(DIGEST, workdir).returncode == 1
    for n in range(7):  # people talk in the channel after the lost post
        slack._clock += 1
        slack.posts.append({"channel": "C0POLICY", "text": f"잡담 {n}", "ts": f"{slack._clock:.6f}"})
    slack.page_size = 3
    slack.history_script = ["ok", "500"]  # the second page fails: no proof, no post
    make_due(workdir)
    assert run(DIGEST, workdir).returncode == 1
    assert len(slack.posts) == 8 and ledger(workdir)[0][1] == "sending"
    make_due(workdir)
    slack.history_pages.clear()
    done = run(DIGEST, workdir)
    assert done.returncode == 0, done.stderr
    assert len(slack.posts) == 8 and ledger(workdir)[0][1] == "sent"
    assert slack.history_pages == [None, "3", "6"]  # the lost post was on the third page


# --- 17.1: live claims are left alone, expired ones recovered ------------------------------------


def _claim(workdir: Path, owner: str, until: timedelta) -> None:
    with sqlite3.connect(workdir / "monitor.db") as conn:
        conn.execute(
            "UPDATE deliveries SET status = 'sending', claimed_by = ?, claim_until = ?, sending_since = ?",
            (owner, iso(now() + until), iso(now())),
        )


def _retry(workdir: Path) -> list[Any]:
    from monitor.jobs import retry_unfinished

    store = Store(workdir / "monitor.db")
    try:
        job = Job(store, load_sources(workdir / "sources.yaml"), load_rules(workdir / "rules"), now().date())
        return retry_unfinished(job, now_ok=True)
    finally:
        store.close()


def test_a_live_claim_is_left_alone_and_only_an_expired_one_is_recovered(
    slack: FakeSlack, seeded, workdir: Path, cli: Cli
) -> None:
    seeded()
    slack.script = ["invalid_auth"]
    cli("digest", "daily")
    assert ledger(workdir)[0][1] == "pending" and slack.posts == []
    # another host is posting this row right now
    _claim(workdir, "other-host:4242:abcd1234:0001", CLAIM_LEASE)
    (outcome,) = _retry(workdir)
    assert outcome.status == "busy" and slack.posts == [] and slack.history_calls == 0
    assert cli("digest", "daily").exit_code == 0  # in progress elsewhere: not a failure here
    assert slack.posts == []
    # its lease ran out: the row is recovered, looked up first (it may have been posted), then sent
    _claim(workdir, "other-host:4242:abcd1234:0001", -timedelta(seconds=1))
    (outcome,) = _retry(workdir)
    assert outcome.status == "sent" and len(slack.posts) == 1 and slack.history_calls == 1


def test_a_claim_of_a_dead_process_on_this_host_is_recovered_at_once(
    slack: FakeSlack, seeded, workdir: Path, cli: Cli
) -> None:
    seeded()
    slack.script = ["invalid_auth"]
    cli("digest", "daily")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)  # fmt: skip
    _claim(workdir, f"{socket.gethostname()}:{int(gone.stdout)}:abcd1234:0001", CLAIM_LEASE)
    (outcome,) = _retry(workdir)
    assert outcome.status == "sent" and len(slack.posts) == 1 and slack.history_calls == 1


def test_a_claim_is_taken_atomically_by_one_of_many(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    store = Store(tmp_path / "monitor.db")
    row = store.create_delivery("daily", "2026-12-01", "main", {"slack": []})
    store.close()

    def take(n: int) -> bool:
        s = Store(tmp_path / "monitor.db")
        try:
            claimed, _ = s.claim_delivery(row["id"], f"h:{n}:t:a", CLAIM_LEASE, lambda owner: False)
            return claimed is not None
        finally:
            s.close()

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(take, range(16))) == 1


def test_recovery_looks_back_to_when_the_part_was_started(
    slack: FakeSlack, seeded, workdir: Path, cli: Cli
) -> None:
    """Failed lookups move updated_at on; the lookup still reaches back to the lost post."""
    seeded()
    slack.script = ["drop-after-post"]
    slack.hang_seconds = 1.5
    cli("digest", "daily")
    (posted,) = slack.posts
    started = iso(now() - timedelta(hours=3))
    with sqlite3.connect(workdir / "monitor.db") as conn:
        conn.execute("UPDATE deliveries SET sending_since = ?", (started,))
    posted["ts"] = f"{(now() - timedelta(hours=3) + timedelta(seconds=5)).timestamp():.6f}"
    slack.history_script = ["500"]
    make_due(workdir)
    cli("digest", "daily")
    make_due(workdir)
    cli("digest", "daily", ok=True)
    assert len(slack.posts) == 1 and ledger(workdir)[0][1] == "sent"



# --- 17.2: bounded posts -------------------------------------------------------------------------


def test_500_urgent_matches_make_one_alert_and_the_rest_go_to_the_daily_digest(
    slack: FakeSlack, server: HTTPServer, write_sources: Callable[..., Path], workdir: Path, cli: Cli
) -> None:
    from tests.feeds import Entry, feed

    flood = [Entry(n, f"「협동조합 기본법」 일부개정 공청회 {n:03d}") for n in range(500, 0, -1)]
    server.expect_request("/rss").respond_with_data(feed(flood))
    write_sources([{"id": "mois", "kind": "rss", "name": "행정안전부", "url": server.url_for("/rss"),
                    "backfill_days": 30}])  # fmt: skip
    store = Store(workdir / "monitor.db")
    store.save_state("mois", baseline_at=iso(now() - timedelta(days=1)))  # polled before
    store.close()
    cli("poll", ok=True)
    (alert,) = slack.posts  # one post, not 500
    body = slack.texts()[0]
    assert alert["text"].startswith("🔴 긴급: 새 항목 500건") and "외 490건 더" in body
    cli("poll", ok=True)
    assert len(slack.posts) == 1  # the rest are not alerted later, one poll at a time
    cli("digest", "daily", ok=True)
    daily = slack.posts[1:]
    assert 1 <= len(daily) <= 6
    shown = sum(t.count("일부개정 공청회") for t in slack.texts()[1:])
    assert shown >= 60 and "외 430건 더" in slack.texts()[-1]  # 490 left: 60 shown, 430 more
    assert not any(f"공청회 {n:03d}" in "".join(slack.texts()[1:]) for n in range(491, 501))


# --- 17.6: one ops alert per failure kind; resend after a rename ---------------------------------


def test_one_ops_alert_per_failure_kind_whatever_the_request_number(
    slack: FakeSlack, seeded, workdir: Path
) -> None:
    from monitor.jobs import run_alerts
    from tests.seed import fail

    seeded()

    def failed_poll(error: str) -> None:
        store = Store(workdir / "monitor.db")
        try:
            fail(store, "mois", error)
            config = load_sources(workdir / "sources.yaml")
            run_alerts(Job(store, config, load_rules(workdir / "rules"), now().date()))
        finally:
            store.close()

    def alerts() -> int:
        return sum("소스 장애" in p["text"] for p in slack.posts)

    for n in range(6):
        failed_poll(f"차단 페이지: 요청번호 2026113{n}-{1000 + n} ({n:02d}:1{n}:07) trace 9f{n}a7c3e{n}b")
    assert alerts() == 1
    failed_poll("HTTP 503 from http://127.0.0.1:9/rss?t=1764460800")  # another kind: one more alert
    failed_poll("HTTP 503 from http://127.0.0.1:9/rss?t=1764461400")
    assert alerts() == 2


def test_resend_after_a_destination_was_renamed_is_one_line_and_sends_nothing(
    slack: FakeSlack, seeded, cli: Cli, workdir: Path
) -> None:
    seeded(notify={"destinations": {"policy": {"type": "slack"}}, "daily": {"cron": "30 8 * * 1-5",
                   "to": ["policy"]}, "weekly": {"cron": "0 9 * * 1", "to": ["policy"]},
                   "urgent": ["policy"], "ops": "policy"})  # fmt: skip
    cli("digest", "daily", ok=True)
    assert len(slack.posts) == 1
    set_renamed = (workdir / "sources.yaml").read_text(encoding="utf-8").replace("policy", "committee")
    (workdir / "sources.yaml").write_text(set_renamed, encoding="utf-8")
    for args in (("resend", "1"), ("resend", "1", "--force")):
        result = cli(*args)
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "'policy'" in result.output and "notify.destinations" in result.output
        assert len(result.output.strip().splitlines()) == 1
    assert ledger(workdir)[0][:2] == ("daily", "sent") and len(slack.posts) == 1
