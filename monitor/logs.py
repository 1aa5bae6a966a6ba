"""Logging: one line per event, text or JSON, with every secret from the environment redacted."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime
from typing import Any
from urllib.parse import quote, quote_plus

from monitor.text import tz

SECRET_VARS = (
    "ASSEMBLY_API_KEY", "LAWMAKING_OC", "LAW_GO_KR_OC", "DATA_GO_KR_KEY", "SLACK_BOT_TOKEN",
    "SLACK_WEBHOOK_URL", "SMTP_PASSWORD",
)  # fmt: skip


def secrets() -> list[str]:
    """The secret values set in the environment, as written and as URL-encoded in a query string.

    Longest first, so a secret is replaced whole before a shorter one inside it.
    """
    found: set[str] = set()
    for value in (os.environ.get(name) for name in SECRET_VARS):
        if value and len(value) >= 4:
            found.update({value, quote(value, safe=""), quote_plus(value), quote(value)})
    return sorted(found, key=len, reverse=True)


# A secret cut short (an error text shortened before it was redacted) still gives away its
# start; this many characters of a secret's beginning are enough to recognise and hide it.
_PREFIX = 8


def redact(text: str, values: list[str] | None = None) -> str:
    """Replace every secret value (or each of `values`) in text with ***.

    A secret's beginning of at least 8 characters is hidden too, however it ends: a text cut
    through the middle of a key must not show the key's first characters.
    """
    for value in secrets() if values is None else values:
        if value in text:
            text = text.replace(value, "***")
        if len(value) > _PREFIX and value[:_PREFIX] in text:
            text = _hide_prefixes(text, value)
    return text


def _hide_prefixes(text: str, value: str) -> str:
    out, start = [], 0
    while (found := text.find(value[:_PREFIX], start)) >= 0:
        end = found + _PREFIX
        while end < len(text) and end - found < len(value) and text[end] == value[end - found]:
            end += 1
        out += [text[start:found], "***"]
        start = end
    return "".join(out) + text[start:]


def excerpt(text: str, limit: int) -> str:
    """The first `limit` characters of text, secrets redacted first (never cut, then redacted)."""
    return redact(text)[:limit]


def redact_value(value: Any, values: list[str] | None = None) -> Any:
    """A copy of a str / list / dict value with every secret in its strings replaced by ***."""
    values = secrets() if values is None else values
    if isinstance(value, str):
        return redact(value, values)
    if isinstance(value, list):
        return [redact_value(v, values) for v in value]
    if isinstance(value, dict):
        return {redact_value(k, values): redact_value(v, values) for k, v in value.items()}
    return value


class RedactSecrets(logging.Filter):
    """Scrub secrets from a record's final message (URLs with KEY=…, tokens in errors)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (Asia/Seoul), level, logger, message, and extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz()).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("source", "run_id", "job"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_text:
            entry["error"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def setup(level: str | None = None, fmt: str = "text") -> None:
    """Configure the root logger once: stderr, MONITOR_LOG_LEVEL, text or JSON, redaction."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactSecrets())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel((level or os.environ.get("MONITOR_LOG_LEVEL") or "WARNING").upper())
    # urllib3 logs full request lines (with KEY=… query strings) at DEBUG: keep it quiet
    logging.getLogger("urllib3").setLevel(logging.WARNING)
