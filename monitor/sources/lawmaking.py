"""국민참여입법센터 (opinion.lawmaking.go.kr): 정부 입법예고 and 행정예고.

Without a key the HTML lists are read (`url`, query string included: without `isOgYn=Y&opYn=Y`
the 입법예고 list is empty); with env LAWMAKING_OC the REST API (`/rest/ogLmPp`,
`/rest/ptcpAdmPp`), which adds 공고번호. Both give the same keys (ogLmPpSeq / ogAdmPpSeq), so
switching modes never duplicates an item. Formats and traps: ../shared/sources/MINISTRIES.md §2.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from monitor.config import SourceConfig
from monitor.errors import ApiError, EmptyResult, FetchError, ParseError
from monitor.http import decode_body, with_query
from monitor.sources.base import Batch, Item, Kind, PollContext, note_unreadable
from monitor.sources.xmlbody import MalformedXml, child_text, parse_xml
from monitor.text import clean_whitespace, find_dates, parse_date, start_of_day

OC_ENV = "LAWMAKING_OC"

# The 제·개정 badge (span.ogmark_2) says 일부 / 전부 / 제정 / 폐지; the REST list has no badge,
# so the same words are read from the title there.
_AMENDMENTS = (("전부개정", "전부"), ("일부개정", "일부"), ("제정", "제정"), ("폐지", "폐지"),
               ("개정", "일부"))  # fmt: skip
_BADGE_WORDS = {"일부", "전부", "제정", "폐지", "일부개정", "전부개정"}
_STATUSES = ("진행", "종료", "마감", "예정", "완료")
_STATUS_PREFIX = re.compile(rf"^\s*\[(?P<status>{'|'.join(_STATUSES)})\]\s*")


class LawmakingOptions(BaseModel):
    """Options of `lawmaking_notices` and `lawmaking_admin_notices`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # auto: the REST API when LAWMAKING_OC is set, else the HTML list; html: always the list
    mode: Literal["auto", "html"] = "auto"
    # the REST endpoint; default: /rest/ogLmPp or /rest/ptcpAdmPp on the host of `url`
    api_url: str | None = Field(None, pattern=r"^https?://")
    api_params: dict[str, str] = Field(default_factory=dict)  # REST filters, e.g. {"cptOfiOrgCd": "1352000"}
    page_size: int = Field(50, ge=1, le=100)  # REST rows per call
    max_pages: int = Field(5, ge=1, le=50)  # pages per poll (HTML or REST)
    # a REST list of 100 rows takes 8–25 s or more (MINISTRIES.md §2.2): wait generously
    api_timeout: float = Field(90.0, gt=0)
    page_delay: float = Field(1.5, ge=0)  # seconds between two REST pages
    api_retries: int = Field(3, ge=0, le=10)  # tries again after a 401 (throttling) before giving up


@dataclass(frozen=True)
class Spec:
    """What differs between 입법예고 and 행정예고."""

    name: str
    label: str  # 입법예고 / 행정예고
    # the detail link in a list row, group 1 = seq; `;jsessionid=…` may follow the seq (servlet
    # URL rewriting when a visit has no cookie), which sources/clean.py strips from the URL
    html_link: re.Pattern[str]
    api_path: str
    api_row: str  # ApiList04Vo / ApiList05Vo
    seq_tag: str
    title_tag: str
    columns: tuple[str, ...]  # column labels when the page labels none


NOTICES = Spec(
    "lawmaking_notices", "입법예고", re.compile(r"/gcom/ogLmPp/(\d+)(?:[?#;]|$)"), "/rest/ogLmPp",
    "ApiList04Vo", "ogLmPpSeq", "lsNm",
    ("번호", "법령 제명", "소관부처(법령종류)", "법령분야", "입법의견 접수기간", "남은 기간",
     "의견수", "조회수"),
)  # fmt: skip
ADMIN = Spec(
    "lawmaking_admin_notices", "행정예고", re.compile(r"/gcom/admpp/(\d+)(?:[?#;]|$)"), "/rest/ptcpAdmPp",
    "ApiList05Vo", "ogAdmPpSeq", "admRulNm",
    ("번호", "제목", "예고구분", "소관부처(고시번호)", "예고기간", "남은일수"),
)  # fmt: skip


