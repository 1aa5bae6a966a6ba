"""Korean text normalisation for matching, and strict date parsing into Asia/Seoul."""

from __future__ import annotations

import html
import os
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone
from functools import lru_cache
from itertools import accumulate
from operator import add
from zoneinfo import ZoneInfo

# Characters that carry no meaning for matching: spacing, middle dots and the quotes and
# brackets Korean titles wrap law names in (「협동조합 기본법」, 『…』, "…"), and the invisible
# format characters pasted titles carry (zero-width space, soft hyphen, BOM): "협동\u200b조합"
# must still read as 협동조합.
_IGNORED = frozenset(
    "\u00b7\u318d\u2022\u2027\u30fb\uff65\u119e\u2219\u22c5"  # · ㆍ • ‧ ・ ･ ᆞ ∙ ⋅
    "\"'`\u00b4\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2032\u2033"  # quotes
    "\u300c\u300d\u300e\u300f\u3008\u3009\u300a\u300b\u3010\u3011\u3014\u3015"  # 「」『』〈〉《》【】〔〕
    "\ufe41\ufe42\ufe43\ufe44\uff62\uff63"  # presentation forms of 「」『』
    "\u00ad\u200b\u200c\u200d\u2060\ufeff"  # soft hyphen, zero-width (non-)joiner/space, BOM
)
# Everything fold drops: the characters above and whitespace (`\s` is exactly str.isspace()).
_IGNORED_CLASS = re.escape("".join(sorted(_IGNORED)))
# one character, not a run: sre scans for a lone class with its fast literal-search loop,
# about three times faster than for `[…]+` (this test runs on every field of every item)
_IGNORED_CHAR = re.compile(f"[{_IGNORED_CLASS}]")
_DROPPED = re.compile(rf"[\s{_IGNORED_CLASS}]+")
_KEPT = re.compile(rf"[^\s{_IGNORED_CLASS}]+")
_FIXED_POINT_ROUNDS = 4


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """Return what one character becomes for matching ('' when it is ignored)."""
    if ch in _IGNORED or ch.isspace():
        return ""
    folded = unicodedata.normalize("NFKC", ch).casefold()
    return "".join(c for c in folded if c not in _IGNORED and not c.isspace())


class _Kept:
    """The origin map of a one-to-one fold, kept as runs of kept characters until asked for."""

    __slots__ = ("_folded_starts", "_source_starts", "casefolded", "spaces_only")

    def __init__(self, casefolded: str, spaces_only: bool) -> None:
        self.casefolded = casefolded  # one character per source character
        self.spaces_only = spaces_only  # whitespace is all that was dropped
        self._folded_starts: list[int] | None = None
        self._source_starts: list[int] = []

    def _runs(self) -> list[int]:
        if self._folded_starts is None:
            words = self.casefolded.split() if self.spaces_only else []
            starts = [0, *accumulate(map(len, words[:-1]))] if words else []
            if words and starts[-1] + len(words[-1]) + len(words) - 1 == len(self.casefolded):
                # words apart by exactly one space each (the usual case): str.split is C-fast
                self._source_starts = list(map(add, starts, range(len(words))))
            else:
                starts, length = [], 0
                for m in _KEPT.finditer(self.casefolded):
                    start, end = m.span()
                    starts.append(length)
                    self._source_starts.append(start)
                    length += end - start
            self._folded_starts = starts
        return self._folded_starts

    def at(self, index: int) -> int:
        """The source index of folded character `index`."""
        run = bisect_right(self._runs(), index) - 1
        return self._source_starts[run] + index - self._folded_starts[run]  # type: ignore[index]

    def positions(self) -> tuple[int, ...]:
        """The whole map."""
        return tuple(i for m in _KEPT.finditer(self.casefolded) for i in range(*m.span()))


