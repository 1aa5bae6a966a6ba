"""Hostile input: Slack control sequences, XML bombs, secrets in echoes and errors, SQL, redirects."""

from __future__ import annotations

import ast
import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from click.testing import Result
from hypothesis import given, settings
from hypothesis import strategies as st
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import HttpConfig
from monitor.errors import FetchError, ParseError
from monitor.http import HttpClient
from monitor.render.slack import escape, link
from monitor.sources import lawgo, lawmaking, press, rss
from monitor.store import Store
from tests.feeds import Entry, feed
from tests.slack_api import FakeSlack

ROOT = Path(__file__).parents[1]
Cli = Callable[..., Result]

# --- Slack: scraped text can neither ping nor forge a link -------------------------------------

HOSTILE = ["<!channel>", "<!here>", "<!everyone>", "<@U123ABC>", "<#C0SECRET>", "<https://evil.example|click>",
           "&lt;", "&amp;", "<!subteam^S1|@team>", "<!date^1392734382^x|y>"]  # fmt: skip


def slack_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8)), max_size=6).map("".join))
def test_escaped_text_has_no_control_sequence_and_round_trips(text: str) -> None:
    out = escape(text)
    assert "<" not in out and ">" not in out
    assert slack_unescape(out) == text  # what Slack shows is exactly the title, `&lt;` included


URLS = ["https://ok.example/a", "javascript:alert(1)", "ftp://x/y", None,
        "https://ok.example/a>b|c <!channel>", "http://x/?q=<@U1>"]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.sampled_from(URLS))
def test_a_link_is_one_inert_link_or_plain_text(text: str, url: str | None) -> None:
    out = link(url, text)
    if url and url.startswith(("http://", "https://")):
        assert out.startswith("<http") and out.endswith(">")
        target, label = out[1:-1].split("|", 1)  # exactly one separator: the label cannot add one
        assert not re.search(r"[<>| ]", target) and "<" not in label and ">" not in label
    else:
        assert "<" not in out and ">" not in out


