"""The one HTTP client: honest UA, timeouts, retries, conditional GET, size cap, robots.txt."""

from __future__ import annotations

import codecs
import ipaddress
import logging
import random
import re
import ssl
import threading
import time
import urllib.robotparser
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import requests
import urllib3
from charset_normalizer import from_bytes
from requests.adapters import HTTPAdapter

from monitor.config import HttpConfig, SourceConfig
from monitor.errors import FetchError, RobotsDisallowed

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
ROBOTS_TTL = 6 * 3600.0
# OpenSSL 3 defaults to security level 2, which refuses the 1024-bit DH keys some .go.kr/.or.kr
# servers still use (DH_KEY_TOO_SMALL). Level 1 accepts them; the certificate and host name are
# still checked (../shared/sources/MINISTRIES.md §5 pitfall 5). Never verify=False.
LEGACY_CIPHERS = "DEFAULT:@SECLEVEL=1"

# Every label Korean sites use for EUC-KR means Microsoft's superset in practice (UHC
# syllables such as 똠 or 햏 are not in EUC-KR proper), so decode them all as cp949.
_KOREAN_LABELS = {
    "euc-kr", "euckr", "euc_kr", "ks_c_5601-1987", "ks_c_5601", "ksc5601", "ksc_5601",
    "korean", "csEUCKR", "x-windows-949", "windows-949", "cp949", "ms949", "uhc", "x-uhc",
}  # fmt: skip
_KOREAN_LABELS = {label.lower() for label in _KOREAN_LABELS}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_.:-]+)["']""")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def canonical_charset(label: str | None) -> str | None:
    """Map a charset label to a Python codec name (EUC-KR family → cp949); None if unknown."""
    if not label:
        return None
    label = label.strip().strip("'\"").lower()
    if label in _KOREAN_LABELS:
        return "cp949"
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def header_label(headers: Mapping[str, str]) -> str | None:
    """The charset parameter of a Content-Type header, as the server wrote it."""
    ctype = headers.get("Content-Type") or headers.get("content-type") or ""
    m = re.search(r"charset\s*=\s*([^;\s]+)", ctype, re.I)
    return m.group(1).strip("'\"") if m else None


def header_charset(headers: Mapping[str, str]) -> str | None:
    """The codec the Content-Type header's charset names (canonical_charset)."""
    return canonical_charset(header_label(headers))


# Charsets a server sends when nobody configured one (Apache's and Tomcat's defaults): such a
# header says nothing about a Korean page, so what the document declares itself wins
# (cases/real-world 10: EUC-KR served as ISO-8859-1).
_SERVER_DEFAULTS = frozenset({"latin_1", "iso8859-1", "ascii", "cp1252", "windows-1252", "us-ascii"})
_notes = threading.local()


@contextmanager
def collect_notes() -> Iterator[list[str]]:
    """Collect what decoding noticed on this thread (charset disagreements) while the block runs.

    The poll of one source runs on one thread, so ingest wraps a kind's poll in this and adds
    the notes to the run's warnings: every kind decodes through this module, none has to pass
    them on by hand.
    """
    previous = getattr(_notes, "found", None)
    _notes.found = found = []
    try:
        yield found
    finally:
        _notes.found = previous


def _note(message: str) -> None:
    found = getattr(_notes, "found", None)
    if found is not None and message not in found:
        found.append(message)


def _decodes(content: bytes, codec: str | None) -> bool:
    if not codec:
        return False
    try:
        content.decode(codec)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def _declared(content: bytes) -> tuple[str | None, str]:
    """What the document says of itself: a BOM, the XML declaration, a <meta> charset."""
    for bom, name in _BOMS:
        if content.startswith(bom):
            return name, "bom"
    head = content[:4096]
    for pattern, how in ((_XML_DECL, "xml"), (_META_CHARSET, "meta")):
        m = pattern.search(head)
        if m:
            return canonical_charset(m.group(1).decode("ascii", "replace")), how
    return None, "none"


