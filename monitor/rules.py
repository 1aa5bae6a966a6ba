"""Compile watch rules once into one automaton; match items and say why."""

from __future__ import annotations

import logging
import re
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import ahocorasick_rs
import regex

from monitor.config import RuleConfig, RuleSet
from monitor.text import Folded, clean_whitespace, fold, normalize

log = logging.getLogger(__name__)

Span = tuple[int, int]  # [start, end) in the field's original (NFC) text
DFA_TERMS = 5000
# Rule patterns run on the `regex` engine (the same syntax and answers as `re` for our patterns)
# for its timeout: one scan of one field may take this long; a pattern that needs more is
# switched off until the rules change, so a bad pattern costs one timeout, not one per item.
# `regex_problem` refuses the classic catastrophic shape (a repeat inside a repeat) up front.
REGEX_TIMEOUT = 0.25  # seconds


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
    regex: tuple[regex.Pattern[str], ...]
    sources: frozenset[str] | None
    unless_title: frozenset[str] = frozenset()


class _FieldScan:
    """One field, folded and searched: where each rule term ends in the folded text."""

    __slots__ = ("_spans", "ends", "folded")

    def __init__(self, folded: Folded) -> None:
        self.folded = folded
        self.ends: dict[str, list[int]] = {}  # folded term → end index of each occurrence
        self._spans: dict[str, list[Span]] | None = None

    def spans(self, term: str) -> list[Span]:
        """Where term occurs, as spans of the original text (mapped back only when asked for)."""
        if self._spans is None:
            self._spans = {}
        found = self._spans.get(term)
        if found is None:
            at, size = self.folded.at, len(term) - 1
            found = self._spans[term] = [(at(end - size), at(end) + 1) for end in self.ends.get(term, ())]
        return found


