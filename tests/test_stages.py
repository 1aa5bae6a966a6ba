"""The stage model, table-tested."""

from __future__ import annotations

import pytest

from monitor.stages import LADDER, derive_stage

BASE = {"PROPOSE_DT": "2026-03-02"}


@pytest.mark.parametrize(
    ("dates", "stage", "date"),
    [
        ({}, "접수", "2026-03-02"),
        ({"COMMITTEE_DT": "2026-03-03"}, "위원회 심사", "2026-03-03"),
        ({"COMMITTEE_DT": "2026-03-03", "CMT_PRESENT_DT": "2026-04-01"}, "위원회 심사", "2026-04-01"),
        # COMMITTEE_PROC_DT is usually null: CMT_PROC_DT carries the committee decision
        (
            {"COMMITTEE_DT": "2026-03-03", "COMMITTEE_PROC_DT": None, "CMT_PROC_DT": "2026-05-01"},
            "위원회 심사",
            "2026-05-01",
        ),
        ({"CMT_PROC_DT": "2026-05-01", "LAW_SUBMIT_DT": "2026-05-02"}, "체계자구 심사", "2026-05-02"),
        ({"LAW_SUBMIT_DT": "2026-05-02", "LAW_PRESENT_DT": "2026-05-10"}, "체계자구 심사", "2026-05-10"),
        ({"LAW_SUBMIT_DT": "2026-05-02", "LAW_PROC_DT": "2026-05-20"}, "본회의 심의", "2026-05-20"),
        (
            {"LAW_PROC_DT": "2026-05-20", "PROC_DT": "2026-05-28", "PROC_RESULT_CD": "원안가결"},
            "원안가결",
            "2026-05-28",
        ),
        (
            {"PROC_DT": "2026-05-28", "PROC_RESULT_CD": "수정가결", "GVRN_TRSF_DT": "2026-06-02"},
            "정부이송",
            "2026-06-02",
        ),
        (
            {"PROC_RESULT_CD": "원안가결", "GVRN_TRSF_DT": "2026-06-02", "PROM_DT": "2026-06-10"},
            "공포",
            "2026-06-10",
        ),
        ({"ANNOUNCE_DT": "2026-06-10", "CURR_TRANS_DT": "2026-06-02"}, "공포", "2026-06-10"),
        (
            {"CMT_PROC_DT": "2026-05-01", "PROC_DT": "2026-05-28", "PROC_RESULT_CD": "대안반영폐기"},
            "대안반영폐기",
            "2026-05-28",
        ),
        ({"PROC_DT": "2024-05-29", "PROC_RESULT_CD": "임기만료폐기"}, "임기만료폐기", "2024-05-29"),
        ({"PROC_DT": "2026-04-01", "PROC_RESULT_CD": "철회"}, "철회", "2026-04-01"),
        ({"PROC_DT": "2026-04-01", "PROC_RESULT_CD": "부결"}, "부결", "2026-04-01"),
        ({"PROC_DT": "2026-04-01", "PROC_RESULT_CD": "수정안반영폐기"}, "수정안반영폐기", "2026-04-01"),
        ({"PROC_RESULT_CD": "대안반영 폐기", "PROC_DT": "2026-04-01"}, "대안반영폐기", "2026-04-01"),
        (
            {"PROC_RESULT_CD": "원안가결", "CURR_TRANS_DT": "2026-06-02", "RGS_CONF_RSLT": "재의요구"},
            "정부이송",
            "2026-06-02",
        ),
        ({"CMT_PRESENT_DT": "2003- 4-17"}, "위원회 심사", "2003-04-17"),  # an odd old date
    ],
)
def test_stage_from_dates_and_results(dates: dict[str, str | None], stage: str, date: str) -> None:
    derived = derive_stage({**BASE, **dates})
    assert (derived.stage, derived.date) == (stage, date)


def test_a_veto_overrides_the_transfer() -> None:
    derived = derive_stage({**BASE, "PROC_RESULT_CD": "원안가결", "GVRN_TRSF_DT": "2026-06-02"}, vetoed=True)
    assert derived.stage == "재의요구" and not derived.final


def test_final_stages() -> None:
    assert derive_stage({"PROM_DT": "2026-06-10"}).final
    assert derive_stage({"PROC_RESULT_CD": "대안반영폐기"}).final
    assert not derive_stage({"PROC_RESULT_CD": "원안가결"}).final
    assert LADDER[0] == "접수" and LADDER[-1] == "공포"
