"""The `monitor` command line: thin commands over the library."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from monitor.config import RuleSet, Settings, SourcesFile, display_path, load_rules, load_sources
from monitor.errors import ConfigError, ConfigNotFound
from monitor.rules import Matcher, check_examples, topics_of
from monitor.text import pad, parse_duration


class ConfigProblem(click.ClickException):
    """A configuration error, shown as-is with exit code 2."""

    exit_code = 2

    def format_message(self) -> str:
        return f"{self.message}\n설정 파일을 고친 뒤 다시 실행하세요 (fix the file above and run again)."


class EnvironmentProblem(click.ClickException):
    """A problem with the DB file, its folder or an environment variable: one line, exit code 2."""

    exit_code = 2


def _settings(ctx: click.Context) -> Settings:
    return ctx.find_object(Settings)  # type: ignore[return-value]


class ConfigMissing(click.ClickException):
    """A config file or folder that does not exist: the path, what set it, exit code 2."""

    exit_code = 2


def _open_store(settings: Settings, *, read: bool = False) -> Any:
    """Open the DB for a command: read commands read-only, never creating a file or folder.

    Any DB problem (missing for a read, damaged, not writable) is one line naming the file, the
    user and the fix, with exit code 2.
    """
    from monitor.store import Store, StoreError

    try:
        return Store(settings.db, mode="read" if read else "create")
    except StoreError as e:
        raise EnvironmentProblem(str(e)) from None


def _check_tz() -> None:
    """MONITOR_TZ must name a time zone (a typo would otherwise fail deep inside with a traceback)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    value = os.environ.get("MONITOR_TZ") or "Asia/Seoul"
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise EnvironmentProblem(
            f"환경 변수 MONITOR_TZ={value!r} 은(는) 알 수 없는 시간대입니다: MONITOR_TZ=Asia/Seoul 처럼 "
            "tz 데이터베이스 이름을 쓰거나 변수를 지우세요 (기본값 Asia/Seoul)"
        ) from None


def _load(settings: Settings, *, need_sources: bool = True) -> tuple[SourcesFile | None, RuleSet]:
    """Load and validate config before anything touches the DB.

    Says in one line (stderr) when the shipped defaults or a demo DB's own sources are used.
    """
    from monitor.defaults import Choice, not_found_hint, notice

    chosen_sources = Choice(settings.sources, settings.sources_origin) if need_sources else None
    line = notice(chosen_sources, Choice(settings.rules, settings.rules_origin))
    if line:
        click.echo(line, err=True)
    try:
        sources = load_sources(settings.sources) if need_sources else None
        ids = {s.id for s in sources.sources} if sources else None
        rules = load_rules(settings.rules, ids)
    except ConfigNotFound as e:
        name = "sources" if e.path == settings.sources else "rules"
        origin = settings.sources_origin if name == "sources" else settings.rules_origin
        raise ConfigMissing(f"{e} — {not_found_hint(name, origin)}") from None
    except ConfigError as e:
        raise ConfigProblem(str(e)) from None
    return sources, rules


def _echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False, default=str))


def _duration(value: str | None) -> Any:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as e:
        raise click.BadParameter(f"기간은 30m, 6h, 7d 처럼 씁니다 ({e})") from None


HELP_OPTION = "이 도움말을 보여 주고 끝냅니다 (show this help and exit)."