class Matcher:
    """All rules compiled into one Aho-Corasick automaton: cost grows with hits, not rules."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.rules: list[CompiledRule] = []
        self._by_term: dict[str, list[int]] = defaultdict(list)  # any-term → rule indexes
        self._regex_rules: list[int] = []
        # for each regex rule, text one of its patterns needs (None: could match anything)
        self._regex_needs: dict[int, tuple[str, ...] | None] = {}
        self.timed_out: dict[str, str] = {}  # pattern → rule id, for patterns switched off
        terms: dict[str, None] = {}  # every folded term, in a fixed order (automaton pattern ids)
        for topic in ruleset.topics:
            for cfg in topic.rules:
                rule = CompiledRule(
                    config=cfg,
                    topic=topic.topic,
                    any=_spellings(cfg.any or []),
                    all=_spellings(cfg.all),
                    none=frozenset(normalize(t) for t in [*topic.none, *cfg.none]),
                    regex=tuple(regex.compile(p, regex.IGNORECASE) for p in cfg.regex),
                    sources=frozenset(cfg.sources) if cfg.sources is not None else None,
                    unless_title=frozenset(normalize(t) for t in cfg.unless_title),
                )
                index = len(self.rules)
                self.rules.append(rule)
                for term in rule.any:
                    self._by_term[term].append(index)
                if rule.regex:
                    self._regex_rules.append(index)
                    needs = [_required_text(p.pattern) for p in rule.regex]
                    self._regex_needs[index] = None if None in needs else tuple(n for n in needs if n)
                terms.update(
                    dict.fromkeys(t for t in (*rule.any, *rule.all, *rule.none, *rule.unless_title) if t)
                )
        self._terms = list(terms)
        # Standard semantics with overlapping matches: every occurrence of every term, a term
        # inside another one included (협동조합 inside 농업협동조합). Its matching cost does not
        # grow with the number of terms (pyahocorasick's did: a linear search at each node).
        # A DFA is the fastest to run (about 11 MB for 1,800 terms); past DFA_TERMS the compact NFA.
        implementation = ahocorasick_rs.Implementation
        self._automaton = (
            ahocorasick_rs.AhoCorasick(
                self._terms,
                matchkind=ahocorasick_rs.MatchKind.Standard,
                implementation=implementation.DFA
                if len(self._terms) <= DFA_TERMS
                else implementation.ContiguousNFA,
            )
            if self._terms
            else None
        )
        # (rule index, its fields, text one of its patterns needs or None): checked per item
        self._regex_checks = [
            (i, tuple(self.rules[i].config.fields), self._regex_needs[i]) for i in self._regex_rules
        ]
        self._fields = sorted(
            {f for r in self.rules for f in r.config.fields} | ({"title"} if self._has_unless() else set())
        )

    def _has_unless(self) -> bool:
        return any(r.unless_title for r in self.rules)

    def _scan(self, fields: Mapping[str, str]) -> dict[str, _FieldScan]:
        """Fold every field the rules read and find every term in all of them in one pass."""
        scans: dict[str, _FieldScan] = {}
        names: list[str] = []
        texts: list[str] = []
        for name in self._fields:
            value = fields.get(name)
            scan = scans[name] = _FieldScan(fold(value)) if value else _EMPTY
            if scan.folded.text:
                names.append(name)
                texts.append(scan.folded.text)
        if self._automaton is None or not texts:
            return scans
        # Folded text has no whitespace and neither has any term, so no match crosses the
        # newline between two fields: each field is still matched on its own.
        starts = [0]
        for text in texts[:-1]:
            starts.append(starts[-1] + len(text) + 1)
        terms = self._terms
        for pattern, start, end in self._automaton.find_matches_as_indexes(
            "\n".join(texts), overlapping=True
        ):
            field = bisect_right(starts, start) - 1
            ends = scans[names[field]].ends
            term, last = terms[pattern], end - 1 - starts[field]
            if term in ends:
                ends[term].append(last)
            else:
                ends[term] = [last]
        return scans

    def _regex_candidates(self, scans: Mapping[str, _FieldScan]) -> set[int]:
        """The regex rules whose fields hold text one of their patterns needs (all for None)."""
        found = set()
        for index, fields, needs in self._regex_checks:
            if needs is None:
                found.add(index)
                continue
            # plain loops, no generator: this runs for every item
            for name in fields:
                source = scans[name].folded.source
                for need in needs:
                    if need in source:
                        found.add(index)
                        break
                else:
                    continue
                break
        return found

    def match(
        self, fields: Mapping[str, str], source: str | None = None, kind: str | None = None
    ) -> list[Match]:
        """Match one item's fields (title, summary, body, committee, proposer)."""
        scans = self._scan(fields)
        candidates = self._regex_candidates(scans) if self._regex_checks else set()
        by_term = self._by_term
        for scan in scans.values():
            for term in scan.ends:
                if term in by_term:
                    candidates.update(by_term[term])
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
        found = self._automaton.find_matches_as_indexes(folded, overlapping=True)
        return any(self._terms[pattern] in self._by_term for pattern, _, _ in found)

    def match_item(self, item: object, source: str | None = None, kind: str | None = None) -> list[Match]:
        """Match an Item (anything with text_fields())."""
        return self.match(item.text_fields(), source, kind)  # type: ignore[attr-defined]

    @staticmethod
    def _masks(scan: _FieldScan, none: frozenset[str]) -> list[Span]:
        """Spans of the exclusion terms found in a field (few hits: walk the hits, not the terms)."""
        return [span for term in scan.ends if term in none for span in scan.spans(term)]

    @classmethod
    def _unmasked(cls, scan: _FieldScan, term: str, none: frozenset[str]) -> list[Span]:
        # A hit inside the span of an exclusion term does not count (농업협동조합 hides its
        # 협동조합), but the same term elsewhere in the field still does.
        if term not in scan.ends:
            return []
        spans = scan.spans(term)
        masks = cls._masks(scan, none)
        if not masks:
            return list(spans)
        return [(s, e) for s, e in spans if not any(ms <= s and e <= me for ms, me in masks)]

    @classmethod
    def _first_unmasked(cls, scan: _FieldScan, term: str, none: frozenset[str]) -> list[Span]:
        """The first unmasked hit of term, in original coordinates ([] if none): all a rule's
        judgement needs of a term (whether it counts, and where it first does).

        Without an exclusion hit in the field, the first hit is mapped back alone, not every
        hit; with one, masks are compared in original coordinates, where a character NFKC
        expands (㈜ → (주)) is one character, as a reader sees it.
        """
        ends = scan.ends.get(term)
        if not ends:
            return []
        if not any(m in none for m in scan.ends):
            end, at = min(ends), scan.folded.at
            return [(at(end - len(term) + 1), at(end) + 1)]
        spans = cls._unmasked(scan, term, none)
        return [min(spans)] if spans else []

    def _regex_hits(self, rule: CompiledRule, scan: _FieldScan) -> list[tuple[Span, str]]:
        masks = self._masks(scan, rule.none)
        hits = []
        for pattern in rule.regex:
            if pattern.pattern in self.timed_out:
                continue
            try:
                # concurrent: the GIL is released while it scans, so other threads (and the
                # signal handler) run meanwhile; the timeout bounds the whole scan
                found = list(pattern.finditer(scan.folded.source, timeout=REGEX_TIMEOUT, concurrent=True))
            except TimeoutError:
                self.timed_out[pattern.pattern] = rule.config.id
                log.error(
                    "rule %s: regex %r took over %.2f s on one field and is switched off until the rules "
                    "change; simplify it (see `monitor rules check`)",
                    rule.config.id, pattern.pattern, REGEX_TIMEOUT,
                )  # fmt: skip
                continue
            for m in found:
                s, e = m.span()
                if e > s and not any(ms <= s and e <= me for ms, me in masks):
                    hits.append(((s, e), clean_whitespace(m.group(0))))
        return hits

    def _evaluate(self, rule: CompiledRule, scans: Mapping[str, _FieldScan]) -> Match | None:
        fields = rule.config.fields
        if rule.unless_title and any(t in scans["title"].ends for t in rule.unless_title):
            return None

        for term in rule.all:  # cheap first: an `all` term found nowhere settles it
            if not any(term in scans[n].ends for n in fields):
                return None
        first: tuple[str, Span, list[str]] | None = None
        for name in fields:
            scan = scans[name]
            if not scan.ends and not rule.regex:
                continue
            found: list[tuple[Span, str]] = []
            for term, spelling in rule.any.items():
                if term not in scan.ends:
                    continue
                spans = self._first_unmasked(scan, term, rule.none)
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
            present = any(self._first_unmasked(scans[n], term, rule.none) for n in rule.config.fields)
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


