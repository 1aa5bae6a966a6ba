"""Config validation: every mistake names the file, the entry and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import Settings, load_rules, load_sources
from monitor.errors import ConfigError

GOOD_SOURCE = """
  - id: mois-press
    kind: rss
    name: 행정안전부 보도자료
    url: https://www.mois.go.kr/gpms/view/jsp/rss/rss.jsp?ctxCd=1012
    interval: 2h
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def rules_dir(tmp_path: Path, body: str, name: str = "cooperatives.yaml") -> Path:
    write(tmp_path / "rules" / name, body)
    return tmp_path / "rules"


def error_of(fn, *args) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as info:
        fn(*args)
    return str(info.value)


def test_sources_file_loads_as_a_list_or_a_mapping(tmp_path: Path) -> None:
    as_list = load_sources(write(tmp_path / "a.yaml", GOOD_SOURCE))
    as_map = load_sources(write(tmp_path / "b.yaml", "http:\n  host_spacing: 2\nsources:" + GOOD_SOURCE))
    assert as_list.sources[0].id == as_map.sources[0].id == "mois-press"
    assert as_map.http.host_spacing == 2
    assert as_list.sources[0].interval_seconds == 7200
    assert as_list.sources[0].backfill_days == 3


def test_unknown_source_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = write(tmp_path / "sources.yaml", GOOD_SOURCE + "    intervall: 1h\n")
    msg = error_of(load_sources, path)
    assert "sources.yaml: source 'mois-press': unknown key 'intervall' (did you mean 'interval'?)" in msg


def test_unknown_kind_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path / "sources.yaml", GOOD_SOURCE.replace("kind: rss", "kind: rsss"))
    msg = error_of(load_sources, path)
    assert "source 'mois-press': kind: unknown kind 'rsss' (did you mean 'rss'?)" in msg


def test_duplicate_source_ids(tmp_path: Path) -> None:
    msg = error_of(load_sources, write(tmp_path / "sources.yaml", GOOD_SOURCE + GOOD_SOURCE))
    assert "source 'mois-press': duplicate id" in msg


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("    url: ftp://example.org/feed", "url: must be an http:// or https:// URL"),
        ("    interval: soon", "interval: 'soon' is not a duration"),
        ("    backfill_days: -1", "backfill_days"),
        ("    link_rewrite: yes", "link_rewrite"),
    ],
)
def test_bad_source_values_name_the_field(tmp_path: Path, line: str, needle: str) -> None:
    text = GOOD_SOURCE.replace("    url: https://www.mois.go.kr/gpms/view/jsp/rss/rss.jsp?ctxCd=1012\n", "")
    if not line.strip().startswith("url"):
        text += "    url: https://www.mois.go.kr/rss\n"
    text = text.replace("    interval: 2h\n", "") if "interval" in line else text
    msg = error_of(load_sources, write(tmp_path / "sources.yaml", text + line + "\n"))
    assert "source 'mois-press'" in msg and needle in msg


def test_missing_required_source_key(tmp_path: Path) -> None:
    msg = error_of(load_sources, write(tmp_path / "s.yaml", "- id: x\n  kind: rss\n  url: https://a.kr/\n"))
    assert "source 'x': missing required key 'name'" in msg


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    msg = error_of(load_sources, write(tmp_path / "s.yaml", "- id: x\n  name: [unclosed\n"))
    assert "s.yaml: line" in msg and "YAML syntax error" in msg


def test_missing_file(tmp_path: Path) -> None:
    assert "file not found" in error_of(load_sources, tmp_path / "nope.yaml")


RULE = """topic: cooperatives
label: 협동조합
rules:
  - id: coop-basic-act
    any: [협동조합 기본법]
"""


def test_good_rules_load(tmp_path: Path) -> None:
    ruleset = load_rules(rules_dir(tmp_path, RULE))
    assert ruleset.topics[0].rules[0].fields == ["title", "summary"]
    assert ruleset.label("cooperatives") == "협동조합"


