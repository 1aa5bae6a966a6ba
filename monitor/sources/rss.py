"""RSS / Atom feeds (ministry 보도자료 and 공지 feeds)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import feedparser
from pydantic import BaseModel, ConfigDict, Field

from monitor.errors import EmptyResult, ParseError
from monitor.logs import excerpt
from monitor.sources.base import Batch, Item, Kind, PollContext
from monitor.sources.xmlbody import refuse_entities, xml_utf8
from monitor.text import clean_whitespace, parse_datetime, plain_text, tz


class RssOptions(BaseModel):
    """Options of an `rss` source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # prefix → replacement, e.g. {"http://www.mofe.go.kr/": "https://www.mofe.go.kr/"}: 재정경제부
    # links use http:// and land on the home page otherwise (MINISTRIES.md §4.1)
    link_rewrite: dict[str, str] = Field(default_factory=dict)
    # a strptime format for feeds whose dates none of the known forms covers
    date_format: str | None = None


def rewrite_link(link: str | None, rewrites: Mapping[str, str]) -> str | None:
    """Apply the first matching prefix rewrite to a link."""
    if not link:
        return link
    for prefix, replacement in rewrites.items():
        if link.startswith(prefix):
            return replacement + link[len(prefix) :]
    return link


def _entry_date(entry: Any, fmt: str | None) -> tuple[datetime | None, str | None]:
    # Use the raw string and our strict parser, never feedparser's *_parsed struct: it reads
    # a bare "KST" as UTC and fills missing parts from today.
    for key in ("published", "updated", "created"):
        raw = entry.get(key)
        if not raw:
            continue
        parsed = parse_datetime(raw)
        if parsed is None and fmt:
            try:
                parsed = datetime.strptime(raw.strip(), fmt)
                parsed = parsed.replace(tzinfo=tz()) if parsed.tzinfo is None else parsed
            except ValueError:
                parsed = None
        return parsed, raw
    return None, None


def _looks_like_html(content: bytes) -> str | None:
    head = content[:2048].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head[:512]:
        m = re.search(rb"<title[^>]*>(.*?)</title>", content[:8192], re.I | re.S)
        return m.group(1).decode("utf-8", "replace").strip() if m else ""
    return None


def parse_feed(
    content: bytes, headers: Mapping[str, str] | None = None, options: RssOptions | None = None,
    url: str | None = None,
) -> tuple[list[Item], list[str]]:  # fmt: skip
    """Turn feed bytes into items; raises ParseError for a non-feed, returns warnings.

    `url` is where the feed was fetched from (after redirects): relative links resolve against
    it unless the feed sets `xml:base`. Titles and summaries are left as the feed has them;
    the cleaning step every kind shares (sources/clean.py) makes them plain text.
    """
    options = options or RssOptions()
    html_title = _looks_like_html(content)
    if html_title is not None:
        raise ParseError(f"expected an RSS/Atom feed but got an HTML page ('{excerpt(html_title, 80)}')")
    content = xml_utf8(content, headers or {})
    refuse_entities(content, "feed")  # checked in UTF-8: a UTF-16 document cannot slip past
    # feedparser reads lower-case header names; the body is UTF-8 now whatever was declared
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    headers["content-type"] = "application/xml; charset=utf-8"
    if url:  # feedparser resolves relative links against xml:base, else Content-Location
        headers["content-location"] = url
    parsed = feedparser.parse(content, response_headers=headers)
    warnings: list[str] = []
    if not parsed.entries:
        if not parsed.get("version"):
            reason = parsed.get("bozo_exception") or "no <rss>, <feed> or <rdf> root"
            raise ParseError(f"not an RSS/Atom feed: {reason}")
        return [], warnings
    if parsed.get("bozo"):
        warnings.append(f"feed is not well-formed ({parsed.get('bozo_exception')}); items kept")
    items: list[Item] = []
    for entry in parsed.entries:
        title = entry.get("title", "")
        link = rewrite_link(entry.get("link"), options.link_rewrite)
        published, raw_date = _entry_date(entry, options.date_format)
        # repeated and shared keys are sorted out by the cleaning step (sources/clean.py)
        key = entry.get("id") or entry.get("link")
        if not key:
            key = "h:" + hashlib.sha256(f"{title}|{raw_date}".encode()).hexdigest()[:20]
        body = ""
        if entry.get("content"):
            body = plain_text(entry.content[0].get("value", ""))
        fields: dict[str, Any] = {}
        if entry.get("author"):
            fields["author"] = clean_whitespace(entry.author)
        if entry.get("tags"):
            fields["tags"] = [t.get("term") for t in entry.tags if t.get("term")]
        items.append(
            Item(
                key=str(key),
                title=title,
                url=link,
                summary=plain_text(entry.get("summary", "")),
                body=body,
                published_at=published,
                published_raw=raw_date,
                fields=fields,
            )
        )
    return items, warnings


def poll(ctx: PollContext) -> Batch:
    """Fetch the feed (conditionally) and parse it."""
    resp = ctx.client.get(
        ctx.source.url,
        headers=ctx.source.headers,
        etag=ctx.etag,
        last_modified=ctx.last_modified,
        read_timeout=ctx.source.read_timeout,
        ignore_robots=ctx.source.ignore_robots,
    )
    batch = Batch([], http_status=resp.status, etag=resp.etag, last_modified=resp.last_modified)
    if resp.not_modified:
        batch.not_modified = True
        return batch
    items, warnings = parse_feed(resp.content, resp.headers, ctx.options, resp.url)
    if not items and not ctx.source.allow_empty:
        raise EmptyResult("the feed has no entries (set 'allow_empty: true' if that is normal)")
    batch.items, batch.warnings, batch.base_url = items, warnings, resp.url
    return batch


KIND = Kind("rss", RssOptions, poll, "RSS 2.0 / Atom feed")
