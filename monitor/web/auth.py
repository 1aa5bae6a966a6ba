"""The web view's one lock: MONITOR_WEB_TOKEN, as a bearer token or an HTTP basic-auth password.

An ASGI middleware in front of every path (pages, /health, /calendar.ics, the stylesheet).
The token is compared in constant time (hmac.compare_digest); any user name goes with basic
auth, so a calendar app can subscribe to `https://보기:TOKEN@host/calendar.ics`. The token is
never taken from the query string: a URL with a secret ends up in access logs and history.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOKEN_ENV = "MONITOR_WEB_TOKEN"
REALM = "policy-monitor"
DENIED = (
    "인증이 필요합니다: MONITOR_WEB_TOKEN 의 값을 비밀번호로 (사용자 이름은 아무것이나) 넣거나 "
    "Authorization: Bearer 헤더로 보내세요.\n"
).encode()


def token_from_env(environ: MutableMapping[str, str]) -> str | None:
    """The token to require, or None when MONITOR_WEB_TOKEN is unset or blank (no lock)."""
    value = (environ.get(TOKEN_ENV) or "").strip()
    return value or None


def presented(authorization: str) -> str | None:
    """The secret an Authorization header carries (bearer token or basic-auth password), if any."""
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        _, colon, password = decoded.partition(":")
        return password if colon else None
    return None


def allowed(authorization: str | None, token: str) -> bool:
    """True when the header carries the token (constant-time comparison of UTF-8 bytes)."""
    secret = presented(authorization or "")
    # compare even when nothing was presented, so timing says nothing about the header's shape
    return hmac.compare_digest((secret or "").encode(), token.encode()) and secret is not None


class TokenGuard:
    """Answer 401 on every HTTP request that does not carry the token; pass the rest to `app`."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        if scope["type"] != "http" or self.token is None:
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope.get("headers", []) if k == b"authorization"), None)
        if allowed(header.decode("latin-1") if header is not None else None, self.token):
            await self.app(scope, receive, send)
            return
        await send({
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"www-authenticate", f'Basic realm="{REALM}", charset="UTF-8"'.encode()),
                (b"cache-control", b"no-store"),
                (b"content-length", str(len(DENIED)).encode()),
            ],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else DENIED})
