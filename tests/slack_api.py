"""A loopback Slack Web API (chat.postMessage, conversations.history, conversations.list).

Reached through slack-sdk's `base_url` (env SLACK_API_URL), so the real client code runs.
Answers use Slack's shapes: `{"ok": true, "channel": …, "ts": …, "message": {…}}` and
`{"ok": false, "error": "invalid_auth"}`; rate limits are HTTP 429 with Retry-After.

Like Slack, chat.postMessage takes a channel ID or a name (`#policy`, `policy`) and answers
with the channel's ID, while conversations.history takes IDs only (a name: channel_not_found).
History and the channel list are paged with `limit` and `response_metadata.next_cursor`.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request, Response


@dataclass
class FakeSlack:
    """Posted messages, the channels, and scripts of failures to play first."""

    posts: list[dict[str, Any]] = field(default_factory=list)  # every accepted chat.postMessage
    # chat.postMessage steps: "429", "500", "invalid_auth", "hang", "drop-after-post", "500-after-post" …
    script: list[str] = field(default_factory=list)
    # conversations.history steps: "missing_scope" (any error name), "500", "hang"
    history_script: list[str] = field(default_factory=list)
    list_script: list[str] = field(default_factory=list)  # conversations.list steps, the same way
    channels: dict[str, str] = field(default_factory=lambda: {"policy": "C0POLICY", "coops": "C0COOPS"})
    history_calls: int = 0
    history_pages: list[str | None] = field(default_factory=list)  # the cursor each call asked for
    list_calls: int = 0
    attempts: int = 0
    hang_seconds: float = 3.0
    delay: float = 0.0  # seconds every chat.postMessage takes (a slow Slack)
    page_size: int | None = None  # cap on messages per history page (Slack's `limit` otherwise)
    filler_channels: int = 0  # other channels listed before ours (to page conversations.list)
    _clock: float = field(default_factory=lambda: time.time())
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self, request: Request) -> Response:
        """Route /api/{method}."""
        method = request.path.rsplit("/", 1)[-1]
        body = _params(request)
        if request.headers.get("Authorization") != "Bearer xoxb-test-token":
            if method == "chat.postMessage":
                self.attempts += 1
            return _json({"ok": False, "error": "invalid_auth"})
        if method == "chat.postMessage":
            return self._post(body)
        if method == "conversations.history":
            return self._history(body)
        if method == "conversations.list":
            return self._list(body)
        return _json({"ok": False, "error": "unknown_method"})

    def channel_id(self, name_or_id: str | None) -> str | None:
        """The ID of a channel named by ID, `#name` or `name` (None if there is no such channel)."""
        if name_or_id in self.channels.values():
            return name_or_id
        return self.channels.get((name_or_id or "").lstrip("#"))

    def _post(self, body: dict[str, Any]) -> Response:
        self.attempts += 1
        if self.delay:
            time.sleep(self.delay)
        step = self.script.pop(0) if self.script else "ok"
        failure = _failure(step, self.hang_seconds)
        if failure is not None:
            return failure
        if step not in ("ok", "drop-after-post", "500-after-post"):
            return _json({"ok": False, "error": step})
        channel = self.channel_id(body.get("channel"))
        if channel is None:
            return _json({"ok": False, "error": "channel_not_found"})
        with self._lock:
            self._clock += 1
            ts = f"{self._clock:.6f}"
            self.posts.append(dict(body, channel=channel, ts=ts))
        if step == "drop-after-post":
            # the message is in the channel, but the answer never reaches the client
            time.sleep(self.hang_seconds)
        if step == "500-after-post":
            return Response("<html>Internal Server Error</html>", status=500, content_type="text/html")
        return _json({"ok": True, "channel": channel, "ts": ts, "message": {"text": body.get("text")}})

    def _history(self, body: dict[str, Any]) -> Response:
        self.history_calls += 1
        self.history_pages.append(body.get("cursor") or None)
        step = self.history_script.pop(0) if self.history_script else "ok"
        failure = _failure(step, self.hang_seconds)
        if failure is not None:
            return failure
        if step != "ok":
            return _json({"ok": False, "error": step})
        channel = body.get("channel")
        if channel not in self.channels.values():
            return _json({"ok": False, "error": "channel_not_found"})  # IDs only, like Slack
        oldest = float(body.get("oldest") or 0)
        messages = [
            {"type": "message", "ts": p["ts"], "text": p["text"], "metadata": p.get("metadata")}
            for p in reversed(self.posts)
            if p["channel"] == channel and float(p["ts"]) >= oldest
        ]
        return _page(messages, body, "messages", self.page_size)

    def _list(self, body: dict[str, Any]) -> Response:
        self.list_calls += 1
        step = self.list_script.pop(0) if self.list_script else "ok"
        failure = _failure(step, self.hang_seconds)
        if failure is not None:
            return failure
        if step != "ok":
            return _json({"ok": False, "error": step})
        channels = [{"id": f"C0FILL{n:04d}", "name": f"other-{n}"} for n in range(self.filler_channels)]
        channels += [{"id": cid, "name": name} for name, cid in self.channels.items()]
        return _page(channels, body, "channels", None)

    def texts(self) -> list[str]:
        """Every posted message's blocks and text, as one JSON string each."""
        return [json.dumps(p.get("blocks"), ensure_ascii=False) + p.get("text", "") for p in self.posts]


def _failure(step: str, hang_seconds: float) -> Response | None:
    if step == "429":
        return Response(
            json.dumps({"ok": False, "error": "ratelimited"}), status=429,
            headers={"Retry-After": "1"}, content_type="application/json",
        )  # fmt: skip
    if step == "500":
        return Response("<html>Internal Server Error</html>", status=500, content_type="text/html")
    if step == "hang":
        time.sleep(hang_seconds)
        return _json({"ok": False, "error": "timeout"})
    return None


def _page(rows: list[dict[str, Any]], body: dict[str, Any], key: str, cap: int | None) -> Response:
    """One page of rows after the `cursor` offset, `limit` long, with Slack's cursor fields."""
    start = int(body.get("cursor") or 0)
    size = int(body.get("limit") or 100)
    size = min(size, cap) if cap else size
    chunk = rows[start : start + size]
    more = start + size < len(rows)
    return _json(
        {"ok": True, key: chunk, "has_more": more,
         "response_metadata": {"next_cursor": str(start + size) if more else ""}}
    )  # fmt: skip


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
