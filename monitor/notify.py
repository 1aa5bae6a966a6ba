"""Delivery: the ledger protocol and the transports (Slack Web API, webhook, SMTP, console).

A delivery is a ledger row keyed by (kind, period, destination) holding the rendered payload.
Its events count as delivered only once the transport confirmed. A process first claims the
row (owner + lease, atomically); a live claim of another process is left alone, an expired one
(or one whose process is gone from this host) is taken over. Before each part is posted the
row is marked `sending` with the time (`sending_since`); a row found `sending` is first looked
for in the channel's history, every page back to that time (each message carries its delivery
key as Slack message metadata). Only a lookup that read everything and found nothing lets the
part be posted again; any error keeps the row `sending` for a later lookup. Transports that
cannot look (webhook, SMTP) leave such a row `unconfirmed` for a person to check and
`monitor resend`.
"""
from __future__ import annotations

import logging
import os
import re
import smtplib
import socket
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TextIO

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from monitor.config import Destination
from monitor.digest import Digest
from monitor.errors import DeliveryError
from monitor.logs import redact
from monitor.mail import AddressError, build_message, envelope, smtputf8_refusal
from monitor.render.email import render_html
from monitor.render.slack import render_slack
from monitor.render.text import render_text
from monitor.store import Store
from monitor.text import iso, now, parse_datetime

log = logging.getLogger(__name__)

METADATA_TYPE = "policy_monitor_delivery"
SLACK_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")  # channel IDs; names are lower-case
MAX_PAGES = 100  # pages of conversations.list / history read before giving up (200 per page)
CLAIM_LEASE = timedelta(minutes=10)  # longer than one post with the client's retries can take
LOOKBACK = timedelta(minutes=10)  # history read from this long before a part was started
# Errors a retry in a minute will not fix: say so clearly and wait an hour before trying again.
CONFIG_ERRORS = {
    "invalid_auth": "Slack 토큰이 유효하지 않습니다 (SLACK_BOT_TOKEN을 확인하세요)",
    "not_authed": "Slack 토큰이 없습니다 (SLACK_BOT_TOKEN을 설정하세요)",
    "account_inactive": "Slack 봇 계정이 비활성화되었습니다",
    "token_revoked": "Slack 토큰이 취소되었습니다 (새 토큰을 발급하세요)",
    "channel_not_found": "Slack 채널을 찾을 수 없습니다 (채널 id/이름을 확인하세요)",
    "not_in_channel": "봇이 채널에 초대되지 않았습니다 (/invite 로 초대하세요)",
    "is_archived": "Slack 채널이 보관(archive)되었습니다",
    "missing_scope": "Slack 앱 권한(scope)이 부족합니다 (chat:write, channels:history)",
}