def choose_charset(content: bytes, headers: Mapping[str, str]) -> tuple[str, str, str | None]:
    """Choose how to decode a body: (codec, how it was chosen, a note when sources disagreed).

    Order (after changedetection.io's and the WHATWG sniffing rules): a BOM; the HTTP header
    unless it is a server default (ISO-8859-1, ASCII) and the document declares otherwise, or
    the body is not valid in it; what the document declares; then detection. A declared charset
    that fails to decode is ignored: korea.kr declared one charset and sent UTF-8
    (MINISTRIES.md §1.3). Every EUC-KR label decodes as cp949.
    """
    header, label = header_charset(headers), header_label(headers)
    declared, how = _declared(content)
    if how == "bom":
        return declared or "utf-8", "bom", None
    if header and declared and header != declared:
        said = f"the HTTP header says charset={label} but the document declares {declared}"
        if header in _SERVER_DEFAULTS and _decodes(content, declared):
            return declared, how, f"{said}; decoded as {declared} (the document wins over a server default)"
        if not _decodes(content, header) and _decodes(content, declared):
            return declared, how, f"{said}; the body is not valid {header}, decoded as {declared}"
        if _decodes(content, header):
            return header, "header", f"{said}; decoded as {header} (the header wins)"
    if header and _decodes(content, header):
        if header in _SERVER_DEFAULTS and not declared and not content.isascii():
            # a Western default on Korean bytes gives mojibake without any decoding error
            for codec in ("utf-8", "cp949"):
                if _decodes(content, codec):
                    note = f"the HTTP header says charset={label} but the body is {codec}; decoded as {codec}"
                    return codec, "detected", note
        return header, "header", None
    invalid = f"the body is not valid {label} as the HTTP header says" if header else None
    if declared and _decodes(content, declared):
        return declared, how, invalid and f"{invalid}; decoded as {declared}"
    for codec in ("utf-8", "cp949"):
        if _decodes(content, codec):
            return codec, "detected", invalid and f"{invalid}; decoded as {codec}"
    best = from_bytes(content).best()
    codec = (canonical_charset(best.encoding) or "utf-8") if best else "utf-8"
    return codec, "guessed", f"the charset could not be determined; guessed {codec}"


def sniff_charset(content: bytes, headers: Mapping[str, str]) -> tuple[str, str]:
    """Choose how to decode a body (choose_charset); a disagreement is noted for the poll's warnings."""
    codec, how, note = choose_charset(content, headers)
    if note:
        _note(note)
    return codec, how


def decode_body(content: bytes, headers: Mapping[str, str]) -> str:
    """Decode a response body to text using sniff_charset."""
    codec, _ = sniff_charset(content, headers)
    return content.decode(codec, errors="replace")


