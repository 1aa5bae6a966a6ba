"""E-mail as mail clients expect: headers, Korean addresses with and without SMTPUTF8, --to, --html."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from click.testing import Result

from monitor.text import now
from tests.slack_api import FakeSlack
from tests.test_delivery import EMAIL_NOTIFY, Inbox, ledger, seeded  # noqa: F401  (seeded: a fixture)

Cli = Callable[..., Result]
KOREAN = "대표자@example.org"
IDN = "rep@예시.한국"


def start_smtp(monkeypatch: pytest.MonkeyPatch, smtputf8: bool) -> tuple[Inbox, Controller]:
    with socket.socket() as probe:  # aiosmtpd checks readiness by connecting: it needs a real port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8)
    controller.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_STARTTLS", "0")
    monkeypatch.setenv("SMTP_FROM", "정책 모니터 <monitor@example.org>")
    return inbox, controller


@pytest.fixture
def utf8_smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    inbox, controller = start_smtp(monkeypatch, smtputf8=True)
    yield inbox
    controller.stop()


@pytest.fixture
def ascii_smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[Inbox]:
    inbox, controller = start_smtp(monkeypatch, smtputf8=False)
    yield inbox
    controller.stop()


def notify(*recipients: str) -> dict[str, Any]:
    return {
        "destinations": {"main": {"type": "slack"}, "reps": {"type": "email", "to": list(recipients)}},
        "weekly": {"cron": "0 9 * * 1", "to": ["main", "reps"]},
    }


def parsed(envelope: Any) -> email.message.EmailMessage:
    return email.message_from_bytes(envelope.content, policy=email.policy.default)


def test_the_weekly_email_has_date_and_message_id_and_goes_only_to_email_destinations(
    utf8_smtp: Inbox, slack: FakeSlack, seeded, cli: Cli, workdir: Path
) -> None:
    seeded(notify=notify("rep1@example.org"))
    result = cli("digest", "weekly", "--to", "email")
    assert result.exit_code == 0, result.output
    assert slack.posts == [] and slack.attempts == 0  # the Slack destination is not tried
    (envelope,) = utf8_smtp.messages
    msg = parsed(envelope)
    sent = parsedate_to_datetime(str(msg["Date"]))
    assert sent.utcoffset() == timedelta(hours=9) and abs(sent - now()) < timedelta(hours=1)
    message_id = str(msg["Message-ID"]).strip()  # a long id is folded onto its own line
    assert message_id.startswith("<") and message_id.endswith("@example.org>")
    assert msg["From"].addresses[0].display_name == "정책 모니터"
    assert [row[:2] for row in ledger(workdir)] == [("weekly", "sent")]
    cli("resend", "1", "--force", ok=True)
    assert len({str(parsed(e)["Message-ID"]).strip() for e in utf8_smtp.messages}) == 2  # each its own id


def test_to_email_without_email_destinations_says_so(slack: FakeSlack, seeded, cli: Cli) -> None:
    seeded()
    result = cli("digest", "daily", "--to", "email")
    assert result.exit_code == 2 and "email 종류가 없습니다" in result.output and slack.posts == []


def test_korean_addresses_go_through_a_server_with_smtputf8(
    utf8_smtp: Inbox, seeded, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    seeded(notify=notify(KOREAN, IDN, "rep1@example.org"))
    cli("digest", "weekly", "--to", "email", ok=True)
    (envelope,) = utf8_smtp.messages
    assert "SMTPUTF8" in [o.upper() for o in envelope.mail_options]
    assert sorted(envelope.rcpt_tos) == sorted([KOREAN, "rep@xn--vv4b11d.xn--3e0b707e", "rep1@example.org"])
    msg = parsed(envelope)
    assert KOREAN in str(msg["To"]) and "주간 요약" in str(msg["Subject"])


def test_a_korean_address_and_a_server_without_smtputf8_is_a_clear_error(
    ascii_smtp: Inbox, seeded, cli: Cli, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    seeded(notify=notify(KOREAN, "rep1@example.org"))
    result = cli("digest", "weekly", "--to", "email")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "SMTPUTF8을 지원하지 않아" in result.output and KOREAN in result.output
    assert ascii_smtp.messages == []  # nothing half-sent
    assert ledger(workdir)[0][:2] == ("weekly", "pending")
    check = cli("rules", "check")
    assert check.exit_code == 2 and KOREAN in check.output and "notify.destinations.reps" in check.output


def test_a_korean_domain_needs_no_smtputf8(
    ascii_smtp: Inbox, seeded, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    seeded(notify=notify(IDN))
    cli("digest", "weekly", "--to", "email", ok=True)
    (envelope,) = ascii_smtp.messages
    assert envelope.rcpt_tos == ["rep@xn--vv4b11d.xn--3e0b707e"]
    assert cli("rules", "check").exit_code == 0


def test_rules_check_accepts_korean_addresses_with_an_smtputf8_server_and_warns_without_one(
    utf8_smtp: Inbox, seeded, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded(notify=notify(KOREAN))
    ok = cli("rules", "check", ok=True)
    assert "경고" not in ok.output
    monkeypatch.delenv("SMTP_HOST")
    warned = cli("rules", "check", ok=True)
    assert "경고" in warned.output and KOREAN in warned.output and "SMTPUTF8" in warned.output


def test_the_weekly_html_can_be_previewed_without_an_smtp_server(
    seeded, cli: Cli, workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("SMTP_HOST", "SLACK_BOT_TOKEN", "SLACK_WEBHOOK_URL"):
        monkeypatch.delenv(var, raising=False)
    seeded(notify=EMAIL_NOTIFY)
    cli("digest", "weekly", "--to", "email", "--html", "weekly.html", ok=True)
    html = (workdir / "weekly.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "주간 요약" in html and "협동조합 기본법" in html
    out = cli("digest", "weekly", "--html", "-", ok=True).stdout
    assert out.startswith("<!DOCTYPE html>") and "주간 요약" in out
    assert ledger(workdir) == []  # a preview sends and records nothing


@pytest.mark.parametrize("address", ["대표자", "rep@", "@example.org"])
def test_a_malformed_address_is_a_config_error(
    address: str, seeded, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded(notify=notify(address))
    result = cli("rules", "check")
    assert result.exit_code == 2 and f"'{address}' is not an e-mail address" in result.output