class Refused(ApiError):
    """retMsg 401: the OC is not approved, or the API is throttling (it says the same for both)."""


# --- titles and cells (pure) ------------------------------------------------------------------


def clean_title(raw: str) -> tuple[str, str | None]:
    """Strip the `[진행]` status prefix; returns (title, status)."""
    title = clean_whitespace(raw)
    m = _STATUS_PREFIX.match(title)
    if not m:
        return title, None
    return title[m.end() :].strip(), m.group("status")


def amendment_from_title(title: str) -> str | None:
    """The 제·개정 type a title names (`…일부개정령안 입법예고` → 일부), in the badge's words."""
    compact = title.replace(" ", "")
    for word, badge in _AMENDMENTS:
        if word in compact:
            return badge
    return None


def _badge(word: str) -> str | None:
    word = clean_whitespace(word)
    if word not in _BADGE_WORDS:
        return None
    return {"일부개정": "일부", "전부개정": "전부"}.get(word, word)


def notice_number(text: str) -> str | None:
    """`소방청공고 제2026-138호` or `(2026-138)` → 2026-138; None without a number."""
    m = re.search(r"(\d{4}\s*-\s*\d+)", text)
    return m.group(1).replace(" ", "") if m else None


def _split_ministry(cell: Tag) -> tuple[str, list[str]]:
    """`<p>산림청</p><p>(대통령령)</p>` → ("산림청", ["대통령령"])."""
    text = clean_whitespace(cell.get_text(" "))
    inner = [clean_whitespace(x) for x in re.findall(r"\(([^()]*)\)", text)]
    outer = clean_whitespace(re.sub(r"\([^()]*\)", " ", text))
    return outer, [x for x in inner if x]


def _labels(table: Tag | None, spec: Spec) -> list[str]:
    heads = [clean_whitespace(th.get_text(" ")) for th in table.select("thead th")] if table else []
    return heads or list(spec.columns)


def _row_fields(tr: Tag, labels: list[str], title_cell: Tag | None) -> dict[str, Any]:
    """Read the labelled cells of one list row into fields."""
    fields: dict[str, Any] = {}
    for i, td in enumerate(tr.find_all("td", recursive=False)):
        label = (td.get("data-th") or (labels[i] if i < len(labels) else "")).replace(" ", "")
        if td is title_cell:
            continue
        if "소관부처" in label or label in ("기관", "부처"):
            ministry, extra = _split_ministry(td)
            fields["ministry"] = ministry
            for part in extra:
                if "번호" in label or notice_number(part):
                    fields["notice_no"] = notice_number(part) or part
                else:
                    fields["law_kind"] = part
        elif "기간" in label and "남은" not in label:
            text = clean_whitespace(td.get_text(" "))
            dates = find_dates(text)
            if dates:
                fields["period_start"] = dates[0].isoformat()
                fields["deadline"] = dates[-1].isoformat()
            elif text:  # taken out by parse_list_html: the raw text an unreadable-date warning names
                fields["_period_raw"] = text
        elif "법령분야" in label:
            area = clean_whitespace(td.get_text(" "))
            if area:
                fields["law_area"] = area
        elif "구분" in label or "법령종류" in label or "행정규칙" in label:
            value = clean_whitespace(td.get_text(" "))
            if _badge(value):
                fields["amendment_type"] = _badge(value)
            elif value:
                fields["law_kind"] = value
    return fields


