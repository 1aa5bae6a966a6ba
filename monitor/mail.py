"""E-mail as mail clients expect it: addresses, headers and the SMTPUTF8 question (stdlib only).

A Korean address needs care in two places. A non-ASCII *domain* (`대표@예시.한국`) is written
in its IDNA (punycode) form, which every server takes. A non-ASCII *local part* (`대표자@…`)
can only travel through a server that offers SMTPUTF8 (RFC 6531); smtplib then sends the
message with the SMTPUTF8 option and UTF-8 headers. Without it such an address cannot be
delivered at all, so the sender says which address and why, before sending anything.
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterable, Mapping
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid, parseaddr

from monitor.text import now


class AddressError(ValueError):
    """Not an e-mail address (names the address)."""


def split_address(text: str) -> tuple[str, str, str]:
    """(display name, local part, domain) of `addr@host` or `이름 <addr@host>`.

    Raises AddressError when there is no local part and domain.
    """
    name, addr = parseaddr(text)
    local, at, domain = addr.rpartition("@")
    if not at or not local or not domain or " " in addr:
        raise AddressError(f"'{text}' is not an e-mail address (like name@example.org)")
    return name, local, domain


def ascii_domain(domain: str) -> str:
    """The domain in its IDNA (punycode) form; ASCII domains as they are."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError as e:
        raise AddressError(f"domain '{domain}' cannot be written in IDNA form: {e}") from None


def needs_smtputf8(text: str) -> bool:
    """True when an address has a non-ASCII local part (only an SMTPUTF8 server can take it)."""
    _, local, _ = split_address(text)
    return not local.isascii()


def header_address(text: str) -> Address:
    """An address for a header and the envelope: IDNA domain, local part as written."""
    name, local, domain = split_address(text)
    return Address(display_name=name, username=local, domain=ascii_domain(domain))


def build_message(
    subject: str, text: str, html: str, sender: str, recipients: Iterable[str], key: str
) -> EmailMessage:
    """A multipart/alternative message with Date, Message-ID and the delivery key.

    Message-ID uses the sender's domain (RFC 5322 §3.6.4); Date is now in the service zone.
    """
    source = header_address(sender)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = source
    msg["To"] = [header_address(r) for r in recipients]
    msg["Date"] = format_datetime(now())
    msg["Message-ID"] = make_msgid(idstring="policy-monitor", domain=source.domain)
    msg["X-Policy-Monitor-Delivery"] = key
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


def envelope(msg: EmailMessage) -> tuple[str, list[str]]:
    """The envelope sender and recipients of a message built by build_message."""
    sender = parseaddr(str(msg["From"]))[1]
    return sender, [addr for _, addr in getaddresses([str(msg["To"])])]


def smtputf8_refusal(addresses: Iterable[str], host: str, port: int) -> str | None:
    """The error to show when these addresses need SMTPUTF8 and the server lacks it (or None)."""
    korean = [a for a in addresses if needs_smtputf8(a)]
    if not korean:
        return None
    return (
        f"메일 서버({host}:{port})가 SMTPUTF8을 지원하지 않아 한글이 든 주소 {', '.join(korean)} 로 "
        "보낼 수 없습니다: SMTPUTF8을 지원하는 메일 서버를 쓰거나(SMTP_HOST) 영문 주소로 바꾸세요"
    )


def probe_smtputf8(env: Mapping[str, str], timeout: float = 5.0) -> bool | None:
    """Whether the SMTP server in the environment offers SMTPUTF8 (None: no server or no answer)."""
    host = env.get("SMTP_HOST")
    if not host:
        return None
    port = int(env.get("SMTP_PORT") or 587)
    use_ssl = (env.get("SMTP_SSL") or "0") not in ("0", "false", "no")
    starttls = (env.get("SMTP_STARTTLS") or ("1" if port == 587 else "0")) not in ("0", "false", "no")
    try:
        smtp_class = smtplib.SMTP_SSL if use_ssl else smtplib.SMTP
        with smtp_class(host, port, timeout=timeout) as smtp:
            if starttls and not use_ssl:
                smtp.starttls()
            smtp.ehlo()
            return bool(smtp.has_extn("smtputf8"))
    except (smtplib.SMTPException, OSError):
        return None