def test_unknown_rule_key_is_named_with_file_rule_and_suggestion(tmp_path: Path) -> None:
    msg = error_of(load_rules, rules_dir(tmp_path, RULE.replace("any:", "anyy:")))
    assert "rules/cooperatives.yaml: rule 'coop-basic-act': unknown key 'anyy' (did you mean 'any'?)" in msg


def test_empty_term_list_is_an_error(tmp_path: Path) -> None:
    msg = error_of(load_rules, rules_dir(tmp_path, RULE.replace("[협동조합 기본법]", "[]")))
    assert "rule 'coop-basic-act': any: the term list is empty" in msg


def test_blank_term_is_an_error(tmp_path: Path) -> None:
    msg = error_of(load_rules, rules_dir(tmp_path, RULE.replace("[협동조합 기본법]", "['「 」']")))
    assert "rule 'coop-basic-act': any: term '「 」' is empty" in msg


def test_empty_unless_title_is_an_error(tmp_path: Path) -> None:
    msg = error_of(load_rules, rules_dir(tmp_path, RULE + "    unless_title: []\n"))
    assert "rule 'coop-basic-act': unless_title: the term list is empty" in msg


def test_invalid_regex(tmp_path: Path) -> None:

    msg = error_of(load_rules, rules_dir(tmp_path, RULE + "    regex: '협동(조합'\n"))
    assert "rule 'coop-basic-act': regex: invalid regular expression" in msg


def test_rule_without_any_or_regex(tmp_path: Path) -> None:
    msg = error_of(
        load_rules, rules_dir(tmp_path, RULE.replace("    any: [협동조합 기본법]\n", "    all: [협동조합]\n"))
    )
    assert "rule 'coop-basic-act': any: missing" in msg


def test_duplicate_rule_ids_across_files(tmp_path: Path) -> None:
    rules_dir(tmp_path, RULE)
    other = RULE.replace("topic: cooperatives", "topic: coops2")
    msg = error_of(load_rules, rules_dir(tmp_path, other, "other.yaml"))
    assert "rules/other.yaml: rule 'coop-basic-act': duplicate rule id (also in" in msg


def test_duplicate_topic(tmp_path: Path) -> None:
    rules_dir(tmp_path, RULE)
    other = RULE.replace("coop-basic-act", "coop-2")
    msg = error_of(load_rules, rules_dir(tmp_path, other, "zz.yaml"))
    assert "topic: 'cooperatives' is already defined" in msg


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (
            ("    any: [협동조합 기본법]", "    any: [협동조합 기본법]\n    priority: critical"),
            "priority: 'critical'",
        ),
        (
            ("    any: [협동조합 기본법]", "    any: [협동조합 기본법]\n    fields: [titel]"),
            "fields item 1: 'titel' is not allowed",
        ),
        (("    any: [협동조합 기본법]", "    any: [yes]"), "any item 1: must be text"),
        (("label: 협동조합\n", ""), "missing required key 'label'"),
        (
            ("    any: [협동조합 기본법]", "    any: [협동조합 기본법]\n    examples: {macth: [a]}"),
            "unknown key 'macth' (did you mean 'match'?)",
        ),
    ],
)
def test_rule_field_errors(tmp_path: Path, change: tuple[str, str], needle: str) -> None:
    msg = error_of(load_rules, rules_dir(tmp_path, RULE.replace(*change)))
    assert "rules/cooperatives.yaml" in msg and needle in msg


def test_a_topic_without_rules(tmp_path: Path) -> None:
    msg = error_of(load_rules, rules_dir(tmp_path, "topic: cooperatives\nlabel: 협동조합\nrules: []\n"))
    assert "rules/cooperatives.yaml: rules: must not be empty" in msg