class Folded:
    """Text folded for matching, with each folded character's index in the original (`origin`)."""

    __slots__ = ("_origin", "source", "text")

    def __init__(self, text: str, origin: tuple[int, ...] | _Kept | str, source: str) -> None:
        """`origin`: the map itself, a _Kept, or (the usual fold) the casefolded source, when
        plain spaces were all that was dropped."""
        self.text = text
        self.source = source
        # most texts are scanned and never need the map (no rule term hit): built when asked,
        # and even its lazy form only then (one object fewer per field on the matching path)
        self._origin = origin

    def _kept(self) -> _Kept | tuple[int, ...]:
        origin = self._origin
        if isinstance(origin, str):
            origin = self._origin = _Kept(origin, spaces_only=True)
        return origin

    @property
    def origin(self) -> tuple[int, ...]:
        """For each character of `text`, its index in `source`."""
        origin = self._kept()
        if isinstance(origin, _Kept):
            origin = self._origin = origin.positions()
        return origin

    def at(self, index: int) -> int:
        """The index in `source` of folded character `index` (origin[index], without the whole map)."""
        origin = self._kept()
        return origin.at(index) if isinstance(origin, _Kept) else origin[index]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Folded):
            return NotImplemented
        return (self.text, self.origin, self.source) == (other.text, other.origin, other.source)

    def __hash__(self) -> int:
        return hash((self.text, self.source))

    def __repr__(self) -> str:
        return f"Folded(text={self.text!r}, origin={self.origin!r}, source={self.source!r})"


def _fold_once(source: str) -> tuple[str, tuple[int, ...] | _Kept]:
    """One pass over NFC text: per-character NFKC and casefold, ignored characters dropped."""
    # Fast path, same result: when the whole text is NFKC already, every character is its own
    # NFKC form, and when casefolding keeps the length, each character folds to exactly one;
    # the per-character loop then reduces to casefold + dropping (tests pin the two together).
    if unicodedata.is_normalized("NFKC", source):
        casefolded = source.casefold()
        if len(casefolded) == len(source):
            # the usual text: plain spaces are the only characters to drop (every other space,
            # soft hyphen and zero-width character is unprintable), and replace() is C-fast
            folded = casefolded.replace(" ", "")
            if folded.isprintable() and _IGNORED_CHAR.search(folded) is None:
                return folded, _Kept(casefolded, spaces_only=True)
            return _DROPPED.sub("", casefolded), _Kept(casefolded, spaces_only=False)
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(source):
        piece = _fold_char(ch)
        out.append(piece)
        origin.extend([i] * len(piece))
    return "".join(out), tuple(origin)


