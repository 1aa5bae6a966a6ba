"""The legislative stage of a bill, derived from the Assembly API's dates and results (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.text import clean_whitespace, parse_date

# The likms stepper, in order (../shared/sources/ASSEMBLY.md §3).
LADDER = ("접수", "위원회 심사", "체계자구 심사", "본회의 심의", "정부이송", "공포")

# Results that end a bill's road: nothing more will happen to it.
CLOSED = frozenset(
    {
        "대안반영폐기", "수정안반영폐기", "임기만료폐기", "회기불계속폐기", "철회", "부결", "폐기",
        "본회의불부의", "반려",
    }
)  # fmt: skip
# Plenary results after which the bill still goes to the government and is promulgated.
PASSED = frozenset({"원안가결", "수정가결", "가결", "대안가결"})
VETOED = "재의요구"
FINAL = CLOSED | {"공포"}

# Field names differ between services (TVBPMBILL11, nwbpacrgavhjryiph, ALLBILL): each stage
# lists every name that carries its date, first found wins.
_PROMULGATED = ("PROM_DT", "ANNOUNCE_DT")
_TRANSFERRED = ("GVRN_TRSF_DT", "CURR_TRANS_DT")
_PLENARY = ("RGS_RSLN_DT", "RGS_PROC_DT", "RGS_PRESENT_DT", "LAW_PROC_DT")
_LEGISLATION_COMMITTEE = ("LAW_PRESENT_DT", "LAW_SUBMIT_DT", "LAW_CMMT_DT", "LAW_PRSNT_DT")
_COMMITTEE = (
    "CMT_PROC_DT", "COMMITTEE_PROC_DT", "JRCMIT_PROC_DT", "CMT_PRESENT_DT", "COMMITTEE_PRESENT_DT",
    "JRCMIT_PRSNT_DT", "COMMITTEE_DT", "COMMITTEE_SUBMIT_DT", "JRCMIT_CMMT_DT",
)  # fmt: skip
_RESULT = ("PROC_RESULT_CD", "PROC_RESULT", "RGS_CONF_RSLT", "GENERAL_RESULT")
_PROC_DATE = ("PROC_DT", "RGS_RSLN_DT", "RGS_PROC_DT")


@dataclass(frozen=True)
class Stage:
    """Where a bill stands: the stage label, the plenary result if any, and since when."""

    stage: str
    result: str | None
    date: str | None  # ISO date of the event that put the bill in this stage

    @property
    def final(self) -> bool:
        """True once nothing more can happen (promulgated or closed)."""
        return self.stage in FINAL


def _first_date(row: Mapping[str, Any], names: tuple[str, ...]) -> str | None:
    for name in names:
        d = parse_date(row.get(name))
        if d is not None:
            return d.isoformat()
    return None


def _result(row: Mapping[str, Any]) -> str | None:
    for name in _RESULT:
        value = row.get(name)
        if isinstance(value, str) and value.strip():
            # "정부 재의" / "대안반영 폐기": the API and likms differ in spacing
            return clean_whitespace(value).replace(" ", "")
    return None


def derive_stage(row: Mapping[str, Any], vetoed: bool = False) -> Stage:
    """Derive the stage from a bill row; nulls are normal and mean "not yet"."""
    result = _result(row)
    promulgated = _first_date(row, _PROMULGATED)
    if promulgated:
        return Stage("공포", result, promulgated)
    if vetoed or result in {VETOED, "정부재의"}:
        return Stage(VETOED, result, _first_date(row, _TRANSFERRED + _PROC_DATE))
    transferred = _first_date(row, _TRANSFERRED)
    if transferred:
        return Stage("정부이송", result, transferred)
    if result in CLOSED or result in PASSED:
        # the plenary (or the withdrawal) decided: the result is where the bill stands
        return Stage(result, result, _first_date(row, _PROC_DATE) or _first_date(row, _COMMITTEE))
    plenary = _first_date(row, _PLENARY)
    if plenary:
        return Stage("본회의 심의", result, plenary)
    legislation = _first_date(row, _LEGISLATION_COMMITTEE)
    if legislation:
        return Stage("체계자구 심사", result, legislation)
    committee = _first_date(row, _COMMITTEE)
    if committee:
        return Stage("위원회 심사", result, committee)
    return Stage("접수", result, _first_date(row, ("PROPOSE_DT", "PPSL_DT")))


def badge(old: str | None, new: str) -> str:
    """How a stage change reads in a digest: `위원회 심사 → 본회의 심의`."""
    return f"{old} → {new}" if old else new
