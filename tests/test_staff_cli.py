"""What staff read: Korean help whose examples parse, rule checks that keep the README's promises,
listings with a header, columns that do not cut words."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import Result

from monitor.cli import main
from tests.conftest import TEST_RULES

Cli = Callable[..., Result]
# Korean first: Korean words start within the first few characters (names like SQLite may lead)
HANGUL = re.compile(r"^[^가-힣]{0,16}[가-힣]")
# the commands staff use (issue 13); every other command is held to the same standard below
STAFF = ["rules", "rules check", "rules test", "rules eval", "sources", "items", "events", "digest",
         "status", "demo", "init"]  # fmt: skip


def commands(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found: list[tuple[tuple[str, ...], Any]] = [(prefix, group)] if not prefix else []
    for name, command in group.commands.items():
        found.append(((*prefix, name), command))
        if isinstance(command, click.Group):
            found.extend(commands(command, (*prefix, name)))
    return found


def parse(args: list[str]) -> click.Context:
    """Parse a command line as `monitor` would, without running anything; raises on a bad one."""
    command: click.Command = main
    ctx = command.make_context("monitor", args)
    while isinstance(command, click.Group):
        _, sub, rest = command.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        assert sub is not None
        command, ctx = sub, sub.make_context(sub.name or "", rest, parent=ctx)
    return ctx


def test_every_command_has_korean_help_and_examples_that_parse(cli: Cli, workdir: Path) -> None:
    seen = set()
    for path, command in commands():
        result = cli(*path, "--help", ok=True)
        text = result.output
        description = text.split("\n\n", 2)[1].strip()
        assert HANGUL.match(description), f"{path}: the help starts in Korean: {description[:60]!r}"
        examples = re.findall(r"^\s*Example:\s*(monitor .+)$", text, re.M)
        assert examples, f"{path}: no Example:"
        for example in examples:
            args = shlex.split(example)[1:]
            for arg in args:  # an example's input file must exist for its path check to pass
                if arg.endswith(".jsonl"):
                    (workdir / arg).parent.mkdir(parents=True, exist_ok=True)
                    (workdir / arg).touch()
            ctx = parse(args)  # raises click.UsageError if the example does not parse
            assert ctx.command is command or isinstance(command, click.Group), (path, example)
        for param in command.params:
            if isinstance(param, click.Option) and param.help:
                assert HANGUL.match(param.help), f"{path}: {param.opts}: {param.help!r}"
        seen.add(" ".join(path))
    assert set(STAFF) <= seen


def test_a_broken_example_would_be_caught() -> None:
    with pytest.raises(click.UsageError):
        parse(["run", "--log-format", "json"])  # a group option after the command: issue 13's example
    assert parse(["--log-format", "json", "run"]).command.name == "run"


def test_the_option_names_are_unchanged() -> None:
    names = {opt for _, command in commands() for p in command.params for opt in getattr(p, "opts", [])}
    expected = ("--db --sources --rules --json --since --flagged --topic --source --input --dry-run --date "
                "--to --type --limit --force --grace --all --status --log-format --verbose")
    assert set(expected.split()) <= names


def test_rules_check_fails_a_rule_without_both_kinds_of_examples(cli: Cli, workdir: Path) -> None:
    doc = yaml.safe_load(yaml.safe_dump(TEST_RULES["community-enterprise.yaml"]))
    doc["rules"][0]["examples"] = {"match": ["신규 마을기업 선정"]}
    (workdir / "rules" / "community-enterprise.yaml").write_text(
        yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8"
    )
    result = cli("rules", "check")
    assert result.exit_code == 1
    rule = "rules/community-enterprise.yaml: rule 'village-enterprise'"
    assert f"FAIL {rule}: examples: 'no_match' 예시가 없습니다" in result.stderr
    assert "예시가 모자란 규칙 1개" in result.stderr and "(2 topics, 3 rules" in result.stderr


def test_sources_has_a_header_row(cli: Cli, write_sources: Callable[..., Path]) -> None:
    write_sources([
        {"id": "mois-press", "kind": "rss", "name": "행정안전부 보도자료", "url": "https://a.kr/rss"},
        {"id": "off", "kind": "rss", "name": "꺼진 소스", "url": "https://a.kr/x", "enabled": False},
    ])  # fmt: skip
    out = cli("sources", ok=True).output.splitlines()
    assert out[0].split() == ["id", "이름", "상태", "마지막", "수집", "연속", "실패"]
    assert out[1].split()[:4] == ["mois-press", "행정안전부", "보도자료", "아직"]
    assert out[2].split()[:4] == ["off", "꺼진", "소스", "꺼짐"]


def test_status_does_not_cut_its_words(cli: Cli, write_sources: Callable[..., Path]) -> None:
    from monitor.store import Store

    path = write_sources([{"id": "mois-press", "kind": "rss", "name": "행정안전부 보도자료", "url": "https://a.kr/rss"}])
    Store(path.parent / "monitor.db").close()  # status reads a DB, never makes one (issue 12.3)
    out = cli("status").output
    line = next(x for x in out.splitlines() if "mois-press" in x)
    assert "…" not in out and "수집" in line
