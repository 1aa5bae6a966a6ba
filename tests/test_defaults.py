"""Where config comes from: options, MONITOR_*, this folder, the shipped copy; `monitor init`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from monitor.cli import main
from monitor.defaults import shipped_dir
from tests.conftest import TEST_RULES

ROOT = Path(__file__).parents[1]
NOTICE = "참고: 함께 설치된 기본 설정을 씁니다"


@pytest.fixture
def empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder and no MONITOR_* variables."""
    monkeypatch.chdir(tmp_path)
    for var in ("MONITOR_DB", "MONITOR_SOURCES", "MONITOR_RULES"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def cli(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_the_shipped_copy_is_the_repositorys_own() -> None:
    # in a checkout (editable install) the shipped files are the top-level ones; a wheel carries
    # copies of them (tests/test_install.py, tests/test_dockerfile.py)
    assert shipped_dir() == ROOT


def test_an_empty_folder_uses_the_shipped_defaults_and_says_so_once(empty: Path) -> None:
    result = cli("rules", "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("OK: 주제 6개")
    (line,) = result.stderr.splitlines()
    assert line.startswith(NOTICE) and "./sources.yaml, ./rules 없음" in line and "monitor init" in line
    assert list(empty.iterdir()) == []


def test_files_in_this_folder_win_and_then_nothing_is_said(empty: Path) -> None:
    (empty / "rules").mkdir()
    for name, doc in TEST_RULES.items():
        (empty / "rules" / name).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    only_sources = cli("rules", "check")
    assert "주제 2개 · 규칙 3개 · 소스 19개" in only_sources.stdout  # ./rules here, shipped sources
    assert "이 폴더에 ./sources.yaml 없음" in only_sources.stderr and "./rules" not in only_sources.stderr
    (empty / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    local = cli("rules", "check")
    assert "주제 2개 · 규칙 3개 · 소스 0개" in local.stdout and local.stderr == ""


@pytest.mark.parametrize(
    ("args", "env", "path", "names"),
    [
        (["--rules", "nope"], {}, "nope: 규칙 폴더가 없습니다 (rules folder not found)", "--rules 로 지정한"),
        ([], {"MONITOR_RULES": "gone"}, "gone: 규칙 폴더가 없습니다 (rules folder not found)",
         "환경 변수 MONITOR_RULES 로 지정한"),
        (["--sources", "x.yaml"], {}, "x.yaml: 파일이 없습니다 (file not found)", "--sources 로 지정한"),
        ([], {"MONITOR_SOURCES": "y.yaml"}, "y.yaml: 파일이 없습니다 (file not found)",
         "환경 변수 MONITOR_SOURCES 로 지정한"),
    ],
)
def test_not_found_names_the_path_and_what_set_it(
    empty: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str], path: str, names: str
) -> None:
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    result = cli(*args, "rules", "check")
    assert result.exit_code == 2
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("Error:")]
    assert line.startswith(f"Error: {path} — ") and names in line, line
    assert "fix the file above" not in result.output  # there is no file to fix


def test_an_option_wins_over_the_environment(empty: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_RULES", "from-env")
    result = cli("--rules", "from-option", "rules", "check")
    assert "from-option: 규칙 폴더가 없습니다" in result.stderr and "--rules 로 지정한" in result.stderr


def test_init_writes_copies_that_load_and_never_overwrites_by_accident(empty: Path) -> None:
    made = cli("init", "staff")
    assert made.exit_code == 0, made.output
    assert (empty / "staff" / "sources.yaml").read_bytes() == (ROOT / "sources.yaml").read_bytes()
    shipped = sorted(p.name for p in (ROOT / "rules").glob("*.yaml"))
    assert sorted(p.name for p in (empty / "staff" / "rules").iterdir()) == shipped
    assert "monitor --rules staff/rules --sources staff/sources.yaml rules check" in made.stdout
    check = cli("--rules", "staff/rules", "--sources", "staff/sources.yaml", "rules", "check")
    assert check.exit_code == 0 and check.stderr == "", check.output
    # a staff edit survives a second init
    edited = empty / "staff" / "rules" / "cooperatives.yaml"
    edited.write_text(edited.read_text(encoding="utf-8") + "\n# 우리 메모\n", encoding="utf-8")
    again = cli("init", "staff")
    assert again.exit_code == 2 and "덮어쓰지 않습니다" in again.stderr
    assert "staff/sources.yaml" in again.stderr
    assert edited.read_text(encoding="utf-8").endswith("# 우리 메모\n")
    forced = cli("init", "staff", "--force")
    assert forced.exit_code == 0 and "우리 메모" not in edited.read_text(encoding="utf-8")


def test_init_without_a_folder_fills_this_one(empty: Path) -> None:
    assert cli("init").exit_code == 0
    assert (empty / "sources.yaml").is_file() and len(list((empty / "rules").glob("*.yaml"))) == 6
    check = cli("rules", "check")
    assert check.exit_code == 0 and check.stderr == ""


def test_a_closed_pipe_ends_quietly_with_exit_0(tmp_path: Path) -> None:
    """`monitor items | head`: the reader leaves early; no traceback, exit code 0."""
    from monitor.sources.base import Item
    from monitor.store import Store
    from tests import seed

    store = Store(tmp_path / "monitor.db")
    long = "가" * 80
    items = [Item(f"k{n}", f"협동조합 소식 {n:05d} {long}", f"https://a.kr/{n}") for n in range(3000)]
    seed.poll(store, seed.ruleset(tmp_path), "mois", items)
    store.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--db", str(tmp_path / "monitor.db"), "--sources",
         str(ROOT / "sources.yaml"), "items"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    head = [proc.stdout.readline() for _ in range(10)]
    proc.stdout.close()  # what `head` does after ten lines
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0, err
    assert len(head) == 10 and err == ""
