"""The rule engine: Korean-aware matching, precise exclusions, the why of each match."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from monitor.config import RuleSet, TopicFile
from monitor.rules import Matcher, check_examples, topics_of

EVAL = Path(__file__).parent / "data" / "relevance-dev.jsonl"  # a copy of ../shared/eval/'s


def matcher(*topics: dict[str, Any]) -> Matcher:
    parsed = tuple(TopicFile.model_validate(t) for t in topics)
    return Matcher(RuleSet(parsed, {t.topic: Path(f"rules/{t.topic}.yaml") for t in parsed}))


COOPS = {
    "topic": "cooperatives",
    "label": "협동조합",
    "none": ["농업협동조합", "수산업협동조합", "중소기업협동조합"],
    "rules": [
        {"id": "coop-act", "any": ["협동조합 기본법", "사회적협동조합"], "priority": "urgent"},
        {"id": "coop-general", "any": ["협동조합"]},
    ],
}
M = matcher(COOPS)


def rules_of(title: str = "", summary: str = "", **fields: str) -> list[str]:
    return [m.rule for m in M.match({"title": title, "summary": summary, **fields})]


@pytest.mark.parametrize(
    "title",
    [
        "협동조합 기본법 일부개정법률안",
        "협동조합기본법 일부개정법률안",
        "「협동조합 기본법 시행령」 일부개정령안",
        "협동 조합 기본법",
    ],
)
def test_spacing_and_brackets_do_not_matter(title: str) -> None:
    assert "coop-act" in rules_of(title)


def test_exclusion_masks_only_its_own_span() -> None:
    assert rules_of("농업협동조합법 일부개정법률안") == []
    # the trap word and the real term in one item: still a match, on the real term
    both = M.match({"title": "농업협동조합법 및 협동조합 기본법 일부개정법률안", "summary": ""})
    assert [m.rule for m in both] == ["coop-act", "coop-general"]
    assert both[1].terms == ("협동조합",)


def test_fields_are_matched_separately_never_joined() -> None:
    # the title ends in 협동, the summary starts with 조합: not 협동조합
    assert rules_of("지역 상생 협동", "조합원 교육 강화") == []


def test_match_records_rule_topic_terms_field_and_snippet() -> None:
    summary = "이 법은 사회적경제 조직의 범위를 넓히고, 사회적협동조합의 인가 요건을 완화하려는 것임."
    (act, general) = M.match({"title": "조세특례제한법 일부개정법률안", "summary": summary})
    assert (act.rule, act.topic, act.priority, act.field) == ("coop-act", "cooperatives", "urgent", "summary")
    assert act.terms == ("사회적협동조합",)
    assert "사회적협동조합의 인가" in act.snippet
    assert "coop-act [cooperatives] · summary: '사회적협동조합'" in act.explain()
    assert general.rule == "coop-general"


def test_snippet_is_short_with_ellipses() -> None:
    summary = "가" * 100 + " 협동조합 " + "나" * 100
    (m,) = [m for m in M.match({"title": "", "summary": summary}) if m.rule == "coop-general"]
    assert m.snippet.startswith("…") and m.snippet.endswith("…") and len(m.snippet) < 80


def test_all_terms_are_required_and_none_terms_of_the_rule_apply() -> None:
    m = matcher(
        {
            "topic": "social-finance",
            "label": "사회적금융",
            "rules": [
                {
                    "id": "mutual-aid",
                    "any": ["공제"],
                    "all": ["사회적경제"],
                    "none": ["소득공제", "세액공제"],
                },
            ],
        }
    )
    assert m.match({"title": "사회적경제기업 공제사업 도입", "summary": ""})
    assert not m.match({"title": "공제사업 도입", "summary": ""})
    assert not m.match({"title": "사회적경제 종사자 소득공제 확대", "summary": ""})
    assert m.match({"title": "사회적경제 종사자 소득공제 및 공제조합 설립", "summary": ""})


def test_fields_option_limits_where_a_rule_looks() -> None:
    m = matcher(
        {
            "topic": "social-services",
            "label": "사회서비스",
            "rules": [{"id": "welfare-committee", "any": ["보건복지위원회"], "fields": ["committee"]}],
        }
    )
    assert not m.match({"title": "보건복지위원회 회의", "committee": ""})
    (hit,) = m.match({"title": "x", "committee": "보건복지위원회"})
    assert hit.field == "committee"


def test_regex_rules_and_their_exclusions() -> None:
    m = matcher(
        {
            "topic": "social-economy",
            "label": "사회적경제",
            "rules": [
                {"id": "se-regex", "regex": r"사회적\s*경제\s*(기본|발전)", "none": ["사회적경제발전소"]}
            ],
        }
    )
    (hit,) = m.match({"title": "사회적 경제 발전 기본계획", "summary": ""})
    assert hit.terms == ("사회적 경제 발전",)
    assert not m.match({"title": "사회적경제발전소 개소", "summary": ""})


def test_source_filter_by_id_or_kind() -> None:
    m = matcher(
        {
            "topic": "social-services",
            "label": "사회서비스",
            "rules": [{"id": "only-bills", "any": ["돌봄"], "sources": ["assembly_bills"]}],
        }
    )
    assert not m.match({"title": "돌봄"}, source="mois-press", kind="rss")
    assert m.match({"title": "돌봄"}, source="bills-22", kind="assembly_bills")


def test_matching_cost_follows_hits_not_rule_count() -> None:
    many = dict(COOPS, rules=COOPS["rules"] + [{"id": f"r{i}", "any": [f"용어{i}번"]} for i in range(2000)])
    big = matcher(many)
    assert len(big.rules) == 2002
    assert [m.rule for m in big.match({"title": "용어1999번 관련", "summary": ""})] == ["r1999"]


def test_examples_are_checked() -> None:
    m = matcher(
        dict(
            COOPS,
            rules=[
                {
                    "id": "ok",
                    "any": ["협동조합"],
                    "examples": {"match": ["학교협동조합"], "no_match": ["농업협동조합"]},
                },
                {"id": "bad", "any": ["협동조합"], "examples": {"match": ["노동조합"], "no_match": []}},
            ],
        )
    )
    count, failures = check_examples(m)
    assert count == 3
    assert [str(f) for f in failures] == [
        "rules/cooperatives.yaml: rule 'bad': 예시 example “노동조합” "
        "걸려야 하는데 안 걸렸습니다 (should match but did not)"
    ]


def test_topics_of_keeps_first_seen_order() -> None:
    assert topics_of(M.match({"title": "사회적협동조합", "summary": ""})) == ["cooperatives"]


def test_normalisation_traps_from_the_labeled_set() -> None:
    """The dev set's 협동조합 traps stay quiet with only the exclusions above."""
    rows = {r["id"]: r for r in map(json.loads, EVAL.read_text(encoding="utf-8").splitlines())}
    for rid in ("dev-020", "dev-021", "dev-026", "dev-038"):  # 농협·수협·중기협 laws
        row = rows[rid]
        assert rules_of(row["title"], row["summary"]) == [], rid
    assert "coop-act" in rules_of(rows["dev-005"]["title"])  # 협동조합 기본법 with a space
    assert "coop-act" in rules_of(rows["dev-032"]["title"])  # 「협동조합 기본법 시행령」


