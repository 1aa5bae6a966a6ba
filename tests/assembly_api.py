"""A loopback stand-in for open.assembly.go.kr/portal/openapi, answering in the real shapes.

Envelopes, field names and orders are those of ../shared/samples/assembly/open_*.json: a block
named after the service with `head` (list_total_count, RESULT) and `row`; "no data" and errors
as a bare top-level RESULT with HTTP 200.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from werkzeug import Request, Response

OK = {"CODE": "INFO-000", "MESSAGE": "정상 처리되었습니다."}
NO_DATA = {"CODE": "INFO-200", "MESSAGE": "해당하는 데이터가 없습니다."}

# TVBPMBILL11 row keys in the order of open_TVBPMBILL11_bill_search_1row.json
BILL_KEYS = (
    "BILL_ID", "BILL_NO", "AGE", "BILL_NAME", "PROPOSER", "PROPOSER_KIND", "PROPOSE_DT",
    "CURR_COMMITTEE_ID", "CURR_COMMITTEE", "COMMITTEE_DT", "COMMITTEE_PROC_DT", "LINK_URL",
    "RST_PROPOSER", "LAW_PROC_RESULT_CD", "LAW_PROC_DT", "LAW_PRESENT_DT", "LAW_SUBMIT_DT",
    "CMT_PROC_RESULT_CD", "CMT_PROC_DT", "CMT_PRESENT_DT", "RST_MONA_CD", "PROC_RESULT_CD", "PROC_DT",
)  # fmt: skip


def envelope(service: str, rows: list[dict[str, Any]], total: int | None = None) -> dict[str, Any]:
    """A successful Open API body."""
    if not rows:
        return {"RESULT": NO_DATA}
    head = {"head": [{"list_total_count": len(rows) if total is None else total}, {"RESULT": OK}]}
    return {service: [head, {"row": rows}]}


def bill_row(
    n: int,
    name: str,
    propose_dt: str,
    proposer: str = "홍길동의원 등 10인",
    committee: str | None = None,
    committee_id: str | None = None,
    kind: str = "의원",
    **dates: str | None,
) -> dict[str, Any]:
    """A TVBPMBILL11 row for bill number 22nnnnn (nulls where the stage is not reached)."""
    bill_id = f"PRC_T{n:05d}X0Y4W1U5V3T3U5P1Q4P6P9"
    row: dict[str, Any] = dict.fromkeys(BILL_KEYS)
    row.update(
        BILL_ID=bill_id,
        BILL_NO=f"22{n:05d}",
        AGE="22",
        BILL_NAME=name,
        PROPOSER=proposer,
        PROPOSER_KIND=kind,
        PROPOSE_DT=propose_dt,
        CURR_COMMITTEE_ID=committee_id,
        CURR_COMMITTEE=committee,
        LINK_URL=f"https://likms.assembly.go.kr/bill/billDetail.do?billId={bill_id}",
        RST_PROPOSER=proposer.split("의원")[0] if kind == "의원" else None,
    )
    row.update(dates)
    return row


def notice_row(bill: dict[str, Any], deadline: str) -> dict[str, Any]:
    """An nknalejkafmvgzmpt row for a bill (the keys of open_nknalejkafmvgzmpt_…json)."""
    return {
        "BILL_ID": bill["BILL_ID"],
        "BILL_NO": bill["BILL_NO"],
        "BILL_NAME": bill["BILL_NAME"],
        "AGE": "22",
        "PROPOSER_KIND_CD": bill["PROPOSER_KIND"],
        "CURR_COMMITTEE": bill["CURR_COMMITTEE"],
        "NOTI_ED_DT": deadline,
        "LINK_URL": "https://pal.assembly.go.kr/napal/lgsltpa/lgsltpaOngoing/view.do?lgsltPaId="
        + bill["BILL_ID"],
        "PROPOSER": bill["PROPOSER"],
        "CURR_COMMITTEE_ID": bill["CURR_COMMITTEE_ID"],
    }


# the schedule services of ASSEMBLY.md §9.1 (위원회별 일정 family and 본회의 일정)
SCHEDULE_SERVICES = frozenset(
    {"nrsldhjpaemrmolla", "nttmdfdcaakvibdar", "nrkqqbvfanfybishu", "napvpafracrdkxmoq", "nekcaiymatialqlxr"}
)


@dataclass
class FakeAssembly:
    """The API's state; tests mutate it between polls."""

    bills: dict[str, dict[str, Any]] = field(default_factory=dict)  # BILL_ID → row
    notices: list[dict[str, Any]] = field(default_factory=list)
    summaries: dict[str, str] = field(default_factory=dict)  # BILL_NO → SUMMARY
    allbill: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # BILL_NO → rows
    errors: dict[str, dict[str, str]] = field(default_factory=dict)  # service → RESULT
    # schedule services (nrkqqbvfanfybishu …) → rows, newest meeting first as the real ones
    schedules: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # VCONFBILLCONFLIST: BILL_ID → the meetings whose minutes hold the bill (spec field names)
    bill_meetings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def add(self, row: dict[str, Any]) -> dict[str, Any]:
        """Add or replace a bill row."""
        self.bills[row["BILL_ID"]] = row
        return row

    def calls_to(self, service: str) -> list[dict[str, str]]:
        """The query strings of the calls made to one service."""
        return [args for name, args in self.calls if name == service]

    def handler(self, request: Request) -> Response:
        """Route /portal/openapi/{SERVICE}?KEY=…&Type=json&pIndex=…&pSize=… like the real API."""
        service = request.path.rstrip("/").rsplit("/", 1)[-1]
        args = dict(request.args)
        self.calls.append((service, args))
        if service in self.errors:
            return self._json({"RESULT": self.errors[service]})
        if service == "TVBPMBILL11":
            rows = sorted(self.bills.values(), key=lambda r: (r["PROPOSE_DT"], r["BILL_NO"]), reverse=True)
            rows = [r for r in rows if r["AGE"] == args.get("AGE", r["AGE"])]
            for name in ("BILL_ID", "BILL_NO"):
                if name in args:
                    rows = [r for r in rows if r[name] == args[name]]
            if "BILL_NAME" in args:  # a substring match, as on the real service
                rows = [r for r in rows if args["BILL_NAME"] in r["BILL_NAME"]]
            return self._page(service, rows, args)
        if service == "nknalejkafmvgzmpt":
            return self._page(service, list(self.notices), args)
        if service == "BPMBILLSUMMARY":
            if "BILL_NO" not in args:
                return self._json(
                    {"RESULT": {"CODE": "ERROR-300", "MESSAGE": "필수 값이 누락되어 있습니다."}}
                )
            bills = [r for r in self.bills.values() if r["BILL_NO"] == args["BILL_NO"]]
            rows = [
                {"BILL_NO": b["BILL_NO"], "BILL_NAME": b["BILL_NAME"], "BILL_ID": b["BILL_ID"],
                 "SUMMARY": self.summaries.get(b["BILL_NO"], ""), "AGE": "22"}
                for b in bills
            ]  # fmt: skip
            return self._json(envelope(service, rows))
        if service in SCHEDULE_SERVICES:
            if not args.get("UNIT_CD"):  # 필수 in the spec; the real server answers ERROR-300
                return self._json(
                    {"RESULT": {"CODE": "ERROR-300", "MESSAGE": "필수 값이 누락되어 있습니다."}}
                )
            return self._page(service, list(self.schedules.get(service, [])), args)
        if service == "VCONFBILLCONFLIST":
            if "BILL_ID" not in args:
                return self._json(
                    {"RESULT": {"CODE": "ERROR-300", "MESSAGE": "필수 값이 누락되어 있습니다."}}
                )
            return self._json(envelope(service, self.bill_meetings.get(args["BILL_ID"], [])))
        if service == "ALLBILL":
            if "BILL_NO" not in args:
                return self._json(
                    {"RESULT": {"CODE": "ERROR-300", "MESSAGE": "필수 값이 누락되어 있습니다."}}
                )
            return self._json(envelope(service, self.allbill.get(args["BILL_NO"], [])))
        return self._json({"RESULT": {"CODE": "ERROR-310", "MESSAGE": "해당하는 서비스를 찾을 수 없습니다."}})

    def _page(self, service: str, rows: list[dict[str, Any]], args: dict[str, str]) -> Response:
        total = len(rows)
        if not args.get("KEY"):
            # measured on the real server: without a key it ignores pIndex/pSize and returns
            # the first 5 rows every time, with the true total (ASSEMBLY.md §1.1)
            return self._json(envelope(service, rows[:5], total))
        size, index = int(args.get("pSize", 100)), int(args.get("pIndex", 1))
        return self._json(envelope(service, rows[(index - 1) * size : index * size], total))

    @staticmethod
    def _json(body: dict[str, Any]) -> Response:
        return Response(json.dumps(body, ensure_ascii=False), content_type="application/json;charset=UTF-8")
