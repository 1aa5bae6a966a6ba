"""국회 sources via the 열린국회정보 Open API: bills with stages (TVBPMBILL11) and 입법예고.

Formats, codes and traps: ../shared/sources/ASSEMBLY.md (§1.2 envelope, §1.4 fields, §1.7 pitfalls).
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from monitor.config import SourceConfig
from monitor.errors import ApiError, ParseError
from monitor.sources.base import Batch, Item, Kind, PollContext, Stored, note_unreadable
from monitor.stages import FINAL, PASSED, derive_stage
from monitor.text import clean_whitespace, now, parse_date, plain_text, start_of_day

KEY_ENV = "ASSEMBLY_API_KEY"
LIKMS_URL = "https://likms.assembly.go.kr/bill/billDetail.do?billId={bill_id}"
PAL_URL = "https://pal.assembly.go.kr/napal/lgsltpa/lgsltpaOngoing/view.do?lgsltPaId={bill_id}"

# Committees whose bills touch the council's topics (names before and after the 2026 renames);
# with `summaries: prefilter`, a bill there gets its 제안이유 fetched even if its title is silent.
DEFAULT_COMMITTEES = (
    "기획재정위원회", "재정경제기획위원회", "환경노동위원회", "기후에너지환경노동위원회",
    "보건복지위원회", "행정안전위원회", "산업통상자원중소벤처기업위원회", "정무위원회",
)  # fmt: skip


class AssemblyOptions(BaseModel):
    """Options shared by the Open API kinds (`url` is the API base, e.g. …/portal/openapi)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    age: int = Field(22, ge=1, description="국회 대수 (AGE)")
    page_size: int = Field(100, ge=1, le=1000)
    max_pages: int = Field(20, ge=1, le=200)
    # all: every new bill's 제안이유 is fetched (a few requests per poll); prefilter: only bills
    # whose title has a rule term or that sit in watch_committees; none: never.
    summaries: Literal["all", "prefilter", "none"] = "all"
    watch_committees: list[str] = Field(default_factory=lambda: list(DEFAULT_COMMITTEES))
    # 제안이유 of stored items never fetched (a baseline's older bills, anything polled before
    # the service had summaries) fetched per poll, oldest pending first, until none is left:
    # a bill relevant only through its 제안이유 is found even if it predates the service
    summary_backfill: int = Field(20, ge=0, le=500)


class BillOptions(AssemblyOptions):
    """Options of `assembly_bills`."""

    service: str = "TVBPMBILL11"
    watch: list[str] = Field(default_factory=list, description="bill numbers to follow")
    # watched bills re-checked one by one per poll, least recently seen first, so a long
    # watchlist costs a bounded number of requests and every bill still comes round
    refresh_per_poll: int = Field(50, ge=1, le=1000)


class NoticeOptions(AssemblyOptions):
    """Options of `assembly_notices`."""

    service: str = "nknalejkafmvgzmpt"
    page_size: int = Field(1000, ge=1, le=1000)


# --- the envelope (pure) ----------------------------------------------------------------------


@dataclass
class Page:
    """One page of rows and the total the API reports."""

    rows: list[dict[str, Any]]
    total: int