class _KoreanHelp(click.Command):
    """-h/--help described in Korean first (click's own text is English)."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_OPTION
        return option


class _Main(_KoreanHelp, click.Group):
    """The top-level group: a reader that stops early (`monitor items | head`) is a normal end.

    Its commands get the Korean -h/--help text, and so do its groups (the same class).
    """

    command_class = _KoreanHelp
    group_class = type

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _stdout_to_devnull()
            ctx.exit(0)


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null so the final flush at exit cannot raise BrokenPipeError again."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return  # not a real file (a test runner's buffer)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", envvar="MONITOR_DB",
              help="SQLite 파일 (환경 변수 MONITOR_DB, 기본 ./monitor.db; the SQLite file).")  # fmt: skip
@click.option("--sources", "sources_path", envvar="MONITOR_SOURCES",
              help="소스 설정 파일 (환경 변수 MONITOR_SOURCES; 기본 ./sources.yaml, 없으면 "
                   "설치된 기본 설정).")  # fmt: skip
@click.option("--rules", "rules_path", envvar="MONITOR_RULES",
              help="규칙 폴더나 파일 (환경 변수 MONITOR_RULES; 기본 ./rules, 없으면 "
                   "설치된 기본 규칙).")  # fmt: skip
@click.option("-v", "--verbose", is_flag=True, help="진행 상황을 stderr 에 기록합니다 (log progress).")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="로그 형식: text 또는 json (수준은 MONITOR_LOG_LEVEL).")  # fmt: skip
@click.version_option(package_name="policy-monitor", help="버전을 보여 주고 끝냅니다 (show the version).")
@click.pass_context
def main(ctx: click.Context, db: str | None, sources_path: str | None,
         rules_path: str | None, verbose: bool, log_format: str) -> None:  # fmt: skip
    """국회·정부의 법안, 입법예고, 보도자료를 모아 규칙에 걸리는 것을 알려 줍니다.

    Watch Korean legislation and policy sources and flag what matters.

    설정은 --sources/--rules, 환경 변수 MONITOR_SOURCES/MONITOR_RULES, 지금 폴더의
    ./sources.yaml·./rules, 함께 설치된 기본 설정 순서로 찾습니다. 처음이라면 monitor demo,
    고쳐 쓸 설정은 monitor init 으로 만듭니다. 명령마다 --help 로 설명과 예시를 봅니다.

    Example: monitor demo
    """
    from monitor import logs

    logs.setup("INFO" if verbose else None, log_format)
    _check_tz()
    # a value click took from MONITOR_* is left to Settings, which then knows (and says) where it came from
    from_env = click.core.ParameterSource.ENVIRONMENT
    sources_path = None if ctx.get_parameter_source("sources_path") == from_env else sources_path
    rules_path = None if ctx.get_parameter_source("rules_path") == from_env else rules_path
    ctx.obj = Settings.from_env(db, sources_path, rules_path)


# --- poll -------------------------------------------------------------------------------------


@main.command()
@click.argument("source_ids", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="소스마다 JSON 한 줄 (one JSON object per source).")
@click.option("--all", "include_disabled", is_flag=True, help="꺼진 소스도 수집합니다 (also disabled ones).")
@click.pass_context
def poll(ctx: click.Context, source_ids: tuple[str, ...], as_json: bool,
         include_disabled: bool) -> None:  # fmt: skip
    """소스를 지금 수집해 새 항목을 저장합니다 (기본: 켜진 소스 모두).

    Poll sources now and store what is new (all enabled sources by default).

    실패한 소스가 있으면 종료 코드 1이고, 나머지 소스는 그대로 수집합니다.

    Example: monitor poll mois-press moel-notice
    """
    from monitor.http import HttpClient
    from monitor.ingest import poll_sources

    settings = _settings(ctx)
    sources, rules = _load(settings)
    assert sources is not None
    known = {s.id: s for s in sources.sources}
    unknown = [s for s in source_ids if s not in known]
    if unknown:
        raise click.BadParameter(
            f"없는 소스 id: {', '.join(unknown)} (unknown source id); 있는 id: {', '.join(known)}"
        )
    chosen = [known[s] for s in source_ids] if source_ids else [
        s for s in sources.sources if s.enabled or include_disabled
    ]  # fmt: skip
    store = _open_store(settings)
    try:
        outcomes = poll_sources(chosen, store, HttpClient(sources.http), Matcher(rules))
        alerts = _alerts_after_poll(store, sources, rules)
    finally:
        store.close()
    if as_json:
        for o in outcomes:
            _echo_json(o.__dict__)
    else:
        counts = f"{'fetched':>7} {'new':>5} {'upd':>5} {'flag':>5} {'time':>7}"
        click.echo(f"{pad('source', 22)} {pad('status', 12)} {counts}")
        for o in outcomes:
            click.echo(
                f"{pad(o.source, 22)} {pad(o.status, 12)} {o.fetched:>7} {o.new:>5} "
                f"{o.updated:>5} {o.flagged:>5} {o.seconds:>6.1f}s"
            )
            if o.agenda:  # followed bills found on meetings' agendas (assembly_schedules)
                click.echo(f"    심사 일정: 따라가는 의안이 회의 안건에 오른 것 {o.agenda}건")
            for w in o.warnings:
                click.echo(f"    경고: {w}")
            if o.error:
                click.echo(f"    오류: {o.error}")
    for alert in alerts:
        click.echo(f"긴급 알림 {alert.key}: {alert.status} {alert.error or ''}".rstrip(), err=True)
    failed = [o.source for o in outcomes if o.failed]
    if failed:
        click.echo(f"{len(failed)}개 소스 실패: {', '.join(failed)}", err=True)
        ctx.exit(1)


def _alerts_after_poll(store: Any, sources: SourcesFile, rules: RuleSet) -> list[Any]:
    """Urgent alerts and D-1 reminders right after a poll (only when Slack/e-mail is set up)."""
    from monitor.errors import DeliveryError
    from monitor.jobs import Job, retry_unfinished, run_alerts
    from monitor.text import now

    job = Job(store, sources, rules, now().date())
    try:
        return retry_unfinished(job) + run_alerts(job)
    except DeliveryError as e:
        click.echo(f"알림 전송 설정 오류: {e}", err=True)
        return []


# --- rules ------------------------------------------------------------------------------------


@main.group()
def rules() -> None:
    """rules/*.yaml 의 규칙을 검사하고 시험합니다.

    Check and try the watch rules in rules/*.yaml.

    Example: monitor rules check
    """


@rules.command("check")
@click.pass_context
def rules_check(ctx: click.Context) -> None:
    """sources.yaml 과 rules/ 를 검사하고 모든 규칙의 예시를 돌려 봅니다.

    Validate sources.yaml and rules/, then run every rule's examples.

    규칙마다 match(걸려야 하는 예)와 no_match(걸리면 안 되는 예)가 하나 이상 있고 모두 기대대로
    동작해야 통과합니다. 종료 코드: 0 통과, 1 예시 실패, 2 설정 오류.

    Example: monitor --rules rules/ rules check
    """
    from monitor.rules import missing_examples

    sources, ruleset = _load(_settings(ctx))
    if sources is not None:  # the schedules first: the verdict stays the last line
        _echo_schedules(sources)
        _check_korean_addresses(sources)
    matcher = Matcher(ruleset)
    count, failures = check_examples(matcher)
    lacking = missing_examples(matcher)
    for problem in [*map(str, failures), *lacking]:
        click.echo(f"FAIL {problem}", err=True)
    n_rules = len(matcher.rules)
    n_sources = len(sources.sources) if sources else 0
    passed, n_topics = count - len(failures), len(ruleset.topics)
    korean = f"주제 {n_topics}개 · 규칙 {n_rules}개 · 소스 {n_sources}개 · 예시 {passed}/{count} 통과"
    english = f"{n_topics} topics, {n_rules} rules, {n_sources} sources; {passed}/{count} examples pass"
    if lacking:
        korean += f" · 예시가 모자란 규칙 {len(lacking)}개"
        english += f"; {len(lacking)} rules lack examples"
    if failures or lacking:
        click.echo(f"{korean} ({english}). 위의 FAIL 줄을 확인하세요.", err=True)
        ctx.exit(1)
    click.echo(f"OK: {korean} ({english})")


def _check_korean_addresses(sources: SourcesFile) -> None:
    """Addresses with a Korean local part need an SMTPUTF8 server: ask SMTP_HOST when it is set."""
    from monitor.mail import needs_smtputf8, probe_smtputf8

    korean = [
        (name, address) for name, d in sources.notify.destinations.items() if d.type == "email"
        for address in d.to if needs_smtputf8(address)
    ]  # fmt: skip
    if not korean:
        return
    listed = ", ".join(f"{address} (notify.destinations.{name})" for name, address in korean)
    supported = probe_smtputf8(os.environ)
    if supported is False:
        raise ConfigProblem(
            f"메일 서버 {os.environ.get('SMTP_HOST')} 가 SMTPUTF8을 지원하지 않아 한글이 든 주소로 보낼 수 "
            f"없습니다: {listed}. 영문 주소로 바꾸거나 SMTPUTF8을 지원하는 서버(SMTP_HOST)를 쓰세요"
        )
    if supported is None:
        click.echo(
            f"경고: 한글이 든 주소는 SMTPUTF8을 지원하는 메일 서버가 있어야 보낼 수 있습니다: {listed} "
            "(SMTP_HOST 를 설정하면 rules check 가 서버에 물어 확인합니다)",
            err=True,
        )


def _echo_schedules(sources: SourcesFile) -> None:
    """The next fire times of every digest schedule, so a wrong crontab line shows before it runs."""
    from monitor.service import digest_schedule_lines
    from monitor.text import now

    click.echo("다이제스트 일정 (다음 3번, 한국 시간):")
    for line in digest_schedule_lines(sources.notify, now()):
        click.echo(f"  {line}")


def _read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise click.ClickException(
                    f"{display_path(path)}: line {number}: 올바른 JSON 이 아닙니다 (not valid JSON: {e.msg})"
                ) from None
            if not isinstance(obj, dict):
                raise click.ClickException(
                    f"{display_path(path)}: line {number}: {{…}} 객체여야 합니다 (expected an object)"
                )
            obj.setdefault("id", f"line-{number}")
            yield obj


def _item_fields(obj: dict[str, Any]) -> dict[str, str]:
    fields = obj.get("fields") if isinstance(obj.get("fields"), dict) else {}
    return {
        name: str(obj.get(name) or fields.get(name) or "")
        for name in ("title", "summary", "body", "committee", "proposer")
    }


@rules.command("test")
@click.option(
    "--input",
    "input_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSONL 파일: 한 줄에 id, source, title, summary (body, committee, proposer 는 있으면).",
)
@click.option("--json", "as_json", is_flag=True, help="항목마다 JSON 한 줄, 입력 순서대로.")
@click.pass_context
def rules_test(ctx: click.Context, input_path: Path | None, as_json: bool) -> None:
    """아무것도 저장하지 않고 항목을 규칙에 맞춰 봅니다.

    Match items against the rules without writing anything.

    --input 이 없으면 DB 에 저장된 항목을 지금 규칙에 다시 맞춰 봅니다.

    Example: monitor rules test --input items.jsonl --json
    """
    settings = _settings(ctx)
    _, ruleset = _load(settings, need_sources=False)
    matcher = Matcher(ruleset)
    if input_path is not None:
        entries = list(_read_jsonl(input_path))
    else:
        if not settings.db.exists():
            raise click.ClickException(
                f"{settings.db}: DB 가 아직 없습니다. 먼저 'monitor poll' 을 하거나 --input 파일.jsonl 을 "
                "주세요 (no database yet)"
            )
        store = _open_store(settings, read=True)
        try:
            # a generator over pages of stored items: memory stays flat whatever the history
            entries = (
                {"id": f"{it['source']}:{it['key']}", "source": it["source"], **it["fields"],
                 "title": it["title"], "summary": it["summary"], "body": it["body"]}
                for it in store.iter_items(matches=False)
            )  # fmt: skip
            _rules_test_output(matcher, entries, as_json)
        finally:
            store.close()
        return
    _rules_test_output(matcher, entries, as_json)


def _rules_test_output(matcher: Matcher, entries: Iterable[dict[str, Any]], as_json: bool) -> None:
    """Match each entry and print it as `rules test` does, one at a time (entries may stream)."""
    matched_count = total = 0
    for entry in entries:
        total += 1
        source = str(entry.get("source") or "") or None
        matches = matcher.match(_item_fields(entry), source, source)
        matched_count += bool(matches)
        if as_json:
            _echo_json({
                "id": entry["id"],
                "matched": bool(matches),
                "topics": topics_of(matches),
                "rules": [m.rule for m in matches],
                "terms": list(dict.fromkeys(t for m in matches for t in m.terms)),
            })  # fmt: skip
            continue
        mark = "✔" if matches else "·"
        click.echo(f"{mark} {entry['id']}  {entry.get('title', '')}")
        for m in matches:
            click.echo(f"    └ {m.explain()}")
    if not as_json:
        click.echo(f"걸린 항목 {matched_count}/{total} ({matched_count}/{total} matched)")


@rules.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="성적과 모든 오류를 JSON 객체 하나로.")
@click.pass_context
def rules_eval(ctx: click.Context, file: Path, as_json: bool) -> None:
    """정답이 적힌 JSONL 파일로 규칙의 성적(정밀도, 재현율, 주제별 건수, 모든 오류)을 잽니다.

    Measure the rules on a labeled JSONL file: precision, recall, per-topic counts, every error.

    한 줄에 id, source, title, summary, relevant (true/false), topics (주제 id 목록). 오탐과 누락마다
    그 이유가 된 규칙·단어·칸을 보여 줍니다.

    Example: monitor rules eval tests/data/relevance-dev.jsonl
    """
    from monitor.evaluate import LabelError, evaluate

    _, ruleset = _load(_settings(ctx), need_sources=False)
    try:
        result = evaluate(_read_jsonl(file), Matcher(ruleset), _item_fields)
    except (OSError, UnicodeDecodeError, LabelError) as e:
        raise click.ClickException(f"{display_path(file)}: {e}") from None
    if as_json:
        _echo_json(result.to_dict())
        return
    _echo_evaluation(result, ruleset)


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _echo_evaluation(result: Any, ruleset: RuleSet) -> None:
    """Human report of `rules eval`: figures, per-topic table, then each error with its why."""
    click.echo(
        f"정밀도 precision {_num(result.precision)} · 재현율 recall {_num(result.recall)} · "
        f"F1 {_num(result.f1)} · 주제 일치 topic accuracy {_num(result.topic_accuracy)}"
    )
    click.echo(
        f"항목 items {result.items} · 관련 relevant {result.relevant} · 표시 flagged {result.flagged} · "
        f"오탐 FP {result.false_positive_count} · 누락 FN {result.false_negative_count}"
    )
    click.echo("")
    click.echo(f"{pad('주제 topic', 44)} {'라벨 labeled':>12} {'표시 flagged':>12} {'일치 correct':>12}")
    for topic, c in result.topics.items():
        name = f"{ruleset.label(topic)} ({topic})"
        click.echo(f"{pad(name, 44)} {c.labeled:>12} {c.flagged:>12} {c.correct:>12}")
    for unknown in result.unknown_topics:
        click.echo(f"경고: 라벨의 주제 '{unknown}' 은(는) 규칙 파일에 없습니다 (unknown topic in labels)")
    sections = [
        ("오탐 false positives: 관련 없는데 표시됨", result.false_positives),
        ("누락 false negatives: 관련 있는데 표시 안 됨", result.false_negatives),
        ("주제 누락 topic misses: 표시됐지만 라벨 주제가 빠짐", result.topic_misses),
    ]
    for heading, findings in sections:
        click.echo(f"\n{heading} ({len(findings)})")
        for f in findings:
            click.echo(f"✘ {f.id}  {f.title}")
            labeled = ", ".join(f.labeled) or "-"
            flagged = ", ".join(f.flagged) or "-"
            click.echo(f"    라벨 labeled: {labeled} · 표시 flagged: {flagged}")
            for line in f.explanations():
                click.echo(f"    └ {line}")
            for hint in f.hints:
                click.echo(f"    · {hint}")


# --- items, events, sources -------------------------------------------------------------------


@main.command()
@click.option("--topic", help="이 주제 id 에 걸린 항목만 (예: cooperatives).")
@click.option("--since", help="이 기간 안에 처음 본 항목만 (예: 7d, 12h).")
@click.option("--flagged", is_flag=True, help="규칙에 걸린 항목만 (only flagged items).")
@click.option("--source", help="이 소스 id 의 항목만 (예: mois-press).")
@click.option("--limit", type=int, default=None, help="최대 이만큼만 (at most this many).")
@click.option("--json", "as_json", is_flag=True, help="항목마다 JSON 한 줄 (one JSON object per item).")
@click.pass_context
def items(ctx: click.Context, topic: str | None, since: str | None, flagged: bool,
          source: str | None, limit: int | None, as_json: bool) -> None:  # fmt: skip
    """저장된 항목을 최신순으로, 규칙에 걸린 이유와 함께 보여 줍니다.

    List stored items, newest first, and why they were flagged.

    Example: monitor items --topic cooperatives --since 7d
    """
    names = {} if as_json else _source_names(_settings(ctx))
    store = _open_store(_settings(ctx), read=True)
    try:
        # pages of rows (without the full text), printed as they come: memory stays flat
        rows = store.iter_items(topic=topic, since=_duration(since), flagged=flagged, source=source,
                                limit=limit, body=False)  # fmt: skip
        count = _echo_items(rows, names, as_json)
    finally:
        store.close()
    if not as_json:
        click.echo(f"항목 {count}건 ({count} items)")


def _echo_items(rows: Iterable[dict[str, Any]], names: dict[str, str], as_json: bool) -> int:
    """Print items as `monitor items` does, one at a time; returns how many."""
    count = 0
    for it in rows:
        count += 1
        topics = list(dict.fromkeys(m["topic"] for m in it["matches"]))
        if as_json:
            _echo_json({
                "source": it["source"], "key": it["key"], "title": it["title"], "url": it["url"],
                "summary": it["summary"], "published_at": it["published_at"],
                "first_seen_at": it["first_seen_at"], "last_seen_at": it["last_seen_at"],
                "topics": topics, "fields": it["fields"],
                "matches": [
                    {k: m[k] for k in ("rule", "topic", "priority", "field", "terms", "snippet")}
                    for m in it["matches"]
                ],
            })  # fmt: skip
            continue
        date = (it["published_at"] or it["first_seen_at"] or "")[:10]
        click.echo(f"{date} [{names.get(it['source'], it['source'])}] {it['title']}")
        if it["url"]:
            click.echo(f"    {it['url']}")
        for m in it["matches"]:
            terms = ", ".join(m["terms"])
            click.echo(f"    └ {m['topic']} · {m['rule']} · {m['field']}: {terms} · “{m['snippet']}”")
    return count


@main.command()
@click.option("--since", help="이 기간 안에 기록된 이벤트만 (예: 7d).")
@click.option("--type", "type_", type=click.Choice(["new", "updated", "stage", "deadline", "agenda"]),
              help="이 종류의 이벤트만 (new 새 항목, updated 수정, stage 단계, deadline 마감, "
              "agenda 심사 일정).")  # fmt: skip
@click.option("--source", help="이 소스 id 의 이벤트만.")
@click.option("--json", "as_json", is_flag=True, help="이벤트마다 JSON 한 줄 (one JSON object per event).")
@click.pass_context
def events(ctx: click.Context, since: str | None, type_: str | None, source: str | None,
           as_json: bool) -> None:  # fmt: skip
    """기록된 이벤트(새 항목, 수정, 단계 변경, 마감, 심사 일정)를 오래된 순서로 보여 줍니다.

    List recorded events (new, updated, stage, deadline, agenda), oldest first.

    Example: monitor events --since 7d --type stage --json
    """
    store = _open_store(_settings(ctx), read=True)
    try:
        _echo_events(store.iter_events(since=_duration(since), type_=type_, source=source), as_json)
    finally:
        store.close()


def _echo_events(rows: Iterable[dict[str, Any]], as_json: bool) -> None:
    """Print events as `monitor events` does, one at a time (rows may stream from the DB)."""
    for ev in rows:
        if as_json:
            _echo_json({"id": ev["id"], "type": ev["type"], "source": ev["source"],
                        "key": ev["key"], "title": ev["title"], "detail": ev["detail"],
                        "announce": ev["announce"], "created_at": ev["created_at"],
                        **{k: ev["detail"][k] for k in ("from", "to") if k in ev["detail"]}})  # fmt: skip
        else:
            detail = _event_detail(ev["type"], ev["detail"])
            extra = f" · {detail}" if detail else ""
            click.echo(f"{ev['created_at'][:16]} {ev['type']:<8} [{ev['source']}] {ev['title']}{extra}")


def _event_detail(type_: str, detail: dict[str, Any]) -> str:
    """An event's detail as a reader says it: `접수 → 위원회 심사`, `의견마감 12/1 → 12/5`."""
    if not detail:
        return ""
    before, after = detail.get("from"), detail.get("to")
    if type_ == "stage":
        when = f" ({detail['date']})" if detail.get("date") else ""
        return f"단계 {before or '?'} → {after}{when}"
    if type_ == "deadline":
        return f"의견마감 {before} → {after}" if before else f"의견마감 {after}"
    if type_ == "agenda":  # a followed bill on a meeting's agenda
        where = " ".join(str(detail[k]) for k in ("committee", "meeting") if detail.get(k))
        when = f"{detail.get('date')} {detail.get('time') or '시간 미정'}"
        return f"일정 변경 {before} → {when} · {where}" if before else f"심사 일정 {when} · {where}"
    if type_ == "updated":
        old_title = (before or {}).get("title") if isinstance(before, dict) else None
        new_title = (after or {}).get("title") if isinstance(after, dict) else None
        if old_title and new_title and old_title != new_title:
            return f"제목 변경: {old_title} → {new_title}"
        return "제목·요약 수정"
    return ", ".join(f"{k}: {v}" for k, v in detail.items() if v not in (None, "", {}, []))


def _source_names(settings: Settings) -> dict[str, str]:
    """Source id → Korean name from the sources file in use; {} (ids are shown) when it does not load."""
    try:
        return {s.id: s.name for s in load_sources(settings.sources).sources}
    except ConfigError:
        return {}


NEVER_RUN = "아직 수집 전"  # the same word as `status` and the digest footer (health.py)
# a source's last status (runs.status) in the words `monitor sources` shows
STATUS_WORDS = {
    "ok": "정상", "not_modified": "정상 (변경 없음)", "failed": "실패", "blocked": "막힘 robots.txt",
}  # fmt: skip


def _kind_warnings(source: Any) -> list[str]:
    """What a source's kind warns about before polling (a missing API key …)."""
    from monitor.sources import KINDS

    kind = KINDS[source.kind]
    return kind.check(source, kind.Options.model_validate(source.options))


@main.command("sources")
@click.option("--json", "as_json", is_flag=True, help="소스마다 JSON 한 줄 (one JSON object per source).")
@click.pass_context
def sources_cmd(ctx: click.Context, as_json: bool) -> None:
    """설정된 소스와 마지막 수집 시각, 상태, 연속 실패, 마지막 오류를 보여 줍니다.

    List configured sources with their last run, status and failures.

    Example: monitor sources --json
    """
    settings = _settings(ctx)
    sources, _ = _load(settings)
    assert sources is not None
    states: dict[str, dict[str, Any]] = {}
    last_runs: dict[str, dict[str, Any]] = {}
    if settings.db.exists():
        store = _open_store(settings, read=True)
        try:
            states = {s.id: store.state(s.id) for s in sources.sources}
            last_runs = store.last_runs()
        finally:
            store.close()
    header_done = False
    for s in sources.sources:
        st, run = states.get(s.id, {}), last_runs.get(s.id, {})
        row = {
            "id": s.id, "name": s.name, "kind": s.kind, "url": s.url, "enabled": s.enabled,
            "interval": s.interval, "last_run_at": st.get("last_run_at"),
            "last_success_at": st.get("last_success_at"), "status": st.get("last_status"),
            "consecutive_failures": st.get("consecutive_failures", 0),
            "last_error": st.get("last_error"),
            "last_counts": {k: run.get(k) for k in ("fetched", "new", "updated", "flagged")}
            if run else None,
            "warnings": _kind_warnings(s),
        }  # fmt: skip
        if as_json:
            _echo_json(row)
            continue
        status = STATUS_WORDS.get(row["status"] or "", row["status"])
        status = status or ("꺼짐" if not s.enabled else NEVER_RUN)
        fails = f"{row['consecutive_failures']}회" if row["consecutive_failures"] else "-"
        last = (row["last_run_at"] or "-")[:16].replace("T", " ")
        if not header_done:
            heading = f"{pad('id', 24)} {pad('이름', 26)} {pad('상태', 16)} {pad('마지막 수집', 16)}"
            click.echo(f"{heading} 연속 실패")
            header_done = True
        click.echo(f"{pad(s.id, 24)} {pad(s.name, 26)} {pad(status, 16)} {pad(last, 16)} {fails}")
        if row["last_error"]:
            click.echo(f"    오류: {row['last_error']}")
        for warning in row["warnings"]:
            click.echo(f"    경고: {warning}")


# --- matters ----------------------------------------------------------------------------------


def _topic_labels(settings: Settings) -> dict[str, str]:
    """Topic id → Korean label from the rules in use; {} (ids are shown) when they do not load."""
    try:
        return {t.topic: t.label for t in load_rules(settings.rules).topics}
    except ConfigError:
        return {}


@main.command("matters")
@click.option("--topic", help="이 주제 id 의 규칙에 걸린 사안만 (예: cooperatives).")
@click.option("--since", help="이 기간 안에 일이 있었던 사안만 (예: 30d, 12h).")
@click.option("--all", "everything", is_flag=True,
              help="따라가지 않는 사안도 모두 (every matter, not only followed ones).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="사안마다 JSON 한 줄 (one JSON object per matter).")
@click.pass_context
def matters_cmd(ctx: click.Context, topic: str | None, since: str | None, everything: bool,
                as_json: bool) -> None:  # fmt: skip
    """따라가는 사안(의안과 그 입법예고·공포 등을 묶은 것)을 최근 움직인 순서로 보여 줍니다.

    따라가는 사안 = 규칙에 걸렸거나 watch 로 지정한 항목이 있는 사안 (--all 이면 모두).
    List followed matters (a bill with its notices, stages and promulgation), most recently
    active first; --json prints {"id", "title", "law", "topics", "stage", "items", "events"}.

    Example: monitor matters --topic cooperatives --since 30d
    """
    from monitor.render.matter import matter_json, matter_lines
    from monitor.text import now

    settings = _settings(ctx)
    labels = {} if as_json else _topic_labels(settings)
    period = _duration(since)
    store = _open_store(settings, read=True)
    try:
        details = store.matter_details(store.matter_ids(topic=topic, since=period, followed=not everything))
    finally:
        store.close()
    for detail in details:
        if as_json:
            _echo_json(matter_json(detail))
            continue
        for line in matter_lines(detail, labels, now().date()):
            click.echo(line)
    if not as_json:
        hint = "" if everything else " (따라가는 것만; 모두 보려면 --all)"
        click.echo(f"사안 {len(details)}건{hint}")


@main.command("matter")
@click.argument("ref")
@click.option("--json", "as_json", is_flag=True, help="matters --json 과 같은 JSON 한 줄 (the same object).")
@click.pass_context
def matter_cmd(ctx: click.Context, ref: str, as_json: bool) -> None:
    """사안 하나의 경과를 처음부터 보여 줍니다: 출처마다의 사건, 날짜, 링크.

    REF 는 사안 번호(monitor matters 의 #번호), 의안 ID(PRC_…) 또는 의안번호입니다.
    Show one matter's timeline: every event across sources, oldest first, with dates and links.

    Example: monitor matter 2215002
    """
    from monitor.render.matter import matter_json, timeline_lines
    from monitor.text import now

    settings = _settings(ctx)
    names, labels = ({}, {}) if as_json else (_source_names(settings), _topic_labels(settings))
    store = _open_store(settings, read=True)
    try:
        found = store.matter_id(ref)
        details = store.matter_details([found]) if found is not None else []
    finally:
        store.close()
    if not details:
        error = click.ClickException(
            f"사안 '{ref}' 을(를) 찾지 못했습니다: `monitor matters --all` 로 번호를 확인하세요 "
            "(사안 번호, 의안 ID, 의안번호를 받습니다)"
        )
        error.exit_code = 2
        raise error
    if as_json:
        _echo_json(matter_json(details[0]))
        return
    for line in timeline_lines(details[0], names, labels, now().date()):
        click.echo(line)


# --- demo -------------------------------------------------------------------------------------


@main.command()
@click.option("--db", "demo_db", type=click.Path(dir_okay=False, path_type=Path),
              help="데모용 SQLite 파일 (기본: 새 임시 파일). 다시 쓰면 두 번째 실행이 됩니다.")  # fmt: skip
@click.pass_context
def demo(ctx: click.Context, demo_db: Path | None) -> None:
    """내장 샘플 데이터로 전체 흐름을 오프라인으로 시연하고 일일 다이제스트를 보여 줍니다.

    Runs the whole pipeline offline on bundled sample data and shows the daily digest.
    실제 형식의 샘플(국회 의안·입법예고, 정부 입법예고, 고용노동부 공지, 부처 보도자료 RSS)을
    이 컴퓨터 안의 데모 서버(127.0.0.1)에서 받아 규칙으로 거르고, 일일 다이제스트를 화면에
    (SLACK_* 가 설정돼 있으면 Slack 으로도) 보냅니다. 링크는 실제 사이트 주소이고, 키나 인터넷이
    필요 없습니다. 데모의 소스 설정은 DB 옆(demo.sources.yaml)에 남아, 같은 DB 에 대한
    sources·items·status 명령이 데모의 소스를 보여 줍니다.

    Example: monitor demo --db demo.db
    """
    import tempfile

    from monitor.defaults import demo_sources_path
    from monitor.demo import demo_session, serve_demo, summary_lines, write_demo_sources
    from monitor.http import HttpClient
    from monitor.ingest import poll_sources
    from monitor.jobs import Job, daily_digests, send_all
    from monitor.store import Store
    from monitor.text import now

    settings = _settings(ctx)
    _, ruleset = _load(settings, need_sources=False)
    db_path = demo_db or Path(tempfile.mkdtemp(prefix="policy-monitor-demo-")) / "demo.db"
    own_sources = demo_sources_path(db_path)
    if db_path.exists() and not own_sources.exists():
        raise click.UsageError(
            f"{db_path} 는 데모 DB 가 아닙니다 (옆에 {own_sources.name} 가 없음). 운영 DB 를 덮어쓰지 "
            f"않도록 다른 파일 이름을 쓰세요 (not a demo DB; choose another --db)"
        )
    again = db_path.exists()
    sources = load_sources(write_demo_sources(own_sources))
    # the demo server answers at once: no spacing or back-off (the file keeps the polite defaults)
    http = sources.http.model_copy(update={"host_spacing": 0, "retries": 1, "backoff": 0.1})
    with serve_demo() as base_url:
        store = Store(db_path)
        try:
            client = HttpClient(http, session=demo_session(base_url))
            outcomes = poll_sources(sources.sources, store, client, Matcher(ruleset))
            click.echo(
                "정책 모니터 데모: 내장 샘플 데이터(실제 응답 형식)를 이 컴퓨터 안의 데모 서버(127.0.0.1)"
                "에서 받아 규칙으로 걸렀습니다. 링크는 실제 사이트 주소입니다."
            )
            for o in outcomes:
                state = "정상" if not o.failed else f"실패 ({o.error})"
                click.echo(
                    f"  - {o.name}: {state} · 받은 항목 {o.fetched}건 · 새 항목 {o.new}건"
                    f"{f' · 바뀐 항목 {o.updated}건' if o.updated else ''} · 관련 {o.flagged}건"
                )
            click.echo("")
            job = Job(store, sources, ruleset, now().date())
            digests = daily_digests(job)
            if again:
                click.echo(
                    f"같은 DB 로 다시 실행했습니다: 새로 저장한 항목 {sum(o.new for o in outcomes)}건, "
                    f"바뀐 항목 {sum(o.updated for o in outcomes)}건. "
                    + (
                        "아래 다이제스트는 아직 보내지 않은 항목의 미리 보기입니다 (화면 출력은 보낸 것으로 "
                        "기록하지 않습니다)."
                        if digests
                        else "보낼 다이제스트가 없습니다 (새 항목이 없고 앞의 다이제스트는 이미 보냈습니다)."
                    )
                )
                click.echo("")
            _report(send_all(job, digests))
            stored, flagged = store.counts()["items"], store.flagged_count()
        finally:
            store.close()
    for line in summary_lines(outcomes, digests, stored, flagged):
        click.echo(line)
    db_arg = shlex.quote(str(db_path))
    click.echo(f"DB: {db_path} · 이어서 보기: monitor --db {db_arg} sources (또는 items --flagged, status)")
    if any(o.failed for o in outcomes):
        ctx.exit(1)


@main.command()
@click.argument("folder", default=".", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="이미 있는 파일도 덮어씁니다 (overwrite existing files).")
def init(folder: Path, force: bool) -> None:
    """고쳐 쓸 수 있는 sources.yaml 과 rules/ 를 FOLDER(기본: 지금 폴더)에 만듭니다.

    Writes editable copies of the shipped sources.yaml and rules/*.yaml into FOLDER. 그 폴더에서
    실행하는 명령은 이 파일들을 씁니다 (다른 폴더에서는 --sources, --rules 로 지정). 이미 있는
    파일은 --force 없이는 덮어쓰지 않습니다.

    Example: monitor init staff
    """
    from monitor.defaults import init as write_copies

    try:
        written = write_copies(folder, force=force)
    except FileExistsError as e:
        raise click.UsageError(
            f"이미 있는 파일은 덮어쓰지 않습니다: {e} (덮어쓰려면 --force; files exist, use --force)"
        ) from None
    except FileNotFoundError as e:
        raise click.ClickException(f"설치된 기본 설정을 찾지 못했습니다: {e} (no shipped defaults)") from None
    rules = [p for p in written if p.parent.name == "rules"]
    click.echo(f"만들었습니다: {folder / 'sources.yaml'}, {folder / 'rules'}/ (규칙 파일 {len(rules)}개)")
    where = shlex.quote(str(folder))
    click.echo(
        f"확인: monitor --rules {shlex.quote(str(folder / 'rules'))} "
        f"--sources {shlex.quote(str(folder / 'sources.yaml'))} rules check"
        + (f"  (또는 cd {where} && monitor rules check)" if str(folder) != "." else "")
    )


# --- digests and deliveries -------------------------------------------------------------------


def _job(ctx: click.Context, day: str | None = None, to: str | None = None, read: bool = False) -> Any:
    from datetime import date as date_cls

    from monitor.jobs import Job
    from monitor.text import now

    settings = _settings(ctx)
    sources, ruleset = _load(settings)
    assert sources is not None
    try:
        today = date_cls.fromisoformat(day) if day else now().date()
    except ValueError:
        raise click.BadParameter(
            f"'{day}' 는 날짜가 아닙니다. 2026-09-14 처럼 쓰세요 (not a date)", param_hint="--date"
        ) from None
    return Job(_open_store(settings, read=read), sources, ruleset, today, to=to)


def _report(outcomes: list[Any]) -> bool:
    """Print delivery outcomes; True when all went out (or were already out)."""
    ok = True
    for o in outcomes:
        if o.status in ("sent", "already-sent", "printed"):
            if o.status != "printed":
                click.echo(f"{o.key}: {'보냄' if o.status == 'sent' else '이미 보냄'} (sent)", err=True)
            continue
        if o.status == "busy":  # another process holds the row and is sending it
            click.echo(f"{o.key}: {o.error} (in progress)", err=True)
            continue
        ok = False
        click.echo(f"{o.key}: {o.status} — {o.error or ''}".rstrip(" —"), err=True)
    return ok


@main.command()
@click.argument("kind", type=click.Choice(["daily", "weekly"]))
@click.option("--dry-run", is_flag=True, help="글로 보여 주기만 합니다. 보내지도 기록하지도 않습니다.")
@click.option("--date", "day", help="이 날짜 기준으로 만듭니다 (YYYY-MM-DD, 한국 시간).")
@click.option("--to", type=click.Choice(["console", "slack", "email"]),
              help="이 수단의 보낼 곳으로만 보냅니다 (send through this transport only).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="보내는 대신 Block Kit 내용을 출력합니다.")
@click.option("--html", "html_path", metavar="FILE",
              help="보내는 대신 e-mail HTML 을 FILE 에 씁니다 ('-' 는 화면).")  # fmt: skip
@click.pass_context
def digest(
    ctx: click.Context, kind: str, dry_run: bool, day: str | None, to: str | None, as_json: bool,
    html_path: str | None,
) -> None:  # fmt: skip
    """일일 다이제스트(daily)나 주간 요약(weekly)을 지금 만들어 보냅니다.

    Build and send the daily digest or the weekly summary now.

    Slack·e-mail 설정이 없으면 화면에 출력하고 아무것도 기록하지 않습니다. 앞서 실패한 전송을 먼저
    다시 보냅니다. `--to email` 은 e-mail 보낼 곳에만 (`--to slack` 은 Slack 에만) 보냅니다.
    `--html FILE` 은 SMTP 서버 없이 e-mail 을 미리 봅니다: 보내지도 기록하지도 않습니다.

    Example: monitor digest weekly --to email --html weekly.html
    """
    from monitor.jobs import daily_digests, retry_unfinished, send_all, weekly_digests
    from monitor.notify import payload_for
    from monitor.render.text import render_text

    # a preview (text, JSON, HTML) reads the DB and writes nothing
    job = _job(ctx, day, to, read=dry_run or as_json or html_path is not None)
    try:
        schedule = job.config.notify.daily if kind == "daily" else job.config.notify.weekly
        if to in ("slack", "email") and not job.destinations(schedule.to):
            error = click.ClickException(
                f"{kind} 의 보낼 곳 중 {to} 종류가 없습니다 (sources.yaml 의 notify.{kind}.to 와 "
                f"notify.destinations 의 type 을 확인하세요)"
            )
            error.exit_code = 2
            raise error
        digests = daily_digests(job) if kind == "daily" else weekly_digests(job)
        if html_path is not None:
            _write_html(digests, html_path)
            return
        if as_json or dry_run:
            for d in digests:
                if as_json:
                    payload = payload_for(d)["slack"]
                    _echo_json(
                        {
                            "kind": d.kind,
                            "period": d.period,
                            "destination": d.destination,
                            "messages": payload,
                            # rule ids for staff; readers see the rules' descriptions
                            "entries": [
                                {"title": e.title, "url": e.url, "topics": e.topics, "rules": e.rules,
                                 "matter": e.matter}
                                for s in d.sections for g in s.groups for e in g.entries
                            ],
                        }
                    )
                else:
                    click.echo(render_text(d))
            if not digests:
                click.echo("보낼 내용이 없습니다 (nothing to send).", err=True)
            return
        ok = _report(retry_unfinished(job, now_ok=True))  # asked for by hand: no back-off

        if not digests:
            click.echo("보낼 내용이 없습니다 (nothing to send).", err=True)
        ok = _report(send_all(job, digests)) and ok
    finally:
        job.store.close()
    if not ok:
        ctx.exit(1)


def _write_html(digests: list[Any], target: str) -> None:
    """The e-mail HTML of each digest to a file (one per destination when several) or stdout."""
    from monitor.render.email import render_html

    if not digests:
        click.echo("보낼 내용이 없습니다 (nothing to send).", err=True)
    path = Path(target)
    for d in digests:
        html = render_html(d)
        if target == "-":
            click.echo(html)
            continue
        name = f"{path.stem}.{d.destination.lstrip('#')}{path.suffix}"
        out = path if len(digests) == 1 else path.with_name(name)
        try:
            out.write_text(html, encoding="utf-8")
        except OSError as e:
            raise click.BadParameter(f"{out}: {e.strerror}", param_hint="--html") from None
        click.echo(f"{d.key}: {out} 에 썼습니다 (보내지 않음)", err=True)


@main.command()
@click.option(
    "--status", type=click.Choice(["pending", "sending", "sent", "unconfirmed"]), help="이 상태의 전송만."
)
@click.option("--json", "as_json", is_flag=True, help="전송마다 JSON 한 줄 (one JSON object per delivery).")
@click.pass_context
def deliveries(ctx: click.Context, status: str | None, as_json: bool) -> None:
    """전송 기록: 모든 다이제스트·요약·알림과 그 상태, 오류를 보여 줍니다.

    List the delivery ledger: every digest, summary and alert, with status and errors.

    Example: monitor deliveries --status pending
    """
    store = _open_store(_settings(ctx), read=True)
    try:
        rows = store.deliveries(status=status)
    finally:
        store.close()
    for r in rows:
        if as_json:
            _echo_json({k: v for k, v in r.items() if k != "payload"})
            continue
        error = f" · 오류: {r['last_error']}" if r["last_error"] else ""
        click.echo(
            f"#{r['id']:<4} {r['kind']:<8} {r['period']:<28} → {r['destination']:<10} {r['status']:<11} "
            f"시도 {r['attempts']} · 항목 {r['events']}{error}"
        )
    if not as_json and not rows:
        click.echo("기록된 전송이 없습니다 (no deliveries yet).")


@main.command()
@click.argument("delivery_id", type=int)
@click.option("--force", is_flag=True, help="이미 보낸 것으로 확인된 기록도 다시 보냅니다 (두 번째 사본).")
@click.pass_context
def resend(ctx: click.Context, delivery_id: int, force: bool) -> None:
    """전송 기록 한 줄을 다시 보냅니다 (예: 도착하지 않은 것을 확인한 unconfirmed).

    Send one ledger row again (e.g. an `unconfirmed` one you checked had not arrived).

    이미 보낸 것으로 확인된 기록은 --force 없이는 다시 보내지 않습니다.

    Example: monitor resend 12
    """
    from monitor.errors import DeliveryError
    from monitor.jobs import resend as resend_job

    job = _job(ctx)
    try:
        outcome = resend_job(job, delivery_id, force=force)
    except DeliveryError as e:  # no such row, a row already sent, a destination renamed: exit 2
        error = click.ClickException(str(e))
        error.exit_code = 2
        raise error from None
    finally:
        job.store.close()
    if not _report([outcome]):
        ctx.exit(1)


@main.command("calendar")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path),
              help="이 파일에 씁니다 (내용이 바뀌었을 때만). 없으면 화면에.")  # fmt: skip
@click.option("--days", type=click.IntRange(1, 366), default=None,
              help="앞으로 며칠치를 넣을지 (기본: sources.yaml 의 calendar.days, 없으면 60).")  # fmt: skip
@click.pass_context
def calendar_cmd(ctx: click.Context, out_path: Path | None, days: int | None) -> None:
    """심사 일정과 의견 마감일을 달력 파일(iCalendar, .ics)로 씁니다.

    Write an iCalendar (.ics) feed: one event per followed bill on a meeting's agenda (at the
    time the 국회 gave, else all-day) and one per open comment deadline of a followed 입법예고,
    with stable UIDs so calendar apps update rather than duplicate.

    Example: monitor calendar --out calendar.ics --days 30
    """
    from monitor.ical import DAYS_AHEAD, calendar_feed, write_if_changed

    job = _job(ctx, read=True)  # a read command: a missing DB is an error, never created
    try:
        horizon = days or (job.config.calendar.days if job.config.calendar else DAYS_AHEAD)
        content = calendar_feed(job.store, job.context, horizon)
    finally:
        job.store.close()
    if out_path is None:  # bytes as they are: RFC 5545 lines end in CRLF
        sys.stdout.flush()
        sys.stdout.buffer.write(content)
        sys.stdout.buffer.flush()
        return
    try:
        changed = write_if_changed(out_path, content)
    except OSError as e:
        raise click.BadParameter(f"{out_path}: {e.strerror or e}", param_hint="--out") from None
    events = content.count(b"BEGIN:VEVENT")
    state = "썼습니다" if changed else "바뀐 것이 없어 그대로 둡니다"
    click.echo(f"{out_path}: 일정 {events}건, {state}", err=True)


# --- the service --------------------------------------------------------------------------------


@main.command("run")
@click.option("--grace", type=float, default=7.0, show_default=True,
              help="SIGTERM 뒤 진행 중인 수집이 끝나기를 기다릴 최대 초. 그 뒤 수집은 취소됩니다 "
                   "(docker stop 의 10초보다 짧게).")  # fmt: skip
@click.option("--web", "web", is_flag=True,
              help="읽기 전용 웹 보기도 함께 엽니다 (monitor web 과 같은 화면, 같은 DB).")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True, envvar="MONITOR_WEB_HOST",
              help="--web 의 주소. 127.0.0.1 밖에 열기 전에 MONITOR_WEB_TOKEN 을 정하세요.")  # fmt: skip
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              envvar="MONITOR_WEB_PORT", help="--web 의 포트.")  # fmt: skip
@click.pass_context
def run_cmd(ctx: click.Context, grace: float, web: bool, host: str, port: int) -> None:
    """서비스를 실행합니다: 소스마다 정해진 간격으로 수집하고, 정해진 시각에 다이제스트를 보냅니다.

    Run the service: poll every source on its interval, send digests on their schedule.

    sources.yaml 과 rules/ 를 고치면 다시 시작하지 않아도 읽고 (SIGHUP 에도), 잘못 고친 설정은
    받지 않고 마지막 정상 설정으로 계속합니다. SIGTERM 이나 Ctrl-C 로 깔끔하게 멈춥니다.

    Example: monitor --log-format json run
    """
    from monitor.errors import StoreError
    from monitor.service import LockError, run

    settings = _settings(ctx)
    _load(settings)  # refuse to start on a broken config, with the usual message
    web_socket = _web_socket(host, port) if web else None
    try:
        code = run(settings, sys.stdout, grace=grace, web_socket=web_socket)
    except LockError as e:
        raise click.ClickException(str(e)) from None
    except StoreError as e:  # the DB or its lock cannot be used, or the DB vanished under us
        raise EnvironmentProblem(str(e)) from None
    ctx.exit(code)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="소스와 다이제스트를 JSON 객체 하나로.")
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """소스별 상태와 최근 다이제스트를 보여 줍니다. 종료 코드 0 정상, 1 일부 문제, 2 장애.

    Show each source's health and the last digests; exit 0 healthy, 1 degraded, 2 failing.

    일부 문제: 실패했거나 멈춘 소스, 아직 수집 전인 소스, 기다리는 전송. 장애: DB가 없거나 손상되었거나
    쓸 수 없음, 30분 넘게 끝나지 않은 수집, 계속 실패하는 소스·전송·예약 작업. cron 과 컨테이너 상태
    점검에 씁니다. DB는 읽기 전용으로 열고 만들지 않습니다.

    Example: monitor status --json
    """
    from monitor.health import POLL_DEADLINE
    from monitor.status_report import collect

    settings = _settings(ctx)
    sources, _ = _load(settings)
    assert sources is not None
    found = collect(settings.db, sources)
    if found.status is None:
        if as_json:
            _echo_json(found.to_json())
        else:
            click.echo("상태: 장애 (failing)")
            click.echo(f"오류: {found.error}", err=True)
        ctx.exit(2)
    assert found.status is not None
    report, digests, unfinished = found.status, found.digests, found.unfinished
    problems, health, stuck, jobs = report.problems, report.sources, report.stuck, report.jobs
    if as_json:
        _echo_json(found.to_json())
    else:
        label = {"healthy": "정상", "degraded": "일부 문제", "failing": "장애"}[report.word]
        click.echo(f"상태: {label} ({report.word})")
        for problem in problems:
            click.echo(f"  문제: {problem}")
        for h in health:
            extra = f" · 연속 실패 {h.failures}회" if h.failures else ""
            click.echo(f"  {pad(h.id, 24)} {pad(h.label, 16)}{extra}")
            if h.error:
                click.echo(f"      오류: {h.error}")
        limit = int(POLL_DEADLINE.total_seconds() // 60)
        for s in stuck:
            what = f"작업 멈춤: {s.source.removeprefix('job:')}" if s.source.startswith("job:") else (
                f"수집 멈춤: {s.source}"
            )
            click.echo(
                f"  {what} (기록 #{s.run_id}, {s.started_at[:16]} 시작, {s.minutes}분째; "
                f"{limit}분 넘게 끝나지 않음 — 서비스 로그를 보고 다시 시작하세요)"
            )
        for j in jobs:
            job_id = j["job"].removeprefix("job:")
            click.echo(f"  작업 실패: {job_id} 연속 {j['failures']}회 · {j['error'] or ''}")
        for d in digests:
            click.echo(f"  다이제스트 {d['kind']} {d['period']} → {d['destination']}: {d['status']}")
        if unfinished:
            click.echo(f"  보내지 못한 전송 {len(unfinished)}건 (monitor deliveries 로 확인)")
    ctx.exit(report.code)


# --- the web view -----------------------------------------------------------------------------


def _web_socket(host: str, port: int) -> Any:
    """Bind the web view's socket (a one-line error, exit 2, when the address cannot be had).

    Warns on stderr when it listens beyond this machine without MONITOR_WEB_TOKEN.
    """
    from monitor.web.auth import TOKEN_ENV, token_from_env
    from monitor.web.serve import LOOPBACK, BindError, bind

    try:
        sock = bind(host, port)
    except BindError as e:
        raise EnvironmentProblem(str(e)) from None
    if host not in LOOPBACK and token_from_env(os.environ) is None:
        click.echo(
            f"경고: {host}:{sock.getsockname()[1]} 에 {TOKEN_ENV} 없이 열었습니다. "
            "같은 망의 누구나 볼 수 있습니다: "
            f"{TOKEN_ENV} 를 정하고 다시 시작하세요",
            err=True,
        )
    return sock


@main.command("web")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="MONITOR_WEB_HOST",
              help="들을 주소. 127.0.0.1 밖에 열기 전에 MONITOR_WEB_TOKEN 을 정하세요.")  # fmt: skip
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              envvar="MONITOR_WEB_PORT", help="들을 포트 (0: 빈 포트 아무것이나).")  # fmt: skip
@click.pass_context
def web_cmd(ctx: click.Context, host: str, port: int) -> None:
    """읽기 전용 웹 보기를 엽니다: 이번 주 일정·의견 마감, 사안과 경과, 검색, 달력 구독, 상태.

    Serve the read-only web view (/, /matters, /matters/ID, /search?q=, /calendar.ics, /health)
    until SIGTERM or Ctrl-C. DB는 읽기 전용으로만 엽니다. MONITOR_WEB_TOKEN 을 정하면 모든 주소가
    그 토큰을 요구합니다 (HTTP 기본 인증의 비밀번호, 또는 Authorization: Bearer).

    Example: monitor web --port 8080
    """
    import signal
    import threading

    from monitor.web.app import create_app
    from monitor.web.auth import token_from_env
    from monitor.web.serve import WebServer

    settings = _settings(ctx)
    sources, ruleset = _load(settings)
    assert sources is not None
    _open_store(settings, read=True).close()  # a read command: a missing DB is an error, never created
    sock = _web_socket(host, port)
    server = WebServer(create_app(settings, lambda: (sources, ruleset), token_from_env(os.environ)), sock)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server.start()
    click.echo(f"웹 보기: {server.url} (멈추려면 Ctrl-C)")
    sys.stdout.flush()
    while not stop.wait(0.5):
        if not server.thread.is_alive():
            raise EnvironmentProblem("웹 서버가 멈췄습니다: 로그(-v)를 확인하고 다시 시작하세요")
    server.stop(timeout=5)
    click.echo("웹 보기 종료")


@main.command()
@click.option("--dry-run", is_flag=True, help="지울 것을 세기만 합니다. 아무것도 지우지 않습니다.")
@click.option(
    "--vacuum", is_flag=True,
    help="VACUUM 으로 파일 전체를 다시 씁니다 (이전 버전이 만든 DB 를 처음 줄일 때 한 번).",
)
@click.pass_context
def prune(ctx: click.Context, dry_run: bool, vacuum: bool) -> None:
    """보존 기간(sources.yaml 의 retention:)이 지난 것을 지우고 DB 파일을 줄입니다.

    Drop what the retention settings no longer keep, in small transactions, and shrink the file.

    지우는 것: 규칙에 걸리지 않은 항목의 본문(전문, 기본 90일), 이벤트가 없는 수집·작업 기록
    (180일), 보낸 전송의 내용(30일). 걸린 항목, 사안, 이벤트, 전송 기록의 키는 지우지 않습니다.
    `monitor run` 은 하루에 한 번 스스로 합니다.

    Example: monitor prune --dry-run
    """
    from monitor.retention import prune as run_prune
    from monitor.retention import report_lines
    from monitor.store import Store, StoreError

    settings = _settings(ctx)
    sources, _ = _load(settings)
    assert sources is not None
    try:
        store = Store(settings.db, mode="read" if dry_run else "existing")
    except StoreError as e:
        raise EnvironmentProblem(str(e)) from None
    try:
        report = run_prune(store, sources.retention, dry_run=dry_run, vacuum=vacuum and not dry_run)
    finally:
        store.close()
    for line in report_lines(report):
        click.echo(line)
