"""Run the benchmarks and the fault table, write bench/RESULTS.md: `python -m bench [--quick]`.

Not a test: the figures depend on the machine. Takes about 6 minutes on 2 cores (--quick: 3);
`--big` adds the ~1.1M-item history DB: about 1.5 minutes more and 6 GB of temporary disk (the
committed RESULTS.md is a `--big` run).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from bench import bounds, faults, history, ingest, matching, memory, polling, regex_limit, report

HERE = Path(__file__).parent
SECTIONS = ("matching", "regex", "poll", "ingest", "memory", "history", "bounds", "faults")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run, not the figures)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated: {', '.join(SECTIONS)}")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument(
        "--big", action="store_true",
        help="history: also a ~1.1M-item DB (bulk SQL from the simulated year; ~1.5 min, 6 GB of temp disk)",
    )
    args = parser.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    sizes = {
        "items": 20_000 if args.quick else 100_000,
        "naive_items": 1000 if args.quick else 5000,
        "ingest": 20_000 if args.quick else 100_000,
        "cycles": 40 if args.quick else 200,
    }
    # the code measured: taken before the run (the report is written after it)
    results: dict[str, Any] = {"sizes": sizes, "seconds": {}, "code": report.commit()}
    runners = {
        "matching": lambda: matching.run(sizes["items"], 1000, sizes["naive_items"]),
        "regex": regex_limit.run,
        "poll": polling.run,
        "ingest": lambda: ingest.run(sizes["ingest"]),
        "memory": lambda: memory.run(sizes["cycles"]),
        "history": lambda: history.run(quick=args.quick, big=args.big),
        "bounds": bounds.run,
        "faults": faults.run,
    }
    for name in chosen:
        print(f"bench: {name} …", flush=True)
        started = time.monotonic()
        results[name] = runners[name]()
        results["seconds"][name] = time.monotonic() - started
        print(f"bench: {name} done in {results['seconds'][name]:.0f} s", flush=True)
    (HERE / "results.json").write_text(
        json.dumps(results, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    args.out.write_text(report.render(results), encoding="utf-8")
    print(f"bench: wrote {args.out}")


if __name__ == "__main__":
    main()
