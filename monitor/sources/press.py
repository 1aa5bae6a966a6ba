"""정책브리핑 보도자료 via data.go.kr (`1371000/pressReleaseService/pressReleaseList`).

korea.kr's own RSS feeds closed on 2026-07-01; this API replaces them. Windows of at most 3 days
(else THREE_DAYS_OVER_ERROR), XML only, `pageNo` reportedly ignored (so one large page per
window), the ministry name in `MinisterCode`, the release as HTML in `DataContents`.
MINISTRIES.md §1.4.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from monitor.config import SourceConfig
from monitor.errors import ApiError, EmptyResult, FetchError, ParseError
from monitor.sources.base import Batch, Item, Kind, PollContext
from monitor.sources.xmlbody import child_text, parse_xml
from monitor.text import now, parse_datetime, plain_text

KEY_ENV = "DATA_GO_KR_KEY"
WINDOW_DAYS = 3  # the API refuses longer windows
SUMMARY_CHARS = 600
_OK = {"0", "00"}
_NO_DATA = {"03", "NODATA_ERROR"}


class PressOptions(BaseModel):
    """Options of `press_releases`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lookback_days: int = Field(3, ge=1, le=30)  # read this many days back, in windows of ≤ 3 days
    num_of_rows: int = Field(1000, ge=1, le=10000)  # pageNo is ignored: ask for a large page
    ministries: list[str] = Field(default_factory=list)  # keep only these MinisterCode names; [] = all


def _error(root: Any) -> tuple[str, str] | None:
    """The (code, message) of an error envelope, None for a normal one."""
    if root.tag == "OpenAPI_ServiceResponse":  # the data.go.kr gateway's own envelope
        header = root.find("cmmMsgHeader")
        if header is None:
            return "?", "OpenAPI_ServiceResponse without cmmMsgHeader"
        code = child_text(header, "returnReasonCode") or "?"
        return code, child_text(header, "returnAuthMsg") or child_text(header, "errMsg")
    header = root.find("header")
    if header is None:
        return None
    code = child_text(header, "resultCode")
    return None if code in _OK else (code or "?", child_text(header, "resultMsg"))


def press_item(row: Any) -> Item | None:
    """Turn one `<NewsItem>` into an Item; None without NewsItemId."""
    news_id = child_text(row, "NewsItemId")
    if not news_id:
        return None
    text = plain_text(child_text(row, "DataContents"))
    subtitles = [plain_text(child_text(row, f"SubTitle{n}")) for n in (1, 2, 3)]
    lead = " ".join(s for s in subtitles if s)
    # rules read title and summary: the summary carries the subtitles and the start of the text
    summary = (lead + " " + text).strip() if lead else text
    if len(summary) > SUMMARY_CHARS:
        summary = summary[:SUMMARY_CHARS].rstrip() + "…"
    names = [n.text or "" for n in row.iter() if isinstance(n.tag, str) and n.tag.startswith("FileName")]
    urls = [n.text or "" for n in row.iter() if isinstance(n.tag, str) and n.tag.startswith("FileUrl")]
    approved_raw = child_text(row, "ApproveDate")
    modified = parse_datetime(child_text(row, "ModifyDate"))
    fields: dict[str, Any] = {
        "ministry": child_text(row, "MinisterCode"),  # the name, despite the tag (국토교통부 …)
        "subtitle": lead,
        "contents_status": child_text(row, "ContentsStatus"),  # I(nsert) / U(pdate)
        "modified": modified.isoformat() if modified else None,
        "grouping": child_text(row, "GroupingCode"),
        "files": [
            {"name": n.strip(), "url": u.strip()} for n, u in zip(names, urls, strict=False) if u.strip()
        ],
    }
    return Item(
        key=news_id,
        title=plain_text(child_text(row, "Title")),
        url=child_text(row, "OriginalUrl") or None,
        summary=summary,
        body=text,
        published_at=parse_datetime(approved_raw),
        published_raw=approved_raw or None,
        fields={k: v for k, v in fields.items() if v not in (None, "", [])},
    )


def parse_press(content: bytes) -> list[Item]:
    """Parse a pressReleaseList answer; an error code in the body raises ApiError."""
    root = parse_xml(content, "pressReleaseList")
    error = _error(root)
    if error is not None:
        code, message = error
        if code in _NO_DATA or message in _NO_DATA:
            return []
        raise ApiError(code, message or "data.go.kr error")
    if root.tag != "response":
        raise ParseError(f"pressReleaseList: expected <response>, got <{root.tag}>")
    return [item for row in root.iter("NewsItem") if (item := press_item(row))]


def windows(today: date, lookback_days: int) -> list[tuple[date, date]]:
    """Split the last `lookback_days` days (today included) into windows of at most 3 days."""
    out, end = [], today
    first = today - timedelta(days=lookback_days - 1)
    while end >= first:
        start = max(first, end - timedelta(days=WINDOW_DAYS - 1))
        out.append((start, end))
        end = start - timedelta(days=1)
    return out


def check(source: SourceConfig, options: Any) -> list[str]:
    """Warn before polling when DATA_GO_KR_KEY is missing."""
    if os.environ.get(KEY_ENV):
        return []
    return [f"{KEY_ENV} 가 설정되지 않았습니다: 공공데이터포털 API는 서비스키 없이 응답하지 않습니다"]


def poll(ctx: PollContext) -> Batch:
    """Read the last `lookback_days` days of press releases, one ≤ 3-day window per call."""
    options: PressOptions = ctx.options
    key = os.environ.get(KEY_ENV)
    if not key:
        raise FetchError(f"{KEY_ENV} is not set: the data.go.kr API needs a service key (env {KEY_ENV})")
    items: dict[str, Item] = {}
    listed = 0  # rows before the `ministries` filter: a quiet ministry is not a broken source
    for start, end in windows(now().date(), options.lookback_days):
        # the decoded key goes in params (encoded once, kept out of error messages)
        params = {
            "serviceKey": key, "startDate": start.strftime("%Y%m%d"), "endDate": end.strftime("%Y%m%d"),
            "pageNo": 1, "numOfRows": options.num_of_rows,
        }  # fmt: skip
        resp = ctx.client.get(
            ctx.source.url, params=params, headers=ctx.source.headers,
            read_timeout=ctx.source.read_timeout, ignore_robots=ctx.source.ignore_robots,
        )  # fmt: skip
        page = parse_press(resp.content)
        listed += len(page)
        for item in page:
            if options.ministries and item.fields.get("ministry") not in options.ministries:
                continue
            items.setdefault(item.key, item)
    if not listed and not ctx.source.allow_empty:
        raise EmptyResult(
            f"no press releases in the last {options.lookback_days} days "
            "(set 'allow_empty: true' if that is normal)"
        )
    return Batch(list(items.values()), http_status=200)


KIND = Kind("press_releases", PressOptions, poll, "정책브리핑 보도자료 (data.go.kr pressReleaseList)", check)
