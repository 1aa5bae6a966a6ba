"""The service's bounds (issues 12.4, 17.2): a clean stop inside docker's timeout, pollers that
cannot starve the digest, rule regexes that cannot freeze the service."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.cli import run_cmd
from monitor.config import Settings, load_rules
from monitor.rules import Matcher, regex_problem
from monitor.service import POLL_THREADS, STOP_GRACE, Runtime, build_scheduler
from monitor.store import Store
from monitor.text import now
from tests.feeds import Entry, feed
from tests.guard import env_for, monitor
from tests.seed import poll as seed_poll
from tests.seed import press
from tests.slack_api import FakeSlack

DOCKER_STOP_TIMEOUT = 10  # seconds `docker stop` waits after SIGTERM before SIGKILL


def wait_for(predicate: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def hanging_feed(release: threading.Event, arrived: list[str]) -> Callable[[Request], Response]:
    """A source that answers only once released (or after a minute)."""

    def handler(request: Request) -> Response:
        arrived.append(request.path)
        release.wait(60)
        return Response(feed([Entry(1, "마을기업 소식")]), content_type="application/rss+xml")

    return handler


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()  # let the server's handlers end before it shuts down


# --- 12.4: docker stop ----------------------------------------------------------------------------


def test_the_default_grace_fits_dockers_stop_timeout() -> None:
    grace = next(p for p in run_cmd.params if p.name == "grace")
    assert grace.default == STOP_GRACE and STOP_GRACE + 1 < DOCKER_STOP_TIMEOUT


def test_sigterm_mid_poll_exits_0_inside_docker_stop_timeout_and_marks_the_poll(
    server: HTTPServer, write_sources: Callable[..., Path], workdir: Path, release: threading.Event
) -> None:
    arrived: list[str] = []
    server.expect_request("/rss").respond_with_handler(hanging_feed(release, arrived))
    write_sources(
        [{"id": "slow", "kind": "rss", "name": "느린 피드", "url": server.url_for("/rss")}],
        http={"host_spacing": 0, "retries": 0, "read_timeout": 60},
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run"], cwd=workdir, env=env_for(workdir),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        wait_for(lambda: bool(arrived))  # the poll is waiting on the source
        proc.send_signal(signal.SIGTERM)  # what `docker stop` sends, with the default (no --grace)
        # docker would SIGKILL after its timeout: the service must be gone by then
        _, err = proc.communicate(timeout=DOCKER_STOP_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    with sqlite3.connect(workdir / "monitor.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone() == (0,)  # nothing half-written
        # the abandoned poll is closed at the stop itself, not only at the next start
        (status, error), = conn.execute("SELECT status, error FROM runs WHERE source = 'slow'").fetchall()
    assert status == "aborted" and "SIGTERM" in error


# --- 17.2: pollers never starve the digest ------------------------------------------------------------


def test_hanging_sources_on_every_poll_thread_do_not_starve_the_daily_digest(
    workdir: Path, release: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = HTTPServer(host="127.0.0.1", port=0, threaded=True)  # several requests hang at once
    sources.start()
    fake = FakeSlack()
    slack = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    slack.expect_request(re.compile(r"^/api/[\w.]+$")).respond_with_handler(fake.handler)
    slack.start()
    try:
        arrived: list[str] = []
        sources.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
        sources.expect_request(re.compile("^/feed")).respond_with_handler(hanging_feed(release, arrived))
        count = POLL_THREADS + 1
        doc = {
            "http": {"host_spacing": 0, "retries": 0, "read_timeout": 60},
            "sources": [
                {"id": f"s{i}", "kind": "rss", "name": f"피드 {i}", "url": sources.url_for(f"/feed{i}")}
                for i in range(count)
            ],
        }
        (workdir / "sources.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
        monkeypatch.setenv("SLACK_API_URL", slack.url_for("/api/"))
        monkeypatch.setenv("SLACK_CHANNEL", "C0POLICY")
        monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
        settings = Settings(workdir / "monitor.db", workdir / "sources.yaml", workdir / "rules")
        store = Store(settings.db)  # something for the digest to carry
        seed_poll(store, load_rules(settings.rules), "s0", [press(7, "사회적협동조합 지원 확대")])
        store.close()
        runtime = Runtime(settings)
        scheduler = build_scheduler(runtime, blocking=False)
        scheduler.start()
        try:
            for i in range(count):  # every poll at once: more than there are poll threads
                scheduler.modify_job(f"poll:s{i}", next_run_time=now())
            wait_for(lambda: len(set(arrived)) == POLL_THREADS)  # every poll thread hangs
            scheduler.modify_job("digest:daily", next_run_time=now() + timedelta(milliseconds=10))
            wait_for(lambda: any("일일 다이제스트" in p["text"] for p in fake.posts))
            assert len(set(arrived)) == POLL_THREADS  # the digest went out while they all hung
        finally:
            release.set()
            scheduler.shutdown(wait=True)
    finally:
        release.set()
        sources.stop()
        slack.stop()
    digest = next(p for p in fake.posts if "일일 다이제스트" in p["text"])
    assert "사회적협동조합 지원 확대" in json.dumps(digest["blocks"], ensure_ascii=False)


# --- 17.2: rule regexes ---------------------------------------------------------------------------

CATASTROPHIC = r"^(\S+\s?)+법$"


def rule_file(workdir: Path, pattern: str, rule_id: str = "law-title") -> Path:
    doc: dict[str, Any] = {
        "topic": "laws",
        "label": "법률",
        "rules": [{"id": rule_id, "regex": pattern, "fields": ["title"]}],
    }
    path = workdir / "rules" / "laws.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize("command", [("rules", "check"), ("run",), ("poll",)], ids=" ".join)
def test_a_nested_repeat_is_refused_naming_the_rule_and_the_fix(
    workdir: Path, write_sources: Callable[..., Path], command: tuple[str, ...]
) -> None:
    write_sources([{"id": "a", "kind": "rss", "name": "피드", "url": "http://127.0.0.1:9/rss"}])
    rule_file(workdir, CATASTROPHIC)
    done = monitor(workdir, *command, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "rules/laws.yaml: rule 'law-title': regex:" in done.stderr
    assert "반복 안에 또 반복" in done.stderr and "한 겹으로" in done.stderr
    assert not (workdir / "monitor.db").exists()


@pytest.mark.parametrize(
    ("pattern", "refused"),
    [
        (CATASTROPHIC, True),
        (r"(a+)+b", True),
        (r"(?:\d+,?)*원", True),
        (r"(x(y+)z){1,20}", True),
        (r"(?<![가-힣])생협", False),  # the shipped rule
        (r"(\d{3}-)+\d{4}", False),  # a fixed count inside
        (r"(법률?)+", False),  # an optional part inside
        (r"협동조합\s*기본법", False),
        (r"(?>\S+\s?)+법", False),  # an atomic group does not backtrack
    ],
)
def test_regex_problem_finds_nested_repeats(pattern: str, refused: bool) -> None:
    assert (regex_problem(pattern) is not None) is refused


def test_a_slow_pattern_that_passes_the_check_is_time_limited_and_switched_off(
    workdir: Path,
) -> None:
    slow = r"(가|가가)+$"  # overlapping alternatives: exponential on the `re` engine
    assert regex_problem(slow) is None
    doc = {
        "topic": "laws", "label": "법률",
        "rules": [{"id": "slow-rule", "regex": slow, "fields": ["title"]},
                  {"id": "village", "any": ["마을기업"], "fields": ["title"]}],
    }  # fmt: skip
    (workdir / "rules" / "laws.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    items = workdir / "items.jsonl"
    title = "마을기업 " + "가" * 80 + "나"
    items.write_text(
        "\n".join(json.dumps({"id": f"t{i}", "title": title}, ensure_ascii=False) for i in range(50)),
        encoding="utf-8",
    )
    # a real process: on today's engine this would run for longer than the universe is old
    done = monitor(workdir, "rules", "test", "--input", str(items), "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 50 and all("village" in line["rules"] for line in lines)  # the rest still works
    assert not any("slow-rule" in line["rules"] for line in lines)
    assert done.stderr.count("slow-rule") == 1 and "switched off" in done.stderr  # once, not per item
    matcher = Matcher(load_rules(workdir / "rules"))
    matcher.match({"title": title})
    assert matcher.timed_out == {slow: "slow-rule"}


def test_ordinary_patterns_match_exactly_as_before() -> None:
    """The `regex` engine gives the `re` engine's answers for the shipped pattern and typical ones."""
    eval_file = Path(__file__).parents[2] / "shared" / "eval" / "relevance-dev.jsonl"
    texts = [
        f"{row.get('title', '')} {row.get('summary', '')}"
        for row in map(json.loads, eval_file.read_text(encoding="utf-8").splitlines())
    ]
    import regex

    shipped = [
        p for f in (Path(__file__).parents[1] / "rules").glob("*.yaml")
        for r in yaml.safe_load(f.read_text(encoding="utf-8"))["rules"]
        for p in ([r["regex"]] if isinstance(r.get("regex"), str) else r.get("regex", []))
    ]  # fmt: skip
    patterns = [*shipped, r"제\d+조", r"(사회적|마을)\s*기업", r"[A-Z]{2,}", r"협동조합(?!법)", r"\b법률안\b"]
    assert shipped and len(texts) >= 50
    for pattern in patterns:
        old, new = re.compile(pattern, re.IGNORECASE), regex.compile(pattern, regex.IGNORECASE)
        for text in texts:
            assert [m.span() for m in old.finditer(text)] == [m.span() for m in new.finditer(text)], pattern

