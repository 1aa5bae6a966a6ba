"""Korean text normalisation for matching, and strict date parsing into Asia/Seoul."""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

# Characters that carry no meaning for matching: spacing, middle dots and the quotes and
# brackets Korean titles wrap law names in (「협동조합 기본법」, 『…』, "…").
_IGNORED = frozenset(
    "\u00b7\u318d\u2022\u2027\u30fb\uff65\u119e\u2219\u22c5"  # · ㆍ • ‧ ・ ･ ᆞ ∙ ⋅
    "\"'`\u00b4\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2032\u2033"  # quotes
    "\u300c\u300d\u300e\u300f\u3008\u3009\u300a\u300b\u3010\u3011\u3014\u3015"  # 「」『』〈〉《》【】〔〕
    "\ufe41\ufe42\ufe43\ufe44\uff62\uff63"  # presentation forms of 「」『』
)


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """Return what one character becomes for matching ('' when it is ignored)."""
    if ch in _IGNORED or ch.isspace():
        return ""
    folded = unicodedata.normalize("NFKC", ch).casefold()
    return "".join(c for c in folded if c not in _IGNORED and not c.isspace())


@dataclass(frozen=True, slots=True)
class Folded:
    """Text folded for matching, with each folded character's index in the original."""

    text: str
    origin: tuple[int, ...]
    source: str


def fold(text: str) -> Folded:
    """Fold text for matching: NFC, NFKC per character, casefold, drop spaces, dots, quotes."""
    # NFC first so conjoining jamo and compatibility ideographs settle before the per-character
    # pass; per-character NFKC keeps an exact map back to the original for snippets.
    source = unicodedata.normalize("NFC", text or "")
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(source):
        piece = _fold_char(ch)
        out.append(piece)
        origin.extend([i] * len(piece))
    return Folded("".join(out), tuple(origin), source)


def normalize(text: str) -> str:
    """Return the folded form of text (what terms and fields are compared in)."""
    return fold(text).text


def clean_whitespace(text: str) -> str:
    """Collapse runs of whitespace into one space and trim."""
    return re.sub(r"\s+", " ", text or "").strip()


# --- time -----------------------------------------------------------------------------------


def tz() -> ZoneInfo:
    """The service's time zone (MONITOR_TZ, default Asia/Seoul)."""
    return ZoneInfo(os.environ.get("MONITOR_TZ") or "Asia/Seoul")


SEOUL = ZoneInfo("Asia/Seoul")


def now() -> datetime:
    """Current time as an aware datetime in the service time zone."""
    return datetime.now(tz())


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 with offset, in the service time zone, seconds precision."""
    if dt is None:
        return None
    return dt.astimezone(tz()).isoformat(timespec="seconds")


# Korean government sites write a bare date or a time with no zone: that is Korea time, never
# UTC. Zones spelled as letters other than GMT/UTC are not RFC 822 and feedparser guesses; MOIS
# writes a literal "KST" (../shared/sources/MINISTRIES.md §4.4).
_ZONE_WORDS = {"KST": "+0900", "UT": "+0000", "UTC": "+0000", "GMT": "+0000", "Z": "+0000"}

_RFC822 = re.compile(
    r"^(?:[A-Za-z]{3},\s*)?\d{1,2}\s+[A-Za-z]{3}\s+\d{2,4}\s+\d{1,2}:\d{2}(?::\d{2})?"
    r"(?:\s+(?P<zone>[A-Za-z]{1,5}|[+-]\d{4}))?$"
)
_YMD = re.compile(
    r"^(?P<y>\d{4})\s*[-./년]\s*(?P<m>\d{1,2})\s*[-./월]\s*(?P<d>\d{1,2})\s*[.일]?"
    r"(?:[\sT]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d+)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2}|KST)?)?$"
)
_COMPACT = re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})(?:(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?)?$")
_US = re.compile(
    r"^(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})(?:\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?$"
)


def _offset(token: str | None) -> timezone | ZoneInfo:
    if not token or token == "KST":
        return SEOUL
    if token == "Z":
        return UTC
    sign = -1 if token[0] == "-" else 1
    digits = token[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def _build(m: re.Match[str], zone: str | None = None) -> datetime | None:
    g = m.groupdict()
    try:
        return datetime(
            int(g["y"]),
            int(g["m"]),
            int(g["d"]),
            int(g.get("H") or 0),
            int(g.get("M") or 0),
            int(g.get("S") or 0),
            tzinfo=_offset(zone if zone is not None else g.get("tz")),
        )
    except ValueError:
        return None


def parse_datetime(value: str | None) -> datetime | None:
    """Parse a date or date-time as Korean sources write it; None when it is not one.

    Strict: a value missing its year, month or day is rejected rather than filled from
    today (feedparser's fallback), and a value without a zone is Korea time.
    """
    if value is None:
        return None
    s = clean_whitespace(str(value)).rstrip(".").strip()
    if not s:
        return None
    m = _RFC822.match(s)
    if m:
        zone = m.group("zone")
        head = s[: m.start("zone")].rstrip() if zone else s
        if zone is None:
            offset = "+0900"
        elif zone[0] in "+-":
            offset = zone
        elif zone.upper() in _ZONE_WORDS:
            offset = _ZONE_WORDS[zone.upper()]
        else:
            return None  # an unknown zone word: refuse to guess
        try:
            return parsedate_to_datetime(f"{head} {offset}").astimezone(tz())
        except (TypeError, ValueError):
            return None
    for pattern in (_YMD, _COMPACT, _US):
        m = pattern.match(s)
        if m:
            dt = _build(m)
            return dt.astimezone(tz()) if dt else None
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


def start_of_day(d: date) -> datetime:
    """Midnight of a date in the service time zone."""
    return datetime.combine(d, time(0), tzinfo=tz())


_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str | int) -> timedelta:
    """Parse `30m`, `6h`, `7d`, `2w` or a number of seconds into a timedelta."""
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
