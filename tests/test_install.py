"""A real, non-editable install works from an empty folder (issue 13's "done when").

The package is built into a wheel and installed (`--no-deps`, offline) into a new virtual
environment whose only other path is the test environment's site-packages, for the
dependencies; the checkout itself is not importable there. Then, from an empty folder:
`monitor demo` prints the digest with real links only, `monitor rules check` passes on the
shipped rules, and `monitor init staff` writes files that `rules check` accepts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with the wheel of this checkout installed; returns its bin/ folder."""
    tmp = tmp_path_factory.mktemp("install")
    wheels = tmp / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("policy_monitor-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    # the dependencies come from the test environment (a path, so its editable hook stays off)
    (Path(purelib) / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
         str(wheel)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return venv / "bin"


def monitor(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "SLACK_", "SMTP_"))}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [str(bin_dir / "monitor"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_installed_package_is_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [installed / "python", "-c", "import monitor; print(monitor.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert Path(where).is_relative_to(installed.parent) and not Path(where).is_relative_to(ROOT)


def test_demo_from_an_empty_folder_links_to_the_real_sites(installed: Path, tmp_path: Path) -> None:
    done = monitor(installed, tmp_path, "demo")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "정책 모니터 일일 다이제스트" in done.stdout
    assert "https://opinion.lawmaking.go.kr/gcom/ogLmPp/" in done.stdout
    assert not re.search(r"https?://127\.0\.0\.1", done.stdout + done.stderr)
    assert "함께 설치된 기본 설정을 씁니다" in done.stderr  # no ./rules here: the shipped ones, said once
    assert list(tmp_path.iterdir()) == []  # the demo writes nothing into the folder it runs in


def test_rules_check_passes_on_the_shipped_rules(installed: Path, tmp_path: Path) -> None:
    done = monitor(installed, tmp_path, "rules", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("OK: 주제 6개")  # after the digest times
    (notice,) = done.stderr.splitlines()
    assert notice.startswith("참고: 함께 설치된 기본 설정을 씁니다 (이 폴더에 ./sources.yaml, ./rules 없음)")


def test_init_writes_files_that_rules_check_accepts(installed: Path, tmp_path: Path) -> None:
    done = monitor(installed, tmp_path, "init", "staff")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "staff" / "sources.yaml").read_bytes() == (ROOT / "sources.yaml").read_bytes()
    for rule in (ROOT / "rules").glob("*.yaml"):
        assert (tmp_path / "staff" / "rules" / rule.name).read_bytes() == rule.read_bytes()
    options = ("--rules", "staff/rules", "--sources", "staff/sources.yaml")
    check = monitor(installed, tmp_path, *options, "rules", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.splitlines()[-1].startswith("OK: ")
    assert check.stderr == ""  # nothing shipped was used
