"""The README is tested, the way sqlite-utils keeps its docs honest.

Every `monitor …` command in the README (code blocks and inline code) runs against local data:
the repository's sources.yaml with every URL pointed at the demo server on 127.0.0.1 (sources it
has no data for are switched off) and the repository's rules/. A plain code block right after a
command block is that command's output and must be exactly what the command prints (a line of
just `…` stands for lines that change from day to day). Every YAML
block loads through the real config loader; every JSON block parses. A block after
`<!-- test: file PATH -->` is written to PATH: data files into the shared folder, config files
(`sources.yaml`, `rules/*.yaml`) into a fresh folder for the next command alone. The two commands
the README begins with are checked by test_install.py (the first) and here against .ci/run (the
second); the Docker commands need Docker and are checked by test_dockerfile.py.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import load_rules, load_sources
from monitor.demo import serve_demo
from monitor.rules import Matcher, check_examples, missing_examples

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"<!-- test: file (\S+) -->")
COMMAND = re.compile(r"^(?:\$ )?(?:\.venv/bin/)?(monitor(?: .*)?)$")
DOCKER_EXEC = re.compile(r"^docker exec \S+ (monitor .*)$")

# lines in command blocks that are not `monitor …` and why they do not run here
NOT_RUN = {
    "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/monitor demo": "test_install.py",
    "python3 -m venv .venv && .venv/bin/pip install -q -e '.[test]' && .venv/bin/python -m pytest -q":
        "test_the_second_command_is_what_ci_runs",
    "export ASSEMBLY_API_KEY=… SLACK_BOT_TOKEN=xoxb-… SLACK_CHANNEL=C0123456": "placeholders for secrets",
    "docker build -t policy-monitor .": "needs Docker (test_dockerfile.py)",
    "docker stop policy-monitor": "needs Docker (test_dockerfile.py)",
}  # fmt: skip
DOCKER_RUN = "docker run -d --name policy-monitor"
# inline commands with a placeholder (파일, 번호, …) and the concrete command the test runs
PLACEHOLDERS = {
    "monitor rules test --input 파일.jsonl": "monitor rules test --input items.jsonl",
    "monitor rules eval 파일.jsonl": "monitor rules eval labeled.jsonl",
    "monitor rules eval …": "monitor rules eval tests/data/relevance-dev.jsonl",
    "monitor init 폴더": "monitor init copy",
    "monitor resend 번호": "monitor resend 1",
    "monitor poll 새-id": "monitor poll mois-press",
    "monitor items --source 새-id": "monitor items --source mois-press",
    "monitor digest weekly --to email --html 미리보기.html":
        "monitor digest weekly --to email --html preview.html",
    "monitor …": "",  # "any command", not one to run
    "monitor resend": "",  # the command named in prose ("… 가 거절합니다"), not a command line
}
# commands whose documented answer on this data is not exit code 0
EXIT_CODES = {
    "monitor resend 12": 2,  # the ledger is empty without Slack: "전송 기록 #12 이(가) 없습니다"
    "monitor resend 1": 2,
}
# plain blocks that illustrate a format rather than show a command's output
ILLUSTRATIONS = ("└ 규칙id [주제] · 칸: '찾은 단어', '찾은 단어' · “원문 주변 글”",)
# sources the demo server has no data for (or that need keys): off in the test folder
UNSERVED = {
    "mss-press", "fsc-press", "lawmaking-admin-notices", "law-changes", "press-releases",
    "coop-notice", "mois-sse-notice", "seis-cards", "socialenterprise-notice",
}  # fmt: skip


@dataclass
class Block:
    """One fenced block of the README."""

    lang: str
    text: str
    line: int
    file: str | None = None  # from a `<!-- test: file PATH -->` marker


@dataclass
class Run:
    """Commands to run (from one block or one inline code span), in README order."""

    commands: list[str]
    line: int
    files: dict[str, str] = field(default_factory=dict)  # config files for a fresh folder
    expect: str | None = None  # the output block right after


def blocks() -> list[Block]:
    """Every fenced block, with the file marker on the line before it."""
    out = []
    for m in FENCE.finditer(README):
        before = README[: m.start()].rstrip("\n").splitlines()
        marker = MARKER.fullmatch(before[-1].strip()) if before else None
        line = README.count("\n", 0, m.start()) + 1
        out.append(Block(m.group(1), m.group(2), line, marker.group(1) if marker else None))
    return out


def command_lines(block: Block) -> list[str] | None:
    """The `monitor …` commands of a command block (None if it is not one); other lines must be known."""
    if block.lang not in ("", "bash"):
        return None
    text = re.sub(r"\\\n\s*", " ", block.text)  # join continued lines
    lines = [re.sub(r"\s+#.*$", "", line).strip() for line in text.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    commands, others = [], []
    for line in lines:
        m = COMMAND.match(line) or DOCKER_EXEC.match(line)
        if m:
            commands.append(m.group(1))
        else:
            others.append(line)
    if not commands and block.lang != "bash":
        return None
    unknown = [o for o in others if o not in NOT_RUN and not o.startswith(DOCKER_RUN)]
    assert not unknown, f"README line {block.line}: commands the test does not know how to run: {unknown}"
    return commands


def plan() -> tuple[list[Run], dict[str, str], list[Block]]:
    """(runs in README order, data files, YAML/JSON blocks to check)."""
    runs: list[Run] = []
    data: dict[str, str] = {}
    checks: list[Block] = []
    pending: dict[str, str] = {}
    previous_run: Run | None = None
    for block in blocks():
        just_after, previous_run = previous_run, None
        if block.file:
            if block.file == "sources.yaml" or block.file.startswith("rules/"):
                pending[block.file] = block.text
            else:
                data[block.file] = block.text
                checks.append(block)
            continue
        commands = command_lines(block)
        if commands is not None:
            if commands:
                previous_run = Run(commands, block.line, pending)
                runs.append(previous_run)
            pending = {}
            continue
        if block.lang == "" and just_after is not None:
            just_after.expect = block.text
        elif block.lang in ("yaml", "json"):
            checks.append(block)
        else:
            where = f"README line {block.line}"
            assert block.text.strip() in ILLUSTRATIONS, f"{where}: a block the test cannot place"
    assert not pending, f"config files {list(pending)} are not followed by a command"
    prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), README)
    seen: set[str] = set()
    for m in re.finditer(r"`(monitor [^`]*)`", prose):
        command = PLACEHOLDERS.get(m.group(1), m.group(1))
        assert not re.search(r"[가-힣…]", command), f"placeholder without a stand-in: {m.group(1)}"
        if command and command not in seen:
            seen.add(command)
            runs.append(Run([command], prose.count("\n", 0, m.start()) + 1))
    runs.sort(key=lambda r: r.line)
    return runs, data, checks


# --- the local world the commands run in ----------------------------------------------------------


@pytest.fixture(scope="module")
def demo_server() -> Iterator[str]:
    """The demo server: answers `/<real host>/<path>` from the bundled sample data."""
    with serve_demo() as base:
        yield base


def local_config(base: str) -> str:
    """The repository's sources.yaml with every URL on the demo server; unserved sources off."""
    doc = yaml.safe_load((ROOT / "sources.yaml").read_text(encoding="utf-8"))
    for source in doc["sources"]:
        for key in ("url", "warmup_url"):
            if source.get(key):
                source[key] = re.sub(r"^https?://", base + "/", source[key])
        if source["id"] in UNSERVED:
            source["enabled"] = False
    doc["http"] = {**doc.get("http", {}), "host_spacing": 0, "retries": 0}
    # the representatives get the weekly summary by e-mail (the README's example), on a local server
    notify = doc.setdefault("notify", {})
    notify.setdefault("destinations", {"main": {"type": "slack"}})["reps"] = {
        "type": "email", "to": ["rep1@example.org"],
    }  # fmt: skip
    notify["weekly"] = {"cron": "0 9 * * mon", "to": ["main", "reps"]}
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def make_world(folder: Path, base: str, files: dict[str, str]) -> Path:
    """A folder like the repository: sources.yaml (local), rules/, tests/data/, plus files."""
    folder.mkdir(parents=True)
    (folder / "sources.yaml").write_text(local_config(base), encoding="utf-8")
    shutil.copytree(ROOT / "tests" / "data", folder / "tests" / "data")
    if any(name.startswith("rules/") for name in files):
        (folder / "rules").mkdir()
    else:
        shutil.copytree(ROOT / "rules", folder / "rules")
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