def parse_list_html(html: str, page_url: str, spec: Spec) -> list[Item]:
    """Turn a 입법예고 / 행정예고 list page into items (rows without a detail link are skipped).

    Links resolve against the page's `<base href>` when it has one, else `page_url` (the URL the
    page came from after redirects). A period cell with no readable date leaves its text in
    `published_raw`, so the run warns with it.
    """
    soup = BeautifulSoup(html, "lxml")
    base = soup.find("base", href=True)
    page_url = urljoin(page_url, str(base["href"]).strip()) if base is not None else page_url
    items: list[Item] = []
    for tr in soup.select("tr"):
        link = next((a for a in tr.select("a[href]") if spec.html_link.search(a["href"])), None)
        if link is None:
            continue
        seq = spec.html_link.search(link["href"]).group(1)  # type: ignore[union-attr]
        title_cell = link.find_parent("td")
        badges = title_cell.select('span[class*="ogmark"]') if title_cell else []
        amendment = next((b for b in (_badge(s.get_text()) for s in badges) if b), None)
        inside = link.select('span[class*="ogmark"], .sr_only, .blind')
        for span in inside:
            span.extract()  # a 진행 badge or 새글 inside the link is not part of the title
        title, status = clean_title(link.get_text(" "))
        words = [clean_whitespace(s.get_text()) for s in inside]
        status = status or next((w for w in words if w in _STATUSES), None)
        fields = _row_fields(tr, _labels(tr.find_parent("table"), spec), title_cell)
        period_raw = fields.pop("_period_raw", None)
        fields["amendment_type"] = amendment or fields.get("amendment_type") or amendment_from_title(title)
        if status:
            fields["status"] = status
        start = parse_date(fields.get("period_start"))
        items.append(
            Item(
                key=seq,
                title=title,
                url=urljoin(page_url, link["href"]),
                published_at=start_of_day(start) if start else None,
                published_raw=fields.get("period_start") or period_raw,
                fields={k: v for k, v in fields.items() if v not in (None, "")},
            )
        )
    return items


# --- the REST API (pure) ----------------------------------------------------------------------


@dataclass
class ApiPage:
    """One REST page: its items and the total the API reports."""

    items: list[Item]
    total: int | None


def _detail_url(spec: Spec, origin: str, row: Any) -> str:
    seq = child_text(row, spec.seq_tag)
    if spec is ADMIN:
        query = urlencode(
            {"announceType": child_text(row, "announceType") or "TYPE6",
             "mappingAdmRulSeq": child_text(row, "mappingAdmRulSeq")}
        )  # fmt: skip
        return f"{origin}/gcom/admpp/{seq}?{query}"
    return f"{origin}/gcom/ogLmPp/{seq}"


# The fields a list row needs; enough to rebuild a row from a malformed body.
_API_TAGS = ("ogLmPpSeq", "ogAdmPpSeq", "lsNm", "admRulNm", "lsClsNm", "asndOfiNm", "pntcNo",
             "pntcDt", "stYd", "edYd", "lmTpNm", "FileName", "FileDownLink", "announceType",
             "mappingAdmRulSeq")  # fmt: skip


_NOT_XML_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def salvage_api(content: bytes, spec: Spec) -> etree._Element:
    """Rebuild a REST list from a malformed body, field by field with regular expressions.

    Body HTML (`lmPpCts`) outside CDATA can break the XML (MINISTRIES.md §2.2); an XML parser
    that recovers then nests the following fields inside the fragment and loses them.
    """
    text = content.decode("utf-8", errors="replace")
    root = etree.Element("result")

    def value(block: str, tag: str) -> list[str]:
        found = re.findall(rf"<{tag}>\s*(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?\s*</{tag}>", block, re.S)
        # control characters (a NUL in a broken body) cannot be element text: lxml raises ValueError
        return [_NOT_XML_TEXT.sub("", html.unescape(v)) for v in found]

    for tag in ("retMsg", "totalCnt"):
        etree.SubElement(root, tag).text = (value(text, tag) or [""])[0]
    rows = etree.SubElement(root, "list")
    for block in re.findall(rf"<{spec.api_row}>(.*?)</{spec.api_row}>", text, re.S):
        row = etree.SubElement(rows, spec.api_row)
        for tag in _API_TAGS:
            for v in value(block, tag):
                etree.SubElement(row, tag).text = v
    return root


