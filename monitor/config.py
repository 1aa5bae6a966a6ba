"""Settings from the environment; loading and validating sources.yaml and rules/*.yaml."""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)

from monitor.errors import ConfigError, ConfigNotFound
from monitor.text import normalize, parse_duration

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
# rule ids as the README promises: lower-case letters and digits joined by single '-'
RULE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
Priority = Literal["normal", "high", "urgent"]


@dataclass(frozen=True)
class Settings:
    """Where the DB, sources and rules live; from env with CLI overrides."""

    db: Path
    sources: Path
    rules: Path
    tz: str = "Asia/Seoul"
    # how sources/rules were chosen (monitor.defaults: option, env, cwd, demo, shipped)
    sources_origin: str = "option"
    rules_origin: str = "option"

    @classmethod
    def from_env(
        cls, db: str | None = None, sources: str | None = None, rules: str | None = None
    ) -> Settings:
        """Build settings: explicit arguments win over MONITOR_* variables over defaults.

        The defaults are ./sources.yaml and ./rules when they exist, else the copies shipped with
        the package (a demo DB's own sources come first; see monitor.defaults.choose).
        """
        from monitor.defaults import choose

        env = os.environ
        db_path = Path(db or env.get("MONITOR_DB") or "./monitor.db")
        chosen_sources, chosen_rules = choose("sources", sources, db_path), choose("rules", rules)
        return cls(
            db=db_path,
            sources=chosen_sources.path,
            rules=chosen_rules.path,
            tz=env.get("MONITOR_TZ") or "Asia/Seoul",
            sources_origin=chosen_sources.origin,
            rules_origin=chosen_rules.origin,
        )


# --- models -----------------------------------------------------------------------------------


class Strict(BaseModel):
    """Base for config models: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpConfig(Strict):
    """The shared HTTP client's manners (top-level `http:` in sources.yaml)."""

    user_agent: StrictStr = "policy-monitor/0.1"
    contact: StrictStr = "https://github.com/policy-monitor/policy-monitor"
    connect_timeout: float = Field(10.0, gt=0)
    read_timeout: float = Field(30.0, gt=0)
    retries: int = Field(3, ge=0, le=10)
    backoff: float = Field(2.0, ge=0)
    max_retry_after: float = Field(120.0, ge=0, le=120)
    max_bytes: int = Field(20_000_000, gt=0)
    host_spacing: float = Field(1.0, ge=0)
    # the whole of one request (redirects, headers and body) must finish within this many
    # seconds, however slowly the server drips its bytes (read_timeout is per read)
    request_deadline: float = Field(120.0, gt=0)

    @property
    def ua(self) -> str:
        """The User-Agent header: project name and version plus a contact URL."""
        return f"{self.user_agent} (+{self.contact})"


