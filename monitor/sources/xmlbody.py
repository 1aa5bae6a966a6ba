"""Reading the XML bodies of government APIs: tolerant parsing, child text, HTML fragments as text."""

from __future__ import annotations

import re
from collections.abc import Mapping

from lxml import etree

from monitor.errors import ParseError
from monitor.http import utf8_xml
from monitor.logs import excerpt
from monitor.text import clean_whitespace


class MalformedXml(ParseError):
    """The body looks like XML but is not well-formed (only raised with recover=False)."""


# `<!DOCTYPE name [` opens an internal subset: where entities are declared (billion laughs,
# `<!ENTITY x SYSTEM "file:///etc/passwd">`). No feed or government API we read has one.
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)


def refuse_entities(content: bytes, what: str) -> None:
    """Raise ParseError for a document with a DTD internal subset (entity declarations).

    The parsers are safe with such documents too (lxml: resolve_entities=False, no_network,
    no huge_tree; feedparser strips the DOCTYPE), but they answer with half-read items; a
    hostile or broken document is better refused, once, with a clear reason.
    """
    if _INTERNAL_SUBSET.search(content):
        raise ParseError(
            f"{what}: the document declares its own DTD (<!DOCTYPE … [ … ]>, XML entities); refused "
            "as a possible XML bomb or external-entity attack"
        )


# `&` not starting an entity or character reference: `R&D` in a title. XML forbids it, and
# parsers either stop there or, like feedparser's loose mode, turn it into `R&D;` (case 01).
_BARE_AMP = re.compile(rb"&(?!#[0-9]{1,7};|#[xX][0-9A-Fa-f]{1,6};|[A-Za-z_][A-Za-z0-9._-]{0,31};)")
_CDATA = re.compile(rb"(<!\[CDATA\[.*?\]\]>)", re.S)


def escape_bare_ampersands(content: bytes) -> bytes:
    """Escape each bare `&` as `&amp;`, outside CDATA sections (where `&` is already text)."""
    if b"&" not in content:
        return content
    parts = _CDATA.split(content)
    return b"".join(p if i % 2 else _BARE_AMP.sub(b"&amp;", p) for i, p in enumerate(parts))


def xml_utf8(content: bytes, headers: Mapping[str, str]) -> bytes:
    """An XML body ready for a parser: UTF-8 with a matching declaration, bare `&`s escaped.

    Every XML kind (feeds, law.go.kr, 입법예고 REST, press releases) reads its body through this.
    """
    return escape_bare_ampersands(utf8_xml(content, headers))


def parse_xml(
    content: bytes, what: str, headers: Mapping[str, str] | None = None, recover: bool = True
) -> etree._Element:
    """Parse an API's XML body; an HTML page, JSON or nothing at all is a ParseError.

    By default the parser recovers from broken markup rather than losing the page; with
    recover=False a malformed body raises MalformedXml so the caller can salvage it its own way.
    """
    head = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if not head:
        raise ParseError(f"{what}: the response is empty")
    if head.startswith((b"<!doctype html", b"<html")) or b"<html" in head:
        raise ParseError(f"{what}: expected XML but got an HTML page")
    if head.startswith((b"{", b"[")):
        raise ParseError(f"{what}: expected XML but got JSON")
    if not head.startswith(b"<"):
        text = excerpt(content[:4096].decode("utf-8", "replace").strip(), 120)
        raise ParseError(f"{what}: expected XML but got text ({text!r})")
    body = xml_utf8(content, headers or {})
    refuse_entities(body, what)
    parser = etree.XMLParser(recover=recover, resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as e:
        raise MalformedXml(f"{what}: malformed XML ({e})") from e
    if root is None:
        raise ParseError(f"{what}: the response is not readable XML")
    return root


def child_text(element: etree._Element, tag: str) -> str:
    """The whitespace-collapsed text of a direct child (CDATA included); '' when absent."""
    child = element.find(tag)
    return clean_whitespace(child.text) if child is not None and child.text else ""


def row_dict(element: etree._Element) -> dict[str, str]:
    """A flat row: each child's tag → its text (the first one when a tag repeats)."""
    row: dict[str, str] = {}
    for child in element:
        if isinstance(child.tag, str) and child.tag not in row:
            row[child.tag] = clean_whitespace(child.text or "")
    return row