def test_a_hostile_feed_posts_nothing_that_pings_or_links(
    slack: FakeSlack, server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    titles = [f"「협동조합 기본법」 {h} 개정" for h in HOSTILE] + [f"마을기업 {h} 선정" for h in HOSTILE]
    entries = [Entry(n, t, f"요약 {HOSTILE[n % len(HOSTILE)]} 마을기업 지원") for n, t in enumerate(titles)]
    server.expect_request("/rss").respond_with_data(feed(entries))
    write_sources(
        [{"id": "evil", "kind": "rss", "name": "<!channel> 소스 <@U999>", "url": server.url_for("/rss")}]
    )
    cli("poll", ok=True)  # urgent alerts go out right after the poll
    cli("digest", "daily", ok=True)
    assert len(slack.posts) >= 2
    for post in slack.posts:
        blocks = json.dumps(post["blocks"], ensure_ascii=False)
        for raw in (blocks, post["text"]):
            for forbidden in ("<!channel>", "<!here>", "<!everyone>", "<@U123ABC>", "<@U999>", "<#C0SECRET>",
                              "<https://evil.example", "<!subteam", "<!date"):  # fmt: skip
                assert forbidden not in raw
        assert "<" not in post["text"]  # the notification text carries no scraped text at all
    # a title escaped twice ("&amp;lt;" in the XML) reads "<" (sources/clean.py), and Slack gets it escaped
    shown = [json.dumps(p["blocks"], ensure_ascii=False) for p in slack.posts]
    assert any("「협동조합 기본법」 &lt; 개정" in blocks for blocks in shown)


# --- XML bombs and external entities, in every XML path ----------------------------------------

LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE {root} [\n <!ENTITY l0 "lol">\n'
    + b"".join(f' <!ENTITY l{i} "{f"&l{i - 1};" * 10}">\n'.encode() for i in range(1, 10))
    + b"]>\n{body}"
)
XXE = b'<?xml version="1.0"?>\n<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "{target}">]>\n{body}'
BODIES = {
    "rss": (b"rss", b'<rss version="2.0"><channel><title>t</title><item><title>&l9;&xxe;</title>'
            b"<link>http://x/1</link></item></channel></rss>"),
    "lawgo": (b"LawSearch", "<LawSearch><totalCnt>1</totalCnt><law><법령일련번호>1</법령일련번호>"
              "<법령명한글>&l9;&xxe;</법령명한글></law></LawSearch>".encode()),
    "press": (b"response", b"<response><header><resultCode>00</resultCode></header><body><NewsItem>"
              b"<NewsItemId>1</NewsItemId><Title>&l9;&xxe;</Title></NewsItem></body></response>"),
    "lawmaking": (b"result", b"<result><retMsg>200</retMsg><list><ApiList04Vo><ogLmPpSeq>1</ogLmPpSeq>"
                  b"<lsNm>&l9;&xxe;</lsNm></ApiList04Vo></list></result>"),
}  # fmt: skip
PARSE: dict[str, Callable[[bytes], Any]] = {
    "rss": lambda b: rss.parse_feed(b, {}),
    "lawgo": lawgo.parse_law_search,
    "press": press.parse_press,
    "lawmaking": lambda b: lawmaking.parse_api(b, lawmaking.NOTICES, "https://opinion.lawmaking.go.kr"),
}


def bomb(kind: str, attack: str, target: str = "file:///etc/hostname") -> bytes:
    root, body = BODIES[kind]
    template = LAUGHS if attack == "laughs" else XXE
    doc = template.replace(b"{root}", root).replace(b"{body}", body).replace(b"{target}", target.encode())
    return (
        doc if attack != "xxe-utf16" else doc.replace(b'<?xml version="1.0"?>', b"").decode().encode("utf-16")
    )


@pytest.mark.parametrize("attack", ["laughs", "xxe", "xxe-utf16"])
@pytest.mark.parametrize("kind", sorted(PARSE))
def test_xml_bombs_and_external_entities_are_refused_cheaply(
    kind: str, attack: str, server: HTTPServer
) -> None:
    server.expect_request("/secret").respond_with_data("SECRET-FROM-NETWORK")
    body = bomb(kind, "xxe" if attack == "xxe-utf16" else attack, server.url_for("/secret"))
    if attack == "xxe-utf16":
        body = body.decode().encode("utf-16")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    with pytest.raises(ParseError) as info:
        PARSE[kind](body)
    assert time.monotonic() - started < 2
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 50_000  # kB: nothing expanded
    if attack != "xxe-utf16" or kind == "rss":  # parse_xml refuses UTF-16 text even earlier
        assert "DTD" in str(info.value)
    assert not [r for r, _ in server.log if r.path == "/secret"]  # no entity was ever fetched


def test_a_bomb_served_as_a_feed_fails_that_source_alone(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    server.expect_request("/bomb").respond_with_data(bomb("rss", "laughs"), content_type="application/xml")
    server.expect_request("/good").respond_with_data(feed([Entry(1, "마을기업 선정")]))
    write_sources([
        {"id": "bomb", "kind": "rss", "name": "폭탄", "url": server.url_for("/bomb")},
        {"id": "good", "kind": "rss", "name": "정상", "url": server.url_for("/good")},
    ])  # fmt: skip
    result = cli("poll", "--json")
    outcomes = {o["source"]: o for o in map(json.loads, result.stdout.splitlines())}
    assert outcomes["bomb"]["status"] == "failed" and "DTD" in outcomes["bomb"]["error"]
    assert outcomes["good"]["status"] == "ok" and outcomes["good"]["new"] == 1


# --- secrets: never in logs, errors, the CLI's output or the DB --------------------------------

SECRETS = {
    "ASSEMBLY_API_KEY": "sentinel-asm-KEY-7f3a",
    "LAWMAKING_OC": "sentineloc9c1",
    "LAW_GO_KR_OC": "sentinellawgo2b",
    "DATA_GO_KR_KEY": "sentinel/DATA+key==",  # a data.go.kr key: base64, so it is URL-encoded on the wire
    "SLACK_BOT_TOKEN": "xoxb-sentinel-slack-token",
    "SMTP_PASSWORD": "sentinel-smtp-password",
}


def forms(secret: str) -> set[str]:
    """A secret as it may show up: raw, or URL-encoded as in a query string."""
    return {secret, quote(secret, safe=""), quote_plus(secret)}


def echo(request: Request) -> Response:
    """A gateway that echoes the request back: in its error text, in an item link and title."""
    url = request.full_path
    if request.path.endswith("TVBPMBILL11"):
        return Response(f"<html><body>Bad request {url}</body></html>", status=500)
    if request.path.endswith("nknalejkafmvgzmpt"):
        body = {"RESULT": {"CODE": "ERROR-290", "MESSAGE": f"인증키가 유효하지 않습니다: {url}"}}
        return Response(json.dumps(body, ensure_ascii=False), content_type="application/json")
    if request.path == "/rest/ogLmPp":
        return Response(f"Unauthorized request {url} key={request.args.get('OC')}", status=200)
    if request.path == "/DRF/lawSearch.do":
        return Response("<LawSearch><resultCode>99</resultCode><resultMsg>bad OC "
                        f"{request.args.get('OC')}</resultMsg></LawSearch>".encode())  # fmt: skip
    if request.path == "/press":
        key = request.args.get("serviceKey") or ""
        return Response(
            "<response><header><resultCode>00</resultCode></header><body><items><NewsItem>"
            f"<NewsItemId>1</NewsItemId><Title>마을기업 {key}</Title>"
            f"<OriginalUrl>http://x/?serviceKey={quote(key)}</OriginalUrl>"
            f"<ApproveDate>09/08/2026 10:00:00</ApproveDate><DataContents>{url}</DataContents>"
            "</NewsItem></items></body></response>",
            content_type="application/xml",
        )
    return Response("nope", status=404)


def test_secrets_never_reach_logs_errors_output_or_the_db(
    server: HTTPServer, write_sources: Callable[..., Path], workdir: Path
) -> None:
    api = re.compile("^/(openapi/.*|rest/ogLmPp|DRF/lawSearch.do|press)$")
    server.expect_request(api).respond_with_handler(echo)
    slack = FakeSlack()  # refuses the sentinel token: invalid_auth
    server.expect_request(re.compile(r"^/api/[\w.]+$")).respond_with_handler(slack.handler)
    url = server.url_for
    write_sources([
        {"id": "bills", "kind": "assembly_bills", "name": "법률안", "url": url("/openapi")},
        {"id": "notices", "kind": "assembly_notices", "name": "입법예고", "url": url("/openapi")},
        {"id": "lawmaking", "kind": "lawmaking_notices", "name": "입법예고", "url": url("/gcom/ogLmPp?a=1"),
         "api_url": url("/rest/ogLmPp"), "api_retries": 0},
        {"id": "laws", "kind": "law_changes", "name": "법령", "url": url("/DRF/lawSearch.do"), "days": 1},
        {"id": "press", "kind": "press_releases", "name": "보도", "url": url("/press"), "lookback_days": 1},
    ])  # fmt: skip
    env = {**os.environ, **SECRETS, "MONITOR_DB": str(workdir / "monitor.db"), "MONITOR_LOG_LEVEL": "DEBUG",
           "SLACK_API_URL": server.url_for("/api/"), "SLACK_CHANNEL": "C0POLICY", "SMTP_HOST": "127.0.0.1",
           "SMTP_PORT": "9", "SMTP_USER": "monitor"}  # fmt: skip
    outputs = []
    for args in (["-v", "poll"], ["--log-format", "json", "-v", "poll"], ["digest", "daily"],
                 ["sources", "--json"], ["items", "--json"], ["status"]):  # fmt: skip
        done = subprocess.run([sys.executable, "-m", "monitor", *args], cwd=workdir, env=env,
                              capture_output=True, text=True, timeout=120)  # fmt: skip
        outputs.append(done.stdout + done.stderr)
    text = "\n".join(outputs)
    assert "failed" in text or "실패" in text  # the sources really failed, with errors to leak
    assert slack.attempts >= 1  # the digest tried Slack with the sentinel token
    stored = b"".join(p.read_bytes() for p in workdir.glob("monitor.db*"))
    assert (
        b"\xeb\xa7\x88\xec\x9d\x84\xea\xb8\xb0\xec\x97\x85" in stored
    )  # the echoing press item is stored (마을기업)
    for name, secret in SECRETS.items():
        for form in forms(secret):
            assert form not in text, f"{name} ({form}) in the output"
            assert form.encode() not in stored, f"{name} ({form}) in the DB"


# --- SQL: values only as parameters -----------------------------------------------------------

# Names that may be formatted into SQL text: built in store.py from code (column lists, `?`
# placeholders, WHERE fragments with `?`), never from data.
SQL_FRAGMENTS = {"STORED_COLUMNS", "ITEM_COLUMNS", "EVENT_ITEM_COLUMNS", "NOT_CARRIED_BY_ALERTS", "where",
                 "sets", "marks", "column", "t", "assignments", "statement", "number",
                 "savepoint"}  # fmt: skip


def _sql_calls() -> list[tuple[str, int, ast.expr]]:
    found = []
    for path in sorted((ROOT / "monitor").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            sql_call = isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args
            if sql_call and node.func.attr in ("execute", "executemany", "executescript", "rows", "_stored"):
                found.append((path.name, node.lineno, node.args[0]))
    return found


def _names_outside_len(node: ast.AST) -> set[str]:
    """Names a formatted expression reads, except inside len() (a count of `?` placeholders)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
        return set()
    found = {node.id} if isinstance(node, ast.Name) else set()
    for child in ast.iter_child_nodes(node):
        found |= _names_outside_len(child)
    return found


def test_sql_text_is_never_built_from_values() -> None:
    calls = _sql_calls()
    assert len(calls) > 30  # the scan sees the store's statements
    for name, line, arg in calls:
        for node in ast.walk(arg):
            if isinstance(node, ast.FormattedValue):
                names = _names_outside_len(node.value)
                assert names <= SQL_FRAGMENTS | {"int"}, f"{name}:{line} formats {names - SQL_FRAGMENTS}"
            assert not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod)), f"{name}:{line} uses %"
            assert not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "format"), (
                f"{name}:{line}"
            )


INJECTIONS = ["x'; DROP TABLE items; --", "' OR '1'='1", '" OR 1=1 --', "%s", "?", "\x00", "협동조합') --"]


@pytest.mark.parametrize("value", INJECTIONS)
def test_hostile_values_are_data_not_sql(value: str, tmp_path: Path) -> None:
    from tests.seed import poll, press, ruleset

    store = Store(tmp_path / "x.db")
    rules = ruleset(tmp_path)
    poll(store, rules, "mois", [press(1, "마을기업 하나"), press(2, "마을기업 둘")])
    item = press(3, f"마을기업 {value}")  # source ids are slugs (config); keys and titles are not
    item.key = value
    poll(store, rules, "mois", [item])
    assert store.counts()["items"] == 3
    assert store.stored("mois", value).title == f"마을기업 {value}"  # type: ignore[union-attr]
    assert store.stored("mois", "' OR '1'='1" if value != "' OR '1'='1" else "nobody") is None
    assert store.items(source=value) == [] and store.items(topic=value) == []
    assert store.events(source=value) == [] and len(store.items(source="mois")) == 3
    with pytest.raises(ValueError, match="column"):
        store.finish_run(1, "ok", **{"status = 'x', error": "y"})
    with pytest.raises(ValueError, match="column"):
        store.update_delivery(1, **{"status = 'sent' --": "y"})
    store.close()
    with sqlite3.connect(tmp_path / "x.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM items").fetchone() == (3,)


# --- redirects --------------------------------------------------------------------------------


def test_a_redirect_loop_stops_after_five(server: HTTPServer, fast_http: HttpConfig) -> None:
    server.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    with pytest.raises(FetchError, match="too many redirects"):
        HttpClient(fast_http).get(server.url_for("/loop"))
    assert len([r for r, _ in server.log if r.path == "/loop"]) == 6  # the request and 5 redirects


@pytest.mark.parametrize(
    "target", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1:70/x", "data:text/plain,hi",
               "javascript:alert(1)", "dict://127.0.0.1:11211/stats"]
)  # fmt: skip
def test_redirects_to_other_schemes_are_refused(
    target: str, server: HTTPServer, fast_http: HttpConfig
) -> None:
    server.expect_request("/go").respond_with_data("", status=301, headers={"Location": target})
    with pytest.raises(FetchError, match="non-http"):
        HttpClient(fast_http).get(server.url_for("/go"))


def test_a_key_cut_short_in_an_error_text_is_still_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    # an error text is shortened (120 characters of an unexpected body): the key must be redacted
    # before the cut, and a key's beginning must not survive a cut made elsewhere (issue 17.6)
    from monitor.logs import redact
    from monitor.sources.xmlbody import parse_xml

    key = "sentinel-data-key-0123456789abcdef"
    monkeypatch.setenv("DATA_GO_KR_KEY", key)
    body = ("x" * 100 + f" serviceKey={key} more").encode()
    with pytest.raises(ParseError) as raised:
        parse_xml(body, "press releases")
    assert "sentinel" not in str(raised.value) and "***" in str(raised.value)
    assert redact(f"error at KEY={key[:14]}") == "error at KEY=***"
    assert redact(f"('{key[:9]}')") == "('***')"
