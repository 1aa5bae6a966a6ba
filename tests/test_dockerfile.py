"""The Dockerfile: non-root, exec-form CMD, the DB on /data, a health check, the README's install."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, pending = [], ""
    for line in DOCKERFILE.splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip("\\").strip() + " "
        if not line.rstrip().endswith("\\"):
            word, _, rest = pending.strip().partition(" ")
            out.append((word.upper(), rest))
            pending = ""
    return out


def test_base_image_is_a_slim_python_3_11_or_newer() -> None:
    (base,) = [a for i, a in instructions() if i == "FROM"]
    name, tag = base.split(":")
    assert name == "python" and tag.endswith("-slim")
    assert tuple(int(x) for x in tag.removesuffix("-slim").split(".")) >= (3, 11)


def test_runs_as_non_root_with_the_db_on_a_volume() -> None:
    steps = instructions()
    users = [a for i, a in steps if i == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert json.loads(next(a for i, a in steps if i == "VOLUME")) == ["/data"]
    env = " ".join(a for i, a in steps if i == "ENV")
    assert "MONITOR_DB=/data/monitor.db" in env and "TZ=Asia/Seoul" in env
    assert any("tzdata" in a for i, a in steps if i == "RUN")


def test_exec_form_cmd_and_health_check_use_the_cli() -> None:
    steps = instructions()
    assert json.loads(next(a for i, a in steps if i == "CMD")) == ["monitor", "run"]
    health = next(a for i, a in steps if i == "HEALTHCHECK")
    assert "monitor status" in health


def test_the_install_step_is_the_readme_install_and_the_package_carries_its_data(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "pip install -q . " in readme.splitlines()[3]  # a real (not editable) install, as here
    assert any("pip install --no-cache-dir ." in a for i, a in instructions() if i == "RUN")
    # what `pip install .` installs: build the wheel and look inside
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("policy_monitor-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "monitor/demo_data/assembly_TVBPMBILL11.json" in names and "monitor/cli.py" in names
    # the shipped defaults: the repository's sources.yaml and every rules/*.yaml
    assert "monitor/shipped/sources.yaml" in names
    rules = sorted(p.name for p in (ROOT / "rules").glob("*.yaml"))
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("monitor/shipped/rules/")) == rules
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "monitor = monitor.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()
    # the image's install step sees what that build needs: setup.py, sources.yaml and rules/
    steps = instructions()
    install = next(n for n, (i, a) in enumerate(steps) if i == "RUN" and "pip install" in a)
    copied = " ".join(a for i, a in steps[:install] if i == "COPY")
    for needed in ("pyproject.toml", "setup.py", "sources.yaml", "rules", "monitor"):
        assert needed in copied.split(), f"{needed} is not copied before the install step"


# --- the health check and the stop (issues 12.3, 12.4, 17) ------------------------------------


def health_command() -> str:
    """The shell command of HEALTHCHECK … CMD (docker runs it with /bin/sh -c)."""
    health = next(a for i, a in instructions() if i == "HEALTHCHECK")
    return health.split(" CMD ", 1)[1].strip()


def run_health_check(workdir: Path, **env: str) -> int:
    """Run the Dockerfile's health check command as docker would, with the installed `monitor`."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "SLACK_"))}
    done = subprocess.run(
        ["/bin/sh", "-c", health_command()], cwd=workdir, env={**environ, "PATH": path, **env},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done.returncode


def test_the_health_check_follows_monitor_status(workdir: Path, write_sources: Any) -> None:
    import sqlite3

    from monitor.store import Store
    from monitor.text import iso, now

    write_sources([{"id": "a", "kind": "rss", "name": "피드", "url": "http://127.0.0.1:9/rss"}])
    db = workdir / "monitor.db"
    assert run_health_check(workdir) != 0  # no DB yet (and none is created)
    assert not db.exists()
    Store(db).close()
    assert run_health_check(workdir) == 0  # degraded (not collected yet): still serving
    store = Store(db)
    store.save_state("a", last_success_at=iso(now()), last_run_at=iso(now()), consecutive_failures=0)
    store.close()
    assert run_health_check(workdir) == 0  # healthy
    with sqlite3.connect(db) as conn:  # a poll open for two hours: stuck
        conn.execute("INSERT INTO runs (source, started_at, status) VALUES ('a', ?, 'running')",
                     [iso(now() - timedelta(hours=2))])  # fmt: skip
    assert run_health_check(workdir) != 0
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE runs SET status = 'aborted'")
    assert run_health_check(workdir) == 0
    for _ in range(3):
        Store(db).record_failure("a", "failed", "HTTP 500")
    assert run_health_check(workdir) != 0  # a source that keeps failing
    db.write_bytes(b"not a database " * 500)
    assert run_health_check(workdir) != 0  # damaged
    assert run_health_check(workdir, MONITOR_SOURCES=str(workdir / "missing.yaml")) != 0  # no verdict at all


def test_a_docker_stop_ends_the_service_inside_its_timeout() -> None:
    from monitor.cli import run_cmd

    steps = instructions()
    assert next(a for i, a in steps if i == "STOPSIGNAL") == "SIGTERM"
    assert json.loads(next(a for i, a in steps if i == "CMD")) == ["monitor", "run"]  # default grace
    grace = next(p for p in run_cmd.params if p.name == "grace").default
    assert grace + 1 < 10  # docker stop's default timeout; `monitor run` exits 0 well before
    assert "7 s (--grace)" in DOCKERFILE


def test_the_web_port_is_exposed_for_run_web() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "EXPOSE 8080" in dockerfile.splitlines()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "-p 127.0.0.1:8080:8080 -e MONITOR_WEB_TOKEN" in readme
    assert "monitor run --web --host 0.0.0.0" in readme