class SourceConfig(BaseModel):
    """One entry of sources.yaml; kind-specific keys land in `options`."""

    model_config = ConfigDict(extra="allow", frozen=True)

    id: StrictStr
    kind: StrictStr
    name: StrictStr
    url: StrictStr
    interval: StrictStr | int = "1h"
    enabled: bool = True
    backfill_days: int = Field(3, ge=0)
    ignore_robots: bool = False
    allow_empty: bool = False
    headers: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    read_timeout: float | None = Field(None, gt=0)
    # "legacy" lowers OpenSSL's security level (SECLEVEL=1) for this source's host only, for
    # servers with weak DH keys (DH_KEY_TOO_SMALL); certificates are still verified
    tls: Literal["default", "legacy"] = "default"
    # a page fetched before each poll so the session holds the cookies the site expects
    warmup_url: StrictStr | None = None
    # hosts besides the source's own (and its warm-up page's) that a redirect may lead to
    redirect_hosts: list[StrictStr] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _slug(cls, v: str) -> str:
        if not SLUG.match(v):
            raise ValueError("must be a slug: lower-case letters, digits, '-' or '_'")
        return v

    @field_validator("url", "warmup_url")
    @classmethod
    def _http(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://[^\s/]+", v):
            raise ValueError("must be an http:// or https:// URL")
        return v

    @field_validator("interval")
    @classmethod
    def _interval(cls, v: str | int) -> str | int:
        if parse_duration(v).total_seconds() < 60:
            raise ValueError("must be at least 1m")
        return v

    @property
    def options(self) -> dict[str, Any]:
        """Kind-specific keys (validated by the kind's Options model)."""
        return dict(self.model_extra or {})

    @property
    def interval_seconds(self) -> int:
        """The polling interval in seconds."""
        return int(parse_duration(self.interval).total_seconds())

    @property
    def fetch_fingerprint(self) -> str:
        """A hash of everything that decides what a poll fetches and how it is read.

        The kind, URL, options (selectors …), headers, warm-up URL and TLS mode; not the name,
        interval or alert settings. When it changes, validators stored from the old
        configuration no longer apply (a 304 would hide a broken new selector).
        """
        payload = json.dumps(
            [self.kind, self.url, self.options, self.headers, self.warmup_url, self.tls],
            ensure_ascii=False, sort_keys=True, default=str,
        )  # fmt: skip
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class Destination(Strict):
    """Where digests and alerts go: a Slack channel, e-mail recipients, or the console."""

    type: Literal["slack", "email", "console"] = "slack"
    # Slack channel id or name; empty = env SLACK_CHANNEL (the policy committee's channel)
    channel: StrictStr | None = None
    to: list[StrictStr] = Field(default_factory=list)  # e-mail recipients

    @field_validator("to")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        from monitor.mail import AddressError, split_address

        for address in v:
            try:
                split_address(address)
            except AddressError as e:
                raise ValueError(str(e)) from None
        return v

    @model_validator(mode="after")
    def _recipients(self) -> Destination:
        if self.type == "email" and not self.to:
            raise ValueError("type email needs recipients: to: [name@example.org]")
        return self


class Schedule(Strict):
    """When a digest runs (a crontab line in Asia/Seoul) and where it goes."""

    cron: StrictStr
    to: list[StrictStr] = Field(default_factory=lambda: ["main"])
    enabled: bool = True

    @field_validator("cron")
    @classmethod
    def _crontab(cls, v: str) -> str:
        # standard crontab meaning (1 = Monday, 0 and 7 = Sunday): monitor.crontab translates
        from monitor.crontab import trigger

        trigger(v, "Asia/Seoul")
        return v


class NotifyConfig(Strict):
    """Digests, alerts and their destinations (top-level `notify:` in sources.yaml)."""

    destinations: dict[StrictStr, Destination] = Field(
        default_factory=lambda: {"main": Destination(type="slack")}
    )
    daily: Schedule = Field(default_factory=lambda: Schedule(cron="30 8 * * mon-fri"))
    weekly: Schedule = Field(default_factory=lambda: Schedule(cron="0 9 * * mon"))
    urgent: list[StrictStr] = Field(default_factory=lambda: ["main"])  # urgent alerts go here
    ops: StrictStr = "main"  # source health alerts
    routes: dict[StrictStr, list[StrictStr]] = Field(default_factory=dict)  # topic → destinations
    reminder_days: list[int] = Field(default_factory=lambda: [7, 3, 1])
    backfill_days: int = Field(3, ge=0)  # a digest after a long pause shows at most this much
    alert_after_failures: int = Field(3, ge=1)  # consecutive failures before a health alert
    stale_after_intervals: float = Field(3.0, gt=1)  # no success for this many intervals = stale
    # bounded work: a feed with 500 urgent matches must not send 500 posts
    urgent_per_poll: int = Field(10, ge=1)  # more urgent items than this: one combined alert
    digest_max_entries: int = Field(60, ge=5)  # entries shown in one digest; the rest "N건 더"

    @model_validator(mode="after")
    def _known_destinations(self) -> NotifyConfig:
        named = [*self.daily.to, *self.weekly.to, *self.urgent, self.ops]
        named += [d for targets in self.routes.values() for d in targets]
        unknown = sorted({d for d in named if d not in self.destinations})
        if unknown:
            raise ValueError(
                f"unknown destination(s) {', '.join(unknown)}; defined: {', '.join(self.destinations)}"
            )
        return self


class CalendarConfig(Strict):
    """The iCalendar feed `monitor run` rewrites after each poll (top-level `calendar:`)."""

    path: StrictStr  # the .ics file to write (relative paths: from the working directory)
    days: int = Field(60, ge=1, le=366)  # meetings and deadlines this many days ahead

    @field_validator("path")
    @classmethod
    def _file(cls, v: str) -> str:
        if not v.strip() or v.endswith(("/", os.sep)):
            raise ValueError("must name a file, e.g. calendar/policy.ics")
        return v


class RetentionConfig(Strict):
    """What the daily prune (`monitor prune`, `monitor run`) drops, after how many days (`retention:`).

    Flagged items, matters, events and the delivery ledger's keys are kept forever: the
    send-once guarantee and every followed matter rest on them.
    """

    item_text_days: int = Field(90, ge=1)  # full text (body) of items no rule flagged, not followed
    runs_days: int = Field(180, ge=7)  # poll and job records no event points to
    payload_days: int = Field(30, ge=1)  # rendered content of deliveries confirmed sent
    enabled: bool = True  # false: `monitor run` never prunes (`monitor prune` still can)


class SourcesFile(Strict):
    """The whole sources.yaml."""

    http: HttpConfig = Field(default_factory=HttpConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)
    calendar: CalendarConfig | None = None
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    sources: list[SourceConfig]


class Examples(Strict):
    """Titles a rule must and must not match, checked by `monitor rules check`."""

    match: list[StrictStr] = Field(default_factory=list)
    no_match: list[StrictStr] = Field(default_factory=list)


class RuleConfig(Strict):
    """One watch rule."""

    id: StrictStr
    description: StrictStr | None = None
    any: list[StrictStr] | None = None
    all: list[StrictStr] = Field(default_factory=list)
    none: list[StrictStr] = Field(default_factory=list)
    # the rule stays silent when the item's title names one of these (e.g. a special co-op law
    # whose 제안이유 says 협동조합 in its own sense)
    unless_title: list[StrictStr] = Field(default_factory=list)
    regex: list[StrictStr] = Field(default_factory=list)
    fields: list[Literal["title", "summary", "body", "committee", "proposer"]] = Field(
        default_factory=lambda: ["title", "summary"]
    )
    sources: list[StrictStr] | None = None
    priority: Priority = "normal"
    examples: Examples = Field(default_factory=Examples)

    @field_validator("regex", mode="before")
    @classmethod
    def _one_regex(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


class TopicFile(Strict):
    """One rules/*.yaml file: a topic and its rules."""

    topic: StrictStr
    label: StrictStr
    description: StrictStr | None = None
    channel: StrictStr | None = None
    none: list[StrictStr] = Field(default_factory=list)
    rules: list[RuleConfig] = Field(min_length=1)


@dataclass(frozen=True)
class RuleSet:
    """All topic files, validated."""

    topics: tuple[TopicFile, ...]
    files: dict[str, Path]

    def label(self, topic: str) -> str:
        """The Korean label of a topic id (the id itself when unknown)."""
        for t in self.topics:
            if t.topic == topic:
                return t.label
        return topic


# --- error messages ---------------------------------------------------------------------------


def display_path(path: Path) -> str:
    """A path as the user typed it or relative to the working directory."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _did_you_mean(key: str, model: type[BaseModel]) -> str:
    close = difflib.get_close_matches(key, list(model.model_fields), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _describe(err: dict[str, Any], model: type[BaseModel]) -> str:
    """Turn one pydantic error into words a staff member can act on."""
    kind = err["type"]
    loc = [str(p) for p in err["loc"]]
    # ("any", 0) reads as "any item 1": staff count from one and do not know dotted paths
    field = " ".join(f"item {p + 1}" if isinstance(p, int) else str(p) for p in err["loc"])
    # a model-level check has no field: no "source 'x': : …" with an empty field in between
    at = f"{field}: " if field else ""
    if kind == "extra_forbidden":
        return f"unknown key '{loc[-1]}'{_did_you_mean(loc[-1], model)}"
    if kind == "missing":
        return f"missing required key '{field}'"
    if kind in ("string_type", "string_sub_type"):
        return f'{at}must be text, got {err["input"]!r} (put it in quotes, e.g. "yes", "2026")'
    if kind == "literal_error":
        return f"{at}{err['input']!r} is not allowed; {err['msg'].lower()}"
    if kind == "too_short":
        return f"{at}must not be empty"
    msg = err["msg"].removeprefix("Value error, ")
    return f"{at}{msg}"


def _entry_messages(
    where: str,
    exc: ValidationError,
    raw: dict[str, Any],
    list_key: str,
    noun: str,
    item_model: type[BaseModel],
    top_model: type[BaseModel],
) -> list[str]:
    """Messages for one file's validation errors, each naming the entry (rule/source id)."""
    errors = exc.errors()
    messages: list[str] = []
    entries = raw.get(list_key) if isinstance(raw.get(list_key), list) else []
    for err in errors:
        loc = err["loc"]
        if len(loc) >= 3 and loc[0] == list_key and isinstance(loc[1], int):
            entry = entries[loc[1]] if loc[1] < len(entries) else {}
            ident = entry.get("id") if isinstance(entry, dict) else None
            label = f"{noun} '{ident}'" if ident else f"{noun} #{loc[1] + 1}"
            sub = dict(err, loc=loc[2:])
            model = item_model
            if len(loc) >= 4 and loc[2] == "examples":
                model, sub = Examples, dict(err, loc=loc[3:])
            messages.append(f"{where}: {label}: {_describe(sub, model)}")
        elif len(loc) == 2 and loc[0] == list_key and isinstance(loc[1], int):
            messages.append(f"{where}: {noun} #{loc[1] + 1}: must be a mapping of keys")
        else:
            messages.append(f"{where}: {_describe(err, top_model)}")
    return messages


def _read_yaml(path: Path) -> Any:
    """Parse one YAML file; every failure is a ConfigError naming the file (and line, with a hint)."""
    where = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as e:
        raise ConfigNotFound(f"{where}: 파일이 없습니다 (file not found)", path) from e
    except IsADirectoryError as e:
        raise ConfigError(f"{where}: 파일이 아니라 폴더입니다 (a folder, not a file)") from e
    except UnicodeDecodeError as e:
        raise ConfigError(f"{where}: UTF-8 글자가 아닙니다. UTF-8 로 저장하세요 (not UTF-8 text)") from e
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        hint = yaml_hint(e, text)
        raise ConfigError(
            f"{where}: {line}YAML 문법 오류 (YAML syntax error): {problem}" + (f" — {hint}" if hint else "")
        ) from e
    if doc is None:
        but = " but for comments" if text.strip() else ""
        raise ConfigError(f"{where}: 파일이 비어 있습니다 (the file is empty{but})")
    return doc


def yaml_hint(error: yaml.YAMLError, text: str) -> str:
    """A Korean hint for the usual causes of a YAML syntax error: a tab, an unclosed bracket or
    quote (naming the line where it opened), indentation, an unquoted ': ' in a value."""
    context = str(getattr(error, "context", None) or "")
    problem = str(getattr(error, "problem", None) or "")
    opened = getattr(error, "context_mark", None)
    at = getattr(error, "problem_mark", None)
    opened_line = f"{opened.line + 1}번째 줄" if opened is not None else "앞"
    lines = text.splitlines()
    bad_line = lines[at.line] if at is not None and at.line < len(lines) else ""
    if "'\\t'" in problem or "tab" in problem or "\t" in bad_line:
        return "탭 문자가 있습니다: 들여쓰기는 스페이스로만 하세요 (a tab; indent with spaces)"
    for kind, (left, right) in {"flow sequence": ("[", "]"), "flow mapping": ("{", "}")}.items():
        if kind in context:
            return (
                f"{opened_line}에서 연 '{left}' 를 '{right}' 로 닫지 않았습니다 "
                f"(unclosed '{left}' opened on line {opened.line + 1 if opened else '?'})"
            )
    if "quoted scalar" in context:
        return (
            f"{opened_line}에서 연 따옴표를 닫지 않았습니다 "
            f"(unclosed quote opened on line {opened.line + 1 if opened else '?'})"
        )
    if "mapping values are not allowed" in problem:
        return (
            "값 안에 ': ' 가 있으면 그 값을 따옴표로 감싸세요 (예: - \"사회투자: 펀드 공모\"), "
            "아니면 들여쓰기를 확인하세요 (quote a value that contains ': ')"
        )
    if "block" in context or "block" in problem or "expected key" in problem:
        where = f"{at.line + 1}번째 줄" if at is not None else "이 줄"
        return (
            f"{where}의 들여쓰기를 확인하세요: 같은 수준의 키는 위아래 줄과 같은 칸에서 시작하고, "
            "목록은 '- ' 로 시작합니다 (check the indentation)"
        )
    return ""


# --- sources ----------------------------------------------------------------------------------


def load_sources(path: Path) -> SourcesFile:
    """Load and validate sources.yaml (a list, or a mapping with `http:` and `sources:`)."""
    where = display_path(path)
    raw = _read_yaml(path)
    if isinstance(raw, list):
        raw = {"sources": raw}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a list of sources or a mapping with 'sources:'")
    try:
        parsed = SourcesFile.model_validate(raw)
    except ValidationError as e:
        msgs = _entry_messages(where, e, raw, "sources", "source", SourceConfig, SourcesFile)
        raise ConfigError("\n".join(msgs)) from None
    _check_sources(where, parsed)
    return parsed


def _check_sources(where: str, parsed: SourcesFile) -> None:
    from monitor.sources import KINDS  # late: kinds import config types

    seen: set[str] = set()
    msgs: list[str] = []
    for src in parsed.sources:
        label = f"{where}: source '{src.id}'"
        if src.id in seen:
            msgs.append(f"{label}: duplicate id (each source needs its own id)")
        seen.add(src.id)
        kind = KINDS.get(src.kind)
        if kind is None:
            close = difflib.get_close_matches(src.kind, list(KINDS), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            msgs.append(f"{label}: kind: unknown kind '{src.kind}'{hint}; known: {', '.join(sorted(KINDS))}")
            continue
        try:
            kind.Options.model_validate(src.options)
        except ValidationError as e:
            for err in e.errors():
                model = kind.Options
                if err["type"] == "extra_forbidden":
                    key = str(err["loc"][-1])
                    choices = list(SourceConfig.model_fields) + list(model.model_fields)
                    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
                    hint = f" (did you mean '{close[0]}'?)" if close else ""
                    msgs.append(f"{label}: unknown key '{key}'{hint}")
                else:
                    msgs.append(f"{label}: {_describe(err, model)}")
    if msgs:
        raise ConfigError("\n".join(msgs))


# --- rules ------------------------------------------------------------------------------------


def load_rules(path: Path, source_ids: set[str] | None = None) -> RuleSet:
    """Load and validate every rules/*.yaml file (or one file)."""
    files = sorted(path.glob("*.yaml")) + sorted(path.glob("*.yml")) if path.is_dir() else [path]
    if not path.exists():
        raise ConfigNotFound(f"{display_path(path)}: 규칙 폴더가 없습니다 (rules folder not found)", path)
    if not files:
        raise ConfigNotFound(
            f"{display_path(path)}: 규칙 파일(*.yaml)이 없습니다 (no rule files (*.yaml) found)", path
        )
    topics: list[TopicFile] = []
    where_of: dict[str, Path] = {}
    msgs: list[str] = []
    rule_home: dict[str, str] = {}
    for file in files:
        where = display_path(file)
        raw = _read_yaml(file)
        if not isinstance(raw, dict):
            msgs.append(f"{where}: expected a mapping with 'topic:', 'label:' and 'rules:'")
            continue
        try:
            topic = TopicFile.model_validate(raw)
        except ValidationError as e:
            msgs.extend(_entry_messages(where, e, raw, "rules", "rule", RuleConfig, TopicFile))
            continue
        if topic.topic in where_of:
            msgs.append(
                f"{where}: topic: '{topic.topic}' is already defined in {display_path(where_of[topic.topic])}"
            )
        if not SLUG.match(topic.topic):
            msgs.append(f"{where}: topic: '{topic.topic}' must be a slug like 'cooperatives'")
        where_of[topic.topic] = file
        msgs.extend(_check_topic(where, topic, rule_home, source_ids))
        topics.append(topic)
    if msgs:
        raise ConfigError("\n".join(msgs))
    return RuleSet(tuple(topics), where_of)


def _check_terms(label: str, key: str, terms: list[str] | None) -> list[str]:
    if terms is None:
        return []
    if not terms:
        return [f"{label}: {key}: the term list is empty; add terms or remove '{key}:'"]
    return [
        f"{label}: {key}: term {t!r} is empty after removing spaces and punctuation"
        for t in terms
        if not normalize(t)
    ]


def _check_topic(
    where: str, topic: TopicFile, rule_home: dict[str, str], source_ids: set[str] | None
) -> list[str]:
    msgs = _check_terms(f"{where}: topic '{topic.topic}'", "none", topic.none or None)
    for rule in topic.rules:
        label = f"{where}: rule '{rule.id}'"
        if rule.id in rule_home:
            msgs.append(f"{label}: duplicate rule id (also in {rule_home[rule.id]})")
        rule_home[rule.id] = where
        if not RULE_ID.match(rule.id):
            msgs.append(
                f"{label}: id: 규칙 id 는 영문 소문자·숫자와 '-' 로만 씁니다, 예: 'coop-basic-act' "
                "(a rule id is lower-case letters and digits joined by '-')"
            )
        if rule.any is None and not rule.regex:
            msgs.append(f"{label}: any: missing; a rule needs 'any:' terms or a 'regex:'")
        msgs += _check_terms(label, "any", rule.any)
        msgs += _check_terms(label, "all", rule.all if "all" in rule.model_fields_set else None)
        msgs += _check_terms(label, "none", rule.none if "none" in rule.model_fields_set else None)
        msgs += _check_terms(
            label, "unless_title", rule.unless_title if "unless_title" in rule.model_fields_set else None
        )

        for pattern in rule.regex:
            try:
                re.compile(pattern)
            except re.error as e:
                msgs.append(f"{label}: regex: invalid regular expression {pattern!r}: {e}")
                continue
            from monitor.rules import regex_problem  # late: rules imports this module

            problem = regex_problem(pattern)  # e.g. a repeat inside a repeat (ReDoS)
            if problem:
                msgs.append(f"{label}: regex: {pattern!r}: {problem}")
        if not rule.fields:
            msgs.append(f"{label}: fields: must not be empty")
        if rule.sources is not None and source_ids is not None:
            from monitor.sources import KINDS

            for s in rule.sources:
                if s not in source_ids and s not in KINDS:
                    msgs.append(f"{label}: sources: '{s}' is neither a source id nor a kind")
    return msgs
