"""E-mail rendering: the HTML part of a digest (the text part is render.text; SMTP sends both)."""

from __future__ import annotations

from html import escape

from monitor.digest import Digest, Entry


def _entry_html(entry: Entry) -> str:
    title = escape(entry.title)
    if entry.url and entry.url.startswith(("http://", "https://")):
        title = f'<a href="{escape(entry.url, quote=True)}">{title}</a>'
    if entry.priority == "urgent":
        title = f'<strong style="color:#c0392b">[긴급]</strong> {title}'
    meta = " · ".join(escape(p) for p in [entry.source, *([entry.date] if entry.date else [])])
    badges = " ".join(
        f'<span style="background:#eef;border-radius:3px;padding:0 4px">{escape(b)}</span>'
        for b in entry.badges
    )
    links = " · ".join(
        f'<a href="{escape(u, quote=True)}">{escape(label)}</a>'
        for label, u in entry.links
        if u.startswith("http")
    )
    why = "<br>".join(escape(w) for w in entry.why)
    parts = [f"<div>{title}</div>", f'<div style="color:#555">{meta} {badges}</div>']
    if links:
        parts.append(f"<div>{links}</div>")
    if why:
        parts.append(f'<div style="color:#888;font-size:90%">왜: {why}</div>')
    return f'<li style="margin-bottom:10px">{"".join(parts)}</li>'


def render_html(digest: Digest) -> str:
    """The digest as a small, self-contained HTML document."""
    body = [f"<h2>{escape(digest.title)}</h2>"]
    for section in digest.sections:
        body.append(f"<h3>{escape(section.title)}</h3>")
        if section.note:
            body.append(f"<p>{escape(section.note)}</p>")
        for group in section.groups:
            if group.label:
                body.append(f"<h4>{escape(group.label)}</h4>")
            body.append("<ul>" + "".join(_entry_html(e) for e in group.entries) + "</ul>")
    body += [f"<p>{escape(n)}</p>" for n in digest.notes]
    if digest.footer:
        body.append(f'<p style="color:#888">{escape(digest.footer)}</p>')
    return '<!DOCTYPE html><html lang="ko"><meta charset="utf-8"><body>' + "\n".join(body) + "</body></html>"
