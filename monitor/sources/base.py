"""What every source kind produces (Item, Batch) and receives (PollContext)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from monitor.config import SourceConfig
    from monitor.http import HttpClient


# One encoder each, made once: json.dumps with any option builds a new JSONEncoder per call,
# which costs more than encoding a title (these run several times per stored item). Same output
# as json.dumps(…, ensure_ascii=False[, sort_keys=True, default=str]): stored hashes stay valid.
_PLAIN = json.JSONEncoder(ensure_ascii=False)
SORTED_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)


# Dates other than the publication date (`published_raw`) that a kind found but could not read:
# it records them as {field: raw text} under this key of `Item.fields` (`note_unreadable`), and
# the cleaning step (sources/clean.py) turns each into a run warning and removes the key, so an
# unreadable 의견마감 or stage date is never silently missing.
UNREADABLE = "_unreadable"


def note_unreadable(fields: dict[str, Any], name: str, raw: object) -> None:
    """Record that field `name` had the date text `raw` the kind could not read (blank: nothing)."""
    text = " ".join(str(raw or "").split())
    if text:
        fields.setdefault(UNREADABLE, {})[name] = text


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
    # Items of several sources about one thing share a thread, e.g. a bill and its 입법예고
    # ("assembly-bill:PRC_…"), so a digest can show them as one entry.
    thread: str | None = None

    def content_hash(self) -> str:
        """Hash of what a reader reads (title, summary); a change means an `updated` event."""
        payload = _PLAIN.encode([self.title, self.summary])
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    def record_hash(self) -> str:
        """Hash of everything stored; a change rewrites the row (stage, dates, links …)."""
        payload = SORTED_JSON.encode(
            [self.title, self.summary, self.body, self.url, self.published_raw, self.thread, self.fields]
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
    # what relative links resolve against: the document's own base (`xml:base`, `<base href>`)
    # or the URL it came from after redirects; None = the source's URL
    base_url: str | None = None


@dataclass(frozen=True)
class Stored:
    """What the store holds about one item, as a kind may read it while polling."""

    source: str
    key: str
    title: str
    summary: str
    fields: dict[str, Any]
    record_hash: str
    flagged: bool = False
    last_seen_at: str = ""


def _nothing_stored(key: str) -> Stored | None:
    return None


def _no_items() -> list[Stored]:
    return []


def _no_thread(thread: str) -> list[Stored]:
    return []


def _none_pending(limit: int, skip_stages: Sequence[str] = ()) -> list[Stored]:
    return []


@dataclass
class PollContext:
    """Everything a kind may use while polling: config, client, validators, what we know."""

    source: SourceConfig
    options: Any
    client: HttpClient
    etag: str | None = None
    last_modified: str | None = None
    baseline: bool = False  # the source's first poll
    stored: Callable[[str], Stored | None] = _nothing_stored  # key → stored item of this source
    watched: Callable[[], list[Stored]] = _no_items  # this source's flagged or watched items
    thread: Callable[[str], list[Stored]] = _no_thread  # items of any source in a thread
    mentions: Callable[[str], bool] = lambda text: True  # any rule term in text (pre-filter)
    # (limit, final stages) → this source's stored items whose summary was never fetched,
    # oldest pending first (Store.unsummarised)
    unsummarised: Callable[..., list[Stored]] = _none_pending
    # the bills the committee follows, any source (Store.followed_bills: rows with `fields`)
    followed: Callable[[], list[dict[str, Any]]] = lambda: []


def _no_warnings(source: SourceConfig, options: Any) -> list[str]:
    return []


@dataclass(frozen=True)
class Kind:

    """A source kind: its option model, how to poll it, and what to warn about before."""

    name: str
    Options: type[BaseModel]
    poll: Callable[[PollContext], Batch]
    description: str = ""
    # problems visible before polling (a missing API key …), shown by `poll` and `sources`
    check: Callable[[SourceConfig, Any], list[str]] = _no_warnings
    # items are meetings with agendas (assembly_schedules): rules do not match them (a meeting
    # is context, not news); after storing, ingest records `agenda` events on followed bills
    meetings: bool = False
