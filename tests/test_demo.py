"""`monitor demo` end to end in a subprocess, offline, with the shipped rules."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.demo import demo_file, demo_sources, fill_dates
from monitor.text import now, parse_datetime

ROOT = Path(__file__).parents[1]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args], cwd=cwd, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    return db, run("demo", "--db", str(db))


def test_demo_runs_offline_and_flags_the_relevant_items_only(
    first: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    db, done = first
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    relevant = (
        "신규 마을기업 156곳", "사회서비스원 설립", "협동조합 기본계획", "사회연대경제기업 공공구매",
        "통합돌봄", "자활기업 판로",
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
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone() == (26,)
        (url,) = conn.execute("SELECT url FROM items WHERE source = 'demo-mofe-press' LIMIT 1").fetchone()
    assert url.startswith("https://www.mofe.go.kr/")


def test_every_link_is_a_real_site(first: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    db, done = first
    links = re.findall(r"https?://\S+", done.stdout)
    assert len(links) >= 13 and not [u for u in links if "127.0.0.1" in u or "localhost" in u]
    assert "https://opinion.lawmaking.go.kr/gcom/ogLmPp/90121?isOgYn=Y&opYn=Y" in links
    with sqlite3.connect(db) as conn:
        stored = [u for (u,) in conn.execute("SELECT url FROM items")]
    assert stored and all(u.startswith("https://") and "127.0.0.1" not in u for u in stored)


def test_the_counts_agree_with_the_digest(first: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, done = first
    out = done.stdout
    # one entry per matter, in the section of its most important news (issue 14.4): the new
    # 입법예고 due within the week are under the deadline section, the rest are new
    sections = dict(re.findall(r"■ (새로 올라온 항목|7일 안에 의견 마감) \((\d+)건\)", out))
    assert sections == {"새로 올라온 항목": "11", "7일 안에 의견 마감": "2"}, out
    shown = sum(map(int, sections.values()))
    per_source = [int(n) for n in re.findall(r"· 관련 (\d+)건$", out, re.M)]
    assert len(per_source) == 7
    summary = re.search(r"관련 항목 (\d+)건이 다이제스트에 (\d+)개 항목으로 나옵니다 \((\d+)건은", out)
    assert summary, out
    flagged, entries, merged = map(int, summary.groups())
    assert flagged == sum(per_source) == 14  # every flagged item is a new one in this first run
    assert entries == shown == 13 and flagged == entries + merged  # a bill and its 입법예고 are one entry
    assert "요약: 소스 7개 (실패 0) · 이번에 새로 저장한 항목 26건 · DB 의 항목 26건" in out


def test_the_demo_window_is_the_services_own(tmp_path: Path) -> None:
    """The bundled data is recent (dates relative to today), so the default 3 days apply."""
    for source in demo_sources():
        assert "backfill_days" not in source
    today = now().date()
    for name in ("mois_press.xml", "mohw_press.xml", "mofe_press.xml"):
        text = fill_dates(demo_file(name), today)
        dates = [parse_datetime(d) for d in re.findall(r"<pubDate>(.*?)</pubDate>", text)]
        assert dates and all(d is not None and now() - d < timedelta(days=4) for d in dates), name


def test_commands_on_the_demo_db_show_the_demo_sources(
    first: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    db, _ = first
    assert (db.parent / "demo.sources.yaml").is_file()
    listing = run("--db", str(db), "sources")  # from the repository, which has its own sources.yaml
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.splitlines()[0].split()[:3] == ["id", "이름", "상태"]
    ids = [line.split()[0] for line in listing.stdout.splitlines()[1:] if not line.startswith(" ")]
    assert ids == [s["id"] for s in demo_sources()]
    assert "국회 법률안 (데모)" in listing.stdout and "보건복지부 보도자료 (데모)" in listing.stdout
    assert "데모 DB 의 소스 설정을 씁니다" in listing.stderr
    status = run("--db", str(db), "status", "--json")
    assert [s["id"] for s in json.loads(status.stdout)["sources"]] == [s["id"] for s in demo_sources()]
    items = run("--db", str(db), "items", "--flagged")
    assert "[국회 법률안 (데모)] 사회적경제 기본법안" in items.stdout
    # an explicit --sources still wins
    other = run("--db", str(db), "--sources", str(ROOT / "sources.yaml"), "sources")
    assert "assembly-bills" in other.stdout and "demo-" not in other.stdout


def test_a_second_run_says_what_it_did(first: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    db, _ = first
    updated_before = _updated(db)
    again = run("demo", "--db", str(db))
    assert again.returncode == 0, again.stderr
    out = again.stdout
    said = re.search(r"같은 DB 로 다시 실행했습니다: 새로 저장한 항목 0건, 바뀐 항목 (\d+)건\.", out)
    assert said, out
    assert int(said.group(1)) == _updated(db) - updated_before  # what it says is what it recorded
    assert "아직 보내지 않은 항목의 미리 보기" in out  # the console records nothing: the same digest again
    assert re.findall(r"· 새 항목 (\d+)건", out) == ["0"] * 7
    assert "이번에 새로 저장한 항목 0건 · DB 의 항목 26건" in out


def _updated(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        # updates announced as news; a 제안이유 filled in later is recorded unannounced, not an update
        sql = "SELECT COUNT(*) FROM events WHERE type = 'updated' AND announce = 1"
        return int(conn.execute(sql).fetchone()[0])


def test_the_demo_refuses_a_db_that_is_not_a_demo_db(tmp_path: Path) -> None:
    real = tmp_path / "monitor.db"
    sqlite3.connect(real).close()
    done = run("demo", "--db", str(real))
    assert done.returncode == 2 and "데모 DB 가 아닙니다" in done.stderr
    assert not (tmp_path / "monitor.sources.yaml").exists()
