"""Shared fixtures: a loopback HTTP server, config files in tmp_path, the CLI runner."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from pytest_httpserver import HTTPServer

from monitor.cli import main
from monitor.config import HttpConfig
from tests.assembly_api import FakeAssembly
from tests.slack_api import FakeSlack

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).parents[1]

# A small rule set used by pipeline tests (the shipped rules/ have their own tests).
TEST_RULES = {
    "cooperatives.yaml": {
        "topic": "cooperatives",
        "label": "협동조합",
        "none": ["농업협동조합", "수산업협동조합", "중소기업협동조합"],
        "rules": [
            {
                "id": "coop-basic-act",
                "description": "협동조합 기본법 개정 (긴급)",
                "any": ["협동조합 기본법", "사회적협동조합"],
                "priority": "urgent",
                "examples": {"match": ["「협동조합 기본법」 일부개정"], "no_match": ["농업협동조합법"]},
            },
            {
                "id": "coop-general",
                "description": "그 밖의 협동조합",
                "any": ["협동조합"],
                "examples": {"match": ["학교협동조합 지원"], "no_match": ["농업협동조합 선거"]},
            },
        ],
    },
    "community-enterprise.yaml": {
        "topic": "community-enterprise",
        "label": "마을기업·자활기업",
        "rules": [
            {
                "id": "village-enterprise",
                "description": "마을기업·자활기업",
                "any": ["마을기업", "자활기업"],
                "none": ["마을버스"],
                "examples": {"match": ["신규 마을기업 선정"], "no_match": ["마을버스 점검"]},
            }
        ],
    },
}


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """Serve test sources on 127.0.0.1 only."""
    return ("127.0.0.1", 0)


@pytest.fixture
def server(httpserver: HTTPServer) -> HTTPServer:
    """The loopback server with a permissive robots.txt already in place."""
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nAllow: /\n", content_type="text/plain"
    )
    return httpserver


@pytest.fixture
def api(server: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeAssembly:
    """A loopback 열린국회정보 Open API (tests/assembly_api.py) with ASSEMBLY_API_KEY set."""
    fake = FakeAssembly()
    server.expect_request(re.compile(r"^/portal/openapi/\w+$")).respond_with_handler(fake.handler)
    monkeypatch.setenv("ASSEMBLY_API_KEY", "sentinel-key-123")
    return fake


@pytest.fixture
def slack(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> FakeSlack:
    """A loopback Slack Web API reached through slack-sdk (SLACK_API_URL), with a bot token set."""
    fake = FakeSlack()
    httpserver.expect_request(re.compile(r"^/api/[\w.]+$")).respond_with_handler(fake.handler)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_API_URL", httpserver.url_for("/api/"))
    monkeypatch.setenv("SLACK_CHANNEL", "C0POLICY")
    monkeypatch.setenv("SLACK_TIMEOUT", "1")
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    return fake


@pytest.fixture
def fast_http() -> HttpConfig:
    """HTTP settings for tests: no spacing, tiny backoff, short timeouts."""
    return HttpConfig(host_spacing=0, backoff=0.01, connect_timeout=2, read_timeout=2, retries=2)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A tmp folder with the test rule set in rules/."""
    rules = tmp_path / "rules"
    rules.mkdir()
    for name, doc in TEST_RULES.items():
        (rules / name).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return tmp_path


@pytest.fixture
def write_sources(workdir: Path) -> Callable[..., Path]:
    """Write sources.yaml into workdir with fast HTTP settings."""

    def write(sources: list[dict[str, Any]], http: dict[str, Any] | None = None) -> Path:
        doc = {
            "http": http
            or {"host_spacing": 0, "backoff": 0.01, "retries": 1, "read_timeout": 2, "connect_timeout": 2},
            "sources": sources,
        }
        path = workdir / "sources.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        return path

    return write


@pytest.fixture
def cli(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run the monitor CLI inside workdir with its db, sources and rules."""
    monkeypatch.chdir(workdir)
    for var in ("MONITOR_DB", "MONITOR_SOURCES", "MONITOR_RULES"):
        monkeypatch.delenv(var, raising=False)

    def run(*args: str, ok: bool | None = None) -> Result:
        result = CliRunner().invoke(main, list(args), catch_exceptions=False)
        if ok is True:
            assert result.exit_code == 0, result.output
        return result

    return run
