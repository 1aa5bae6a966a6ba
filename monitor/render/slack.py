"""Slack Block Kit rendering with the limits checked by slack_sdk.models.

Every piece of scraped text is escaped and set verbatim, so a title such as `<!channel>` or
`<https://evil|click>` shows as text and can neither ping anyone nor forge a link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject, PlainTextObject

from monitor.digest import Digest, Entry
from monitor.render import annotate

MAX_BLOCKS = 40  # Slack allows 50 per message; stay well under
MAX_CHARS = 10_000  # characters of block text per message
SECTION_LIMIT = 3000
HEADER_LIMIT = 150


def escape(text: str) -> str:
    """Escape Slack's control characters (&, <, >) in scraped text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def safe_url(url: str | None) -> str | None:
    """An http(s) URL with the characters that end a Slack link (< > |) and spaces encoded."""
    if not url or not url.startswith(("http://", "https://")):
        return None
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")


def link(url: str | None, text: str) -> str:
    """`<url|text>` with both parts made inert, or escaped text without a usable URL."""
    target = safe_url(url)
    label = escape(text).replace("|", "¦")
    return f"<{target}|{label}>" if target else label


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mrkdwn(text: str) -> MarkdownTextObject:
    # verbatim: Slack must not auto-link channel names, mentions or URLs in scraped text
    return MarkdownTextObject(text=_cut(text, SECTION_LIMIT), verbatim=True)


def entry_blocks(entry: Entry) -> list[Block]:
    """An entry: a section (linked title, source, date, badges) and a small context line (why)."""
    mark = "🔴 " if entry.priority == "urgent" else ""
    title = f"{mark}*{link(entry.url, _cut(entry.title, 300))}*"
    meta = " · ".join(escape(p) for p in [entry.source, *([entry.date] if entry.date else [])])
    badges = " ".join(f"`{escape(b)}`" for b in entry.badges)
    more = " · ".join(link(url, label) for label, url in entry.links)
    body = "\n".join(p for p in (title, f"{meta} {badges}".strip(), more) if p)
    blocks: list[Block] = [SectionBlock(text=_mrkdwn(body))]
    if entry.why:
        why = "왜: " + " / ".join(escape(_cut(w, 400)) for w in entry.why)
        blocks.append(ContextBlock(elements=[_mrkdwn(why)]))
    return blocks


def _units(digest: Digest) -> list[list[Block]]:
    """Groups of blocks that must stay in one message (a heading travels with its first entry)."""
    units: list[list[Block]] = []
    for section in digest.sections:
        heading: list[Block] = [DividerBlock(), SectionBlock(text=_mrkdwn(f"*■ {escape(section.title)}*"))]
        if section.note:
            heading.append(SectionBlock(text=_mrkdwn(escape(section.note))))
        pending = heading
        for group in section.groups:
            if group.label:
                pending = [*pending, ContextBlock(elements=[_mrkdwn(f"*{escape(group.label)}*")])]
            for entry in group.entries:
                units.append([*pending, *entry_blocks(entry)])
                pending = []
        if pending:
            units.append(pending)
    tail: list[Block] = [ContextBlock(elements=[_mrkdwn(escape(note))]) for note in digest.notes]
    if digest.footer:
        tail.append(ContextBlock(elements=[_mrkdwn(escape(digest.footer))]))
    if tail:
        units.append([DividerBlock(), *tail])
    return units


def _chars(blocks: list[Block]) -> int:
    return len(str([b.to_dict() for b in blocks]))


def render_slack(digest: Digest) -> list[dict[str, Any]]:
    """Messages (`text` fallback + `blocks`), split to stay inside Slack's limits."""
    messages: list[list[Block]] = [[]]
    for unit in _units(digest):
        current = messages[-1]
        if current and (len(current) + len(unit) > MAX_BLOCKS - 2 or _chars(current + unit) > MAX_CHARS):
            messages.append([])
        messages[-1].extend(unit)
    total = len(messages)
    out = []
    for number, blocks in enumerate(messages, start=1):
        title = annotate(digest.title, f"{number}/{total}") if total > 1 else digest.title
        head: list[Block] = [HeaderBlock(text=PlainTextObject(text=_cut(title, HEADER_LIMIT)))]
        if number > 1:
            head = [ContextBlock(elements=[_mrkdwn(f"*{escape(title)}* 계속")])]
        dicts = [b.to_dict() for b in head + blocks]  # to_dict() validates every block's limits
        out.append({"text": _fallback(digest, title), "blocks": dicts})
    return out


def _fallback(digest: Digest, title: str) -> str:
    """The notification text: what the message is and how much it holds.

    An alert about one item names it (escaped, like every scraped text); a digest gives counts.
    """
    entries = [e for s in digest.sections for g in s.groups for e in g.entries]
    if digest.kind in ("urgent", "reminder") and len(entries) == 1:
        return f"{title}: {escape(_cut(entries[0].title, 200))}"
    counts = ", ".join(f"{s.title} {s.count}건" for s in digest.sections if s.count)
    return title + (f": {counts}" if counts else "")

