"""Plain-text rendering of a digest (console output and the e-mail text part)."""

from __future__ import annotations

from monitor.digest import Digest, Entry
from monitor.render import annotate


def entry_lines(entry: Entry) -> list[str]:
    """An entry as indented lines: title, where/when/badges, link(s), why."""
    mark = "[긴급] " if entry.priority == "urgent" else ""
    meta = " · ".join([entry.source, *([entry.date] if entry.date else []), *entry.badges])
    lines = [f"• {mark}{entry.title}", f"  {meta}"]
    if entry.url:
        lines.append(f"  {entry.url}")
    lines += [f"  {label}: {url}" for label, url in entry.links]
    lines += [f"  왜: {why}" for why in entry.why]
    return lines


def render_text(digest: Digest) -> str:
    """The whole digest as readable Korean text."""
    out = [digest.title, "=" * 40]
    for section in digest.sections:
        out += ["", f"■ {annotate(section.title, f'{section.count}건') if section.count else section.title}"]
        if section.note:
            out.append(f"  {section.note}")
        for group in section.groups:
            if group.label:
                out.append(f"[{group.label}]")
            for entry in group.entries:
                out += entry_lines(entry)
    for note in digest.notes:
        out += ["", note]
    if digest.footer:
        out += ["", digest.footer]
    return "\n".join(out) + "\n"