class TransportError(DeliveryError):
    """A transport failed; `retry_after` says when trying again makes sense.

    `ambiguous` means the message may have arrived anyway (a timeout or a dropped answer):
    the next attempt looks for it before posting again.
    """

    def __init__(self, message: str, retry_after: timedelta | None = None, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.ambiguous = ambiguous


class RefusedConnectionRetryHandler(ConnectionErrorRetryHandler):
    """Retry only connections that never reached Slack: a reset after sending may have posted."""

    def _can_retry(self, *, state: Any, request: Any, response: Any = None, error: Any = None) -> bool:
        reason = getattr(error, "reason", error)
        return isinstance(reason, ConnectionRefusedError) and super()._can_retry(
            state=state, request=request, response=response, error=error
        )


class Transport(Protocol):
    """Sends one rendered part; may look a part up after a crash."""

    name: str
    can_find: bool

    def parts(self, payload: dict[str, Any]) -> list[Any]:
        """The messages a payload is sent as."""
        ...

    def post(self, part: Any, key: str, number: int) -> str:
        """Send one part; returns its id (Slack ts)."""
        ...

    def find(self, key: str, number: int, since: datetime) -> str | None:
        """The id of a part already posted with this key, if any."""
        ...


# --- transports -------------------------------------------------------------------------------


@dataclass
class SlackWebTransport:
    """chat.postMessage with a bot token; conversations.history to find a post whose answer was lost.

    `channel` may be an ID (`C0123…`) or a name (`#policy`, `policy`). chat.postMessage takes
    either, but conversations.history takes IDs only (a name answers `channel_not_found`), so the
    name is resolved once, from the ID a post returns or else through conversations.list, before
    anything that needs an ID.
    """

    client: WebClient
    channel: str
    name: str = "slack"
    can_find: bool = True
    channel_id: str | None = None

    def __post_init__(self) -> None:
        if self.channel_id is None and SLACK_ID.match(self.channel):
            self.channel_id = self.channel

    def parts(self, payload: dict[str, Any]) -> list[Any]:
        """Slack messages of the payload."""
        return list(payload["slack"])

    def post(self, part: Any, key: str, number: int) -> str:
        """Post one message stamped with its delivery key; remembers the channel's ID."""
        try:
            resp = self.client.chat_postMessage(
                channel=self.channel_id or self.channel,
                text=part["text"],
                blocks=part["blocks"],
                unfurl_links=False,
                unfurl_media=False,
                metadata={"event_type": METADATA_TYPE, "event_payload": {"key": key, "part": number}},
            )
        except SlackApiError as e:
            raise _slack_error(e, ambiguous_5xx=True) from e
        except (SlackClientError, OSError) as e:
            raise TransportError(
                f"Slack 응답을 받지 못했습니다: {type(e).__name__}: {e}", ambiguous=True
            ) from e
        if resp.get("channel"):
            self.channel_id = str(resp["channel"])
        return str(resp.get("ts") or "")

    def resolve(self) -> str:
        """The channel's ID: known already, or looked up by name in conversations.list (every page).

        Raises TransportError when the lookup fails or no channel has that name.
        """
        if self.channel_id:
            return self.channel_id
        wanted = self.channel.lstrip("#")
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            try:
                resp = self.client.conversations_list(
                    types="public_channel,private_channel", exclude_archived=True, limit=200,
                    cursor=cursor,
                )  # fmt: skip
            except SlackApiError as e:
                error = _slack_error(e)
                raise TransportError(
                    f"Slack 채널 이름 '#{wanted}'을(를) ID로 바꾸지 못했습니다: {error} "
                    "(앱에 channels:read 권한을 주거나 SLACK_CHANNEL 에 채널 ID를 적으세요)",
                    retry_after=error.retry_after,
                ) from e
            except (SlackClientError, OSError) as e:
                raise TransportError(f"Slack 채널 목록을 받지 못했습니다: {e}") from e
            for channel in resp.get("channels") or []:
                if channel.get("name") == wanted:
                    self.channel_id = str(channel["id"])
                    return self.channel_id
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                raise TransportError(
                    f"Slack 채널 '#{wanted}'을(를) 찾을 수 없습니다 (이름을 확인하거나 채널 ID를 적으세요)",
                    retry_after=timedelta(hours=1),
                )
        raise TransportError(f"Slack 채널 목록이 {MAX_PAGES}쪽을 넘어 '#{wanted}'을(를) 찾지 못했습니다")

    def find(self, key: str, number: int, since: datetime) -> str | None:
        """Look for a message carrying this key and part in the channel since a time.

        Reads every page of history back to `since`; None only when all of it was read.
        Raises TransportError for any error or a page it could not read: not proof of absence.
        """
        channel = self.resolve()
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            try:
                resp = self.client.conversations_history(
                    channel=channel, oldest=f"{since.timestamp():.6f}", include_all_metadata=True,
                    limit=200, cursor=cursor,
                )  # fmt: skip
            except SlackApiError as e:
                raise _slack_error(e) from e
            except (SlackClientError, OSError) as e:
                raise TransportError(f"Slack 기록을 확인하지 못했습니다: {type(e).__name__}: {e}") from e
            for message in resp.get("messages") or []:
                meta = message.get("metadata") or {}
                body = meta.get("event_payload") or {}
                if (
                    meta.get("event_type") == METADATA_TYPE
                    and body.get("key") == key
                    and body.get("part") == number
                ):
                    return str(message.get("ts"))
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                if resp.get("has_more"):
                    raise TransportError("Slack 기록의 다음 쪽을 받을 수 없습니다 (has_more, no cursor)")
                return None
        raise TransportError(f"Slack 기록이 {MAX_PAGES}쪽을 넘어 끝까지 확인하지 못했습니다")


def _slack_error(e: SlackApiError, ambiguous_5xx: bool = False) -> TransportError:
    """A Slack API error as a TransportError; a 5xx answer to a post may have posted anyway."""
    error = str(e.response.get("error") if e.response is not None else "") or "unknown"
    status = e.response.status_code if e.response is not None else None
    if ambiguous_5xx and status is not None and status >= 500:
        return TransportError(f"Slack 오류: HTTP {status} (게시됐는지 알 수 없음)", ambiguous=True)
    if error in CONFIG_ERRORS:
        return TransportError(f"{error}: {CONFIG_ERRORS[error]}", retry_after=timedelta(hours=1))
    if error == "ratelimited" or status == 429:
        wait = e.response.headers.get("Retry-After") if e.response is not None else None
        seconds = int(wait) if wait and str(wait).isdigit() else 60
        return TransportError(
            f"Slack 전송 한도 초과(ratelimited); {seconds}초 뒤 다시", timedelta(seconds=seconds)
        )
    return TransportError(f"Slack 오류: {error} (HTTP {status})")


@dataclass
class SlackWebhookTransport:
    """An incoming webhook: posts, but cannot look anything up afterwards."""

    client: WebhookClient
    name: str = "slack-webhook"
    can_find: bool = False

    def parts(self, payload: dict[str, Any]) -> list[Any]:
        """Slack messages of the payload."""
        return list(payload["slack"])

    def post(self, part: Any, key: str, number: int) -> str:
        """Post one message through the webhook."""
        try:
            resp = self.client.send(text=part["text"], blocks=part["blocks"], unfurl_links=False)
        except (SlackClientError, OSError) as e:
            raise TransportError(f"Slack webhook 응답을 받지 못했습니다: {e}", ambiguous=True) from e
        if resp.status_code != 200:
            raise TransportError(f"Slack webhook 오류: HTTP {resp.status_code} {resp.body[:100]}")
        return f"webhook:{number}"

    def find(self, key: str, number: int, since: datetime) -> str | None:
        """Webhooks cannot read history."""
        return None


@dataclass
class SmtpTransport:
    """One e-mail (HTML + text) to the destination's recipients."""

    host: str
    port: int
    sender: str
    recipients: list[str]
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    use_ssl: bool = False
    timeout: float = 30.0
    name: str = "email"
    can_find: bool = False

    def parts(self, payload: dict[str, Any]) -> list[Any]:
        """An e-mail is one part."""
        return [payload["email"]]

    def post(self, part: Any, key: str, number: int) -> str:
        """Send the e-mail (Date, Message-ID, the delivery key in a header); returns its Message-ID.

        An address with a Korean local part goes out only through a server offering SMTPUTF8;
        otherwise nothing is sent and the error names the address (retried in an hour).
        """
        try:
            msg = build_message(
                part["subject"], part["text"], part["html"], self.sender, self.recipients, key
            )
        except AddressError as e:
            raise TransportError(f"메일 주소 오류: {e}", retry_after=timedelta(hours=1)) from e
        sender, recipients = envelope(msg)
        try:
            smtp_class = smtplib.SMTP_SSL if self.use_ssl else smtplib.SMTP
            with smtp_class(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls and not self.use_ssl:
                    smtp.starttls()
                smtp.ehlo_or_helo_if_needed()
                refusal = None if smtp.has_extn("smtputf8") else smtputf8_refusal(
                    [self.sender, *self.recipients], self.host, self.port
                )  # fmt: skip
                if refusal:
                    raise TransportError(refusal, retry_after=timedelta(hours=1))
                if self.user and self.password:
                    smtp.login(self.user, self.password)
                refused = smtp.send_message(msg, from_addr=sender, to_addrs=recipients)
        except (smtplib.SMTPException, OSError) as e:
            raise TransportError(
                f"메일 서버({self.host}:{self.port}) 전송 실패: {type(e).__name__}: {e}"
            ) from e
        if refused:
            raise TransportError(f"수신 거부된 주소: {', '.join(refused)}")
        return str(msg["Message-ID"])

    def find(self, key: str, number: int, since: datetime) -> str | None:
        """SMTP cannot tell what arrived."""
        return None


@dataclass
class ConsoleTransport:
    """Print readable Korean text (no Slack or e-mail configured, or `--to console`)."""

    out: TextIO | None = None  # None: whatever sys.stdout is when printing
    name: str = "console"
    can_find: bool = False

    def parts(self, payload: dict[str, Any]) -> list[Any]:
        """The text version."""
        return [payload["text"]]

    def post(self, part: Any, key: str, number: int) -> str:
        """Print it."""
        out = self.out or sys.stdout
        out.write(part)
        out.flush()
        return "console"

    def find(self, key: str, number: int, since: datetime) -> str | None:
        """Nothing to find."""
        return None


# --- choosing a transport ---------------------------------------------------------------------


def slack_client(token: str) -> WebClient:
    """A WebClient with retries for rate limits and dropped connections; SLACK_API_URL for tests."""
    base = os.environ.get("SLACK_API_URL") or "https://slack.com/api/"
    return WebClient(
        token=token,
        base_url=base if base.endswith("/") else base + "/",
        timeout=int(os.environ.get("SLACK_TIMEOUT") or 15),
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=2),
            # only connections that never reached Slack: a reset after sending may have posted
            RefusedConnectionRetryHandler(max_retry_count=2),
        ],
    )


