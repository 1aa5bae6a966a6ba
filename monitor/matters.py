"""Matters: one bill (or notice, law, post) with everything about it, joined by identifiers (pure).

A matter is what the committee follows: a 국회 bill with its 입법예고, its stage moves, the
committee alternative (대안) it was folded into, its 공포 on law.go.kr and the 정부 입법예고 that
became it. Items and events stay the record of what each source said; a matter groups them.
This module decides, from an item and what the store can look up, which matter an item belongs
to and what law it is about. It never fetches and never touches the database: the store passes
its lookups in (issue 14).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from monitor.stages import CLOSED, LADDER, PASSED, VETOED
from monitor.text import clean_whitespace, normalize, parse_date

# Kinds whose titles name the law they enact or amend (sources/*.py).
BILL_KINDS = frozenset({"assembly_bills", "assembly_notices"})
LAW_KINDS = BILL_KINDS | {"lawmaking_notices", "law_changes"}
# Kinds whose items are matters of their own whatever bills they name: a meeting lists many
# bills on its agenda (the agenda watch ties them to bills through agenda events).
OWN_MATTER_KINDS = frozenset({"assembly_schedules"})
# A 정부 입법예고 joins the government bill submitted within this many days of its start.
NOTICE_TO_BILL_DAYS = 365
GOVERNMENT = "정부"


@dataclass(frozen=True)
class Law:
    """The law a title enacts or amends: its name, the key names are compared by, its parent law.

    `key` is monitor.text.normalize(name), so `사회적경제기본법` and `사회적경제 기본법` relate.
    `parent` names the 법 a 시행령 or 시행규칙 belongs to (None for a 법 itself).
    """

    name: str
    key: str
    parent: str | None = None


@dataclass(frozen=True)
class Record:
    """What matter decisions read of a stored item (built by the store from a row)."""

    kind: str
    source: str
    key: str
    title: str
    url: str | None = None
    summary: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    published: str | None = None  # ISO date or datetime
    id: int = 0  # the item's row id (0 for one not stored yet)
    matter: int | None = None  # the id of the matter it is in now

    @property
    def is_bill(self) -> bool:
        """True for a 국회 bill itself (not its 입법예고, whose stage mirrors the bill's)."""
        return self.kind == "assembly_bills" and not self.fields.get("stage_of")


@dataclass(frozen=True)
class Lookups:
    """What the store can answer while a matter is decided (every answer a list of bills).

    `bill(BILL_ID)`: the stored bill, or None. `bills_by_number(BILL_NO)` and
    `bills_by_promulgation(공포번호)`: stored bills with that number. `government_bills(first,
    last)`: stored bills proposed by 정부 between two ISO dates (inclusive).
    """

    bill: Callable[[str], Record | None]
    bills_by_number: Callable[[str], list[Record]]
    bills_by_promulgation: Callable[[str], list[Record]]
    government_bills: Callable[[str, str], list[Record]]


# --- the law a title is about -----------------------------------------------------------------

_STATUS_HEAD = re.compile(r"^\s*\[[^\]]{1,6}\]\s*")  # `[진행]` of 국민참여입법센터 titles
_NOTICE_TAIL = re.compile(r"\s*(?:재)?(?:입법|행정)\s*예고(?:\s*\([^()]*\))?\s*$")
_TRAILING_PARENS = re.compile(r"\s*\([^()]*\)\s*$")  # `(대안)`, `(홍길동의원 등 10인)`, `(정부)`
# `일부개정법률안`, `전부개정법률안`, `제정법률안`, `폐지법률안`, `일부개정령안`, `중개정법률안` (before
# 2000s), `개정안`, a bare `일부개정` (a press title's 「…」 일부개정)
_BILL_TAIL = re.compile(
    r"\s*(?:중\s*)?(?:(?:일부|전부)\s*)?(?:개정|제정|폐지)\s*(?:법률|령|규칙|규정)?\s*안?\s*$"
)
# `사회적경제기본법안` → `사회적경제기본법`, `…에 관한 법률안`, `… 시행령안`, `…에 관한 대통령령안`
_DRAFT = re.compile(r"(법|법률|령|규칙|규정)\s*안\s*$")
_REGULATION = re.compile(r"^(?P<parent>.*?)\s*(?P<what>시행령|시행규칙)$")


def law_of(title: str | None) -> Law | None:
    """The law a bill's or notice's title enacts or amends, normalised; None for an empty title.

    `협동조합 기본법 일부개정법률안(대안)` → 협동조합 기본법; `사회적경제기본법안` →
    사회적경제기본법; `[진행]부가가치세법 일부개정법률안 입법예고` → 부가가치세법; `「협동조합
    기본법」 일부개정` → 협동조합 기본법; `산림재난방지법 시행령 일부개정령안 입법예고` →
    산림재난방지법 시행령 (parent 산림재난방지법). A law.go.kr title is the law's name already.
    """
    if not title:
        return None
    name = clean_whitespace(unicodedata.normalize("NFC", title))
    name = re.sub(r"[「」『』]", "", name).replace("(안)", "안")
    name = _STATUS_HEAD.sub("", name)
    for _ in range(3):  # a status prefix, a notice tail and a proposer note may stack
        before = name
        name = _NOTICE_TAIL.sub("", name)
        name = _TRAILING_PARENS.sub("", name)
        if name == before:
            break
    name = _BILL_TAIL.sub("", name)
    if not name:
        return None
    name = _DRAFT.sub(r"\1", name).strip()
    regulation = _REGULATION.match(name)
    parent = regulation.group("parent").strip() if regulation and regulation.group("parent").strip() else None
    return Law(name=name, key=normalize(name), parent=parent)


# --- which matter an item belongs to ----------------------------------------------------------

# `의안번호 2214415`, `의안번호: 제2214415호`, `제2214415호` (7 digits; 6 before the 17대)
_BILL_NUMBER = re.compile(r"의안\s*번호\s*[:：]?\s*(?:제\s*)?(\d{6,7})(?!\d)|제\s*(\d{7})\s*호")


def bill_numbers(text: str) -> list[str]:
    """Bill numbers a text names (`의안번호 2214415`, `제2214415호`), in order, once each."""
    found = [a or b for a, b in _BILL_NUMBER.findall(text or "")]
    return list(dict.fromkeys(found))


def _through_alternatives(bill_id: str, lookups: Lookups) -> str:
    """`bill:ID` of the bill a bill was folded into (its 대안), followed to the end; else its own."""
    seen = {bill_id}
    current = bill_id
    for _ in range(5):  # an alternative is rarely folded again; never loop on bad data
        bill = lookups.bill(current)
        alternative = (bill.fields.get("alternative") or {}) if bill else {}
        nxt = alternative.get("bill_id") if isinstance(alternative, dict) else None
        if not nxt or nxt in seen:
            break
        seen.add(nxt)
        current = str(nxt)
    return f"bill:{current}"


def _start_of(record: Record) -> date | None:
    return parse_date(record.fields.get("period_start")) or parse_date(record.published)


def government_bill_for(notice: Record, lookups: Lookups) -> Record | None:
    """The 국회 bill a 정부 입법예고 became: same law, proposed by 정부 within a year of the notice.

    Only a notice of a 법률 can become a bill (a 시행령 or 시행규칙 never goes to the 국회); the
    earliest bill proposed on or after the notice's start wins. None while no such bill is stored.
    """
    law = law_of(notice.title)
    start = _start_of(notice)
    kind = notice.fields.get("law_kind")
    if law is None or law.parent or start is None or (kind and kind != "법률"):
        return None
    last = start + timedelta(days=NOTICE_TO_BILL_DAYS)
    found = []
    for bill in lookups.government_bills(start.isoformat(), last.isoformat()):
        proposed = parse_date(bill.fields.get("propose_date"))
        other = law_of(bill.title)
        if not bill.is_bill or bill.fields.get("proposer_kind") != GOVERNMENT or proposed is None:
            continue
        if other is not None and other.key == law.key and start <= proposed <= last:
            found.append((proposed, bill.key, bill))
    return min(found, key=lambda f: (f[0], f[1]))[2] if found else None


def _promulgating_bill(law_item: Record, lookups: Lookups) -> Record | None:
    """The bill whose 공포번호 and law are those of a law.go.kr entry (a 타법개정 row is not it)."""
    number = law_item.fields.get("promulgation_no")
    law = law_of(law_item.title)
    if not number or law is None:
        return None
    for bill in lookups.bills_by_promulgation(str(number)):
        names = (bill.fields.get("prom_law_nm"), bill.title)
        if bill.is_bill and any((found := law_of(n)) is not None and found.key == law.key for n in names):
            return bill
    return None


def matter_key(item: Record, kind: str, lookups: Lookups) -> str:
    """The key of the matter an item belongs to: identifiers first, never a guess where one exists.

    - 국회 bills and their 입법예고: `bill:{BILL_ID}`, or the 대안 the bill was folded into;
    - a law.go.kr entry: the bill with its 공포번호 and law, else `law:{법령ID}:{공포번호}`;
    - a 정부 입법예고: the government bill it became (government_bill_for), else
      `notice:{source}:{key}` until that bill is stored;
    - a meeting (OWN_MATTER_KINDS): `item:{source}:{key}`, whatever bills its agenda names;
    - anything else: the bill whose number its title or summary names, else `item:{source}:{key}`.
    """
    if kind in BILL_KINDS:
        return _through_alternatives(str(item.fields.get("bill_id") or item.key), lookups)
    if kind == "law_changes":
        bill = _promulgating_bill(item, lookups)
        if bill is not None:
            return _through_alternatives(bill.key, lookups)
        law_id = item.fields.get("law_id") or item.key
        return f"law:{law_id}:{item.fields.get('promulgation_no') or item.key}"
    if kind == "lawmaking_notices":
        bill = government_bill_for(item, lookups)
        if bill is not None:
            return _through_alternatives(bill.key, lookups)
        return f"notice:{item.source}:{item.key}"
    if kind in OWN_MATTER_KINDS:
        return f"item:{item.source}:{item.key}"
    for number in bill_numbers(f"{item.title}\n{item.summary}"):
        bills = [b for b in lookups.bills_by_number(number) if b.is_bill]
        if len(bills) == 1:  # a number two bills share (another 대) identifies neither
            return _through_alternatives(bills[0].key, lookups)
    return f"item:{item.source}:{item.key}"


def infer_kind(record: Record) -> str:
    """The kind of a stored item from its shape, for rows stored before items recorded their kind.

    Used once, by the migration that introduced matters: 국회 items carry `fields.bill_id` (a
    notice also `fields.stage_of`), law.go.kr items 법령ID and 공포번호, meetings their
    `meeting_kind` and `slot`, 정부 입법예고 and 행정예고 their 국민참여입법센터 detail links
    (sources/assembly.py, lawgo.py, schedules.py, lawmaking.py). Anything else is a post of its
    own ("other": what it is matters only for those kinds).
    """
    fields = record.fields
    if fields.get("bill_id"):
        return "assembly_notices" if fields.get("stage_of") else "assembly_bills"
    if fields.get("law_id") and (fields.get("promulgation_no") or fields.get("promulgated")):
        return "law_changes"
    if fields.get("meeting_kind") and fields.get("slot"):  # sources/schedules.py
        return "assembly_schedules"
    url = record.url or ""
    if "/gcom/ogLmPp/" in url:
        return "lawmaking_notices"
    if "/gcom/admpp/" in url:
        return "lawmaking_admin_notices"
    return "other"


# --- what a matter is called and where it stands ----------------------------------------------


def principal(key: str, records: Sequence[Record]) -> Record:
    """The item a matter is named after: the bill in its key, else its first item."""
    if key.startswith("bill:"):
        bill_id = key.removeprefix("bill:")
        for wanted in (True, False):  # the bill itself, then its 입법예고
            for r in records:
                if (
                    r.kind in BILL_KINDS
                    and r.is_bill == wanted
                    and (r.fields.get("bill_id") or r.key) == bill_id
                ):
                    return r
    return min(records, key=lambda r: r.id)


def title_of(record: Record) -> str:
    """A matter's title: its principal's, with the proposer of a bill (`… (정부)`, `… (홍길동의원 등 10인)`).

    Competing bills share a title (`협동조합 기본법 일부개정법률안`): the proposer tells them apart.
    """
    title = record.title or "(제목 없음)"
    proposer = record.fields.get("proposer") if record.kind in BILL_KINDS else None
    if proposer and not title.endswith(")"):
        return f"{title} ({proposer})"
    return title


def law_for(record: Record) -> Law | None:
    """The law of a matter's principal item (None for a post that is not a bill, notice or law)."""
    if record.kind not in LAW_KINDS:
        return None
    if record.kind == "assembly_bills" and record.fields.get("prom_law_nm"):
        return law_of(record.fields["prom_law_nm"])
    return law_of(record.title)


def stage_of(records: Iterable[Record], key: str = "") -> str | None:
    """Where a matter stands: its bill's stage (the one in its key: a 대안, not the bills it
    replaced), else its 입법예고's, 정부 입법예고, or 공포."""
    records = list(records)
    if records and key:
        lead = principal(key, records)
        if lead.kind in BILL_KINDS and lead.fields.get("stage"):
            return str(lead.fields["stage"])
    for wanted in (lambda r: r.is_bill, lambda r: r.kind == "assembly_notices"):
        for r in records:
            if wanted(r) and r.fields.get("stage"):
                return str(r.fields["stage"])
    if any(r.kind == "law_changes" for r in records):
        return "공포"
    if any(r.kind == "lawmaking_notices" for r in records):
        return "정부 입법예고"
    return None


def pipeline(stage: str | None, government_notice: bool = False) -> str | None:
    """A bill's road with the current stage in brackets, for the weekly summary.

    `접수 › 위원회 심사 › [체계자구 심사] › 본회의 심의 › 정부이송 › 공포`; a plenary result stands
    after 본회의 심의 (`… › 본회의 심의 › [원안가결] › 정부이송 › 공포`), a closed bill ends in its
    result (`접수 › … › [대안반영폐기]`). None for a stage off the ladder (a post, a 시행령's notice).
    """
    steps = (["정부 입법예고"] if government_notice or stage == "정부 입법예고" else []) + list(LADDER)
    if stage in steps:
        return " › ".join(f"[{s}]" if s == stage else s for s in steps)
    plenary = steps.index("본회의 심의")
    if stage in PASSED or stage == VETOED:
        return " › ".join([*steps[: plenary + 1], f"[{stage}]", *steps[plenary + 1 :]])
    if stage in CLOSED:  # where it stopped is not in the stage: say how it ended
        return " › ".join([steps[0], "…", f"[{stage}]"])
    return None


@dataclass
class View:
    """A matter as digests and the CLI show it: its row, its items and how many share its law."""

    id: int
    key: str
    title: str
    law: str | None
    records: list[Record]
    related: int = 0  # other matters about the same law (competing bills, earlier amendments)

    @property
    def lead(self) -> Record:
        """The item the matter is named after (its bill, else its first item)."""
        return principal(self.key, self.records)

    @property
    def stage(self) -> str | None:
        """Where the matter stands (stage_of)."""
        return stage_of(self.records, self.key)

    @property
    def on_assembly_road(self) -> bool:
        """False for a matter that never goes to the 국회: a 시행령·시행규칙 notice (or a post)."""
        if any(r.is_bill or r.kind == "assembly_notices" for r in self.records):
            return True
        if not self.government_notice:
            return False
        law = law_of(self.lead.title)
        return law is not None and law.parent is None

    @property
    def government_notice(self) -> bool:
        """True when a 정부 입법예고 is part of the matter (its road began in the government)."""
        return any(r.kind == "lawmaking_notices" for r in self.records)

    def open_deadline(self, today: date) -> str | None:
        """The earliest comment deadline (ISO date) of its items on or after today, if any."""
        days = [d for r in self.records if (d := parse_date(r.fields.get("deadline"))) and d >= today]
        return min(days).isoformat() if days else None
