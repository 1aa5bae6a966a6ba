"""monitor/evaluate.py on a hand-made labeled list, and `monitor rules eval` end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from monitor.cli import main
from monitor.config import load_rules
from monitor.evaluate import NO_RULE, LabelError, evaluate, near_misses
from monitor.rules import Matcher

RULES: dict[str, dict[str, Any]] = {
    "cooperatives.yaml": {
        "topic": "cooperatives",
        "label": "협동조합",
        "none": ["농업협동조합"],
        "rules": [
            {"id": "coop-basic-act", "any": ["협동조합 기본법"], "fields": ["title"], "priority": "urgent"},
            {"id": "coop-general", "any": ["협동조합"]},
        ],
    },
    "social-finance.yaml": {
        "topic": "social-finance",
        "label": "사회적금융",
        "rules": [{"id": "se-mutual-aid", "any": ["공제조합"], "all": ["사회적경제"]}],
    },
}

ITEMS: list[dict[str, Any]] = [
    # true positive, right topic
    {"id": "a", "source": "s", "title": "협동조합 기본법 일부개정법률안", "summary": "",
     "relevant": True, "topics": ["cooperatives"]},
    # false positive: a trap the rules catch through the summary
    {"id": "b", "source": "s", "title": "노동조합법 일부개정법률안",
     "summary": "노동조합과 협동조합의 차이를 정리함.", "relevant": False, "topics": []},
    # false negative: the co-op term is hidden by the none-term
    {"id": "c", "source": "s", "title": "농업협동조합법 일부개정법률안", "summary": "",
     "relevant": True, "topics": ["cooperatives"]},
    # false negative: the any-term is there, the all-term is missing
    {"id": "d", "source": "s", "title": "공제조합 설립 논의", "summary": "",
     "relevant": True, "topics": ["social-finance"]},
    # topic miss: flagged, but not with the labeled topic
    {"id": "e", "source": "s", "title": "협동조합 대출 확대", "summary": "",
     "relevant": True, "topics": ["social-finance"]},
    # true negative
    {"id": "f", "source": "s", "title": "도로교통법 일부개정법률안", "summary": "",
     "relevant": False, "topics": []},
]  # fmt: skip


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    for name, doc in RULES.items():
        (folder / name).write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.fixture
def matcher(rules_dir: Path) -> Matcher:
    return Matcher(load_rules(rules_dir))


def test_figures(matcher: Matcher) -> None:
    result = evaluate(ITEMS, matcher)
    assert (result.items, result.relevant, result.flagged) == (6, 4, 3)
    assert (result.true_positives, result.false_positive_count) == (2, 1)
    assert (result.false_negative_count, result.true_negatives) == (2, 1)
    assert result.precision == pytest.approx(2 / 3)
    assert result.recall == pytest.approx(2 / 4)
    assert result.f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))
    assert result.topic_accuracy == pytest.approx(1 / 2)


def test_per_topic_counts(matcher: Matcher) -> None:
    topics = evaluate(ITEMS, matcher).topics
    coop, fin = topics["cooperatives"], topics["social-finance"]
    assert (coop.labeled, coop.flagged, coop.correct) == (2, 3, 1)
    assert (fin.labeled, fin.flagged, fin.correct) == (2, 0, 0)
    assert fin.recall == 0.0


def test_false_positive_carries_the_explanation(matcher: Matcher) -> None:
    [fp] = evaluate(ITEMS, matcher).false_positives
    assert fp.id == "b" and fp.flagged == ("cooperatives",)
    [line] = fp.explanations()
    assert line.startswith("coop-general [cooperatives] · summary: '협동조합' · “")
    assert fp.to_dict()["matches"][0]["terms"] == ["협동조합"]


def test_false_negatives_say_how_close_they_came(matcher: Matcher) -> None:
    c, d = evaluate(ITEMS, matcher).false_negatives
    assert c.id == "c" and any("hidden by none-term '농업협동조합'" in h for h in c.hints)
    assert d.id == "d" and any("all-term '사회적경제' is missing" in h for h in d.hints)


def test_topic_miss_lists_the_missing_topic_only(matcher: Matcher) -> None:
    [miss] = evaluate(ITEMS, matcher).topic_misses
    assert miss.id == "e" and miss.labeled == ("social-finance",) and miss.flagged == ("cooperatives",)


def test_no_partial_hit_says_no_rule_matched(matcher: Matcher) -> None:
    item = {"id": "g", "title": "사회서비스원 설립", "relevant": True, "topics": ["cooperatives"]}
    [fn] = evaluate([item], matcher).false_negatives
    assert fn.hints == (NO_RULE,) and NO_RULE.startswith("no rule matched")


def test_field_the_rule_does_not_read_is_a_hint(matcher: Matcher) -> None:
    hints = near_misses(matcher, {"title": "", "summary": "협동조합 기본법 개정"}, topics=["cooperatives"])
    assert any(h.startswith("coop-basic-act [cooperatives]") and "reads only title" in h for h in hints)


def test_empty_set_has_no_ratios(matcher: Matcher) -> None:
    result = evaluate([], matcher)
    assert result.precision is None and result.recall is None and result.f1 is None
    assert result.to_dict()["precision"] is None


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"id": "x", "title": "t", "topics": []}, "'relevant' must be true or false"),
        ({"id": "x", "title": "t", "relevant": "yes"}, "'relevant' must be true or false"),
        ({"id": "x", "title": "t", "relevant": True, "topics": []}, "needs at least one topic"),
        ({"id": "x", "title": "t", "relevant": True, "topics": "cooperatives"}, "must be a list"),
    ],
)
def test_bad_labels_are_errors(matcher: Matcher, item: dict[str, Any], message: str) -> None:
    with pytest.raises(LabelError, match=message):
        evaluate([item], matcher)


def test_unknown_labeled_topic_is_reported(matcher: Matcher) -> None:
    item = {"id": "x", "title": "협동조합", "relevant": True, "topics": ["co-op"]}
    assert evaluate([item], matcher).unknown_topics == ["co-op"]


# --- CLI --------------------------------------------------------------------------------------


def write_items(path: Path, items: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items), encoding="utf-8")
    return path


def test_cli_json(rules_dir: Path, tmp_path: Path) -> None:
    file = write_items(tmp_path / "labeled.jsonl", ITEMS)
    result = CliRunner().invoke(main, ["--rules", str(rules_dir), "rules", "eval", str(file), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["precision"] == pytest.approx(0.6667, abs=1e-4)
    assert report["recall"] == 0.5
    assert report["topics"]["cooperatives"] == {"labeled": 2, "flagged": 3, "correct": 1}
    [fp] = report["false_positives"]
    assert fp["id"] == "b"
    assert fp["matches"][0]["rule"] == "coop-general" and fp["matches"][0]["terms"] == ["협동조합"]
    assert [f["id"] for f in report["false_negatives"]] == ["c", "d"]
    assert [f["id"] for f in report["topic_misses"]] == ["e"]


def test_cli_human_report(rules_dir: Path, tmp_path: Path) -> None:
    file = write_items(tmp_path / "labeled.jsonl", ITEMS)
    result = CliRunner().invoke(main, ["--rules", str(rules_dir), "rules", "eval", str(file)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "정밀도 precision 0.667 · 재현율 recall 0.500" in out
    assert "협동조합 (cooperatives)" in out
    assert "✘ b  노동조합법 일부개정법률안" in out
    assert "    └ coop-general [cooperatives] · summary: '협동조합' · “" in out
    assert "hidden by none-term '농업협동조합'" in out


def test_cli_unreadable_file_is_an_error(rules_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "title": "x", "relevant": true, "topics": ["cooperatives"]}\nnot json\n')
    result = CliRunner().invoke(main, ["--rules", str(rules_dir), "rules", "eval", str(bad)])
    assert result.exit_code == 1
    assert "line 2: 올바른 JSON 이 아닙니다 (not valid JSON" in result.output


def test_cli_bad_label_is_an_error(rules_dir: Path, tmp_path: Path) -> None:
    file = write_items(tmp_path / "labeled.jsonl", [{"id": "z", "title": "x", "relevant": "maybe"}])
    result = CliRunner().invoke(main, ["--rules", str(rules_dir), "rules", "eval", str(file)])
    assert result.exit_code == 1
    assert "item z: 'relevant' must be true or false" in result.output


def test_cli_help_has_an_example() -> None:
    result = CliRunner().invoke(main, ["rules", "eval", "--help"])
    assert result.exit_code == 0 and "Example: monitor rules eval" in result.output