def test_unless_title_silences_a_rule_for_the_whole_item() -> None:
    m = matcher(
        {
            "topic": "cooperatives",
            "label": "협동조합",
            "rules": [
                {"id": "general", "any": ["협동조합"], "unless_title": ["농업협동조합", "농협"]},
                {"id": "social", "any": ["사회적협동조합"]},
            ],
        }
    )
    summary = "협동조합인 지역농협 간 합병 요건을 완화함."
    assert m.match({"title": "농업협동조합법 일부개정법률안", "summary": summary}) == []
    # the same summary under another title still matches, and other rules are unaffected
    assert [x.rule for x in m.match({"title": "협동조합 지원법안", "summary": summary})] == ["general"]
    both = m.match({"title": "농업협동조합법 일부개정법률안", "summary": "사회적협동조합과의 협력을 지원함."})
    assert [x.rule for x in both] == ["social"]


def test_a_character_that_folds_to_several_is_masked_and_ordered_as_written() -> None:
    """㈜ folds to (주) and ㎡ to m2: an exclusion covering the whole character hides a term
    inside it, and terms starting in one character keep their spelling order."""
    m = matcher({"topic": "t", "label": "T", "rules": [
        {"id": "corp", "any": ["㈜"], "none": ["주"]},
        {"id": "area", "any": ["㎡"], "none": ["m"]},
        {"id": "both", "any": ["m", "2"]},
    ]})  # fmt: skip
    assert m.match({"title": "㈜한국협동", "summary": ""}) == []
    found = m.match({"title": "면적 100㎡", "summary": ""})
    assert [(x.rule, x.terms) for x in found] == [("both", ("2", "m"))]
