"""The one cleaning step every source kind's batch passes through before it is stored.

A kind's parser reads its format; what real sites get wrong in every format is mended here,
once, for all kinds (../shared/cases/real-world/README.md):

- titles and summaries become the plain text a reader sees (`<b>…</b>` in a CDATA title,
  `&amp;quot;`, NBSP), so rules match what is shown (case 03: the urgent rule missed);
- an item without a title takes one from its summary or body, cut at a word boundary and marked
  `fields.title_derived` (case 09), so no digest shows an empty link;
- links are resolved against the document's base and kept only when http(s);
- keys lose session ids and fold scheme and host (case 07; http→https moves);
- two different posts that share a key (a guid or link) are both kept under distinct keys that
  stay the same on the next poll, and the run says so (case 05); a post listed twice is kept once;
- a date the kind could not read (the publication date, or one it noted with
  `base.note_unreadable`: a deadline, a stage date) is a run warning naming the raw text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from monitor.sources.base import UNREADABLE, Batch, Item, Stored
from monitor.text import plain_text
from monitor.urls import absolute, canonical_key

DERIVED_TITLE_CHARS = 60  # a derived title is cut at the last space before this many characters
NO_TITLE = "(제목 없음)"


def derive_title(text: str, limit: int = DERIVED_TITLE_CHARS) -> str:
    """A title made from the start of a description: whole words up to `limit` characters, `…` if cut."""
    text = plain_text(text)
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space >= limit // 2:  # Korean runs long between spaces; never cut to a stub
        cut = cut[:space]
    return cut.rstrip(" ,.·:;-") + "…"


def clean_item(item: Item, base: str | None) -> list[str]:
    """Clean one item in place; returns its warnings (unreadable dates, with the raw text)."""
    item.title = plain_text(item.title)
    item.summary = plain_text(item.summary)
    if "<" in item.body or "&" in item.body:
        item.body = plain_text(item.body)
    if not item.title:
        item.title = derive_title(item.summary or item.body) or NO_TITLE
        item.fields["title_derived"] = True
    item.url = absolute(item.url, base)
    item.key = canonical_key(item.key)
    warnings = []
    if item.published_raw and item.published_at is None:
        warnings.append(unreadable_date(item.published_raw, item.title))
    for name, raw in item.fields.pop(UNREADABLE, {}).items():
        warnings.append(unreadable_date(raw, item.title, name))
    return warnings


def unreadable_date(raw: str, title: str, field: str | None = None) -> str:
    """The run warning for a date the kind could not read: the raw text as the source wrote it,
    and the field it was for when it is not the publication date."""
    where = f" ({field})" if field else ""
    return f"unreadable date {raw!r}{where} in '{plain_text(title)[:40]}'"


def _suffixed(key: str, item: Item, group: list[Item]) -> str:
    """A key for one of several posts sharing `key`: its link when the links differ, else its title."""
    urls = [i.url for i in group]
    basis = item.url if item.url and urls.count(item.url) == 1 else item.title
    return f"{key}::{hashlib.sha1(basis.encode('utf-8')).hexdigest()[:10]}"


def _split_shared(key: str, group: list[Item], stored: Callable[[str], Stored | None]) -> None:
    """Give each post of a group sharing `key` its own key, stable from one poll to the next.

    A post keeps the key it was stored under before: the plain key when its title is the one
    stored there, its suffixed key when that is stored; of the rest, the first takes the plain
    key if nobody holds it, the others their suffixed keys.
    """
    suffixed = {id(item): _suffixed(key, item, group) for item in group}
    before = stored(key)
    holder = next((i for i in group if before is not None and i.title == before.title), None)
    for item in group:
        if item is not holder and stored(suffixed[id(item)]) is not None:
            item.key = suffixed[id(item)]
    rest = [i for i in group if i.key == key and i is not holder]
    if holder is None and rest:
        holder = rest.pop(0)
    for item in rest:
        item.key = suffixed[id(item)]


def clean_batch(batch: Batch, base: str | None, stored: Callable[[str], Stored | None]) -> None:
    """Clean every item of a batch in place, drop exact repeats and split shared keys.

    `base` is the URL relative links resolve against (the kind's `batch.base_url`, else the
    source URL); `stored` looks a key up among the source's stored items. Warnings are added to
    `batch.warnings`.
    """
    groups: dict[str, list[Item]] = {}
    for item in batch.items:
        batch.warnings.extend(clean_item(item, batch.base_url or base))
        group = groups.setdefault(item.key, [])
        # the same post listed twice (pinned rows, a feed repeating an entry): kept once
        if not any(other.title == item.title and other.url == item.url for other in group):
            group.append(item)
    kept: list[Item] = []
    for key, group in groups.items():
        if len(group) > 1:
            titles = ", ".join(f"'{i.title[:30]}'" for i in group[:3])
            batch.warnings.append(
                f"{len(group)} different posts share the key {key!r} ({titles}); "
                "each is kept under its own key"
            )
            _split_shared(key, group, stored)
        kept.extend(group)
    batch.items = kept