@lru_cache(maxsize=1)
def _joins_previous() -> frozenset[str]:
    """Starters (combining class 0) that NFC can join to the character before them."""
    found = {chr(c) for c in (*range(0x1161, 0x1176), *range(0x11A8, 0x11C3))}  # Hangul V and T jamo
    for code in range(0x30000):
        parts = unicodedata.decomposition(chr(code)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            second = chr(int(parts[1], 16))
            if not unicodedata.combining(second):
                found.add(second)
    return frozenset(found)


def _nfc_with_map(text: str) -> tuple[str, list[int]]:
    """NFC of text, and for each of its characters the index in text of the cluster it came from.

    NFC works within clusters (a starter and what may join it), so each cluster is normalised on
    its own and all its output characters point at the cluster's first character.
    """
    if not text:
        return "", []
    joins = _joins_previous()
    starts = [i for i, c in enumerate(text) if i == 0 or not (unicodedata.combining(c) or c in joins)]
    out: list[str] = []
    origin: list[int] = []
    for start, end in zip(starts, [*starts[1:], len(text)], strict=True):
        piece = unicodedata.normalize("NFC", text[start:end])
        out.append(piece)
        origin.extend([start] * len(piece))
    return "".join(out), origin


def _stable(folded: str) -> bool:
    """True when folding a pass's output again cannot change it.

    A pass's output is casefolded already (casefold is idempotent, character by character), so
    what remains to check is that it is NFKC: then NFC leaves it alone and every character is
    its own NFKC form.
    """
    return unicodedata.is_normalized("NFKC", folded)


def fold(text: str) -> Folded:
    """Fold text for matching: NFC, NFKC per character, casefold, drop spaces, dots, quotes.

    Idempotent: dropping a space can bring together characters that compose (a jamo and the
    vowel after it, a letter and a combining mark), so the pass repeats until nothing changes.
    """
    text = text or ""
    if unicodedata.is_normalized("NFKC", text):  # NFKC text is NFC text: the usual case, inlined
        casefolded = text.casefold()
        if len(casefolded) == len(text):
            folded = casefolded.replace(" ", "")
            if folded.isprintable() and _IGNORED_CHAR.search(folded) is None:
                if _stable(folded):
                    return Folded(folded, casefolded, text)
            else:  # 「」, middle dots, other spaces: what _fold_once's own fast path returns
                folded = _DROPPED.sub("", casefolded)
                if _stable(folded):
                    return Folded(folded, _Kept(casefolded, spaces_only=False), text)
    # NFC first so conjoining jamo and compatibility ideographs settle before the per-character
    # pass; per-character NFKC keeps an exact map back to the original for snippets.
    source = unicodedata.normalize("NFC", text)
    folded, origin = _fold_once(source)
    for _ in range(_FIXED_POINT_ROUNDS):
        if _stable(folded):
            break
        again, clusters = _nfc_with_map(folded)
        refolded, inner = _fold_once(again)
        if refolded == folded:
            break
        first = Folded(folded, origin, source).origin
        second = Folded(refolded, inner, again).origin
        origin = tuple(first[clusters[j]] for j in second)
        folded = refolded
    return Folded(folded, origin, source)


def normalize(text: str) -> str:
    """Return the folded form of text (what terms and fields are compared in)."""
    return fold(text).text


def clean_whitespace(text: str) -> str:
    """Collapse runs of whitespace into one space and trim."""
    # str.split() splits on exactly the characters `\s` matches (str.isspace), in C
    return " ".join((text or "").split())


# A real tag: an HTML element (or Word's namespaced `<o:p>`) with ASCII attributes, `<b>`,
# `</td>`, `<br/>`, `<a href=…>`, `<!-- … -->`. Not `소득 <100만원`, `A<B 그리고 C>D` or a name
# quoted in brackets, `<ESG 경영 세미나> 개최`: such text is kept, words and brackets.
_ELEMENTS = (
    "a|abbr|acronym|address|article|aside|b|bdi|bdo|big|blockquote|body|br|button|caption|center|cite|"
    "code|col|colgroup|dd|del|dfn|div|dl|dt|em|figcaption|figure|font|footer|form|h[1-6]|head|header|hr|"
    "html|i|iframe|img|input|ins|kbd|label|li|link|main|mark|meta|nav|nobr|noscript|ol|option|p|pre|q|"
    "s|samp|script|section|select|small|span|strike|strong|style|sub|sup|table|tbody|td|textarea|tfoot|"
    "th|thead|time|title|tr|tt|u|ul|var|wbr|[A-Za-z]+:[A-Za-z]+"
)
_ATTRIBUTE = r"""\s+[A-Za-z_:][-A-Za-z0-9_:.]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'<>]+))?"""
_TAG = re.compile(rf"<(?:/?(?:{_ELEMENTS})(?:{_ATTRIBUTE})*\s*/?|!--.*?--)>", re.S | re.I)
# An entity reference with its semicolon (`&amp;`, `&#39;`, `&#x27;`); a bare `&` (`R&D`) is text.
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#\d{1,7}|#[xX][0-9A-Fa-f]{1,6});")
_UNESCAPE_ROUNDS = 3


def plain_text(value: str | None) -> str:
    """What a reader sees of a source's title or summary: plain text on one line.

    HTML tags are dropped with inscriptis (block elements become spaces, inline ones join:
    `<b>협동</b>조합` → `협동조합`), entities are decoded, double-escaped ones too (`&amp;quot;` →
    `"`, `&amp;nbsp;` → a space: CMS titles escaped twice, cases/real-world), a bare `&` stays `&`,
    and whitespace (NBSP included) collapses. Idempotent on its own output except where the
    output still spells an entity or a tag as text, which is rare and is left as it is.
    """
    text = value or ""
    if "<" not in text and "&" not in text:
        return clean_whitespace(text)
    for _ in range(_UNESCAPE_ROUNDS):
        before = text
        if _TAG.search(text):
            text = html_fragment_text(_text_brackets(text))
        if _ENTITY.search(text):
            text = html.unescape(text)
        if text == before:
            break
    return clean_whitespace(text)


def _text_brackets(text: str) -> str:
    """Escape each `<` that starts no tag, so the HTML parser keeps it as text."""
    out, last = [], 0
    for m in _TAG.finditer(text):
        out += [text[last : m.start()].replace("<", "&lt;"), m.group()]
        last = m.end()
    return "".join(out) + text[last:].replace("<", "&lt;")


def html_fragment_text(fragment: str) -> str:
    """The text of an HTML fragment or page (inscriptis: layout-aware, scripts and styles dropped)."""
    from inscriptis import get_text  # imported on first use: most titles carry no markup

    return get_text(fragment) if fragment.strip() else ""


# --- time -----------------------------------------------------------------------------------


def tz() -> ZoneInfo:
    """The service's time zone (MONITOR_TZ, default Asia/Seoul), read anew each call (tests set it)."""
    return _zone(os.environ.get("MONITOR_TZ") or "Asia/Seoul")


@lru_cache(maxsize=8)  # tz() runs for every stamp written: ZoneInfo's own cache costs more
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


SEOUL = ZoneInfo("Asia/Seoul")


def now() -> datetime:
    """Current time as an aware datetime in the service time zone."""
    return datetime.now(tz())


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 with offset, in the service time zone, seconds precision."""
    if dt is None:
        return None
    return dt.astimezone(tz()).isoformat(timespec="seconds")


def parse_stamp(value: str | None) -> datetime | None:
    """A time this service stored (`iso()`: `2026-11-30T14:30:00+09:00`) as an aware datetime
    in Korea time; None for None or ''. Anything else (a naive or foreign spelling) is read by
    parse_datetime. For the store's own columns, read once per source on every alert check:
    `datetime.fromisoformat` is some twenty times faster than the spelling registry.
    """
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return parse_datetime(value)
    return parsed.astimezone(tz()) if parsed.tzinfo is not None else parse_datetime(value)


# Korean government sites write a bare date or a time with no zone: that is Korea time, never
# UTC. Zones spelled as letters other than GMT/UTC are not RFC 822 and feedparser guesses; MOIS
# writes a literal "KST" (../shared/sources/MINISTRIES.md §4.4).
_ZONE_WORDS = {"KST": "+0900", "UT": "+0000", "UTC": "+0000", "GMT": "+0000", "Z": "+0000"}

# RFC 822 and the variants feeds write (those feedparser's _parse_date_rfc822 reads too): a
# weekday or none, short or full English month names, 4- or 2-digit years, seconds optional, the
# zone as a word, `+0900`, `+09:00` or `GMT+09:00`, or none (Korea time); a date without a time is
# midnight.
_RFC822 = re.compile(
    r"^(?:[A-Za-z]{3,9},?\s*)?(?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]{3,9})\.?\s+(?P<y>\d{4}|\d{2})"
    r"(?:,?\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?"
    r"(?:\s*(?P<zone>[A-Za-z]{1,5}|(?:GMT|UTC?)?[+-]\d{2}:?\d{2}))?)?$"
)
# Java's Date.toString(), which JSP boards print as is: `Mon Nov 30 10:00:00 KST 2026`.
_JAVA = re.compile(
    r"^[A-Za-z]{3}\s+(?P<mon>[A-Za-z]{3})\s+(?P<d>\d{1,2})\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?"
    r"\s+(?P<zone>[A-Za-z]{1,5}|[+-]\d{4})\s+(?P<y>\d{4})$"
)
# 2026-11-30, 2026.11.30., 2026. 11. 30., 2026/11/30, 2026년 11월 30일, optionally a weekday in
# brackets (`2026.11.30(월)`) and a time: `14:30`, `14:30:05`, `오후 2:30`, `14시 30분`, ISO `T…+09:00`.
_YMD = re.compile(
    r"^(?P<y>\d{4})\s*[-./년]\s*(?P<m>\d{1,2})\s*[-./월]\s*(?P<d>\d{1,2})\s*[.일]?"
    r"\s*(?:\(\s*[월화수목금토일]\s*\)|[월화수목금토일]요일)?"
    r"(?:(?:[\sT]+|(?<=\)))(?P<ampm>오전|오후|AM|PM|am|pm)?\s*(?P<H>\d{1,2})\s*(?::|시)\s*(?:(?P<M>\d{2})\s*분?)?"
    r"(?:\s*:?\s*(?P<S>\d{2})(?:\.\d+)?\s*초?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2}|KST)?)?$"
)
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?)?$")
_US = re.compile(
    r"^(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})(?:\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"
)
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1
)}  # fmt: skip
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                "october", "november", "december")  # fmt: skip


def _offset(token: str | None) -> timezone | ZoneInfo:
    if not token or token == "KST":
        return SEOUL
    if token == "Z":
        return UTC
    sign = -1 if token[0] == "-" else 1
    digits = token[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def _zone_offset(zone: str | None) -> str | None:
    """An RFC 822 numeric offset for a zone token; None for a zone word we will not guess."""
    if zone is None:
        return "+0900"  # no zone written: Korea time
    if zone[0] in "+-":
        return zone
    return _ZONE_WORDS.get(zone.upper())


def _build(g: dict[str, str | None], zone: str | None = None) -> datetime | None:
    try:
        hour = int(g.get("H") or 0)
        ampm = (g.get("ampm") or "").lower()
        if ampm in ("오후", "pm") and hour < 12:
            hour += 12
        elif ampm in ("오전", "am") and hour == 12:
            hour = 0
        return datetime(
            int(g["y"] or 0),
            int(g["m"] or 0),
            int(g["d"] or 0),
            hour,
            int(g.get("M") or 0),
            int(g.get("S") or 0),
            tzinfo=_offset(zone if zone is not None else g.get("tz")),
        )
    except (ValueError, TypeError):
        return None


def _month(name: str) -> int | None:
    """1–12 for an English month name, short (`Nov`) or full (`November`, `Sept`)."""
    name = name.lower()
    number = _MONTHS.get(name[:3])
    full = _MONTH_NAMES[number - 1] if number else ""
    return number if name in (name[:3], full, "sept") else None


def _rfc822(s: str) -> datetime | None:
    m = _RFC822.match(s)
    month = _month(m.group("mon")) if m else None
    if not m or month is None:
        return None
    zone = m.group("zone")
    if zone:
        zone = re.sub(r"^(?:GMT|UTC?)(?=[+-])", "", zone)  # GMT+0900: the offset is what counts
    offset = _zone_offset(zone)
    if offset is None:
        return None  # an unknown zone word: refuse to guess
    year = int(m.group("y"))
    if len(m.group("y")) == 2:  # RFC 822's two-digit years, read as email.utils reads them
        year += 1900 if year > 68 else 2000
    return _build({**m.groupdict(), "y": str(year), "m": str(month), "tz": None}, zone=offset)


def _java(s: str) -> datetime | None:
    m = _JAVA.match(s)
    month = _MONTHS.get(m.group("mon").lower()) if m else None
    offset = _zone_offset(m.group("zone")) if m else None
    if not m or month is None or offset is None:
        return None
    return _build({**m.groupdict(), "m": str(month), "tz": None}, zone=offset)


def _pattern(regex: re.Pattern[str]) -> Callable[[str], datetime | None]:
    def handler(s: str) -> datetime | None:
        m = regex.match(s)
        return _build(m.groupdict()) if m else None

    handler.__name__ = f"_match_{regex.pattern[:12]}"
    return handler


# The one registry of date spellings every source kind reads through parse_datetime, tried in
# order until one answers (the shape of feedparser's `_date_handlers`). A handler takes the
# whitespace-collapsed text and returns an aware datetime or None; it must never fill a missing
# year, month or day from today, and a missing zone is Korea time.
DATE_HANDLERS: list[Callable[[str], datetime | None]] = [
    _rfc822, _java, _pattern(_YMD), _pattern(_COMPACT), _pattern(_US),
]  # fmt: skip


def register_date_handler(handler: Callable[[str], datetime | None]) -> None:
    """Add a date spelling, tried before the built-in ones (feedparser's registerDateHandler)."""
    DATE_HANDLERS.insert(0, handler)


def parse_datetime(value: str | None) -> datetime | None:
    """Parse a date or date-time as Korean sources write it; None when it is not one.

    Strict: a value missing its year, month or day is rejected rather than filled from
    today (feedparser's fallback), and a value without a zone is Korea time. The spellings are
    those of DATE_HANDLERS: RFC 822 (`Mon, 30 Nov 2026 10:00:00 +0900`, `… KST`, `… +09:00`,
    `30 November 2026`), Java's Date.toString (`Mon Nov 30 10:00:00 KST 2026`),
    `2026-11-30[ 14:30]`, `2026.11.30.`, `2026년 11월 30일 오후 2시`, `20261130[1430]`, `11/30/2026`.
    """
    if value is None:
        return None
    s = clean_whitespace(str(value)).rstrip(".").strip()
    if not s:
        return None
    for handler in DATE_HANDLERS:
        parsed = handler(s)
        if parsed is not None:
            return parsed.astimezone(tz())
    return None


def parse_date(value: str | None) -> date | None:
    """Parse a calendar date (the day in Korea) from the forms parse_datetime accepts."""
    dt = parse_datetime(value)
    return dt.date() if dt else None


# A calendar date inside running text: 2026.09.09, 2026. 9. 7., 2026/09/11, 2026-09-08, 2026년 9월 7일.
_DATE_IN_TEXT = re.compile(r"(?<!\d)(\d{4})\s*[-./년]\s*(\d{1,2})\s*[-./월]\s*(\d{1,2})(?!\d)")


def find_dates(text: str | None) -> list[date]:
    """Every valid calendar date written in text, in order (`2026. 9. 7. ~2026. 10. 19.` → two)."""
    found: list[date] = []
    for m in _DATE_IN_TEXT.finditer(text or ""):
        try:
            found.append(date(int(m.group(1)), int(m.group(2)), int(m.group(3))))
        except ValueError:
            continue
    return found


# Clock times as the 국회 schedule services write them (../shared/sources/ASSEMBLY.md §9.5 trap 2):
# `10:00`, `1400` (no colon, 21대 plenary), `14:00~17:30` (a range), `오후 2시`, `오전 10시 30분`.
# Anything else is text tied to another meeting (`본회의 산회 직후`, `국감 중지 후`) or `미정`.
_CLOCK_DIGITS = re.compile(r"^(?P<H>\d{1,2}):(?P<M>\d{2})$|^(?P<H2>\d{2})(?P<M2>\d{2})$")
_CLOCK_KOREAN = re.compile(
    r"^(?P<ampm>오전|오후)?\s*(?P<H>\d{1,2})\s*시\s*(?:(?P<M>\d{1,2})\s*분|(?P<half>반))?$"
)
_CLOCK_RANGE = re.compile(r"\s*[~～∼]\s*|\s+-\s+")
# Before this hour a time's meaning is not documented: `00:00`, `00:02` stand on ordinary
# committee rows (ASSEMBLY.md §9.5 trap 2), so such a time is not taken as a clock time.
EARLIEST_CLEAR_HOUR = 6


def _clock(text: str) -> time | None:
    m = _CLOCK_DIGITS.match(text)
    if m:
        hour, minute = int(m.group("H") or m.group("H2")), int(m.group("M") or m.group("M2"))
    else:
        m = _CLOCK_KOREAN.match(text)
        if not m:
            return None
        hour, minute = int(m.group("H")), 30 if m.group("half") else int(m.group("M") or 0)
        if m.group("ampm") == "오후" and hour < 12:
            hour += 12
        elif m.group("ampm") == "오전" and hour == 12:
            hour = 0
        elif not m.group("ampm") and hour < 7:
            return None  # a bare `2시` may be 2 p.m. or a typo: not clear
    if not (EARLIEST_CLEAR_HOUR <= hour <= 23 and 0 <= minute <= 59):
        return None
    return time(hour, minute)


def parse_clock(value: str | None) -> tuple[time, time | None] | None:
    """The start (and end) a schedule's time text states clearly, else None.

    `10:00`, `1400`, `오후 2시`, `오전 10시 30분`, `10시 반`, `14:00~17:30` → (start, end); a
    bare hour without 오전/오후 only from 7시 (`2시` may mean 2 p.m. or a typo). None for free
    text tied to another meeting (`본회의 산회 직후`), `미정`, an empty value, and times before
    06:00, whose meaning the 국회 does not document (`00:00`, `00:02` on ordinary committee
    rows). The raw text is always kept by the caller: this only says whether a calendar may
    put the meeting at a clock time.
    """
    text = clean_whitespace(str(value or ""))
    if not text:
        return None
    parts = _CLOCK_RANGE.split(text)
    if len(parts) > 2:
        return None
    start = _clock(parts[0])
    if start is None:
        return None
    if len(parts) == 1:
        return start, None
    end = _clock(parts[1])
    return (start, end) if end is not None and end > start else None


def start_of_day(d: date) -> datetime:
    """Midnight of a date in the service time zone."""
    return datetime.combine(d, time(0), tzinfo=tz())


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@lru_cache(maxsize=256)  # a handful of distinct intervals, read for every source on every check
def parse_duration(value: str | int) -> timedelta:
    """Parse `30m`, `6h`, `7d`, `2w` or a number of seconds into a timedelta.

    Raises ValueError (naming the value) for anything else.
    """
    if isinstance(value, int):
        return timedelta(seconds=value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"'{value}' is not a duration like 30m, 6h, 7d")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def display_width(text: str) -> int:
    """Columns a string takes in a terminal (Hangul and CJK count as two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, width: int) -> str:
    """Left-justify to a display width, cutting with … when too long."""
    if display_width(text) > width:
        out = ""
        for ch in text:
            if display_width(out + ch) > width - 1:
                break
            out += ch
        text = out + "…"
    return text + " " * max(0, width - display_width(text))
