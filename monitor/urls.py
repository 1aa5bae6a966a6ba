"""URLs as the monitor keeps them: absolute http(s) links, no session ids, one key per post.

Pure functions over strings (w3lib and urllib do the parsing). Used by the one cleaning step
every source kind's batch passes through (monitor/sources/clean.py) and by the store's
migration that re-keys what older releases stored.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

from w3lib.url import url_query_cleaner

# Query parameters that carry a visitor's session, not the post: a link or guid that differs
# only in these is the same post (cases/real-world 07; Tomcat's `;jsessionid=`, PHP, ASP).
SESSION_PARAMS = frozenset({"jsessionid", "phpsessid", "sid", "sessionid", "sessid", "cfid", "cftoken"})
_SESSION_PARAM = re.compile(r"^(?:aspsessionid\w*)$", re.I)
# `;jsessionid=…` as a path parameter of any segment (Servlet URL rewriting)
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sid|sessionid|sessid)=[^/?#;]*", re.I)
_URL_LIKE = re.compile(r"^(?:https?:)?//", re.I)
_DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def _is_session(name: str) -> bool:
    return name.lower() in SESSION_PARAMS or bool(_SESSION_PARAM.match(name))


# Any trace of a session parameter: most URLs have none and need no parsing at all.
_SESSION_HINT = re.compile(r"jsessionid|phpsessid|sessionid|sessid|cfid|cftoken|aspsessionid|sid=", re.I)
# An https URL whose host is lower case already, without a default port, with a path.
_CANONICAL = re.compile(r"^https://[^/?#A-Z\s]+(?<!:443)/\S*$")
# an empty query or fragment, which urlunsplit drops
_EMPTY_PART = re.compile(r"\?(?:#|$)|#$")


def strip_session(url: str) -> str:
    """The URL without session ids in its path (`;jsessionid=…`) or query (`PHPSESSID=…`, `sid=…`).

    Everything else (order, repeats, encoding, fragment) is kept as it was.
    """
    if not _SESSION_HINT.search(url):
        return url
    if ";" in url:
        url = _PATH_SESSION.sub("", url)
    query = urlsplit(url).query
    if not query:
        return url
    names = sorted({k for k, _ in parse_qsl(query, keep_blank_values=True) if _is_session(k)})
    if not names:
        return url
    return url_query_cleaner(url, names, remove=True, unique=False, keep_fragments=True)


def absolute(link: str | None, base: str | None) -> str | None:
    """A link resolved against the document's base, without session ids; None unless http(s).

    `base` is what the document says its base is (`<base href>`, `xml:base`) or else the URL it
    was fetched from after redirects. `javascript:`, `mailto:`, `data:` and empty links give None.
    """
    link = (link or "").strip()
    if not link:
        return None
    absolute_http = link.startswith(("https://", "http://"))
    # most links are plain absolute http(s) ones: nothing to join, and nothing to parse to know
    # it. Brackets (an IPv6 host) or non-ASCII text still go through urlsplit, which refuses the
    # malformed ones (`http://[::1`, a host invalid under NFKC) with ValueError as before.
    if absolute_http and link.isascii() and "[" not in link:
        return strip_session(link)
    url = link if absolute_http or not base else urljoin(base, link)
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return None
    return strip_session(url)


def canonical_key(key: str) -> str:
    """The key a post is stored under: for a URL-like key (a guid or link) its canonical form.

    Session ids are removed, the scheme is folded to https and the host to lower case (a feed
    that moves from http:// to https:// or spells its host differently announces nothing
    again), default ports and an empty path are dropped. Other keys (BILL_IDs, board ids,
    `tag:` guids) are returned unchanged.
    """
    if not _URL_LIKE.match(key.strip()):  # a guid may come with the whitespace around it
        return key
    if _CANONICAL.match(key) and not _SESSION_HINT.search(key) and not _EMPTY_PART.search(key):
        return key  # the usual case, canonical already: no parsing (the same answer, tests pin it)
    parts = urlsplit(strip_session(key.strip()))
    netloc = parts.netloc.lower()
    port = _DEFAULT_PORTS.get(parts.scheme.lower())
    if port and netloc.endswith(port):
        netloc = netloc[: -len(port)]
    return urlunsplit(("https", netloc, parts.path or "/", parts.query, parts.fragment))