class _Inbox:
    """An SMTP server's mailbox (aiosmtpd handler)."""

    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope)
        return "250 OK"


@pytest.fixture
def quiet_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Inbox]:
    """No MONITOR_* paths, no Slack, no keys: the README's first-hour setting, plus a local mail
    server for the e-mail examples. Yields its inbox."""
    import socket

    from aiosmtpd.controller import Controller

    for var in list(os.environ):
        if var.startswith(("MONITOR_", "SLACK_", "SMTP_")) or var.endswith(("_API_KEY", "_OC", "_KEY")):
            monkeypatch.delenv(var, raising=False)
    with socket.socket() as probe:  # aiosmtpd checks readiness by connecting: it needs a real port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    for var, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_STARTTLS": "0",
                       "SMTP_FROM": "monitor@example.org"}.items():  # fmt: skip
        monkeypatch.setenv(var, value)
    yield inbox
    controller.stop()


def run_service(command: str, cwd: Path) -> tuple[int, str]:
    """`monitor run …` as a real process: wait for its schedule, stop it with SIGTERM."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "SLACK_", "SMTP_"))}
    args = shlex.split(command)[1:]
    polls = _runs(cwd)
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", *args], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    lines = [proc.stdout.readline()]
    while lines[-1] and "예정된 작업" not in lines[-1]:
        lines.append(proc.stdout.readline())
    # stop it once the scheduler runs: its first polls leave rows in `runs`
    before = polls
    deadline = time.monotonic() + 30
    while _runs(cwd) <= before and proc.poll() is None:
        assert time.monotonic() < deadline, "the service never polled"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, "".join(lines) + out + err


def run_web(command: str, cwd: Path) -> tuple[int, str]:
    """`monitor web` or `monitor run --web` as a real process on a free port: open `/`, then SIGTERM.

    Returns the exit code and the output, with `/` answered (`GET / 200`) or not.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "SLACK_", "SMTP_"))}
    args = [*shlex.split(command)[1:], "--port", "0"]  # the README's 8080 may be taken here
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", *args], cwd=cwd, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    lines = [proc.stdout.readline()]
    while lines[-1] and not lines[-1].startswith("웹 보기: "):
        lines.append(proc.stdout.readline())
    if lines[-1]:
        answer = requests.get(lines[-1].split()[2], timeout=30)
        lines.append(f"GET / {answer.status_code}\n")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return proc.returncode, "".join(lines) + out + err


