"""Helpers for the DB-guard and status tests: the CLI as a real subprocess, as root or as `nobody`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]

# Runs the CLI as the unprivileged user `nobody` (tests run as root, which ignores file modes).
# Everything the commands import is imported before the switch: the interpreter's own library
# may live under /root, which `nobody` cannot read.
AS_NOBODY = """
import os, pwd, sys
import fcntl, json, logging.handlers, sqlite3, tempfile, urllib.parse, zoneinfo, encodings.idna
import feedparser, pyexpat, xml.sax, xml.sax.expatreader, xml.sax.saxutils
import monitor.cli, monitor.digest, monitor.health, monitor.http, monitor.ingest, monitor.jobs
import monitor.logs, monitor.notify, monitor.service, monitor.sources, monitor.store
user = pwd.getpwnam("nobody")
os.setgroups([])
os.setgid(user.pw_gid)
os.setuid(user.pw_uid)
sys.argv = ["monitor", *sys.argv[1:]]
monitor.cli.main()
"""


def env_for(workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a CLI subprocess: no Slack/SMTP, no MONITOR_* but those given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "SLACK_", "SMTP_"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def monitor(
    workdir: Path, *args: str, nobody: bool = False, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `monitor ARGS` in workdir as a real process (as `nobody` when asked)."""
    command = [sys.executable, "-c", AS_NOBODY, *args] if nobody else [sys.executable, "-m", "monitor", *args]
    return subprocess.run(
        command, cwd=workdir, env=env_for(workdir, **env), capture_output=True, text=True, timeout=timeout
    )


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    """The error a command printed: exactly one line on stderr, never a traceback."""
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]
