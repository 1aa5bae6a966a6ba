"""Ministry and agency boards declared entirely in sources.yaml: CSS selectors, an id regex, a URL template.

Staff add a board without code (README "게시판 소스 (html_board)"). What the boards do that this
handles (MINISTRIES.md §4–5): JavaScript links (`fView('14595')`, `fn_egov_select('MOSF_…')`,
`scEventListener.fnView('…')`), pinned 공지 rows repeated on every page, `[공고]` / `새글` /
whitespace in titles, titles cut with `...`, EUC-KR pages, several date spellings. A board whose
selectors suddenly find nothing is a failed run, never a quiet success.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import soupsieve
from bs4 import BeautifulSoup, Tag
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from monitor.errors import EmptyResult, FetchError, ParseError
from monitor.http import Response, canonical_charset, decode_body, with_query
from monitor.sources.base import Batch, Item, Kind, PollContext
from monitor.text import clean_whitespace, find_dates, parse_datetime, start_of_day, tz

# Leading `[…]` tags that say what kind of post it is rather than what it is about.
DEFAULT_PREFIXES = ["공고", "공지", "알림", "안내", "새글", "포상대상자공개", "보도자료", "보도참고자료"]
_NEW_MARK = re.compile(r"(?:^|\s)(?:새글|NEW)(?=\s|$)")
_PREFIX = re.compile(r"^\[\s*([^\]]{1,30}?)\s*\]\s*")
_TRUNCATED = ("...", "…")
# A list page has tens of rows; a page with thousands, or rows nested inside rows (each
# selector then searches the rest of the page), is broken or hostile: read a bounded part.
MAX_ROWS = 1000
MAX_TABLES = 200
PARSE_SECONDS = 10.0
_DATE_OR_TIME = re.compile(r"\d{4}\s*[-./년]\s*\d{1,2}\s*[-./월]\s*\d{1,2}\s*[.일]?|\d{1,2}:\d{2}(?::\d{2})?")


class BoardOptions(BaseModel):
    """Options of `html_board` (every selector is CSS, applied inside one row except `row`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    row: str  # one element per post, e.g. "table.tstyle_list tbody tr"
    title: str  # the title element inside a row
    link: str | None = None  # the element with href/onclick; default: the title (or the first <a> in it)
    date: str | None = None  # posting date; the first matched element that reads as a date wins
    department: str | None = None  # 담당부서 → fields.department
    attachment: str | None = None  # matches when the row has an attachment → fields.attachment
    category: str | None = None  # category badge → fields.category
    period: str | None = None  # a "start ~ end" period → fields.period_start, fields.deadline
    pinned: str | None = None  # matches in a pinned (공지) row → fields.pinned
    ministry: str | None = None  # the ministry or agency the board belongs to → fields.ministry
    title_attr: str | None = None  # read the title from this attribute (e.g. "title") when present
    id_regex: str | None = None  # finds the post id in href, onclick, other attributes, then the row
    # template with {id}; relative to the page (<base href>, or `url` after redirects) unless absolute
    detail_url: str | None = None
    strip_prefixes: list[str] = Field(default_factory=lambda: list(DEFAULT_PREFIXES))
    date_format: str | None = None  # strptime format for dates no known spelling covers
    encoding: str | None = None  # force a charset (default: header → BOM → <meta> → detection)
    pages: int = Field(1, ge=1, le=20)  # list pages read per poll
    page_param: str = "pageIndex"  # the query parameter that selects a page

    @field_validator("row", "title", "link", "date", "department", "attachment", "category", "period",
                     "pinned")  # fmt: skip
    @classmethod
    def _css(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                soupsieve.compile(v)
            except Exception as e:  # soupsieve raises its own SelectorSyntaxError and ValueError
                raise ValueError(f"{v!r} is not a valid CSS selector ({str(e).splitlines()[0]})") from None
        return v

    @field_validator("id_regex")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                pattern = re.compile(v)
            except re.error as e:
                raise ValueError(f"{v!r} is not a valid regular expression ({e})") from None
            if pattern.groups < 1:
                raise ValueError("needs a group in parentheses around the id, e.g. fView\\('(\\d+)'\\)")
        return v

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, v: str | None) -> str | None:
        if v is not None and canonical_charset(v) is None:
            raise ValueError(f"unknown encoding {v!r} (e.g. euc-kr, utf-8)")
        return v

    @model_validator(mode="after")
    def _template(self) -> BoardOptions:
        if not self.detail_url:
            return self
        if not self.id_regex:
            raise ValueError("detail_url needs id_regex (the id to put in {id})")
        if "{" not in self.detail_url:
            raise ValueError("detail_url needs a {id} placeholder")
        pattern = re.compile(self.id_regex)
        try:
            named = {**dict.fromkeys(pattern.groupindex, "1"), "id": "1"}
            self.detail_url.format(*["1"] * pattern.groups, **named)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(
                f"detail_url has a placeholder the id_regex does not fill ({e}); use {{id}} or a named group"
            ) from None
        return self


# --- one page (pure) --------------------------------------------------------------------------


@dataclass
class BoardPage:
    """What the selectors found on one list page."""

    items: list[Item]
    rows: int  # elements the row selector matched
    titled: int  # rows in which the title selector matched
    warnings: list[str] = field(default_factory=list)


def clean_title(raw: str, prefixes: list[str]) -> tuple[str, str | None, bool]:
    """Collapse spaces, drop 새글 marks and a `[공고]`-style prefix; returns (title, prefix, truncated)."""
    title = clean_whitespace(_NEW_MARK.sub(" ", clean_whitespace(raw)))
    category = None
    m = _PREFIX.match(title)
    if m and m.group(1) in prefixes:
        category, title = m.group(1), title[m.end() :].strip()
    return title, category, title.endswith(_TRUNCATED)


def read_date(text: str, fmt: str | None = None) -> datetime | None:
    """A posting date from cell text: the format hint, a known spelling, or the first date in it."""
    text = clean_whitespace(text)
    if not text:
        return None
    if fmt:
        try:
            parsed = datetime.strptime(text, fmt)
            return parsed.replace(tzinfo=tz()) if parsed.tzinfo is None else parsed
        except ValueError:
            pass
    parsed = parse_datetime(text)
    if parsed is not None:
        return parsed
    dates = find_dates(text)
    return start_of_day(dates[0]) if dates else None


def _date_like(text: str) -> bool:
    """True when text is little besides dates (`등록일 2026.09.09`), unlike a title quoting one."""
    rest = _DATE_OR_TIME.sub("", text)
    return len(re.sub(r"[\s~\-()\[\]:.,/]", "", rest)) <= 5


def _posting_date(row: Tag, options: BoardOptions) -> tuple[datetime | None, str | None]:
    """The first element matched by `date` that reads as a date; cells that are mostly a date first.

    When none reads as one and the selector picked one cell, (None, its text): the raw date the
    run's warning names (sources/clean.py). With several cells (`date: "td"`) which one was meant
    is unknown, and the page's warning names the post instead.
    """
    if not options.date:
        return None, None
    texts = [t for t in (clean_whitespace(el.get_text(" ")) for el in row.select(options.date)) if t]
    for text in sorted(texts, key=lambda t: not _date_like(t)):  # stable: document order kept
        published = read_date(text, options.date_format)
        if published is not None:
            return published, text
    return None, texts[0] if len(texts) == 1 else None


def _add_missing_tbody(soup: BeautifulSoup) -> None:
    # Browsers put <tr>s of a bare <table> into a <tbody>, so selectors copied from the browser
    # say "tbody"; lxml does not. Do what the browser does (the coop.go.kr board has no tbody).
    # Moving a row costs its whole subtree: on a page of thousands of tables (broken or hostile
    # markup, tables nested in tables) that is quadratic, so such a page is left as it is.
    tables = soup.find_all("table", limit=MAX_TABLES + 1)
    if len(tables) > MAX_TABLES:
        return
    for table in tables:
        loose = table.find_all("tr", recursive=False)
        if loose:
            tbody = soup.new_tag("tbody")
            loose[0].insert_before(tbody)
            for tr in loose:
                tbody.append(tr.extract())


def _text(row: Tag, selector: str | None) -> str:
    el = row.select_one(selector) if selector else None
    return clean_whitespace(el.get_text(" ")) if el is not None else ""


def _link_element(row: Tag, title: Tag, options: BoardOptions) -> Tag | None:
    if options.link:
        return row.select_one(options.link)
    if title.has_attr("href") or title.has_attr("onclick"):
        return title
    return title.select_one("a") or title.find_parent("a") or row.select_one("a[href], a[onclick]")


def _find_id(row: Tag, link: Tag | None, pattern: re.Pattern[str]) -> re.Match[str] | None:
    """Search the link's href, onclick, its other attributes, then the whole row for the id."""
    places: list[str] = []
    if link is not None:
        places += [str(link.get("href") or ""), str(link.get("onclick") or "")]
        places += [" ".join(v) if isinstance(v, list) else str(v) for k, v in link.attrs.items()
                   if k not in ("href", "onclick")]  # fmt: skip
    places.append(str(row))
    for place in places:
        m = pattern.search(place)
        if m:
            return m
    return None


def _id_of(match: re.Match[str]) -> str | None:
    """The `id` group if the regex names one, else the first group that took part in the match."""
    named = match.groupdict().get("id")
    return named or next((g for g in match.groups() if g), None)


def _real_href(link: Tag | None) -> str | None:
    href = str(link.get("href") or "").strip() if link is not None else ""
    if not href or href.startswith("#") or href.lower().startswith("javascript:"):
        return None
    return href


def _row_item(row: Tag, title_el: Tag, page_url: str, options: BoardOptions) -> Item | str:
    """One row → an Item, or a warning saying why the row was skipped."""
    raw = title_el.get(options.title_attr) if options.title_attr else None
    for hidden in title_el.select(".sr_only, .sr-only, .blind"):
        hidden.extract()  # screen-reader text such as 새글 or 첨부파일 있음
    text = str(raw) if raw else title_el.get_text(" ")
    title, prefix, truncated = clean_title(text, options.strip_prefixes)
    if not title:
        return "a row with an empty title was skipped"
    link = _link_element(row, title_el, options)
    match = _find_id(row, link, re.compile(options.id_regex)) if options.id_regex else None
    post_id = _id_of(match) if match else None
    href = _real_href(link)
    if post_id and options.detail_url:
        groups = [g or "" for g in match.groups()]  # type: ignore[union-attr]
        named = {k: v or "" for k, v in match.groupdict().items()}  # type: ignore[union-attr]
        url: str | None = urljoin(page_url, options.detail_url.format(*groups, **{**named, "id": post_id}))
    else:
        url = urljoin(page_url, href) if href else None
    key = post_id or url
    if not key:
        return f"row '{title[:40]}' has no link or id (set id_regex and detail_url for JavaScript links)"
    fields: dict[str, Any] = {"truncated": truncated}
    published, published_raw = _posting_date(row, options)
    if options.period:
        dates = find_dates(_text(row, options.period))
        if len(dates) > 1:
            fields["period_start"] = dates[0].isoformat()
        if dates:
            fields["deadline"] = dates[-1].isoformat()
    if options.department:
        fields["department"] = _text(row, options.department)
    if options.attachment:
        fields["attachment"] = row.select_one(options.attachment) is not None
    if options.pinned:
        fields["pinned"] = row.select_one(options.pinned) is not None
    fields["category"] = _text(row, options.category) or prefix
    fields["ministry"] = options.ministry
    return Item(
        key=str(key),
        title=title,
        url=url,
        published_at=published,
        published_raw=published_raw,
        fields={k: v for k, v in fields.items() if v not in (None, "")},
    )


def parse_board(html: str, page_url: str, options: BoardOptions) -> BoardPage:
    """Apply the selectors to one list page; rows repeated on it (pinned posts) are kept once.

    Links resolve against the page's `<base href>` when it has one, else `page_url`.
    """
    soup = BeautifulSoup(html, "lxml")
    _add_missing_tbody(soup)
    base = soup.find("base", href=True)
    page_url = urljoin(page_url, str(base["href"]).strip()) if base is not None else page_url
    rows = soup.select(options.row, limit=MAX_ROWS + 1)
    page = BoardPage([], len(rows), 0)
    if len(rows) > MAX_ROWS:
        rows = rows[:MAX_ROWS]
        page.warnings.append(
            f"more than {MAX_ROWS} rows match {options.row!r}; only the first {MAX_ROWS} were read"
        )
    seen: set[tuple[str, str]] = set()
    stop_at = time.monotonic() + PARSE_SECONDS
    for n, row in enumerate(rows):
        if time.monotonic() > stop_at:  # hostile or broken markup (rows nested in rows …)
            page.warnings.append(
                f"reading the rows took longer than {PARSE_SECONDS:.0f} s; kept the first {n} of {len(rows)}"
            )
            break
        title_el = row.select_one(options.title)
        if title_el is None:
            continue  # a header row, or "등록된 게시물이 없습니다"
        page.titled += 1
        item = _row_item(row, title_el, page_url, options)
        if isinstance(item, str):
            page.warnings.append(item)
        elif (item.key, item.title) not in seen:  # a pinned row again; another post is kept
            seen.add((item.key, item.title))
            page.items.append(item)
    if options.date:  # an unreadable date is warned with its text; here: no text at all
        undated = [i.title[:30] for i in page.items if i.published_at is None and not i.published_raw]
        if undated:
            names = ", ".join(undated[:3])
            page.warnings.append(f"date selector {options.date!r} gave no readable date for: {names}")
    return page


# --- polling ----------------------------------------------------------------------------------


def _decode(resp: Response, options: BoardOptions) -> str:
    if options.encoding:
        return resp.content.decode(canonical_charset(options.encoding) or "utf-8", errors="replace")
    return decode_body(resp.content, resp.headers)


def _nothing_found(page: BoardPage, options: BoardOptions, url: str) -> str | None:
    if page.rows == 0:
        return f"selector found nothing: row selector {options.row!r} matched no element on {url}"
    if page.titled == 0:
        return (f"selector found nothing: title selector {options.title!r} matched in none of the "
                f"{page.rows} rows of {options.row!r} on {url}")  # fmt: skip
    return None


def poll(ctx: PollContext) -> Batch:
    """Fetch the board's list page(s) and apply the selectors; zero rows is a failed run."""
    options: BoardOptions = ctx.options
    single = options.pages == 1
    items: dict[tuple[str, str], Item] = {}
    batch = Batch([], http_status=None)
    for page_no in range(1, options.pages + 1):
        url = ctx.source.url if page_no == 1 else with_query(ctx.source.url, **{options.page_param: page_no})
        try:
            resp = ctx.client.get(
                url, headers=ctx.source.headers, read_timeout=ctx.source.read_timeout,
                ignore_robots=ctx.source.ignore_robots,
                etag=ctx.etag if single else None, last_modified=ctx.last_modified if single else None,
            )  # fmt: skip
        except FetchError as e:
            if page_no == 1:
                raise
            batch.warnings.append(f"page {page_no} could not be read ({e}); kept the earlier pages")
            break
        if page_no == 1:
            batch.http_status = resp.status
            if single:
                batch.etag, batch.last_modified = resp.etag, resp.last_modified
            if resp.not_modified:
                batch.not_modified = True
                return batch
        # relative links resolve against where the page came from after redirects (or its <base>)
        page = parse_board(_decode(resp, options), resp.url, options)
        batch.warnings += page.warnings
        problem = _nothing_found(page, options, url) if page_no == 1 else None
        if problem and not ctx.source.allow_empty:
            raise EmptyResult(f"{problem}; the layout may have changed: fix the selectors in sources.yaml")
        if page.titled and not page.items:
            raise ParseError(f"none of the {page.titled} rows on {url} had a link or id: {page.warnings[0]}")
        added = [i for i in page.items if (i.key, i.title) not in items]
        for item in added:  # pinned rows come back on every page: the first copy wins
            items[item.key, item.title] = item
        if not added:
            break
    batch.items = list(items.values())
    return batch


KIND = Kind("html_board", BoardOptions, poll, "HTML 게시판 (sources.yaml 의 CSS 선택자)")
