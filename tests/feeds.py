"""Build RSS 2.0 documents in the shape of the ministry feeds in fixtures/rss/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from xml.sax.saxutils import escape

from monitor.text import now


@dataclass
class Entry:
    """One <item> of a generated feed."""

    nid: int
    title: str
    description: str = ""
    published: datetime | None = None

    @property
    def link(self) -> str:
        return (
            "https://www.mois.go.kr/frt/bbs/type010/commonSelectBoardArticle.do"
            f"?bbsId=BBSMSTR_000000000008&nttId={self.nid}"
        )


def kst(dt: datetime) -> str:
    """Format a date the way 행정안전부's feed does: RFC 822 with a literal KST."""
    return dt.strftime("%a, %d %b %Y %H:%M:%S KST")


def feed(entries: list[Entry], title: str = "행정안전부 보도자료") -> bytes:
    """An RSS 2.0 feed with the given entries (newest first, as ministries list them)."""
    items = []
    for e in entries:
        when = e.published or now() - timedelta(hours=1)
        items.append(
            "<item>\n"
            f"<title><![CDATA[{e.title}]]></title>\n"
            f"<link>{escape(e.link)}</link>\n"
            f"<description><![CDATA[<p>{e.description}</p>]]></description>\n"
            f"<pubDate>{kst(when)}</pubDate>\n"
            f"<guid>{escape(e.link)}</guid>\n"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n<channel>\n'
        f"<title>{title}</title>\n<link>https://www.mois.go.kr/</link>\n"
        f"<description>{title} RSS</description>\n" + "\n".join(items) + "\n</channel>\n</rss>\n"
    ).encode("utf-8")
