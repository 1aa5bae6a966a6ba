"""Logging: one line per event, text or JSON, with every secret from the environment redacted."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime

from monitor.text import tz

SECRET_VARS = (
    "ASSEMBLY_API_KEY", "LAWMAKING_OC", "LAW_GO_KR_OC", "DATA_GO_KR_KEY", "SLACK_BOT_TOKEN",
    "SLACK_WEBHOOK_URL", "SMTP_PASSWORD",
)  # fmt: skip


def secrets() -> list[str]:
    """The secret values set in the environment (long enough to be worth redacting)."""
    return [v for v in (os.environ.get(name) for name in SECRET_VARS) if v and len(v) >= 4]


def redact(text: str) -> str:
    """Replace every secret value in text with ***."""
    for value in secrets():
        text = text.replace(value, "***")
    return text


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
