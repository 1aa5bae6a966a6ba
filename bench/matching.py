"""Matching: the one-automaton Matcher against the naive ways, same process, same items."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from bench import corpus
from monitor.config import RuleSet
from monitor.rules import CompiledRule, Matcher, _FieldScan
from monitor.text import fold


class NaiveMatcher(Matcher):
    """Loop over every rule and search each of its terms in each field with str.find.

    Folding happens once per field (the naive way's best case) and the rule is then judged by
    the very same code as Matcher's, so both give the same answers: only the finding differs.
    """

    def match(
        self, fields: Mapping[str, str], source: str | None = None, kind: str | None = None
    ) -> list[Any]:
        folded = {name: fold(fields.get(name) or "") for name in self._fields}
        found = []
        for rule in self.rules:
            if rule.sources is not None and not ({source, kind} & rule.sources):
                continue
            scans = {name: _find_terms(folded[name], rule) for name in rule.config.fields}
            if not rule.regex and not any(scan.ends for scan in scans.values()):
                continue
            hit = self._evaluate(rule, scans)
            if hit:
                found.append(hit)
        return found


def _find_terms(folded: Any, rule: CompiledRule) -> _FieldScan:
    scan = _FieldScan(folded)
    text = folded.text
    for term in (*rule.any, *rule.all, *rule.none):
        start = text.find(term)
        while start >= 0:
            scan.ends.setdefault(term, []).append(start + len(term) - 1)
            start = text.find(term, start + 1)
    return scan


class RegexPerRule:
    """One compiled alternation per rule, searched in each folded field: presence only.

    Less work than a real match (no exclusions, no snippets), so a generous lower bound on what
    a regex-per-rule matcher costs.
    """

    def __init__(self, ruleset: RuleSet) -> None:
        matcher = Matcher(ruleset)
        self.rules: list[tuple[str, tuple[str, ...], re.Pattern[str] | None]] = []
        for rule in matcher.rules:
            terms = sorted(rule.any, key=len, reverse=True)
            pattern = re.compile("|".join(map(re.escape, terms))) if terms else None
            self.rules.append((rule.config.id, tuple(rule.config.fields), pattern))
        self._fields = sorted({f for _, fields, _ in self.rules for f in fields})

    def match(self, fields: Mapping[str, str]) -> list[str]:
        folded = {name: fold(fields.get(name) or "").text for name in self._fields}
        return [
            rule_id
            for rule_id, names, pattern in self.rules
            if pattern is not None and any(pattern.search(folded[n]) for n in names)
        ]


class PlainLoop:
    """The plainest naive code: fold each field once, then `term in text` for every rule's terms.

    Presence only (rule ids: no exclusions, no snippets), so less work than a real match: the
    honest lower bound of what looping over rules costs.
    """

    def __init__(self, ruleset: RuleSet) -> None:
        matcher = Matcher(ruleset)
        self.rules = [(r.config.id, tuple(r.config.fields), tuple(r.any)) for r in matcher.rules if r.any]
        self._fields = sorted({f for _, fields, _ in self.rules for f in fields})

    def match(self, fields: Mapping[str, str]) -> list[str]:
        folded = {name: fold(fields.get(name) or "").text for name in self._fields}
        return [
            rule_id
            for rule_id, names, terms in self.rules
            if any(term in folded[n] for n in names for term in terms)
        ]


class OneRegex:
    """One regex alternation of every term of every rule (longest first), found once per field.

    The terms found are mapped back to their rules with a dict; presence only, as PlainLoop.
    """

    def __init__(self, ruleset: RuleSet) -> None:
        matcher = Matcher(ruleset)
        self.by_term: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for r in matcher.rules:
            for term in r.any:
                self.by_term.setdefault(term, []).append((r.config.id, tuple(r.config.fields)))
        terms = sorted(self.by_term, key=len, reverse=True)
        self.pattern = re.compile("|".join(map(re.escape, terms)))
        self._fields = sorted({f for rules in self.by_term.values() for _, fields in rules for f in fields})

    def match(self, fields: Mapping[str, str]) -> list[str]:
        found: set[str] = set()
        for name in self._fields:
            for term in set(self.pattern.findall(fold(fields.get(name) or "").text)):
                found.update(rule_id for rule_id, names in self.by_term[term] if name in names)
        return sorted(found)


ROUNDS = 3


def _rate(run: Callable[[Mapping[str, str]], Any], items: Sequence[corpus.CorpusItem]) -> tuple[float, int]:
    """Items per second over the items (one thread), and how many items matched something."""
    fields = [item.fields() for item in items]
    matched = 0
    started = time.perf_counter()
    for f in fields:
        matched += bool(run(f))
    return len(fields) / (time.perf_counter() - started), matched


def run(n_items: int = 100_000, extra_rules: int = 1000, naive_items: int = 5000) -> dict[str, Any]:
    """The matching figures: throughput, the naive ways, agreement, the rule-count curve."""
    items = corpus.items(n_items)
    ruleset = corpus.with_generated(corpus.shipped_rules(), extra_rules)
    started = time.perf_counter()
    matcher = Matcher(ruleset)
    compile_seconds = time.perf_counter() - started
    naive = NaiveMatcher(ruleset)
    regex = RegexPerRule(ruleset)
    sample = items[:naive_items]
    # same answers: every rule that fires, with its terms, field and snippet
    agree = all(
        matcher.match(i.fields()) == naive.match(i.fields()) for i in sample[: min(2000, len(sample))]
    )
    # The Matcher and the three fast naive ways take turns, ROUNDS times, each keeping its best
    # round (timeit's practice): a slower spell of the machine (another process, a frequency
    # step) then falls on all of them alike instead of on whichever ran during it.
    # str.find per rule, by far the slowest, runs once.
    plain, one_regex = PlainLoop(ruleset), OneRegex(ruleset)
    fast_rate = regex_rate = plain_rate = one_regex_rate = 0.0
    matched = 0
    for _ in range(ROUNDS):
        rate, matched = _rate(matcher.match, items)
        fast_rate = max(fast_rate, rate)
        plain_rate = max(plain_rate, _rate(plain.match, sample)[0])
        one_regex_rate = max(one_regex_rate, _rate(one_regex.match, sample)[0])
        regex_rate = max(regex_rate, _rate(regex.match, sample)[0])
    naive_rate, _ = _rate(naive.match, sample)
    fastest_naive = max(naive_rate, regex_rate, plain_rate, one_regex_rate)
    curve = []
    curve_items = items[:20_000]
    for count in (10, 30, 100, 300, 1000):
        rules = corpus.with_generated(None, count)
        rate, hits = _rate(Matcher(rules).match, curve_items)
        naive_count_rate, _ = _rate(NaiveMatcher(rules).match, curve_items[: max(500, 20_000 // count)])
        curve.append(
            {"rules": count, "items_per_s": rate, "naive_items_per_s": naive_count_rate, "hits": hits}
        )
    return {
        "items": n_items,
        "rules": len(matcher.rules),
        "shipped_rules": len(matcher.rules) - extra_rules,
        "terms": len(matcher._by_term),
        "compile_seconds": compile_seconds,
        "matched_items": matched,
        "items_per_s": fast_rate,
        "naive_items": len(sample),
        "naive_items_per_s": naive_rate,
        "regex_items_per_s": regex_rate,
        "speedup_vs_naive": fast_rate / naive_rate,
        "speedup_vs_regex": fast_rate / regex_rate,
        "plain_items_per_s": plain_rate,
        "one_regex_items_per_s": one_regex_rate,
        "speedup_vs_fastest_naive": fast_rate / fastest_naive,
        "same_answers": agree,
        "rounds": ROUNDS,
        "curve": curve,
    }
