"""Measure the rules on a labeled set: precision, recall, per-topic counts and the why of each error."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from monitor.rules import Match, Matcher, topics_of
from monitor.text import Folded, clean_whitespace, fold

TEXT_FIELDS = ("title", "summary", "body", "committee", "proposer")
NO_RULE = "no rule matched: no rule term appears in any field (어떤 규칙의 단어도 나오지 않음)"

if TYPE_CHECKING:
    from monitor.rules import CompiledRule

FieldsOf = Callable[[Mapping[str, Any]], dict[str, str]]


class LabelError(ValueError):
    """A labeled entry lacks what evaluation needs (a boolean `relevant`, a list of `topics`)."""


def entry_fields(entry: Mapping[str, Any]) -> dict[str, str]:
    """The text fields of a labeled entry; missing ones are empty."""
    return {name: str(entry.get(name) or "") for name in TEXT_FIELDS}


@dataclass(frozen=True)
class Finding:
    """One item the rules got wrong, with the matches it got and the partial hits it nearly got."""

    id: str
    title: str
    labeled: tuple[str, ...]
    flagged: tuple[str, ...]
    matches: tuple[Match, ...]
    hints: tuple[str, ...]

    def explanations(self) -> list[str]:
        """One line per match, as the matcher explains it."""
        return [m.explain() for m in self.matches]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "id": self.id,
            "title": self.title,
            "labeled_topics": list(self.labeled),
            "flagged_topics": list(self.flagged),
            "matches": [_match_dict(m) for m in self.matches],
            "hints": list(self.hints),
        }


@dataclass
class TopicCount:
    """How many items a topic is labeled on, flagged on, and both."""

    labeled: int = 0
    flagged: int = 0
    correct: int = 0

    @property
    def recall(self) -> float | None:
        """Share of the labeled items that were flagged with this topic."""
        return _ratio(self.correct, self.labeled)


@dataclass
class Evaluation:
    """The figures and the errors of one labeled set."""

    items: int = 0
    true_positives: int = 0
    false_positive_count: int = 0
    false_negative_count: int = 0
    true_negatives: int = 0
    topic_hits: int = 0
    topics: dict[str, TopicCount] = field(default_factory=dict)
    false_positives: list[Finding] = field(default_factory=list)
    false_negatives: list[Finding] = field(default_factory=list)
    topic_misses: list[Finding] = field(default_factory=list)
    unknown_topics: list[str] = field(default_factory=list)

    @property
    def relevant(self) -> int:
        """Items labeled relevant."""
        return self.true_positives + self.false_negative_count

    @property
    def flagged(self) -> int:
        """Items some rule matched."""
        return self.true_positives + self.false_positive_count

    @property
    def precision(self) -> float | None:
        """Share of flagged items that are relevant (None when nothing was flagged)."""
        return _ratio(self.true_positives, self.flagged)

    @property
    def recall(self) -> float | None:
        """Share of relevant items that were flagged (None when nothing is relevant)."""
        return _ratio(self.true_positives, self.relevant)

    @property
    def f1(self) -> float | None:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)

    @property
    def topic_accuracy(self) -> float | None:
        """Share of flagged relevant items whose topics include every labeled topic."""
        return _ratio(self.topic_hits, self.true_positives)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the figures and every error."""
        return {
            "items": self.items,
            "relevant": self.relevant,
            "flagged": self.flagged,
            "true_positives": self.true_positives,
            "false_positive_count": self.false_positive_count,
            "false_negative_count": self.false_negative_count,
            "true_negatives": self.true_negatives,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
            "topic_accuracy": _round(self.topic_accuracy),
            "topics": {
                name: {"labeled": c.labeled, "flagged": c.flagged, "correct": c.correct}
                for name, c in self.topics.items()
            },
            "false_positives": [f.to_dict() for f in self.false_positives],
            "false_negatives": [f.to_dict() for f in self.false_negatives],
            "topic_misses": [f.to_dict() for f in self.topic_misses],
            "unknown_topics": self.unknown_topics,
        }


def evaluate(
    entries: Iterable[Mapping[str, Any]], matcher: Matcher, fields_of: FieldsOf = entry_fields
) -> Evaluation:
    """Match every labeled entry and compare the flags and topics with the labels."""
    result = Evaluation(topics={t.topic: TopicCount() for t in matcher.ruleset.topics})
    for entry in entries:
        _score(result, entry, matcher, fields_of)
    known = {t.topic for t in matcher.ruleset.topics}
    result.unknown_topics = sorted(t for t in result.topics if t not in known)
    return result