def test_source_filter_must_name_a_source_or_kind(tmp_path: Path) -> None:
    body = RULE + "    sources: [nowhere]\n"
    msg = error_of(load_rules, rules_dir(tmp_path, body), {"mois-press"})
    assert "rule 'coop-basic-act': sources: 'nowhere' is neither a source id nor a kind" in msg
    assert load_rules(rules_dir(tmp_path, RULE + "    sources: [rss]\n"), {"mois-press"})


def test_settings_from_env_with_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_DB", "/data/m.db")
    monkeypatch.delenv("MONITOR_RULES", raising=False)
    s = Settings.from_env(rules="my-rules")
    assert str(s.db) == "/data/m.db" and str(s.rules) == "my-rules" and str(s.sources) == "sources.yaml"
    assert Settings.from_env(db="x.db").db == Path("x.db")


@pytest.mark.parametrize(
    ("text", "line", "hint"),
    [
        ("topic: a\nlabel: b\nrules:\n  - id: x\n    any: [협동조합 기본법, 사회적\n    priority: urgent\n",
         "line 6", "5번째 줄에서 연 '[' 를 ']' 로 닫지 않았습니다"),
        ("topic: a\nrules:\n  - id: x\n    examples: {match: [a]\n    priority: high\n",
         "line 5", "4번째 줄에서 연 '{' 를 '}' 로 닫지 않았습니다"),
        ("topic: a\nlabel: \"협동조합\nrules: []\n", "line 4", "2번째 줄에서 연 따옴표를 닫지 않았습니다"),
        ("topic: a\nrules:\n\t- id: x\n", "line 3", "탭 문자가 있습니다: 들여쓰기는 스페이스로만 하세요"),
        ("topic: a\nrules:\n  - id: x\n    any: [a]\n   priority: high\n", "line 5",
         "5번째 줄의 들여쓰기를 확인하세요"),
        ("topic: a\nrules:\n  - id: x\n    any: a: b\n", "line 4",
         "값 안에 ': ' 가 있으면 그 값을 따옴표로 감싸세요"),
    ],
)  # fmt: skip
def test_yaml_syntax_errors_hint_at_the_usual_cause(tmp_path: Path, text: str, line: str, hint: str) -> None:
    msg = error_of(load_rules, rules_dir(tmp_path, text))
    assert f"rules/cooperatives.yaml: {line}: YAML 문법 오류 (YAML syntax error): " in msg, msg
    assert f" — {hint}" in msg and "\n" not in msg


@pytest.mark.parametrize(("text", "words"), [("", "the file is empty)"), ("# 메모\n\n", "but for comments")])
def test_an_empty_file_says_it_is_empty(tmp_path: Path, text: str, words: str) -> None:
    as_rules = error_of(load_rules, rules_dir(tmp_path, text))
    for msg in (as_rules, error_of(load_sources, write(tmp_path / "s.yaml", text))):
        assert "파일이 비어 있습니다" in msg and words in msg


@pytest.mark.parametrize("rule_id", ["Coop-Act", "coop_act", "협동조합", "coop--act", "-coop", "coop act"])
def test_rule_ids_are_lower_case_words_joined_by_dashes(tmp_path: Path, rule_id: str) -> None:
    msg = error_of(load_rules, rules_dir(tmp_path, RULE.replace("id: coop-basic-act", f"id: '{rule_id}'")))
    assert f"rule '{rule_id}': id: 규칙 id 는 영문 소문자·숫자와 '-' 로만 씁니다" in msg


def test_a_model_level_error_has_no_empty_field_name(tmp_path: Path) -> None:
    board = (
        "  - id: a\n    kind: html_board\n    name: a\n    url: https://a.kr/\n    row: tr\n    title: a\n"
        "    detail_url: 'https://a.kr/{id}'\n"
    )
    msg = error_of(load_sources, write(tmp_path / "s.yaml", "sources:\n" + board))
    assert "source 'a': detail_url needs id_regex" in msg and ": :" not in msg
