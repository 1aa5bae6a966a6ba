"""The regex bound (issue 17.2): a rule pattern that backtracks badly costs its time limit once.

`(가|가가)+$` passes `regex_problem` (no repeat inside a repeat) but backtracks exponentially on
`가…가나`: the stdlib `re` engine's time grows by ~1.6× per character. The Matcher runs it on the
`regex` engine with REGEX_TIMEOUT per field scan and switches it off after the first timeout.
"""

from __future__ import annotations

import re
import time
from typing import Any

from monitor.config import RuleConfig, RuleSet, TopicFile
from monitor.rules import REGEX_TIMEOUT, Matcher, regex_problem

SLOW = r"(가|가가)+$"
NESTED = r"^(\S+\s?)+법$"


def _re_seconds(length: int) -> float:
    started = time.perf_counter()
    re.search(SLOW, "가" * length + "나")
    return time.perf_counter() - started


def run(items: int = 1000) -> dict[str, Any]:
    """Time the first and the following items through a Matcher holding the slow pattern."""
    topic = TopicFile(
        topic="laws", label="법률",
        rules=[RuleConfig(id="slow", regex=[SLOW], fields=["title"]),
               RuleConfig(id="village", any=["마을기업"], fields=["title"])],
    )  # fmt: skip
    matcher = Matcher(RuleSet((topic,), {}))
    title = "마을기업 " + "가" * 80 + "나"
    started = time.perf_counter()
    first = matcher.match({"title": title})
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(items):
        rest = matcher.match({"title": title})
    rest_s = (time.perf_counter() - started) / items
    lengths = (22, 24, 26)
    re_s = [_re_seconds(n) for n in lengths]
    return {
        "timeout_s": REGEX_TIMEOUT,
        "field_chars": len(title),
        "first_item_s": first_s,
        "next_item_s": rest_s,
        "items": items,
        "still_matched": [m.rule for m in first] == ["village"] and [m.rule for m in rest] == ["village"],
        "switched_off": sorted(matcher.timed_out.values()),
        "re_lengths": list(lengths),
        "re_seconds": re_s,
        "re_growth_per_char": (re_s[-1] / re_s[0]) ** (1 / (lengths[-1] - lengths[0])) if re_s[0] else None,
        "nested_refused": regex_problem(NESTED) is not None,
    }