def transport_for(name: str, destination: Destination, override: str | None = None) -> Transport:
    """The transport for a destination; falls back to the console when nothing is configured."""
    env = os.environ
    kind = override or destination.type
    if kind == "slack":
        token, webhook = env.get("SLACK_BOT_TOKEN"), env.get("SLACK_WEBHOOK_URL")
        if token:
            channel = destination.channel or env.get("SLACK_CHANNEL")
            if not channel:
                raise DeliveryError(
                    f"destination '{name}': no Slack channel; set SLACK_CHANNEL or "
                    f"notify.destinations.{name}.channel in sources.yaml"
                )
            return SlackWebTransport(slack_client(token), channel)
        if webhook:
            return SlackWebhookTransport(WebhookClient(webhook, timeout=15))
        if override:
            raise DeliveryError("--to slack needs SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL in the environment")
        return ConsoleTransport()
    if kind == "email":
        host = env.get("SMTP_HOST")
        if not host:
            if override:
                raise DeliveryError("--to email needs SMTP_HOST (and SMTP_FROM) in the environment")
            return ConsoleTransport()
        if not destination.to:
            raise DeliveryError(f"destination '{name}': no e-mail recipients (notify.destinations.{name}.to)")
        port = int(env.get("SMTP_PORT") or 587)
        return SmtpTransport(
            host=host,
            port=port,
            sender=env.get("SMTP_FROM") or "policy-monitor@localhost",
            recipients=list(destination.to),
            user=env.get("SMTP_USER"),
            password=env.get("SMTP_PASSWORD"),
            starttls=(env.get("SMTP_STARTTLS") or ("1" if port == 587 else "0")) not in ("0", "false", "no"),
            use_ssl=(env.get("SMTP_SSL") or "0") not in ("0", "false", "no"),
        )
    return ConsoleTransport()


