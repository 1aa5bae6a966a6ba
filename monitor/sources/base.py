"""What every source kind produces (Item, Batch) and receives (PollContext)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from monitor.config import SourceConfig
    from monitor.http import HttpClient


@dataclass
class Item:
    """One thing a source lists: a bill, a notice, a press release, a board post."""

    key: str  # native key, unique within the source
    title: str
    url: str | None = None
    summary: str = ""
    body: str = ""
    published_at: datetime | None = None
    published_raw: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # committee, proposer, deadline, …

    def content_hash(self) -> str:
        """Hash of what a reader sees; a change means an `updated` event."""
        payload = json.dumps(
            [self.title, self.summary, self.url, self.fields.get("deadline")],
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    def text_fields(self) -> dict[str, str]:
        """The fields rules can match on, by name."""
        return {
            "title": self.title or "",
            "summary": self.summary or "",
            "body": self.body or "",
            "committee": str(self.fields.get("committee") or ""),
            "proposer": str(self.fields.get("proposer") or ""),
        }


@dataclass
class Batch:
    """What one poll of a source produced."""

    items: list[Item]
    not_modified: bool = False
    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class PollContext:
    """Everything a kind may use while polling: config, client, validators, what we know."""

    source: SourceConfig
    options: Any
    client: HttpClient
    etag: str | None = None
    last_modified: str | None = None
    known: Callable[[str], str | None] = lambda key: None  # key → stored content hash


class NoOptions(BaseModel):
    """A kind without options of its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Kind:
    """A source kind: its option model and how to poll it."""

    name: str
    Options: type[BaseModel]
    poll: Callable[[PollContext], Batch]
    description: str = ""