def _score(result: Evaluation, entry: Mapping[str, Any], matcher: Matcher, fields_of: FieldsOf) -> None:
    """Add one entry to the running figures."""
    relevant, labeled = _labels(entry)
    fields = fields_of(entry)
    source = str(entry.get("source") or "") or None
    matches = matcher.match(fields, source, source)
    flagged = tuple(topics_of(matches))
    result.items += 1
    for topic in labeled:
        result.topics.setdefault(topic, TopicCount()).labeled += 1
    for topic in flagged:
        count = result.topics.setdefault(topic, TopicCount())
        count.flagged += 1
        count.correct += topic in labeled

    def finding(hints: list[str]) -> Finding:
        return Finding(str(entry.get("id")), fields.get("title", ""), labeled, flagged, tuple(matches),
                       tuple(hints))  # fmt: skip

    if relevant and matches:
        result.true_positives += 1
        missing = [t for t in labeled if t not in flagged]
        if missing:
            result.topic_misses.append(finding(near_misses(matcher, fields, source, missing)))
        else:
            result.topic_hits += 1
    elif relevant:
        result.false_negative_count += 1
        result.false_negatives.append(finding(near_misses(matcher, fields, source) or [NO_RULE]))
    elif matches:
        result.false_positive_count += 1
        result.false_positives.append(finding([]))
    else:
        result.true_negatives += 1


def _labels(entry: Mapping[str, Any]) -> tuple[bool, tuple[str, ...]]:
    """The entry's `relevant` flag and labeled topics, or a LabelError saying what is wrong."""
    ident = entry.get("id")
    relevant = entry.get("relevant")
    if not isinstance(relevant, bool):
        raise LabelError(f"item {ident}: 'relevant' must be true or false, got {relevant!r}")
    topics = entry.get("topics") or []
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise LabelError(f"item {ident}: 'topics' must be a list of topic ids, got {topics!r}")
    if relevant and not topics:
        raise LabelError(f"item {ident}: a relevant item needs at least one topic in 'topics'")
    return relevant, tuple(topics)


# --- partial hits -----------------------------------------------------------------------------


def near_misses(
    matcher: Matcher,
    fields: Mapping[str, str],
    source: str | None = None,
    topics: Iterable[str] | None = None,
) -> list[str]:
    """Why rules that did not fire came close: a term hidden by `none`, an `all` term missing, …"""
    wanted = set(topics) if topics is not None else None
    fired = {m.rule for m in matcher.match(fields, source, source)}
    folded = {name: fold(fields.get(name) or "") for name in TEXT_FIELDS}
    hints: list[str] = []
    for rule in matcher.rules:
        if rule.config.id in fired or (wanted is not None and rule.topic not in wanted):
            continue
        hint = _rule_hint(rule, folded, source)
        if hint:
            hints.append(f"{rule.config.id} [{rule.topic}]: {hint}")
    return hints


def _rule_hint(rule: CompiledRule, folded: Mapping[str, Folded], source: str | None) -> str | None:
    """The first reason this rule came close without firing, or None when none of its terms appear."""
    fallback: str | None = None
    for name, text in folded.items():
        for term, spelling in rule.any.items():
            spans = _find(text.text, term)
            if not spans:
                continue
            where = f"'{spelling}' in {name} “{_snippet(text, spans[0])}”"
            if name not in rule.config.fields:
                fallback = fallback or f"{where}, but the rule reads only {', '.join(rule.config.fields)}"
                continue
            masks = [(m, s) for m in rule.none for s in _find(text.text, m)]
            free = [sp for sp in spans if not any(s <= sp[0] and sp[1] <= e for _, (s, e) in masks)]
            if not free:
                mask = next(m for m, (s, e) in masks if s <= spans[0][0] and spans[0][1] <= e)
                fallback = fallback or f"{where} is hidden by none-term '{mask}'"
                continue
            missing = [sp for t, sp in rule.all.items() if not _present(rule, folded, t)]
            if missing:
                return f"{where}, but all-term {', '.join(repr(m) for m in missing)} is missing"
            if rule.sources is not None and source not in rule.sources:
                return f"{where}, but the rule is limited to sources {', '.join(sorted(rule.sources))}"
    return fallback


def _present(rule: CompiledRule, folded: Mapping[str, Folded], term: str) -> bool:
    """Whether an all-term appears unmasked in one of the rule's fields."""
    for name in rule.config.fields:
        text = folded[name].text
        masks = [s for m in rule.none for s in _find(text, m)]
        if any(not any(s <= a and b <= e for s, e in masks) for a, b in _find(text, term)):
            return True
    return False


def _find(text: str, term: str) -> list[tuple[int, int]]:
    """Every [start, end) occurrence of term in text, overlaps included."""
    spans, start = [], text.find(term)
    while start >= 0 and term:
        spans.append((start, start + len(term)))
        start = text.find(term, start + 1)
    return spans


def _snippet(text: Folded, span: tuple[int, int], width: int = 20) -> str:
    """A few words of the original text around a span given in folded coordinates."""
    start, end = text.origin[span[0]], text.origin[span[1] - 1] + 1
    a, b = max(0, start - width), min(len(text.source), end + width)
    return ("…" if a else "") + clean_whitespace(text.source[a:b]) + ("…" if b < len(text.source) else "")


def _match_dict(m: Match) -> dict[str, Any]:
    """A match as JSON, with its one-line explanation."""
    return {"rule": m.rule, "topic": m.topic, "priority": m.priority, "field": m.field,
            "terms": list(m.terms), "snippet": m.snippet, "explain": m.explain()}  # fmt: skip


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None
