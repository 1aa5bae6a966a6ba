"""A loopback Slack Web API (chat.postMessage, conversations.history), scriptable to fail.

Reached through slack-sdk's `base_url` (env SLACK_API_URL), so the real client code runs.
Answers use Slack's shapes: `{"ok": true, "channel": …, "ts": …, "message": {…}}` and
`{"ok": false, "error": "invalid_auth"}`; rate limits are HTTP 429 with Retry-After.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request, Response


@dataclass
class FakeSlack:
    """Posted messages, the channel history, and a script of failures to play first."""

    posts: list[dict[str, Any]] = field(default_factory=list)  # every accepted chat.postMessage
    script: list[str] = field(
        default_factory=list
    )  # "429", "500", "invalid_auth", "hang", "drop-after-post" …
    channels: set[str] = field(default_factory=lambda: {"C0POLICY", "#policy", "C0COOPS", "#coops"})
    history_calls: int = 0
    attempts: int = 0
    hang_seconds: float = 3.0
    _clock: float = field(default_factory=lambda: time.time())

    def handler(self, request: Request) -> Response:
        """Route /api/{method}."""
        method = request.path.rsplit("/", 1)[-1]
        body = _params(request)
        if method == "chat.postMessage":
            return self._post(request, body)
        if method == "conversations.history":
            self.history_calls += 1
            oldest = float(body.get("oldest") or 0)
            messages = [
                {"type": "message", "ts": p["ts"], "text": p["text"], "metadata": p.get("metadata")}
                for p in reversed(self.posts)
                if p["channel"] == body.get("channel") and float(p["ts"]) >= oldest
            ]
            return _json({"ok": True, "messages": messages, "has_more": False})
        return _json({"ok": False, "error": "unknown_method"})

    def _post(self, request: Request, body: dict[str, Any]) -> Response:
        self.attempts += 1
        if request.headers.get("Authorization") != "Bearer xoxb-test-token":
            return _json({"ok": False, "error": "invalid_auth"})
        step = self.script.pop(0) if self.script else "ok"
        if step == "429":
            return Response(
                json.dumps({"ok": False, "error": "ratelimited"}), status=429,
                headers={"Retry-After": "1"}, content_type="application/json",
            )  # fmt: skip
        if step == "500":
            return Response("<html>Internal Server Error</html>", status=500, content_type="text/html")
        if step == "hang":
            time.sleep(self.hang_seconds)
            return _json({"ok": False, "error": "timeout"})
        if step not in ("ok", "drop-after-post"):
            return _json({"ok": False, "error": step})
        if body.get("channel") not in self.channels:
            return _json({"ok": False, "error": "channel_not_found"})
        self._clock += 1
        ts = f"{self._clock:.6f}"
        self.posts.append(dict(body, ts=ts))
        if step == "drop-after-post":
            # the message is in the channel, but the answer never reaches the client
            time.sleep(self.hang_seconds)
        return _json(
            {"ok": True, "channel": body["channel"], "ts": ts, "message": {"text": body.get("text")}}
        )

    def texts(self) -> list[str]:
        """Every posted message's blocks and text, as one JSON string each."""
        return [json.dumps(p.get("blocks"), ensure_ascii=False) + p.get("text", "") for p in self.posts]


def _params(request: Request) -> dict[str, Any]:
    if request.is_json:
        return dict(request.get_json(silent=True) or {})
    out: dict[str, Any] = dict(request.args)
    out.update(request.form)
    for key in ("blocks", "metadata"):
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out


def _json(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), content_type="application/json; charset=utf-8")
