"""Korean normalisation and strict date parsing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from monitor.text import display_width, fold, normalize, pad, parse_date, parse_datetime, parse_duration


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