def parse_envelope(content: bytes, service: str) -> Page:
    """Parse an Open API JSON body; INFO-200 is an empty page, other codes raise ApiError."""
    try:
        body = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        head = content[:200].lstrip().lower()
        if head.startswith((b"<!doctype", b"<html")):
            raise ParseError(f"{service}: expected JSON but got an HTML page") from e
        if head.startswith(b"<"):
            raise ParseError(f"{service}: expected JSON but got XML (is Type=json set?)") from e
        raise ParseError(f"{service}: the response is not JSON ({e})") from e
    if not isinstance(body, dict):
        raise ParseError(f"{service}: expected a JSON object, got {type(body).__name__}")
    if "RESULT" in body:  # errors and "no data" are not wrapped (ASSEMBLY.md §1.2)
        code, message = _result(body["RESULT"])
        if code == "INFO-200":
            return Page([], 0)
        raise ApiError(code, message)
    block = body.get(service)
    if not isinstance(block, list):
        raise ParseError(f"{service}: no '{service}' block in the response (keys: {list(body)[:5]})")
    total, code, message = None, None, ""
    rows: list[dict[str, Any]] = []
    for part in block:
        if not isinstance(part, dict):
            continue
        for entry in part.get("head") or []:
            if isinstance(entry, dict) and "list_total_count" in entry:
                total = _int(entry["list_total_count"])
            if isinstance(entry, dict) and "RESULT" in entry:
                code, message = _result(entry["RESULT"])
        if isinstance(part.get("row"), list):
            rows = [r for r in part["row"] if isinstance(r, dict)]
    if code is None:
        raise ParseError(f"{service}: the response has no RESULT code")
    if code == "INFO-200":
        return Page([], 0)
    if code != "INFO-000":
        raise ApiError(code, message)
    return Page(rows, total if total is not None else len(rows))


def _result(value: Any) -> tuple[str, str]:
    if not isinstance(value, dict):
        raise ParseError(f"malformed RESULT block: {value!r}")
    return str(value.get("CODE") or "?"), str(value.get("MESSAGE") or "")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- rows → items (pure) ----------------------------------------------------------------------


def nfc(value: Any) -> str:
    """NFC-normalised, whitespace-collapsed text (Hanja compatibility points settle)."""
    return clean_whitespace(unicodedata.normalize("NFC", str(value))) if value is not None else ""


def lead_proposers(proposer: str) -> list[str]:
    """Names of the 대표발의 members in a PROPOSER string such as `최형두의원ㆍ이준석의원 등 11인`."""
    head = re.split(r"\s*(?:등|외)\s*\d+\s*인", proposer)[0]
    names = [re.sub(r"의원$", "", n.strip()) for n in re.split(r"[ㆍ·,]", head)]
    return [n for n in names if n]


