"""Memory of the service over many poll cycles, sampled from /proc in a separate process.

`monitor run`'s scheduler polls a source at most once a minute, so 200 cycles would take hours.
The worker (`python -m bench.memory --worker …`) builds the service's own Runtime from a
sources.yaml and calls the very job the scheduler calls, `monitor.service.poll_job`, for every
source in turn (a cycle), reading VmRSS and VmHWM from /proc/self/status after each cycle.
The feeds grow as they are polled, so new items are stored, matched and urgent ones posted to
a local Slack on the way.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bench import corpus
from bench.polling import BOARD, local_servers


def _status(field: str) -> int:
    """A /proc/self/status value in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def worker(workdir: Path, cycles: int) -> None:
    """Run `cycles` poll cycles through poll_job; print the RSS series as JSON."""
    from monitor.config import Settings
    from monitor.service import Runtime, poll_job

    settings = Settings(
        db=workdir / "monitor.db", sources=workdir / "sources.yaml", rules=corpus.ROOT / "rules"
    )
    runtime = Runtime(settings)
    ids = [s.id for s in runtime.config.sources]
    series = []
    for _ in range(cycles):
        for sid in ids:
            poll_job(runtime, sid)
        series.append(_status("VmRSS"))
    print(json.dumps({"rss_kb": series, "hwm_kb": _status("VmHWM")}))


def _slope(values: list[int]) -> float:
    """Least-squares slope per step."""
    n = len(values)
    mean_x, mean_y = (n - 1) / 2, statistics.fmean(values)
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    return num / sum((x - mean_x) ** 2 for x in range(n))


def run(cycles: int = 200, hosts: int = 10) -> dict[str, Any]:
    """Start local sources and a local Slack, run the worker, summarise the series."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        local_servers(hosts, 0.0, per_feed=30, grow_every=3) as servers,
    ):
        workdir = Path(tmp)
        sources = []
        for i, port in enumerate(servers["hosts"]):
            board = i % 5 == 4
            path = f"/{'board' if board else 'feed'}/{i}"
            entry = {"id": f"src{i:02d}", "name": f"소스 {i}", "kind": "html_board" if board else "rss",
                     "url": f"http://127.0.0.1:{port}{path}", "interval": "1m"}  # fmt: skip
            sources.append({**entry, **(BOARD if board else {})})
        doc = {"http": {"host_spacing": 0, "retries": 1, "backoff": 0.01}, "sources": sources}
        (workdir / "sources.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": "xoxb-bench",
            "SLACK_API_URL": f"http://127.0.0.1:{servers['slack']}/api/",
            "SLACK_CHANNEL": "C0BENCH",
        }
        cmd = [sys.executable, "-m", "bench.memory", "--worker", str(workdir), "--cycles", str(cycles)]
        done = subprocess.run(cmd, cwd=corpus.ROOT, env=env, capture_output=True, text=True, check=True)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        import sqlite3

        with sqlite3.connect(workdir / "monitor.db") as conn:
            count = {
                "items": "SELECT COUNT(*) FROM items",
                "runs": "SELECT COUNT(*) FROM runs",
                "failed_runs": "SELECT COUNT(*) FROM runs WHERE status NOT IN ('ok', 'not_modified')",
                "deliveries": "SELECT COUNT(*) FROM deliveries",
            }
            rows = {name: conn.execute(sql).fetchone()[0] for name, sql in count.items()}
    series = result["rss_kb"]
    settled = series[len(series) // 10 :]  # after the first tenth (imports, caches, first polls)
    quarter = max(1, len(series) // 4)
    return {
        "cycles": cycles,
        "sources": hosts,
        "polls": cycles * hosts,
        "peak_rss_mb": result["hwm_kb"] / 1024,
        "first_mb": series[0] / 1024,
        "last_mb": series[-1] / 1024,
        "first_quarter_mean_mb": statistics.fmean(series[:quarter]) / 1024,
        "last_quarter_mean_mb": statistics.fmean(series[-quarter:]) / 1024,
        "slope_kb_per_cycle": _slope(settled),
        "series_mb": [round(v / 1024, 1) for v in series[:: max(1, cycles // 20)]],
        "rows": rows,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", type=Path, required=True)
    parser.add_argument("--cycles", type=int, default=200)
    args = parser.parse_args()
    worker(args.worker, args.cycles)
