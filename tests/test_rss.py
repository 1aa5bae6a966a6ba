"""The rss kind: fixture feeds in the shapes ministries publish."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.errors import ParseError
from monitor.sources.base import Batch
from monitor.sources.clean import clean_batch
from monitor.sources.rss import RssOptions, parse_feed

RSS = Path(__file__).parent / "fixtures" / "rss"


def read(body: bytes, headers: dict[str, str] | None = None, **options: object):  # type: ignore[no-untyped-def]
    """Parse a feed and clean it the way every poll does (sources/clean.py)."""
    items, warnings = parse_feed(body, headers or {}, RssOptions.model_validate(options))
    batch = Batch(items, warnings=warnings)
    clean_batch(batch, None, lambda key: None)
    return batch.items, batch.warnings


def parse(name: str, headers: dict[str, str] | None = None, **options: object):  # type: ignore[no-untyped-def]
    return read((RSS / name).read_bytes(), headers, **options)


def test_mois_feed_with_literal_kst_dates() -> None:
    items, warnings = parse("mois_press.xml")
    assert warnings == []
    assert [i.title for i in items] == [
        "2026년 신규 마을기업 156곳 선정…지역 일자리 1,200개 창출 기대",
        "사회연대경제기업 공공구매 상담회 개최",
        "마을버스 안전점검 실시",
    ]
    first = items[0]
    assert first.published_at is not None and first.published_at.isoformat() == "2026-09-14T10:00:00+09:00"
    assert first.published_raw == "Mon, 14 Sep 2026 10:00:00 KST"
    assert first.key.endswith("nttId=120451")  # the guid
    assert (
        first.summary.startswith("행정안전부는 2026년 신규 마을기업 156곳을") and "<p>" not in first.summary
    )


def test_mofe_links_are_rewritten_to_https() -> None:
    items, _ = parse("mofe_press.xml", link_rewrite={"http://www.mofe.go.kr/": "https://www.mofe.go.kr/"})
    assert all(i.url and i.url.startswith("https://www.mofe.go.kr/nw/nes/detailNesDtaView.do") for i in items)
    assert items[0].fields["author"] == "협동조합과"
    # no guid: the key falls back to the link, in its canonical form (scheme folded: an http→https
    # move of the same post is the same key, issue 17.4)
    assert items[0].key == items[0].url


def test_compact_dates_of_mss() -> None:
    items, _ = parse("mss_board.xml")
    assert items[0].published_at is not None
    assert items[0].published_at.isoformat() == "2026-10-02T15:25:50+09:00"


@pytest.mark.parametrize(
    "headers", [{}, {"Content-Type": "text/xml; charset=EUC-KR"}, {"Content-Type": "text/xml"}]
)
def test_euc_kr_feed_with_cp949_only_syllables(headers: dict[str, str]) -> None:
    items, warnings = parse("mohw_press_euckr.xml", headers)
    assert items[0].title == "사회서비스원 설립 지원 확대… 똠방각하 설명회 개최"
    assert items[0].key == "1482901"
    assert warnings == []
    assert (
        items[1].published_at is not None and items[1].published_at.isoformat() == "2026-09-07T15:00:00+09:00"
    )


def test_bare_ampersands_are_text_not_a_broken_feed() -> None:
    # `&` that starts no entity is escaped before parsing (cases/real-world 01): no `R&D;`
    items, warnings = parse("broken_entities.xml")
    assert [i.title for i in items] == ["2026년 지역사회서비스투자사업 안내 & 사업지침 배포"]
    assert items[0].url == "https://www.mohw.go.kr/board.es?mid=a10501010000&bid=0003&act=view&list_no=372001"
    assert warnings == []


def test_bozo_feed_with_entries_is_kept_with_a_warning() -> None:
    items, warnings = parse("broken_tags.xml")
    assert len(items) == 1 and "지역사회서비스투자사업" in items[0].title
    assert warnings and "not well-formed" in warnings[0]


def test_html_error_page_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="got an HTML page \\('서비스 점검 안내'\\)"):
        parse("not_a_feed.html")


@pytest.mark.parametrize(
    "garbage", [b"", b"\x00\xff\xfe garbage", b'{"json": true}', b"<root><a>1</a></root>"]
)
def test_garbage_is_a_parse_error(garbage: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(garbage, {})


def test_empty_channel_parses_to_no_items() -> None:
    items, _ = parse("empty_channel.xml")
    assert items == []


def test_items_without_guid_or_link_get_a_stable_hash_key() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>\xea\xb3\xb5\xec\xa7\x80</title><pubDate>2026-09-01</pubDate></item></channel></rss>"
    )
    (a,), _ = parse_feed(body, {})
    (b,), _ = parse_feed(body, {})
    assert a.key == b.key and a.key.startswith("h:")


def test_a_date_feedparser_would_guess_is_refused() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>x</title><link>https://a.kr/1</link><pubDate>14 Sep</pubDate></item></channel></rss>"
    )
    (item,), warnings = read(body)
    assert item.published_at is None and item.published_raw == "14 Sep"
    assert any("unreadable date" in w for w in warnings)
