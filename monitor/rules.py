"""Compile watch rules once into one automaton; match items and say why."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import ahocorasick

from monitor.config import RuleConfig, RuleSet
from monitor.text import Folded, clean_whitespace, fold, normalize

Span = tuple[int, int]  # [start, end) in the field's original (NFC) text


@dataclass(frozen=True)
class Match:
    """One rule that fired on one item, with the why: terms, field and snippet."""

    rule: str
    topic: str
    priority: str
    field: str
    terms: tuple[str, ...]
    snippet: str

    def explain(self) -> str:
        """One line: which rule, which terms, in which field, around what text."""
        terms = ", ".join(f"'{t}'" for t in self.terms)
        return f"{self.rule} [{self.topic}] · {self.field}: {terms} · “{self.snippet}”"


@dataclass
class CompiledRule:
    config: RuleConfig
    topic: str
    any: dict[str, str]  # folded term → spelling in the rule file
    all: dict[str, str]
    none: frozenset[str]
    regex: tuple[re.Pattern[str], ...]
    sources: frozenset[str] | None


@dataclass
class _FieldScan:
    folded: Folded
    hits: dict[str, list[Span]] = field(default_factory=dict)  # folded term → spans


class Matcher:
    """All rules compiled into one Aho-Corasick automaton: cost grows with hits, not rules."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.rules: list[CompiledRule] = []
        self._by_term: dict[str, list[int]] = defaultdict(list)  # any-term → rule indexes
        self._regex_rules: list[int] = []
        automaton = ahocorasick.Automaton()
        for topic in ruleset.topics:
            for cfg in topic.rules:
                rule = CompiledRule(
                    config=cfg,
                    topic=topic.topic,
                    any=_spellings(cfg.any or []),
                    all=_spellings(cfg.all),
                    none=frozenset(normalize(t) for t in [*topic.none, *cfg.none]),
                    regex=tuple(re.compile(p, re.IGNORECASE) for p in cfg.regex),
                    sources=frozenset(cfg.sources) if cfg.sources is not None else None,
                )
                index = len(self.rules)
                self.rules.append(rule)
                for term in rule.any:
                    self._by_term[term].append(index)
                if rule.regex:
                    self._regex_rules.append(index)
                for term in (*rule.any, *rule.all, *rule.none):
                    if term not in automaton:
                        automaton.add_word(term, term)
        if len(automaton):
            automaton.make_automaton()
            self._automaton: ahocorasick.Automaton | None = automaton
        else:
            self._automaton = None
        self._fields = sorted({f for r in self.rules for f in r.config.fields})

    def _scan(self, text: str) -> _FieldScan:
        folded = fold(text)
        scan = _FieldScan(folded)
        if self._automaton is None or not folded.text:
            return scan
        origin = folded.origin
        for end, term in self._automaton.iter(folded.text):
            start = end - len(term) + 1
            scan.hits.setdefault(term, []).append((origin[start], origin[end] + 1))
        return scan

    def match(
        self, fields: Mapping[str, str], source: str | None = None, kind: str | None = None
    ) -> list[Match]:
        """Match one item's fields (title, summary, body, committee, proposer)."""
        scans = {name: self._scan(fields.get(name) or "") for name in self._fields}
        candidates: set[int] = set(self._regex_rules)
        for scan in scans.values():
            for term in scan.hits:
                candidates.update(self._by_term.get(term, ()))
        matches: list[Match] = []
        for index in sorted(candidates):
            rule = self.rules[index]
            if rule.sources is not None and not ({source, kind} & rule.sources):
                continue
            found = self._evaluate(rule, scans)
            if found:
                matches.append(found)
        return matches

    def mentions(self, text: str) -> bool:
        """True when text contains any rule's `any` term: a cheap pre-filter, no exclusions."""
        folded = fold(text).text
        if self._automaton is None or not folded:
            return False
        return any(term in self._by_term for _, term in self._automaton.iter(folded))

    def match_item(self, item: object, source: str | None = None, kind: str | None = None) -> list[Match]:
        """Match an Item (anything with text_fields())."""
        return self.match(item.text_fields(), source, kind)  # type: ignore[attr-defined]

    @staticmethod
    def _unmasked(scan: _FieldScan, term: str, none: frozenset[str]) -> list[Span]:
        # A hit inside the span of an exclusion term does not count (농업협동조합 hides its
        # 협동조합), but the same term elsewhere in the field still does.
        masks = [span for t in none for span in scan.hits.get(t, ())]
        return [
            (s, e) for s, e in scan.hits.get(term, ()) if not any(ms <= s and e <= me for ms, me in masks)
        ]

    def _regex_hits(self, rule: CompiledRule, scan: _FieldScan) -> list[tuple[Span, str]]:
        masks = [span for t in rule.none for span in scan.hits.get(t, ())]
        hits = []
        for pattern in rule.regex:
            for m in pattern.finditer(scan.folded.source):
                s, e = m.span()
                if e > s and not any(ms <= s and e <= me for ms, me in masks):
                    hits.append(((s, e), clean_whitespace(m.group(0))))
        return hits

    def _evaluate(self, rule: CompiledRule, scans: Mapping[str, _FieldScan]) -> Match | None:
        first: tuple[str, Span, list[str]] | None = None
        for name in rule.config.fields:
            scan = scans[name]
            found: list[tuple[Span, str]] = []
            for term, spelling in rule.any.items():
                spans = self._unmasked(scan, term, rule.none)
                if spans:
                    found.append((min(spans), spelling))
            if rule.regex:
                found.extend(self._regex_hits(rule, scan))
            if found:
                found.sort()
                terms = list(dict.fromkeys(t for _, t in found))
                first = (name, found[0][0], terms)
                break
        if first is None:
            return None
        terms = first[2]
        for term, spelling in rule.all.items():
            present = any(self._unmasked(scans[n], term, rule.none) for n in rule.config.fields)
            if not present:
                return None
            terms.append(spelling)
        name, (s, e), _ = first
        return Match(
            rule=rule.config.id,
            topic=rule.topic,
            priority=rule.config.priority,
            field=name,
            terms=tuple(dict.fromkeys(terms)),
            snippet=_source_snippet(scans[name].folded, s, e),
        )