def parse_api(content: bytes, spec: Spec, origin: str) -> ApiPage:
    """Parse a REST list (`<result><retMsg>200</retMsg>…<list><ApiList04Vo>…`); 401 raises Refused."""
    try:
        root = parse_xml(content, f"{spec.label} API", recover=False)
    except MalformedXml:
        root = salvage_api(content, spec)
    code = child_text(root, "retMsg")
    if code == "401":
        raise Refused("401", "국민참여입법센터 API가 요청을 거절했습니다 (OC 미승인 또는 일시적 제한)")
    if root.tag != "result" or not code:
        raise ParseError(f"{spec.label} API: expected <result><retMsg>, got <{root.tag}>")
    if code != "200":
        raise ApiError(code, f"국민참여입법센터 {spec.label} API answered retMsg {code}")
    items = []
    for row in root.iter(spec.api_row):
        seq = child_text(row, spec.seq_tag)
        if not seq:
            continue
        title, status = clean_title(child_text(row, spec.title_tag))
        start, end = parse_date(child_text(row, "stYd")), parse_date(child_text(row, "edYd"))
        posted_raw = child_text(row, "pntcDt") or child_text(row, "stYd")
        posted = parse_date(posted_raw)
        names = [n.text or "" for n in row.findall("FileName")]
        links = [n.text or "" for n in row.findall("FileDownLink")]
        fields: dict[str, Any] = {
            "ministry": child_text(row, "asndOfiNm"),
            "law_kind": child_text(row, "lsClsNm"),
            "notice_no": child_text(row, "pntcNo"),
            "period_start": start.isoformat() if start else None,
            "deadline": end.isoformat() if end else None,
            "amendment_type": _badge(child_text(row, "lmTpNm")) or amendment_from_title(title),
            "status": status,
            "files": [
                {"name": clean_whitespace(n), "url": u.strip()} for n, u in zip(names, links, strict=False)
            ],
        }
        if start is None:
            note_unreadable(fields, "period_start", child_text(row, "stYd"))
        if end is None:  # the 의견마감 a digest counts down to
            note_unreadable(fields, "deadline", child_text(row, "edYd"))
        items.append(
            Item(
                key=seq,
                title=title,
                url=_detail_url(spec, origin, row),
                published_at=start_of_day(posted) if posted else None,
                published_raw=posted_raw or None,
                fields={k: v for k, v in fields.items() if v not in (None, "", [])},
            )
        )
    total = child_text(root, "totalCnt")
    return ApiPage(items, int(total) if total.isdigit() else None)


# --- polling ----------------------------------------------------------------------------------


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _fresh(ctx: PollContext, page: list[Item], items: dict[str, Item]) -> tuple[int, bool]:
    """Add a page's items; returns (how many were new to this poll, whether all were stored unchanged)."""
    added, unchanged = 0, 0
    for item in page:
        stored = ctx.stored(item.key)
        unchanged += stored is not None and stored.record_hash == item.record_hash()
        if item.key not in items:
            items[item.key] = item
            added += 1
    return added, bool(page) and unchanged == len(page)


def _poll_html(ctx: PollContext, spec: Spec, items: dict[str, Item], warnings: list[str]) -> None:
    options: LawmakingOptions = ctx.options
    first_size = 0
    for page_no in range(1, options.max_pages + 1):
        url = ctx.source.url if page_no == 1 else with_query(ctx.source.url, pageIndex=page_no)
        try:
            resp = ctx.client.get(
                url, headers=ctx.source.headers, read_timeout=ctx.source.read_timeout,
                ignore_robots=ctx.source.ignore_robots,
            )  # fmt: skip
        except FetchError as e:
            if page_no == 1:
                raise
            # the newest rows are on page 1, already read: keep them and say what is missing
            warnings.append(f"page {page_no} of the {spec.label} list could not be read ({e})")
            return
        page = parse_list_html(decode_body(resp.content, resp.headers), resp.url, spec)
        first_size = first_size or len(page)
        added, known = _fresh(ctx, page, items)
        # stop at an empty or repeated page (a server that ignores pageIndex), a short page,
        # or a page we already hold unchanged
        if not added or len(page) < first_size or known:
            return


