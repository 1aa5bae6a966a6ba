"""Korean normalisation and strict date parsing."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from monitor import text
from monitor.text import (
    DATE_HANDLERS,
    display_width,
    fold,
    normalize,
    pad,
    parse_date,
    parse_datetime,
    parse_duration,
    plain_text,
    register_date_handler,
)


@pytest.mark.parametrize(
    "variant",
    [
        "사회적경제기본법",
        "사회적 경제 기본법",
        "사회적  경제\t기본법",
        "「사회적경제 기본법」",
        "『사회적경제기본법』",
        "사회적·경제 기본법",
        "사회적ㆍ경제기본법",
        "“사회적경제 기본법”",
        "사회적\u3000경제 기본법",  # ideographic space
    ],
)
def test_spacing_dots_quotes_and_brackets_fold_away(variant: str) -> None:
    assert normalize(variant) == "사회적경제기본법"


def test_fold_is_nfkc_and_casefold() -> None:
    assert normalize("ＳＩＢ ㈜") == "sib(주)"


def test_fold_keeps_a_map_back_to_the_original() -> None:
    folded = fold("「협동조합 기본법」 시행령")
    start = folded.text.index("기본법")
    assert folded.source[folded.origin[start]] == "기"


def test_hanja_compatibility_points_are_nfc_normalised() -> None:
    # U+F9B5 (compatibility 例) becomes U+4F8B under NFC: names must compare equal
    assert normalize("\uf9b5") == normalize("\u4f8b")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tue, 17 Mar 2026 08:25:00 GMT", "2026-03-17T17:25:00+09:00"),
        ("Mon, 14 Sep 2026 10:00:00 KST", "2026-09-14T10:00:00+09:00"),
        ("Mon, 14 Sep 2026 10:00:00 +0900", "2026-09-14T10:00:00+09:00"),
        ("Mon, 14 Sep 2026 10:00:00", "2026-09-14T10:00:00+09:00"),  # no zone = Korea time
        ("2026. 9. 7.", "2026-09-07T00:00:00+09:00"),
        ("2026.09.09", "2026-09-09T00:00:00+09:00"),
        ("2026.09.09.", "2026-09-09T00:00:00+09:00"),
        ("2026/09/11", "2026-09-11T00:00:00+09:00"),
        ("2026-09-08", "2026-09-08T00:00:00+09:00"),
        ("2026-09-08 13:05", "2026-09-08T13:05:00+09:00"),
        ("2026-09-08T04:05:00Z", "2026-09-08T13:05:00+09:00"),
        ("20261002152550", "2026-10-02T15:25:50+09:00"),
        ("20260901", "2026-09-01T00:00:00+09:00"),
        ("09/11/2026 13:01:02", "2026-09-11T13:01:02+09:00"),
        ("2003- 4-17", "2003-04-17T00:00:00+09:00"),
        ("2026년 9월 7일", "2026-09-07T00:00:00+09:00"),
    ],
)
def test_dates_in_every_form_korean_sources_use(raw: str, expected: str) -> None:
    parsed = parse_datetime(raw)
    assert parsed is not None
    assert parsed.isoformat() == expected


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "Sep 2026", "9월 7일", "2026-13-01", "2026-02-30", "Mon, 14 Sep 2026 10:00:00 XYZ", "어제"],
)
def test_incomplete_or_invalid_dates_are_refused_not_filled_from_today(raw: str) -> None:
    assert parse_datetime(raw) is None


def test_a_date_is_the_day_in_korea_not_utc() -> None:
    # 23:30 UTC on the 7th is already the 8th in Seoul
    assert str(parse_date("Mon, 07 Sep 2026 23:30:00 GMT")) == "2026-09-08"


def test_parse_datetime_is_never_nine_hours_off() -> None:
    kst = parse_datetime("2026-09-08 09:00")
    utc = parse_datetime("Tue, 08 Sep 2026 00:00:00 GMT")
    assert kst == utc
    assert isinstance(kst, datetime)


@pytest.mark.parametrize(("raw", "seconds"), [("30m", 1800), ("6h", 21600), ("7d", 604800), (90, 90)])
def test_durations(raw: str | int, seconds: int) -> None:
    assert parse_duration(raw) == timedelta(seconds=seconds)


def test_bad_duration_says_what_is_expected() -> None:
    with pytest.raises(ValueError, match="30m"):
        parse_duration("soon")


def test_display_width_counts_hangul_as_two_columns() -> None:
    assert display_width("국회abc") == 7
    assert display_width(pad("국회입법예고", 8)) == 8


# --- the date registry (DATE_HANDLERS): every spelling parse_datetime's docstring names ---------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # RFC 822 and its variants
        ("Mon, 30 Nov 2026 10:00:00 +0900", "2026-11-30T10:00:00+09:00"),
        ("Mon, 30 Nov 2026 10:00:00 KST", "2026-11-30T10:00:00+09:00"),
        ("Mon, 30 Nov 2026 10:00:00 kst", "2026-11-30T10:00:00+09:00"),
        ("Mon, 30 Nov 2026 10:00:00 +09:00", "2026-11-30T10:00:00+09:00"),
        ("Mon, 30 Nov 2026 01:00:00 GMT+00:00", "2026-11-30T10:00:00+09:00"),
        ("Mon, 30 Nov 2026 01:00:00 UT", "2026-11-30T10:00:00+09:00"),
        ("Mon, 30 Nov 2026 01:00:00 Z", "2026-11-30T10:00:00+09:00"),
        ("Sun, 29 Nov 2026 20:00:00 -0500", "2026-11-30T10:00:00+09:00"),
        ("Mon, 30 Nov 2026 10:00 KST", "2026-11-30T10:00:00+09:00"),  # no seconds
        ("Mon, 30 Nov 26 10:00:00 KST", "2026-11-30T10:00:00+09:00"),  # a two-digit year
        ("Monday, 30 November 2026 10:00:00 KST", "2026-11-30T10:00:00+09:00"),
        ("30 November 2026", "2026-11-30T00:00:00+09:00"),
        ("Mon, 30 Nov 2026", "2026-11-30T00:00:00+09:00"),
        # Java's Date.toString (JSP boards)
        ("Mon Nov 30 10:00:00 KST 2026", "2026-11-30T10:00:00+09:00"),
        ("Mon Nov 30 01:00:00 UTC 2026", "2026-11-30T10:00:00+09:00"),
        ("Mon Nov 30 10:00 KST 2026", "2026-11-30T10:00:00+09:00"),
        # year-month-day, with and without times
        ("2026-11-30", "2026-11-30T00:00:00+09:00"),
        ("2026-11-30 14:30", "2026-11-30T14:30:00+09:00"),
        ("2026-11-30 14:30:05", "2026-11-30T14:30:05+09:00"),
        ("2026-11-30 14:30:00.0", "2026-11-30T14:30:00+09:00"),  # an Oracle TIMESTAMP printed as is
        ("2026-11-30T14:30:00+09:00", "2026-11-30T14:30:00+09:00"),
        ("2026-11-30T05:30:00Z", "2026-11-30T14:30:00+09:00"),
        ("2026-11-30 14:30 KST", "2026-11-30T14:30:00+09:00"),
        ("2026.11.30.", "2026-11-30T00:00:00+09:00"),
        ("2026. 11. 30.", "2026-11-30T00:00:00+09:00"),
        ("2026/11/30", "2026-11-30T00:00:00+09:00"),
        ("2026.11.30(월)", "2026-11-30T00:00:00+09:00"),
        ("2026.11.30 (월) 14:30", "2026-11-30T14:30:00+09:00"),
        ("2026-11-30 오후 2:30", "2026-11-30T14:30:00+09:00"),
        ("2026-11-30 오전 12:10", "2026-11-30T00:10:00+09:00"),
        ("2026-11-30 PM 2:30", "2026-11-30T14:30:00+09:00"),
        ("2026년 11월 30일", "2026-11-30T00:00:00+09:00"),
        ("2026년 11월 30일 월요일", "2026-11-30T00:00:00+09:00"),
        ("2026년 11월 30일 오후 2시", "2026-11-30T14:00:00+09:00"),
        ("2026년 11월 30일 오후 2시 30분", "2026-11-30T14:30:00+09:00"),
        ("2026년 11월 30일 14시 30분", "2026-11-30T14:30:00+09:00"),
        # compact and US
        ("20261130", "2026-11-30T00:00:00+09:00"),
        ("202611301430", "2026-11-30T14:30:00+09:00"),
        ("20261130143005", "2026-11-30T14:30:05+09:00"),
        ("11/30/2026", "2026-11-30T00:00:00+09:00"),
        ("11/30/2026 14:30", "2026-11-30T14:30:00+09:00"),
    ],
)
def test_every_registered_spelling_parses_as_korea_time(raw: str, expected: str) -> None:
    parsed = parse_datetime(raw)
    assert parsed is not None, raw
    assert parsed.isoformat() == expected
    assert parsed.utcoffset() == timedelta(hours=9)  # always handed back in Asia/Seoul


@pytest.mark.parametrize(
    "raw",
    [
        # zone words nobody can read without guessing (feedparser guesses US zones)
        "Mon, 30 Nov 2026 10:00:00 PST",
        "Mon, 30 Nov 2026 10:00:00 JST",
        "Mon, 30 Nov 2026 10:00:00 CEST",
        "Mon Nov 30 10:00:00 PST 2026",
        "Mon Nov 30 10:00:00 EST 2026",
        # no year: never filled from today
        "11월 30일",
        "11월 30일 오후 2시",
        "11.30",
        "11/30",
        "30 Nov",
        "Mon, 30 Nov 10:00:00 KST",
        "Mon Nov 30 10:00:00 KST",
        "Nov 30 10:00",
        # no day or month
        "2026년 11월",
        "2026-11",
        "202611",
        # dates and times that do not exist
        "2026-02-30",
        "2026.13.01",
        "20261131",
        "11/31/2026",
        "Mon, 31 Nov 2026 10:00:00 KST",
        "2026-11-30 25:00",
        "2026-11-30 14:61",
        "2026-11-30T14:30:00+25:00",
        # not a month, not a year
        "Mon Foo 30 10:00:00 KST 2026",
        "30 Novem 2026",
        "Mon, 30 Nov 202 10:00",
        "2026년 11월 말",
    ],
)
def test_the_registry_refuses_what_it_would_have_to_guess(raw: str) -> None:
    assert parse_datetime(raw) is None


def test_a_registered_handler_is_tried_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text, "DATE_HANDLERS", list(DATE_HANDLERS))
    assert parse_datetime("단기 4359년 11월 30일") is None

    def dangi(s: str) -> datetime | None:  # the Korean era count: year - 2333
        m = re.fullmatch(r"단기 (\d{4})년 (\d{1,2})월 (\d{1,2})일", s)
        return datetime(int(m[1]) - 2333, int(m[2]), int(m[3]), tzinfo=text.SEOUL) if m else None

    register_date_handler(dangi)
    assert text.DATE_HANDLERS[0] is dangi
    assert parse_datetime("단기 4359년 11월 30일") == datetime(2026, 11, 30, tzinfo=text.SEOUL)
    assert parse_datetime("2026-11-30") == datetime(2026, 11, 30, tzinfo=text.SEOUL)  # the others still


# --- plain_text: what a reader sees of a title -------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "plain"),
    [
        ("<b>협동</b>조합 기본법", "협동조합 기본법"),
        ("&amp;quot;협동조합 기본법&amp;quot;&amp;nbsp;개정", '"협동조합 기본법" 개정'),
        ("&lt;b&gt;협동조합&lt;/b&gt; 기본법", "협동조합 기본법"),
        ("&#39;협동조합&#x27; 설명회", "'협동조합' 설명회"),
        ("사회적경제 R&D 지원", "사회적경제 R&D 지원"),
        ("<p>첫째</p><p>둘째</p>", "첫째 둘째"),
        ("제목<BR/>부제", "제목 부제"),
        ("<font color=red>긴급</font> 공지<o:p></o:p>", "긴급 공지"),
        ("<script>if (a<b) go()</script>제목", "제목"),
        ("  a \n\t b\xa0c  ", "a b c"),
        # brackets that are text: a name quoted in them, comparisons
        ("<ESG 경영 세미나> 개최 안내", "<ESG 경영 세미나> 개최 안내"),
        ("<b>협동조합</b> <SE 포럼> 안내", "협동조합 <SE 포럼> 안내"),
        ("소득 <100만원 가구", "소득 <100만원 가구"),
        ("A<B 그리고 C>D", "A<B 그리고 C>D"),
        ("", ""),
        (None, ""),
    ],
)
def test_plain_text_is_what_a_reader_sees(raw: str | None, plain: str) -> None:
    assert plain_text(raw) == plain


def test_parse_stamp_reads_the_stores_own_stamps_and_falls_back_to_the_registry() -> None:
    from monitor.text import iso, parse_stamp

    moment = datetime(2026, 11, 30, 14, 30, tzinfo=text.SEOUL)
    assert parse_stamp(iso(moment)) == moment
    assert parse_stamp("2026-11-30T05:30:00+00:00") == moment  # another offset, same instant
    assert parse_stamp("2026-11-30T05:30:00+00:00").utcoffset() == timedelta(hours=9)  # type: ignore[union-attr]
    assert parse_stamp("2026-11-30 14:30") == moment  # no zone: Korea time, as parse_datetime reads it
    assert parse_stamp("Mon, 30 Nov 2026 14:30:00 +0900") == moment
    assert parse_stamp(None) is None and parse_stamp("") is None and parse_stamp("어제") is None
