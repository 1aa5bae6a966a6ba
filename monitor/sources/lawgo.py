"""국가법령정보센터 (law.go.kr DRF): newly promulgated and amended laws, day by day.

`lawSearch.do?target=lsHstInf&regDt=YYYYMMDD&type=XML` lists the law versions loaded on a day.
`regDt` is the load date, so an old 연혁 row can come back and one 법령일련번호 can appear on
several days: items are keyed on 법령일련번호. An unregistered OC gets HTTP 200 with the body
`사용자 정보 검증에 실패하였습니다.`: a failed run, not an empty one. MINISTRIES.md §3.
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
from monitor.text import now, parse_date, start_of_day

OC_ENV = "LAW_GO_KR_OC"
# 법령상세링크 in the response carries our OC (`/DRF/lawService.do?OC=…`): never store it; link
# to the public page of the version instead.
DETAIL_URL = "https://www.law.go.kr/lsInfoP.do?lsiSeq={mst}"
USER_CHECK_FAILED = "검증에 실패"
# The answer names no cause; these are the three that callers of the OPEN API report, with the fix.
USER_CHECK_MESSAGE = (
    "국가법령정보센터가 '사용자 정보 검증에 실패하였습니다'라고 답했습니다. 흔한 원인: "
    "(1) LAW_GO_KR_OC 의 OC가 OPEN API 사용 승인을 받지 않았음 → open.law.go.kr 에서 신청·승인 확인; "
    "(2) 이 서버의 IP 또는 도메인이 등록되지 않았음 → "
    "open.law.go.kr 의 OPEN API 신청 정보에 서버 IP/도메인 등록; "
    "(3) 요청에 law.go.kr 의 Referer 가 없음 → sources.yaml 의 이 소스에 "
    "headers: {Referer: \"https://www.law.go.kr/\"} 추가 "
    "(the OC is not approved, the server IP/domain is not registered, or the Referer header is missing)"
)


class LawChangesOptions(BaseModel):
    """Options of `law_changes`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str = "lsHstInf"
    days: int = Field(7, ge=1, le=31)  # regDt days read per poll: today and the days before it
    display: int = Field(100, ge=1, le=100)  # rows per page (the API's maximum is 100)
    max_pages: int = Field(10, ge=1, le=50)  # pages per day
    org: str | None = None  # 소관부처 code filter, e.g. "1053000" (재정경제부)
    # skip rows promulgated more than this many days before the day they were loaded (old 연혁
    # rows re-loaded); None keeps every row
    max_age_days: int | None = Field(None, ge=0)
    detail_url: str = Field(DETAIL_URL, pattern=r"^https?://")  # {mst} = 법령일련번호, {law_id} = 법령ID


def _iso(value: str) -> str | None:
    d = parse_date(value)
    return d.isoformat() if d else None


def law_item(row: Any, detail_url: str = DETAIL_URL) -> Item | None:
    """Turn one `<law>` element (or its `<법령정보>`) into an Item; None without 법령일련번호."""
    info = row.find("법령정보")
    row = info if info is not None else row
    mst = child_text(row, "법령일련번호")
    if not mst:
        return None
    law_id = child_text(row, "법령ID")
    promulgated = child_text(row, "공포일자")
    fields: dict[str, Any] = {
        "ministry": child_text(row, "소관부처명"),
        "ministry_code": child_text(row, "소관부처코드"),
        "law_kind": child_text(row, "법령구분명"),
        "law_id": law_id,
        "amendment_type": child_text(row, "제개정구분명") or child_text(row, "제개정구분"),
        "promulgated": _iso(promulgated),
        "promulgation_no": child_text(row, "공포번호"),
        "effective": _iso(child_text(row, "시행일자")),  # may lie in the future
        "status": child_text(row, "현행연혁코드"),
        "short_name": child_text(row, "법령약칭명"),
    }
    day = parse_date(promulgated)
    return Item(
        key=mst,
        title=child_text(row, "법령명한글"),
        url=detail_url.format(mst=mst, law_id=law_id),
        published_at=start_of_day(day) if day else None,
        published_raw=promulgated or None,
        fields={k: v for k, v in fields.items() if v not in (None, "")},
    )


def parse_law_search(content: bytes, detail_url: str = DETAIL_URL) -> tuple[list[Item], int | None]:
    """Parse a `lawSearch.do` XML answer into items and the reported total."""
    if USER_CHECK_FAILED.encode("utf-8") in content or USER_CHECK_FAILED.encode("cp949") in content:
        raise ApiError("OC", USER_CHECK_MESSAGE)
    root = parse_xml(content, "law.go.kr lawSearch")
    if root.tag != "LawSearch":
        raise ParseError(f"law.go.kr lawSearch: expected <LawSearch>, got <{root.tag}>")
    code = child_text(root, "resultCode")
    if code and code not in ("00", "0"):
        raise ApiError(code, child_text(root, "resultMsg") or "law.go.kr error")
    items = [item for row in root.iter("law") if (item := law_item(row, detail_url))]
    total = child_text(root, "totalCnt")
    return items, int(total) if total.isdigit() else None


def check(source: SourceConfig, options: Any) -> list[str]:
    """Warn before polling when LAW_GO_KR_OC is missing."""
    if os.environ.get(OC_ENV):
        return []
    return [f"{OC_ENV} 가 설정되지 않았습니다: 국가법령정보센터 API는 승인된 OC 없이 응답하지 않습니다"]


def _too_old(item: Item, loaded: date, max_age_days: int | None) -> bool:
    promulgated = parse_date(item.fields.get("promulgated"))
    if max_age_days is None or promulgated is None:
        return False
    return (loaded - promulgated).days > max_age_days


def poll(ctx: PollContext) -> Batch:
    """Read the change list of the last `days` days, newest day first, all pages of each."""
    options: LawChangesOptions = ctx.options
    oc = os.environ.get(OC_ENV)
    if not oc:
        raise FetchError(f"{OC_ENV} is not set: the 국가법령정보센터 API needs an approved OC (env {OC_ENV})")
    items: dict[str, Item] = {}
    today = now().date()
    for back in range(options.days):
        day = today - timedelta(days=back)
        previous: list[str] = []
        for page_no in range(1, options.max_pages + 1):
            params = {
                "target": options.target, "type": "XML", "regDt": day.strftime("%Y%m%d"),
                "display": options.display, "page": page_no, "OC": oc,
                **({"org": options.org} if options.org else {}),
            }  # fmt: skip
            # the OC goes in params: the client's errors name the URL without its query string
            resp = ctx.client.get(
                ctx.source.url, params=params, headers=ctx.source.headers,
                read_timeout=ctx.source.read_timeout, ignore_robots=ctx.source.ignore_robots,
            )  # fmt: skip
            page, total = parse_law_search(resp.content, options.detail_url)
            keys = [item.key for item in page]
            if keys and keys == previous:
                break  # a server that ignores `page` repeats the first one
            previous = keys
            for item in page:
                if item.key not in items and not _too_old(item, day, options.max_age_days):
                    items[item.key] = item
            if total is None or page_no * options.display >= total or len(page) < options.display:
                break
    if not items and not ctx.source.allow_empty:
        raise EmptyResult(
            f"no law changes were loaded in the last {options.days} days "
            "(set 'allow_empty: true' if that is normal)"
        )
    return Batch(list(items.values()), http_status=200)


KIND = Kind("law_changes", LawChangesOptions, poll, "국가법령정보센터 법령 제·개정 (lsHstInf)", check)