def _spellings(terms: Iterable[str]) -> dict[str, str]:
    """Folded term → the first spelling the rule file gives for it."""
    out: dict[str, str] = {}
    for term in terms:
        out.setdefault(normalize(term), term)
    return out


def _source_snippet(folded: Folded, start: int, end: int) -> str:
    """Snippet around a span given in original-text coordinates."""
    src = folded.source
    width = 30
    a, b = max(0, start - width), min(len(src), end + width)
    return ("…" if a > 0 else "") + clean_whitespace(src[a:b]) + ("…" if b < len(src) else "")


def topics_of(matches: Iterable[Match]) -> list[str]:
    """Distinct topics of matches, in first-seen order."""
    return list(dict.fromkeys(m.topic for m in matches))


@dataclass(frozen=True)
class ExampleFailure:
    """A rule example that did not behave as its rule file says."""

    file: str
    rule: str
    example: str
    expected: bool

    def __str__(self) -> str:
        want = "should match but did not" if self.expected else "should not match but did"
        return f"{self.file}: rule '{self.rule}': example “{self.example}” {want}"


def check_examples(matcher: Matcher) -> tuple[int, list[ExampleFailure]]:
    """Run every rule's examples; returns (examples run, failures)."""
    failures: list[ExampleFailure] = []
    count = 0
    for rule in matcher.rules:
        file = str(matcher.ruleset.files.get(rule.topic, rule.topic))
        cases = [(t, True) for t in rule.config.examples.match]
        cases += [(t, False) for t in rule.config.examples.no_match]
        for text, expected in cases:
            count += 1
            fields = {name: text for name in rule.config.fields}
            # a rule limited to some sources is tried as if the example came from the first
            source = sorted(rule.sources)[0] if rule.sources else None
            fired = any(m.rule == rule.config.id for m in matcher.match(fields, source, source))
            if fired != expected:
                failures.append(ExampleFailure(file, rule.config.id, text, expected))
    return count, failures