def _dates(row: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Every stage date in a row, ISO formatted, by the API's field name; and the raw text of
    those that are not dates (a stage derived without them would be silently wrong)."""
    out, unreadable = {}, {}
    for name, value in row.items():
        if name.endswith("_DT") and name not in ("PROPOSE_DT", "NOTI_ED_DT"):
            d = parse_date(value)
            if d is not None:
                out[name] = d.isoformat()
            elif str(value or "").strip():
                unreadable[name] = str(value)
    return out, unreadable


def bill_item(row: Mapping[str, Any], stored: Stored | None = None, vetoed: bool = False) -> Item:
    """Turn a TVBPMBILL11 row (merged with what we stored) into an Item with its stage."""
    bill_id = str(row.get("BILL_ID") or "")
    if not bill_id:
        raise ParseError("a bill row without BILL_ID")
    before = stored.fields if stored else {}
    # stage dates learned from ALLBILL (정부이송, 공포) are not in the list rows: keep them
    read, unreadable = _dates(row)
    dates = {**before.get("dates", {}), **read}
    result = nfc(row.get("PROC_RESULT_CD") or row.get("PROC_RESULT")) or before.get("result")
    stage = derive_stage({**dates, "PROC_RESULT_CD": result}, vetoed or before.get("stage") == "재의요구")
    proposer = nfc(row.get("PROPOSER"))
    raw_propose = row.get("PROPOSE_DT") or row.get("PPSL_DT") or before.get("propose_date")
    propose = parse_date(raw_propose)
    fields: dict[str, Any] = {
        **{k: v for k, v in before.items() if k in ("summary_checked", "alternative", "watch", "replaces")},
        "bill_id": bill_id,
        "bill_no": nfc(row.get("BILL_NO")) or before.get("bill_no"),
        "age": nfc(row.get("AGE")) or before.get("age"),
        "proposer": proposer or before.get("proposer"),
        "proposer_kind": nfc(row.get("PROPOSER_KIND") or row.get("PROPOSER_KIND_CD"))
        or before.get("proposer_kind"),
        "lead_proposers": lead_proposers(proposer) if proposer else before.get("lead_proposers", []),
        "committee": nfc(row.get("CURR_COMMITTEE") or row.get("COMMITTEE")) or before.get("committee"),
        "committee_id": nfc(row.get("CURR_COMMITTEE_ID") or row.get("COMMITTEE_ID"))
        or before.get("committee_id"),
        "propose_date": propose.isoformat() if propose else before.get("propose_date"),
        "stage": stage.stage,
        "stage_date": stage.date,
        "result": stage.result,
        "dates": dict(sorted(dates.items())),
    }  # fmt: skip
    for name in ("PROM_LAW_NM", "PROM_NO"):
        if row.get(name) or before.get(name.lower()):
            fields[name.lower()] = nfc(row.get(name)) or before.get(name.lower())
    for name, raw in unreadable.items():
        note_unreadable(fields, name, raw)
    return Item(
        key=bill_id,
        title=nfc(row.get("BILL_NAME") or row.get("BILL_NM")) or (stored.title if stored else ""),
        url=str(row.get("LINK_URL") or LIKMS_URL.format(bill_id=bill_id)),
        summary=stored.summary if stored else "",
        published_at=start_of_day(propose) if propose else None,
        published_raw=str(raw_propose) if raw_propose else None,
        fields={k: v for k, v in fields.items() if v not in (None, "", [])},
        thread=f"assembly-bill:{bill_id}",
    )


def notice_item(row: Mapping[str, Any], bill: Stored | None, stored: Stored | None) -> Item:
    """Turn an nknalejkafmvgzmpt row into an Item with its opinion deadline (NOTI_ED_DT)."""
    bill_id = str(row.get("BILL_ID") or "")
    if not bill_id:
        raise ParseError("a notice row without BILL_ID")
    deadline = parse_date(row.get("NOTI_ED_DT"))
    committee = nfc(row.get("CURR_COMMITTEE"))
    fields: dict[str, Any] = {
        "bill_id": bill_id,
        "bill_no": nfc(row.get("BILL_NO")),
        "age": nfc(row.get("AGE")),
        "proposer": nfc(row.get("PROPOSER")),
        "proposer_kind": nfc(row.get("PROPOSER_KIND_CD")),
        "committee": committee,
        "committee_id": nfc(row.get("CURR_COMMITTEE_ID")),
        "deadline": deadline.isoformat() if deadline else None,
        # the notice's stage is its bill's; the bill's own item records the stage events
        "stage": (bill.fields.get("stage") if bill else None) or ("위원회 심사" if committee else "접수"),
        "stage_of": f"assembly-bill:{bill_id}",
    }
    if stored and stored.fields.get("summary_checked"):
        fields["summary_checked"] = True
    if deadline is None:  # the notice's only date
        note_unreadable(fields, "deadline", nfc(row.get("NOTI_ED_DT")))
    summary = stored.summary if stored and stored.summary else (bill.summary if bill else "")
    return Item(
        key=bill_id,
        title=nfc(row.get("BILL_NAME")),
        url=str(row.get("LINK_URL") or PAL_URL.format(bill_id=bill_id)),
        summary=summary,
        published_at=None,  # the API gives no start date (ASSEMBLY.md §1.4)
        fields={k: v for k, v in fields.items() if v not in (None, "", [])},
        thread=f"assembly-bill:{bill_id}",
    )


# --- talking to the API -----------------------------------------------------------------------


def _call(ctx: PollContext, service: str, params: Mapping[str, Any]) -> Page:
    query: dict[str, Any] = {"Type": "json", "pIndex": 1, "pSize": 100, **params}
    key = os.environ.get(KEY_ENV)
    if key:
        query["KEY"] = key
    resp = ctx.client.get(
        f"{ctx.source.url.rstrip('/')}/{service}",
        params=query,
        headers=ctx.source.headers,
        read_timeout=ctx.source.read_timeout,
        ignore_robots=ctx.source.ignore_robots,
    )
    return parse_envelope(resp.content, service)


def check(source: SourceConfig, options: Any) -> list[str]:
    """Warn before polling when the API key is missing (the API then repeats 5 rows)."""
    if os.environ.get(KEY_ENV):
        return []
    return [
        f"{KEY_ENV} 가 설정되지 않았습니다: 키 없이 열린국회정보 API는 어느 페이지를 요청해도 같은 "
        f"5건만 돌려줍니다 (no {KEY_ENV}: the API returns the same first 5 rows for every page)"
    ]


def _summary(ctx: PollContext, item: Item) -> None:
    """Fill an item's 제안이유 from BPMBILLSUMMARY (needs BILL_NO; picks the row with our BILL_ID)."""
    bill_no = item.fields.get("bill_no")
    if not bill_no or str(bill_no).startswith("DD"):  # provisional numbers have no summary yet
        return
    page = _call(ctx, "BPMBILLSUMMARY", {"BILL_NO": bill_no})
    for row in page.rows:
        if row.get("BILL_ID") in (None, item.key):
            # the text opens with its own heading; the digest shows the reasons themselves
            item.summary = re.sub(r"^제안이유\s*및\s*주요\s*내용\s*", "", nfc(row.get("SUMMARY")))

            break
    item.fields["summary_checked"] = True  # an empty SUMMARY is normal; do not ask again


def _wants_summary(ctx: PollContext, options: AssemblyOptions, item: Item) -> bool:
    if options.summaries == "none" or item.fields.get("summary_checked"):
        return False
    if options.summaries == "all":
        return True
    committee = str(item.fields.get("committee") or "")
    # the title as rules will read it (sources/clean.py): `<b>협동</b>조합` names 협동조합
    return ctx.mentions(plain_text(item.title)) or committee in options.watch_committees


def _in_window(ctx: PollContext, item: Item) -> bool:
    """False for a baseline's older items: their 제안이유 waits for the backfill (later polls)."""
    if not ctx.baseline:
        return True
    cutoff = now() - timedelta(days=ctx.source.backfill_days)
    return item.published_at is not None and item.published_at >= cutoff


def _backfill(
    ctx: PollContext, options: AssemblyOptions, items: dict[str, Item],
    refetch: Callable[[Stored], Item | None],
) -> int:  # fmt: skip
    """Fetch the 제안이유 of up to `summary_backfill` stored items that never had it checked.

    Oldest pending first (Store.unsummarised), final bills left out. An item this poll did
    not list is read again with `refetch` (one request) so it is stored whole. The filled-in
    summary is matched but not announced (store._changes), so a bill relevant only through
    its 제안이유 is flagged without being called new, and joins the watchlist. Returns how many
    were fetched.
    """
    if options.summaries == "none" or options.summary_backfill == 0:
        return 0
    done = 0
    for stored in ctx.unsummarised(options.summary_backfill, sorted(FINAL)):
        item = items.get(stored.key) or refetch(stored)
        if item is None or item.fields.get("summary_checked"):
            continue
        if item.summary:  # a notice that took its bill's 제안이유
            item.fields["summary_checked"] = True
            continue
        if not _wants_summary(ctx, options, item):
            continue
        _summary(ctx, item)
        items[item.key] = item
        done += 1
    return done


def _bill_by_id(ctx: PollContext, options: BillOptions, stored: Stored) -> Item | None:
    """A stored bill read again by BILL_ID (its stage may have moved meanwhile)."""
    page = _call(ctx, options.service, {"AGE": options.age, "BILL_ID": stored.key})
    rows = [r for r in page.rows if r.get("BILL_ID") == stored.key]
    return bill_item(rows[0], stored) if rows else None


def _list_pages(ctx: PollContext, options: BillOptions, items: dict[str, Item], warnings: list[str]) -> None:
    """Read bill pages newest first until a whole page is already stored and unchanged."""
    previous: list[str] | None = None
    for page_no in range(1, options.max_pages + 1):
        page = _call(
            ctx, options.service, {"AGE": options.age, "pIndex": page_no, "pSize": options.page_size}
        )
        ids = [str(r.get("BILL_ID")) for r in page.rows]
        if ids and ids == previous:
            # without a key the server ignores pIndex and repeats the first rows (ASSEMBLY.md §1.7)
            warnings.append(f"page {page_no} repeated page {page_no - 1}: the API ignores paging (no key?)")
            return
        previous = ids
        unchanged = 0
        for row in page.rows:
            if not row.get("BILL_ID"):
                continue
            stored = ctx.stored(str(row["BILL_ID"]))
            item = bill_item(row, stored)
            unchanged += stored is not None and stored.record_hash == item.record_hash()
            items.setdefault(item.key, item)
        if len(page.rows) < options.page_size or page_no * options.page_size >= page.total:
            return
        if unchanged == len(page.rows):
            return
    if not ctx.baseline:
        warnings.append(
            f"stopped after max_pages={options.max_pages} pages; older bills are followed by the watchlist"
        )


def _refresh(ctx: PollContext, options: BillOptions, items: dict[str, Item]) -> None:
    """Re-check watched bills (flagged by a rule or listed in `watch:`) until they are final."""
    pending = [s for s in ctx.watched() if s.key not in items and s.fields.get("stage") not in FINAL]
    for stored in pending[: options.refresh_per_poll]:
        item = _bill_by_id(ctx, options, stored)
        if item is not None:
            items[stored.key] = item
    known_numbers = {str(i.fields.get("bill_no")) for i in items.values()}
    for bill_no in options.watch:
        if bill_no in known_numbers:
            continue
        page = _call(ctx, options.service, {"AGE": options.age, "BILL_NO": bill_no})
        for row in page.rows:
            if str(row.get("BILL_NO")) == bill_no and row.get("BILL_ID"):
                item = bill_item(row, ctx.stored(str(row["BILL_ID"])))
                items[item.key] = item
    for item in items.values():
        if item.fields.get("bill_no") in options.watch:
            item.fields["watch"] = "sources.yaml"


def _is_watched(ctx: PollContext, options: BillOptions, item: Item) -> bool:
    stored = ctx.stored(item.key)
    return bool(item.fields.get("watch") or (stored and stored.flagged))


def _promulgation(ctx: PollContext, options: BillOptions, items: dict[str, Item]) -> None:
    """Ask ALLBILL for 정부이송 / 공포, which TVBPMBILL11 lacks, for passed watched bills."""
    for key, item in list(items.items()):
        stage = item.fields.get("stage")
        if not (stage in PASSED or stage == "정부이송") or not _is_watched(ctx, options, item):
            continue
        page = _call(ctx, "ALLBILL", {"BILL_NO": item.fields.get("bill_no")})
        suffix = key.split("_", 1)[-1]
        # a vetoed bill comes back twice: PRC_/ARC_ for the bill, GOV_ for the 재의 request,
        # and GOV_ may come first: never take row[0] (ASSEMBLY.md §1.4)
        own = [r for r in page.rows if r.get("BILL_ID") == key]
        vetoed = any(str(r.get("BILL_ID", "")).startswith("GOV_") and
                     str(r.get("BILL_ID")).endswith(suffix) for r in page.rows)  # fmt: skip
        if own or vetoed:
            stored = ctx.stored(key)
            merged = Stored(
                ctx.source.id,
                key,
                item.title,
                item.summary,
                item.fields,
                "",
                stored.flagged if stored else False,
            )
            items[key] = bill_item({**(own[0] if own else {}), "BILL_ID": key}, merged, vetoed)
            items[key].summary = item.summary


def _alternatives(ctx: PollContext, options: BillOptions, items: dict[str, Item]) -> None:
    """Link a watched bill closed as 대안반영폐기 to the committee alternative that replaced it."""
    for item in list(items.values()):
        if item.fields.get("stage") != "대안반영폐기" or item.fields.get("alternative"):
            continue
        if not _is_watched(ctx, options, item):
            continue
        name = re.sub(r"\(.*?\)$", "", item.title).strip()
        page = _call(ctx, options.service, {"AGE": options.age, "BILL_NAME": f"{name}(대안)"})
        candidates = [
            r for r in page.rows
            if r.get("BILL_ID") and "대안" in str(r.get("BILL_NAME")) and r.get("BILL_ID") != item.key
        ]  # fmt: skip
        decided = item.fields.get("dates", {}).get("CMT_PROC_DT") or item.fields.get("stage_date") or ""
        # the committee adopts its alternative the day it closes the bills it absorbs
        candidates.sort(key=lambda r: (str(r.get("PROPOSE_DT")) != decided, str(r.get("PROPOSE_DT"))))
        if not candidates:
            continue
        alt = bill_item(candidates[0], ctx.stored(str(candidates[0]["BILL_ID"])))
        item.fields["alternative"] = {
            "bill_id": alt.key,
            "bill_no": alt.fields.get("bill_no"),
            "title": alt.title,
        }
        replaces = sorted({*alt.fields.get("replaces", []), str(item.fields.get("bill_no"))})
        alt.fields.update(replaces=replaces, watch=f"대안 (replaces {', '.join(replaces)})")
        items[alt.key] = alt


def poll_bills(ctx: PollContext) -> Batch:
    """Poll TVBPMBILL11: new pages, then the watchlist, 정부이송/공포, alternatives, summaries."""
    options: BillOptions = ctx.options
    warnings = check(ctx.source, options)
    items: dict[str, Item] = {}
    _list_pages(ctx, options, items, warnings)
    _refresh(ctx, options, items)
    _promulgation(ctx, options, items)
    _alternatives(ctx, options, items)
    for item in items.values():
        fresh = ctx.stored(item.key) is None or item.fields.get("watch")
        if fresh and _in_window(ctx, item) and _wants_summary(ctx, options, item):
            _summary(ctx, item)
    _backfill(ctx, options, items, lambda stored: _bill_by_id(ctx, options, stored))
    return Batch(list(items.values()), http_status=200, warnings=warnings)


def poll_notices(ctx: PollContext) -> Batch:
    """Poll the ongoing 입법예고 list (one call of up to 1000 rows returns all of it)."""
    options: NoticeOptions = ctx.options
    warnings = check(ctx.source, options)
    items: dict[str, Item] = {}
    page_no, previous = 1, None
    while True:
        page = _call(ctx, options.service, {"pIndex": page_no, "pSize": options.page_size})
        ids = [str(r.get("BILL_ID")) for r in page.rows]
        if ids and ids == previous:
            warnings.append(f"page {page_no} repeated page {page_no - 1}: the API ignores paging (no key?)")
            break
        previous = ids
        for row in page.rows:
            if not row.get("BILL_ID"):
                continue
            key = str(row["BILL_ID"])
            bills = [s for s in ctx.thread(f"assembly-bill:{key}") if s.source != ctx.source.id]
            stored = ctx.stored(key)
            item = notice_item(row, bills[0] if bills else None, stored)
            # a new notice at once; one stored without its 제안이유 waits for the bounded backfill
            fresh = stored is None and _in_window(ctx, item)
            if fresh and _wants_summary(ctx, options, item) and not item.summary:
                _summary(ctx, item)
            items.setdefault(key, item)
        if len(page.rows) < options.page_size or page_no * options.page_size >= page.total:
            break
        if page_no >= options.max_pages:
            warnings.append(f"stopped after max_pages={options.max_pages} pages")
            break
        page_no += 1
    # the list holds every ongoing notice: one that is not listed any more needs no 제안이유
    _backfill(ctx, options, items, lambda stored: None)
    return Batch(list(items.values()), http_status=200, warnings=warnings)


BILLS = Kind("assembly_bills", BillOptions, poll_bills, "국회 법률안 (열린국회정보 TVBPMBILL11)", check)
NOTICES = Kind("assembly_notices", NoticeOptions, poll_notices, "국회 입법예고 (nknalejkafmvgzmpt)", check)