def _api_page(ctx: PollContext, spec: Spec, oc: str, page_no: int) -> ApiPage:
    options: LawmakingOptions = ctx.options
    api_url = options.api_url or _origin(ctx.source.url) + spec.api_path
    params = {**options.api_params, "pageIndex": page_no, "pageSize": options.page_size, "OC": oc}
    for attempt in range(options.api_retries + 1):
        # the OC goes in params: the client's errors name the URL without its query string
        resp = ctx.client.get(
            api_url, params=params, headers=ctx.source.headers,
            read_timeout=max(options.api_timeout, ctx.source.read_timeout or 0),
            ignore_robots=ctx.source.ignore_robots, retry_on=frozenset({401}),
        )  # fmt: skip
        try:
            return parse_api(resp.content, spec, _origin(ctx.source.url))
        except Refused:
            if attempt == options.api_retries:
                raise
            ctx.client.sleep(ctx.client.config.backoff * 2**attempt)  # intermittent throttling
    raise AssertionError("unreachable")  # pragma: no cover


def _poll_api(ctx: PollContext, spec: Spec, oc: str, items: dict[str, Item]) -> None:
    options: LawmakingOptions = ctx.options
    for page_no in range(1, options.max_pages + 1):
        if page_no > 1 and options.page_delay:
            ctx.client.sleep(options.page_delay)
        page = _api_page(ctx, spec, oc, page_no)
        added, known = _fresh(ctx, page.items, items)
        done = page.total is not None and page_no * options.page_size >= page.total
        if not added or len(page.items) < options.page_size or done or known:
            return


def check(source: SourceConfig, options: Any) -> list[str]:
    """Warn when the 입법예고 list URL lacks the query string it needs."""
    html = options.mode == "html" or not os.environ.get(OC_ENV)
    if html and "/gcom/ogLmPp" in source.url and "?" not in source.url:
        return ["url 에 검색 조건이 없습니다: 입법예고 목록은 '?isOgYn=Y&opYn=Y' 없이는 비어 있습니다"]
    return []


def _poll(ctx: PollContext, spec: Spec) -> Batch:
    options: LawmakingOptions = ctx.options
    warnings = check(ctx.source, options)
    items: dict[str, Item] = {}
    oc = os.environ.get(OC_ENV)
    if oc and options.mode == "auto":
        try:
            _poll_api(ctx, spec, oc, items)
        except FetchError as e:  # Refused (retMsg 401) is one too
            if not isinstance(e, Refused) and e.status != 401:
                raise
            # still refused after the retries (unapproved OC or throttling): the HTML list has
            # the same items under the same keys, without 공고번호
            warnings.append(f"{spec.label} REST API refused the request ({e}); read the HTML list instead")
            items.clear()
            _poll_html(ctx, spec, items, warnings)
    else:
        _poll_html(ctx, spec, items, warnings)
    if not items and not ctx.source.allow_empty:
        raise EmptyResult(
            f"the {spec.label} list has no rows; check that `url` keeps its query string "
            "(set 'allow_empty: true' if an empty list is normal for this filter)"
        )
    return Batch(list(items.values()), http_status=200, warnings=warnings)


def poll_notices(ctx: PollContext) -> Batch:
    """Poll 정부 입법예고 (HTML list, or /rest/ogLmPp with LAWMAKING_OC)."""
    return _poll(ctx, NOTICES)


def poll_admin_notices(ctx: PollContext) -> Batch:
    """Poll 행정예고 (HTML list, or /rest/ptcpAdmPp with LAWMAKING_OC)."""
    return _poll(ctx, ADMIN)


NOTICES_KIND = Kind(
    "lawmaking_notices", LawmakingOptions, poll_notices, "정부 입법예고 (국민참여입법센터)", check
)
ADMIN_KIND = Kind(
    "lawmaking_admin_notices", LawmakingOptions, poll_admin_notices, "행정예고 (국민참여입법센터)", check
)