_EMPTY = _FieldScan(fold(""))


def _required_text(pattern: str) -> str | None:
    """Text every match of pattern contains (its longest run of plain characters), if any.

    Lets a regex rule skip the items that cannot match (`(?<![가-힣])생협` needs 생협). Only
    caseless characters count, as the patterns are compiled with IGNORECASE.
    """
    try:
        from re import _constants, _parser  # the stdlib's own regex parser

        parsed = _parser.parse(pattern, re.IGNORECASE)
        literal = _constants.LITERAL
    except Exception:  # a private module: if it moves, the rule just stays a candidate
        return None
    best, run = "", ""
    for op, arg in parsed:
        if op == literal and chr(arg).lower() == chr(arg).upper():
            run += chr(arg)
            best = max(best, run, key=len)
        else:
            run = ""
    return best or None


# A repeat that may run many times (*, +, {n,}, or more than this many) …
_MANY = 10


def regex_problem(pattern: str) -> str | None:
    """Why a rule pattern is refused, in words staff can act on, or None when it is fine.

    Refused: what neither engine compiles, and a repeat inside a repeat (`(\\S+\\s?)+`,
    `(a+)*`): the shape whose backtracking grows exponentially with the text (ReDoS). A bounded
    inner repeat with a fixed count (`(\\d{3}-)+`) or an optional part (`(법률?)+`) is fine.
    """
    try:
        re.compile(pattern)
        regex.compile(pattern)
    except (re.error, regex.error) as e:
        return f"잘못된 정규식입니다 ({e}): 괄호와 특수 문자(\\, [, ], (, ), +, *, ?)를 확인하세요"
    nested = _nested_repeat(pattern)
    if nested:
        return (
            f"반복 안에 또 반복이 있어({nested}) 어떤 제목에서는 서비스를 몇 분씩 멈추게 할 수 있습니다: "
            "반복을 한 겹으로 줄이세요 (예: '(\\S+\\s?)+법' 대신 '\\S+법'), 또는 낱말을 any: 에 나열하세요"
        )
    return None


def _nested_repeat(pattern: str) -> str | None:
    """A description of the first repeat-inside-a-repeat in pattern (None if there is none)."""
    try:
        from re import _constants as c
        from re import _parser  # the stdlib's own parser, as in _required_text

        parsed = _parser.parse(pattern)
    except Exception:  # a private module: if it moves, the run-time timeout still holds
        return None
    repeats = {c.MAX_REPEAT: "", c.MIN_REPEAT: "?"}

    def text(lo: int, hi: int) -> str:
        if hi == c.MAXREPEAT:
            return "*" if lo == 0 else ("+" if lo == 1 else f"{{{lo},}}")
        return f"{{{lo},{hi}}}"

    def walk(items: object, outer: str | None) -> str | None:
        for op, av in items:  # type: ignore[attr-defined]
            if op in repeats:
                lo, hi, sub = av
                many = hi == c.MAXREPEAT or hi > _MANY
                if outer is not None and hi > max(lo, 1):
                    return f"'{outer}' 안의 '{text(lo, hi)}'"
                found = walk(sub, text(lo, hi) if many else outer)
            elif op is c.SUBPATTERN:
                found = walk(av[3], outer)
            elif op is c.BRANCH:
                found = next((f for f in (walk(b, outer) for b in av[1]) if f), None)
            elif op in (c.ASSERT, c.ASSERT_NOT):
                found = walk(av[1], outer)
            else:  # possessive repeats and atomic groups never backtrack into themselves
                found = None
            if found:
                return found
        return None

    return walk(parsed, None)


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
        want = (
            "걸려야 하는데 안 걸렸습니다 (should match but did not)"
            if self.expected
            else "걸리면 안 되는데 걸렸습니다 (should not match but did)"
        )
        return f"{self.file}: rule '{self.rule}': 예시 example “{self.example}” {want}"


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


def missing_examples(matcher: Matcher) -> list[str]:
    """Rules lacking a `match` or a `no_match` example (the README asks every rule for both).

    One line per rule, naming the file, the rule and the missing kind; `monitor rules check`
    reports them as failures.
    """
    lines = []
    for rule in matcher.rules:
        file = str(matcher.ruleset.files.get(rule.topic, rule.topic))
        examples = rule.config.examples
        given = {"match": examples.match, "no_match": examples.no_match}
        missing = [name for name, texts in given.items() if not texts]
        if missing:
            what = " 와 ".join(f"'{m}'" for m in missing)
            lines.append(
                f"{file}: rule '{rule.config.id}': examples: {what} 예시가 없습니다. 걸려야 하는 예(match)와 "
                f"걸리면 안 되는 예(no_match)를 하나 이상씩 넣으세요 (missing {', '.join(missing)} examples)"
            )
    return lines