def payload_for(digest: Digest) -> dict[str, Any]:
    """Everything any transport needs, rendered once and kept in the ledger for retries."""
    return {
        "slack": render_slack(digest),
        "text": render_text(digest),
        "email": {"subject": digest.title, "text": render_text(digest), "html": render_html(digest)},
    }


# --- the ledger protocol ----------------------------------------------------------------------


@dataclass
class DeliveryOutcome:
    """What one delivery attempt did."""

    id: int | None
    key: str
    status: str  # sent | already-sent | busy | pending | sending | deferred | unconfirmed | printed
    error: str | None = None


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


# Who holds a claim: host, pid, a token of this process (a later process may get the same pid,
# as PID 1 does in every container start) and a token of the attempt (threads of one service).
_PROCESS_TOKEN = uuid.uuid4().hex[:8]


def claim_owner() -> str:
    """A new owner name for one sending attempt: `host:pid:process-token:attempt-token`."""
    return f"{socket.gethostname()}:{os.getpid()}:{_PROCESS_TOKEN}:{uuid.uuid4().hex[:8]}"


def owner_is_gone(owner: str) -> bool:
    """True when the process behind a claim is known to be gone (same host only).

    Another host's claim, or a pid that is alive (perhaps reused), counts as live: its lease
    decides. A claim of this very pid with another process token is an earlier process's.
    """
    try:
        host, pid_text, token, _ = owner.split(":")
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return False
    if pid == os.getpid():
        return token != _PROCESS_TOKEN
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def send(
    store: Store, row: dict[str, Any], transport: Transport, *, force: bool = False,
    now_ok: bool = False, restart: bool = False,
) -> DeliveryOutcome:  # fmt: skip
    """Send (or finish sending) one ledger row; never posts a confirmed part twice.

    The row is claimed first (monitor.store.claim_delivery): a row another process is sending
    is left alone (`busy`). `now_ok` ignores the back-off (someone asked for it by hand);
    `force` also sends a `sent` row; `restart` posts every part again from the first (a person
    checked that an `unconfirmed` row did not arrive).
    """
    key = f"{row['kind']}:{row['period']}:{row['destination']}"
    if row["status"] == "sent" and not force:
        return DeliveryOutcome(row["id"], key, "already-sent")
    owner = claim_owner()
    claimed, holder = store.claim_delivery(row["id"], owner, CLAIM_LEASE, owner_is_gone)
    if claimed is None:
        pid = holder.split(":")[1] if holder and holder.count(":") == 3 else "?"
        return DeliveryOutcome(row["id"], key, "busy", f"다른 프로세스(pid {pid})가 보내는 중입니다")
    try:
        return _send_claimed(store, claimed, transport, key, owner, force, now_ok, restart)
    finally:
        store.release_claim(row["id"], owner)