def utf8_xml(content: bytes, headers: Mapping[str, str]) -> bytes:
    """Re-encode an XML document as UTF-8 with a matching declaration.

    XML parsers trust the declared encoding; a feed that declares euc-kr but uses cp949-only
    syllables (똠, 햏) then fails and feedparser falls back to windows-1252 mojibake.
    """
    codec, _ = sniff_charset(content, headers)
    text = content.decode(codec, errors="replace").lstrip("\ufeff")
    text = re.sub(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)["'][^"']*["']""", r'\1"utf-8"', text, count=1)
    return text.encode("utf-8")


def legacy_tls_context() -> ssl.SSLContext:
    """A verifying TLS context at OpenSSL security level 1 (for weak server DH keys)."""
    context = ssl.create_default_context()
    context.set_ciphers(LEGACY_CIPHERS)
    context.verify_mode = ssl.CERT_REQUIRED  # the defaults, stated: this is the contract
    context.check_hostname = True
    return context


class LegacyTlsAdapter(HTTPAdapter):
    """An adapter whose connections use `legacy_tls_context()`; mounted for one host only."""

    def __init__(self) -> None:
        self.ssl_context = legacy_tls_context()
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self.ssl_context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["ssl_context"] = self.ssl_context
        return super().proxy_manager_for(*args, **kwargs)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("verify") is False:
            raise FetchError("refusing to send without certificate verification (verify=False)")
        return super().send(request, *args, **kwargs)


@dataclass
class Response:
    """What a fetch returned: status, headers and the whole (capped) body."""

    url: str
    status: int
    headers: Mapping[str, str]
    content: bytes
    attempts: int = 1

    @property
    def not_modified(self) -> bool:
        """True for a 304 answer to a conditional GET."""
        return self.status == 304

    @property
    def etag(self) -> str | None:
        """The ETag validator, if the server sent one."""
        return self.headers.get("ETag")

    @property
    def last_modified(self) -> str | None:
        """The Last-Modified validator, if the server sent one."""
        return self.headers.get("Last-Modified")

    def text(self) -> str:
        """The body as text (header → BOM → declared → detected charset)."""
        return decode_body(self.content, self.headers)


@dataclass
class _Robots:
    parser: urllib.robotparser.RobotFileParser | None  # None = everything allowed
    fetched: float


@dataclass
class HttpClient:
    """A polite, thread-safe HTTP client shared by every source."""

    config: HttpConfig = field(default_factory=HttpConfig)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    session: requests.Session = field(default_factory=requests.Session)
    requests_made: int = 0

    def __post_init__(self) -> None:
        self.session.headers["User-Agent"] = self.config.ua
        self.session.headers["Accept-Language"] = "ko-KR,ko;q=0.9"
        self.session.max_redirects = 5
        self._lock = threading.Lock()
        self._host_locks: dict[str, threading.Lock] = {}
        self._last_request: dict[str, float] = {}
        self._robots: dict[str, _Robots] = {}
        self._mine = threading.local()  # requests made by the calling thread (concurrent polls)

    @property
    def thread_requests(self) -> int:
        """Requests the calling thread has made through this client (a poll's own count)."""
        return int(getattr(self._mine, "count", 0))

    # -- public -------------------------------------------------------------------------------

    def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        etag: str | None = None,
        last_modified: str | None = None,
        read_timeout: float | None = None,
        ignore_robots: bool = False,
        retry_on: frozenset[int] = frozenset(),
        method: str = "GET",
        data: Mapping[str, Any] | None = None,
    ) -> Response:
        """Fetch a URL; raises FetchError for anything that is not 2xx/304 after retries."""
        if not ignore_robots:
            self.check_robots(url)
        send = dict(headers or {})
        if etag:
            send["If-None-Match"] = etag
        if last_modified:
            send["If-Modified-Since"] = last_modified
        return self._fetch(
            method, url, params=params, headers=send, data=data,
            read_timeout=read_timeout, retry_on=RETRY_STATUSES | retry_on,
        )  # fmt: skip

    def prepare(self, source: SourceConfig) -> None:
        """Apply a source's access settings: `tls: legacy` for its host, the `warmup_url` GET.

        Also sets where redirects may lead while this thread polls the source: its own host,
        its warm-up page's host and `redirect_hosts`.
        """
        hosts = {_host(source.url), *(_host(h if "//" in h else f"//{h}") for h in source.redirect_hosts)}
        if source.warmup_url:
            hosts.add(_host(source.warmup_url))
        self._mine.redirect_hosts = frozenset(hosts)
        if source.tls == "legacy":
            for url in (source.url, source.warmup_url):
                if url:
                    self.use_legacy_tls(url)
        if source.warmup_url:
            # the site hands out a session cookie on its home page; requests.Session keeps it
            self.get(
                source.warmup_url, headers=source.headers, read_timeout=source.read_timeout,
                ignore_robots=source.ignore_robots,
            )  # fmt: skip

    def use_legacy_tls(self, url: str) -> str:
        """Mount a LegacyTlsAdapter for the https origin of url (that host only); returns its prefix."""
        parts = urlsplit(url)
        prefix = f"https://{parts.netloc.lower()}/"
        with self._lock:
            if not isinstance(self.session.adapters.get(prefix), LegacyTlsAdapter):
                self.session.mount(prefix, LegacyTlsAdapter())
        return prefix

    def check_robots(self, url: str) -> None:
        """Raise RobotsDisallowed when the host's robots.txt forbids our agent this URL."""
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        with self._lock:
            cached = self._robots.get(origin)
        if cached is None or self.clock() - cached.fetched > ROBOTS_TTL:
            cached = _Robots(self._load_robots(origin), self.clock())
            with self._lock:
                self._robots[origin] = cached
        agent = self.config.user_agent.split("/")[0]
        if cached.parser is not None and not cached.parser.can_fetch(agent, url):
            raise RobotsDisallowed(
                f"robots.txt of {origin} disallows {parts.path or '/'}; the source is skipped "
                "(set 'ignore_robots: true' only with the site's permission)"
            )

    # -- internals ----------------------------------------------------------------------------

    def _load_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        # RFC 9309 §2.3.1: 4xx means no restrictions; 5xx or an unreachable server means
        # assume complete disallow (the source fails this run and is retried on the next).
        try:
            resp = self._fetch("GET", f"{origin}/robots.txt", allow_status=range(400, 500))
        except FetchError as e:
            raise FetchError(f"robots.txt of {origin} could not be read ({e}); not polling") from e
        if resp.status >= 400:
            return None
        parser = urllib.robotparser.RobotFileParser()
        parser.parse(resp.text().splitlines())
        return parser

    def _space(self, host: str) -> None:
        """Keep the configured minimum spacing between requests to one host."""
        with self._lock:
            lock = self._host_locks.setdefault(host, threading.Lock())
        with lock:
            last = self._last_request.get(host)
            if last is not None:
                wait = self.config.host_spacing - (self.clock() - last)
                if wait > 0:
                    self.sleep(wait)
            self._last_request[host] = self.clock()

    def _retry_wait(self, attempt: int, resp: requests.Response | None) -> float:
        header = resp.headers.get("Retry-After") if resp is not None else None
        if header:
            wait = _parse_retry_after(header)
            if wait is not None:
                return min(wait, self.config.max_retry_after)
        base = self.config.backoff * (2**attempt)
        return min(base + random.uniform(0, base / 2), self.config.max_retry_after)

    def _fetch(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, Any] | None = None,
        read_timeout: float | None = None,
        retry_on: frozenset[int] = RETRY_STATUSES,
        allow_status: range | None = None,
    ) -> Response:
        timeout = (self.config.connect_timeout, read_timeout or self.config.read_timeout)
        host = urlsplit(url).netloc
        attempts = self.config.retries + 1
        for attempt in range(attempts):
            self._space(host)
            last = attempt == attempts - 1
            deadline = time.monotonic() + self.config.request_deadline
            try:
                resp = self._follow(method, url, params, headers, data, timeout, deadline)
            except (requests.ConnectionError, requests.Timeout) as e:
                what = "timed out" if isinstance(e, requests.Timeout) else "connection failed"
                if last:
                    raise FetchError(f"{what} after {attempts} attempts: {url}") from e
                self.sleep(self._retry_wait(attempt, None))
                continue
            try:
                if resp.status_code in retry_on and not last:
                    wait = self._retry_wait(attempt, resp)
                    log.info("HTTP %s from %s; retrying in %.1fs", resp.status_code, url, wait)
                    self.sleep(wait)
                    continue
                ok = resp.status_code < 400 or (allow_status and resp.status_code in allow_status)
                if not ok:
                    raise FetchError(
                        f"HTTP {resp.status_code} {resp.reason or ''} from {url}".replace("  ", " "),
                        status=resp.status_code,
                    )
                content = b"" if resp.status_code == 304 else self._read_capped(resp, url, deadline)
                return Response(resp.url, resp.status_code, resp.headers, content, attempt + 1)
            except (
                requests.ConnectionError,
                requests.Timeout,
                requests.exceptions.ChunkedEncodingError,
                urllib3.exceptions.HTTPError,  # read1 raises urllib3's own (reset, read timeout)
                OSError,
            ) as e:
                # the body itself broke off (reset, read timeout): retry like a failed connect
                if last:
                    raise FetchError(f"reading the body failed after {attempts} attempts: {url}") from e
                self.sleep(self._retry_wait(attempt, None))
            finally:
                resp.close()
        raise FetchError(f"gave up on {url}")  # pragma: no cover - loop always returns/raises

    def _follow(
        self, method: str, url: str, params: Mapping[str, Any] | None, headers: Mapping[str, str] | None,
        data: Mapping[str, Any] | None, timeout: tuple[float, float], deadline: float,
    ) -> requests.Response:  # fmt: skip
        """Send a request and follow its redirects by hand, only where they may lead.

        A redirect is followed to http(s) only, to the requested URL's own host or a host the
        source allows (`redirect_hosts`, set by `prepare`), never to a link-local or private
        address of another host (a source must not make us fetch an internal service and
        report its answer), at most `max_redirects` times, all within the request's deadline.
        """
        allowed = {_host(url), *getattr(self._mine, "redirect_hosts", frozenset())}
        for _ in range(self.session.max_redirects + 1):
            self._check_deadline(deadline, url)
            resp = self.session.request(
                method, url, params=params, headers=headers, data=data,
                timeout=timeout, stream=True, allow_redirects=False,
            )  # fmt: skip
            with self._lock:
                self.requests_made += 1
            self._mine.count = self.thread_requests + 1
            location = resp.headers.get("Location") if resp.is_redirect else None
            if not location:
                return resp
            resp.close()
            target = urljoin(resp.url, location)
            why = _refused_redirect(target, allowed)
            if why:
                raise FetchError(f"refused a redirect from {url} to {_origin(target)}: {why}")
            if resp.status_code == 303 or (resp.status_code in (301, 302) and method == "POST"):
                method, data = "GET", None
            url, params = target, None  # the Location carries its own query
        raise FetchError(f"too many redirects from {url}")

    def _check_deadline(self, deadline: float, url: str) -> None:
        if time.monotonic() > deadline:
            raise FetchError(
                f"{url} did not answer in full within {self.config.request_deadline:.0f} s "
                "(http.request_deadline); the server sends too slowly"
            )

    def _read_capped(self, resp: requests.Response, url: str, deadline: float) -> bytes:
        cap = self.config.max_bytes
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise FetchError(f"response from {url} is {int(declared):,} bytes; the cap is {cap:,}")
        chunks: list[bytes] = []
        size = 0
        while True:
            self._check_deadline(deadline, url)
            # read1 returns what one read of the socket gave: a server dripping a byte a second
            # comes back here each second and meets the deadline (iter_content would wait for
            # a full chunk, each byte resetting the read timeout)
            chunk = resp.raw.read1(65536, decode_content=True)
            if not chunk:
                break
            size += len(chunk)
            if size > cap:
                raise FetchError(f"response from {url} exceeds the size cap of {cap:,} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _host(url: str) -> str:
    """The host of a URL, lower-case, without port or a leading `www.`."""
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _refused_redirect(target: str, allowed: set[str]) -> str | None:
    """Why a redirect to `target` is not followed, or None when it may be."""
    parts = urlsplit(target)
    if parts.scheme.lower() not in ("http", "https"):
        return f"a non-http(s) URL ({parts.scheme or 'no'} scheme; only http and https are followed)"
    host = _host(target)
    if host not in allowed:
        return f"{host} is not the source's host (add it to 'redirect_hosts' in sources.yaml if it is meant)"
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if address.is_link_local or (address.is_private and not address.is_loopback and host not in allowed):
        return "a link-local or private address"
    return None


def with_query(url: str, **params: Any) -> str:
    """The URL with these query parameters set (replacing any of the same name, keeping the rest)."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    return urlunsplit(parts._replace(query=urlencode([*kept, *((k, str(v)) for k, v in params.items())])))


def _parse_retry_after(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