def _runs(folder: Path) -> int:
    """Rows in the runs table of the folder's monitor.db (0 before it exists)."""
    try:
        with sqlite3.connect(folder / "monitor.db") as conn:
            return int(conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def expected_code(command: str, expect: str | None) -> int:
    if command in EXIT_CODES:
        return EXIT_CODES[command]
    if expect and expect.startswith("Error:"):
        return 2
    if expect and re.search(r"^FAIL ", expect, re.M):
        return 1
    return 0


def lines_of(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip("\n").splitlines()]


def same_output(actual: str, shown: str) -> bool:
    """Whether a command printed what the README shows; a line of just `…` there stands for any
    number of lines that change from day to day (the next digest times)."""
    pattern = "\n".join(".*?" if line.strip() == "…" else re.escape(line) for line in lines_of(shown))
    pattern = pattern.replace("\n.*?\n", "(?:\n.*?)*\n")
    return re.fullmatch(pattern, "\n".join(lines_of(actual)), re.S) is not None


# --- the tests ------------------------------------------------------------------------------------


def test_every_readme_command_runs_and_prints_what_the_readme_shows(
    tmp_path: Path, demo_server: str, quiet_env: _Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs, data, _ = plan()
    assert len(runs) >= 35, "the README lost its commands, or the parser lost the README"
    shared = make_world(tmp_path / "repo", demo_server, data)
    ran: list[str] = []
    services: set[str] = set()
    for number, run in enumerate(runs):
        folder = make_world(tmp_path / f"alone{number}", demo_server, run.files) if run.files else shared
        monkeypatch.chdir(folder)
        for command in run.commands:
            where = f"README line {run.line}: {command}"
            tokens = shlex.split(command)
            if "web" in tokens[1:2] or "--web" in tokens:
                code, output = run_web(command, folder)
                assert code == 0 and "GET / 200" in output, f"{where}\n{output}"
                ran.append(command)
                continue
            if shlex.split(command)[-1] == "run":
                if command in services:
                    continue
                services.add(command)
                code, output = run_service(command, folder)
                assert code == 0 and "예정된 작업" in output, f"{where}\n{output}"
                ran.append(command)
                continue
            result = CliRunner().invoke(main, shlex.split(command)[1:], catch_exceptions=False)
            output = result.output
            assert "Traceback" not in output, f"{where}\n{output}"
            want = expected_code(command, run.expect)
            assert result.exit_code == want, f"{where}: exit {result.exit_code}, not {want}\n{output}"
            if run.expect is not None and command == run.commands[-1]:
                assert same_output(output, run.expect), f"{where}: the output differs:\n{output}"
            ran.append(command)
    assert quiet_env.messages, "the e-mail example sent nothing"
    assert (shared / "preview.html").read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    # the ones that matter for a first hour really ran
    for must in ("monitor demo", "monitor rules check", "monitor poll", "monitor status", "monitor run",
                 "monitor init staff", "monitor --db demo.db sources", "monitor web",
                 "monitor run --web"):  # fmt: skip
        assert must in ran, must


def test_the_readme_begins_with_install_and_demo_then_install_and_test() -> None:
    first = next(b for b in blocks())
    assert first.line == 3 and first.lang == "bash"
    install, tests = first.text.strip().splitlines()
    assert install.endswith(".venv/bin/monitor demo") and "pip install -q . " in install  # not editable
    assert tests.endswith(".venv/bin/python -m pytest -q") and "[test]" in tests


def test_the_second_command_is_what_ci_runs() -> None:
    """.ci/run installs the browser test's system packages when missing, then runs exactly that command."""
    _, tests = next(b for b in blocks()).text.strip().splitlines()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    steps = [line.strip() for line in ci.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert steps[-1] == tests
    install = [s for s in steps if "apt-get" in s]
    assert install == ["apt-get update && apt-get install -y --no-install-recommends chromium fonts-noto-cjk"]
    assert any(s.startswith("if ! command -v chromium") for s in steps)
    allowed = {"#!/usr/bin/env bash", "set -euo pipefail", 'cd "$(dirname "$0")/.."', "fi", *install}
    assert all(s in allowed or s.startswith("if ! command -v chromium") for s in steps[:-1]), steps
    assert "apt-get install chromium fonts-noto-cjk" in README  # the README names the step


def test_every_yaml_block_loads_through_the_real_loader(tmp_path: Path) -> None:
    _, _, checks = plan()
    rule_docs: list[dict[str, Any]] = []
    fragments: list[dict[str, Any]] = []
    kinds = []
    for number, block in enumerate(b for b in checks if b.lang == "yaml"):
        doc = yaml.safe_load(block.text)
        where = f"README line {block.line}"
        if isinstance(doc, dict) and "topic" in doc:
            folder = tmp_path / f"rules{number}"
            folder.mkdir()
            (folder / "topic.yaml").write_text(block.text, encoding="utf-8")
            matcher = Matcher(load_rules(folder))
            _, failures = check_examples(matcher)
            assert failures == [] and missing_examples(matcher) == [], where
            rule_docs.append(doc)
            kinds.append("rules")
        elif isinstance(doc, dict) and set(doc) <= {"sources", "notify", "http", "calendar", "retention"}:
            path = tmp_path / f"sources{number}.yaml"
            path.write_text(block.text + ("" if "sources" in doc else "\nsources: []\n"), encoding="utf-8")
            load_sources(path)
            kinds.append("sources")
        elif isinstance(doc, list):  # an entry of the `sources:` list
            path = tmp_path / f"entry{number}.yaml"
            path.write_text("sources:\n" + block.text, encoding="utf-8")
            load_sources(path)
            kinds.append("entry")
        elif isinstance(doc, dict) and set(doc) == {"examples"}:
            fragments.append(doc)
            kinds.append("fragment")
        else:
            raise AssertionError(f"{where}: a YAML block the test does not recognise")
    # an `examples:` fragment goes back into the README rule it extends, which must still load
    for fragment in fragments:
        first = fragment["examples"]["match"][0]
        rules = [r for d in rule_docs for r in d["rules"]]
        rule = next(r for r in rules if first in r.get("examples", {}).get("match", []))
        doc = next(d for d in rule_docs if rule in d["rules"])
        extended = {**doc, "rules": [{**rule, **fragment}]}
        folder = tmp_path / "fragment"
        folder.mkdir(exist_ok=True)
        (folder / "topic.yaml").write_text(yaml.safe_dump(extended, allow_unicode=True), encoding="utf-8")
        _, failures = check_examples(Matcher(load_rules(folder)))
        assert failures == [], failures
    assert kinds.count("rules") >= 2 and kinds.count("sources") >= 3 and "fragment" in kinds


def test_every_json_block_is_json_lines() -> None:
    import json

    _, _, checks = plan()
    json_blocks = [b for b in checks if b.lang == "json"]
    assert len(json_blocks) >= 2
    for block in json_blocks:
        for line in block.text.strip().splitlines():
            assert isinstance(json.loads(line), dict), f"README line {block.line}"


def test_nothing_points_outside_the_repository_and_named_files_exist() -> None:
    assert not re.search(r"(?<![.\w])\.\./", README), "a path outside the repository"
    prose = FENCE.sub("", README)
    named = set(re.findall(r"`((?:[\w.-]+/)+[\w.-]+\.(?:md|jsonl|yaml|py))`", prose))
    named |= set(re.findall(r"`((?:docs|tests|bench|monitor|rules)/[\w./-]*)`", prose))
    built = ("monitor/shipped/",)  # made by setup.py when a wheel is built
    missing = [n for n in sorted(named) if not (ROOT / n).exists() and n not in built]
    assert "tests/data/relevance-dev.jsonl" in named and "docs/STYLE.md" in named
    assert missing == [], missing


def test_the_figures_in_the_readme_are_current() -> None:
    dev_set = ROOT / "tests" / "data" / "relevance-dev.jsonl"
    count = sum(1 for line in dev_set.read_text(encoding="utf-8").splitlines() if line.strip())
    assert f"`tests/data/relevance-dev.jsonl`({count}건)" in README
    sources = load_sources(ROOT / "sources.yaml")
    ruleset = load_rules(ROOT / "rules")
    matcher = Matcher(ruleset)
    examples, _ = check_examples(matcher)
    figures = f"주제 {len(ruleset.topics)}개 · 규칙 {len(matcher.rules)}개 · 소스 {len(sources.sources)}개"
    assert f"OK: {figures} · 예시 {examples}/{examples} 통과" in README