def _send_claimed(
    store: Store, row: dict[str, Any], transport: Transport, key: str, owner: str,
    force: bool, now_ok: bool, restart: bool,
) -> DeliveryOutcome:  # fmt: skip
    """The ledger protocol on a row we hold (read inside the claim, so it is current)."""
    if row["status"] == "sent" and not force:
        return DeliveryOutcome(row["id"], key, "already-sent")
    due = parse_datetime(row.get("next_attempt_at")) if row.get("next_attempt_at") else None
    if due and due > now() and not (force or now_ok):
        return DeliveryOutcome(row["id"], key, "deferred", row.get("last_error"))
    parts = transport.parts(row["payload"])
    sent_ts: list[str] = [] if restart else list(row["ts"])[: row["parts_sent"]]
    start = 0 if restart else row["parts_sent"]
    if row["status"] == "sending" and not (force or restart):
        # a part was in flight when the last attempt ended (crash, lost answer): did it arrive?
        if not transport.can_find:
            store.update_delivery(
                row["id"], status="unconfirmed",
                last_error="전송 중 중단되어 도착 여부를 확인할 수 없습니다; 확인 후 `monitor resend` 하세요",
            )  # fmt: skip
            return DeliveryOutcome(row["id"], key, "unconfirmed")
        began = parse_datetime(row.get("sending_since") or row["updated_at"]) or now()
        try:
            found = transport.find(key, start, began - LOOKBACK)
        except TransportError as e:
            # no proof either way: the row stays `sending` and the lookup is tried again later
            return _failed(store, row, key, TransportError(
                f"보냈는지 확인하지 못해 기다립니다: {e}", e.retry_after, ambiguous=True,
            ))  # fmt: skip
        if found:
            sent_ts.append(found)
            start += 1
            store.update_delivery(row["id"], parts_sent=start, ts=sent_ts)
    for number in range(start, len(parts)):
        if not store.renew_claim(row["id"], owner, CLAIM_LEASE):
            return DeliveryOutcome(row["id"], key, "busy", "전송 권한(claim)을 다른 프로세스가 가져갔습니다")
        # committed before we post: a crash from here on leaves a row to look up, never to repost
        store.update_delivery(row["id"], status="sending", sending_since=iso(now()))
        try:
            ts = transport.post(parts[number], key, number)
        except TransportError as e:
            return _failed(store, row, key, e, parts_sent=number, ts=sent_ts)
        sent_ts.append(ts)
        store.update_delivery(row["id"], parts_sent=number + 1, ts=sent_ts)
    store.update_delivery(
        row["id"], status="sent", sent_at=iso(now()), last_error=None, next_attempt_at=None,
        attempts=int(row["attempts"]) + 1,
    )  # fmt: skip
    return DeliveryOutcome(row["id"], key, "sent")


def _failed(
    store: Store, row: dict[str, Any], key: str, error: TransportError, **values: Any
) -> DeliveryOutcome:
    attempts = int(row["attempts"]) + 1
    wait = error.retry_after or _backoff(attempts)
    # never a token in the ledger or the log, whatever the transport's error text says
    error = TransportError(redact(str(error)), error.retry_after, error.ambiguous)
    # a refused post is pending; one that may have arrived stays `sending`, to be looked for first
    status = "sending" if error.ambiguous else "pending"
    store.update_delivery(
        row["id"], status=status, attempts=attempts, last_error=str(error),
        next_attempt_at=iso(now() + wait), **values,
    )  # fmt: skip
    log.warning("delivery %s failed (attempt %d): %s", key, attempts, error)
    return DeliveryOutcome(row["id"], key, status, str(error))


def deliver(
    store: Store,
    digest: Digest,
    transport: Transport,
    *,
    record: bool = True,
) -> DeliveryOutcome:
    """Record a digest in the ledger (once per kind, period and destination) and send it.

    With the console transport nothing is recorded: the console is a preview, not a delivery,
    so the events stay undelivered for the real destination.
    """
    if isinstance(transport, ConsoleTransport) or not record:
        payload = payload_for(digest)
        for number, part in enumerate(transport.parts(payload)):
            transport.post(part, digest.key, number)
        return DeliveryOutcome(None, digest.key, "printed")
    existing = store.find_delivery(digest.kind, digest.period, digest.destination)
    row = existing or store.create_delivery(
        digest.kind, digest.period, digest.destination, payload_for(digest),
        digest.event_ids, digest.skipped_event_ids,
    )  # fmt: skip
    return send(store, row, transport)
