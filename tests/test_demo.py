"""`monitor demo` end to end in a subprocess, offline, with the shipped rules."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_demo_runs_offline_and_flags_the_relevant_items_only(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "demo", "--db", str(db)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    relevant = (
        "신규 마을기업 156곳", "사회서비스원 설립", "협동조합 기본계획", "사회연대경제기업 공공구매",
        "통합돌봄",
        "사회적경제 기본법안", "협동조합 기본법 일부개정법률안", "조세특례제한법", "협동조합 기본법 시행령",
        "사회적기업 육성법 시행규칙", "제4차 사회적기업 인증 공고", "⏰ 의견마감 D-3",
    )  # fmt: skip
    for text in relevant:
        assert text in out, text
    traps = (
        "마을버스", "농업협동조합 조합장", "소득공제", "사회적 거리두기", "경제정책방향", "농업협동조합법",
        "부가가치세법", "노동조합 회계공시", "도로교통법",
    )  # fmt: skip
    for text in traps:
        assert text not in out, text
    assert "정책 모니터 일일 다이제스트" in out and "왜:" in out
    assert "요약: 소스 7개 (실패 0), 항목 26건 저장, 관련 항목 14건, 다이제스트 1건" in out
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone() == (26,)
        (url,) = conn.execute("SELECT url FROM items WHERE source = 'demo-mofe-press' LIMIT 1").fetchone()
    assert url.startswith("https://www.mofe.go.kr/")
