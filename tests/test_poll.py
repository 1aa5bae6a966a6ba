"""The pipeline end to end: local feeds → poll → SQLite → rules → CLI output."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from click.testing import Result
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.text import now
from tests.feeds import Entry, feed

FIXTURES = Path(__file__).parent / "fixtures" / "rss"

Cli = Callable[..., Result]


def rss_source(
    server: HTTPServer, sid: str = "mois-press", path: str = "/rss", **extra: Any
) -> dict[str, Any]:
    return {"id": sid, "kind": "rss", "name": "행정안전부 보도자료", "url": server.url_for(path), **extra}


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def db_rows(workdir: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(workdir / "monitor.db") as conn:
        return conn.execute(sql).fetchall()


def recent(hours: float) -> Any:
    return now() - timedelta(hours=hours)


def test_poll_twice_stores_once_and_sends_conditional_headers(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    body = (FIXTURES / "mois_press.xml").read_bytes()

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(body, headers={"ETag": '"v1"', "Content-Type": "application/rss+xml"})

    server.expect_request("/rss").respond_with_handler(handler)
    write_sources([rss_source(server, backfill_days=10000)])
    first = cli("poll", "--json", ok=True)
    (out,) = lines(first)
    assert (out["status"], out["fetched"], out["new"], out["flagged"]) == ("ok", 3, 3, 1)

    second = cli("poll", "--json", ok=True)
    (out,) = lines(second)
    assert (out["status"], out["new"], out["updated"]) == ("not_modified", 0, 0)
    feed_requests = [r for r, _ in server.log if r.path == "/rss"]
    assert feed_requests[-1].headers.get("If-None-Match") == '"v1"'
    assert db_rows(workdir, "SELECT COUNT(*) FROM items") == [(3,)]
    assert db_rows(workdir, "SELECT COUNT(*) FROM events") == [(3,)]
    assert db_rows(workdir, "SELECT status, http_status FROM runs ORDER BY id") == [
        ("ok", 200),
        ("not_modified", 304),
    ]


def test_reseen_items_add_nothing_and_changes_add_one_updated_event(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    entries = [Entry(1, "신규 마을기업 선정", "마을기업 지원"), Entry(2, "정책 브리핑", "일반")]
    state = {"body": feed(entries)}
    server.expect_request("/rss").respond_with_handler(lambda r: Response(state["body"]))
    write_sources([rss_source(server)])
    cli("poll", ok=True)
    cli("poll", ok=True)
    assert db_rows(workdir, "SELECT type, COUNT(*) FROM events GROUP BY type") == [("new", 2)]
    first_seen = db_rows(workdir, "SELECT first_seen_at FROM items WHERE key LIKE '%nttId=1'")

    entries[1] = Entry(2, "정책 브리핑 (수정)", "일반")
    state["body"] = feed(entries)
    (out,) = lines(cli("poll", "--json", ok=True))
    assert (out["new"], out["updated"]) == (0, 1)
    cli("poll", ok=True)  # the same change seen again: no second event
    assert db_rows(workdir, "SELECT type, COUNT(*) FROM events GROUP BY type ORDER BY type") == [
        ("new", 2),
        ("updated", 1),
    ]
    (detail,) = db_rows(workdir, "SELECT detail FROM events WHERE type = 'updated'")
    assert json.loads(detail[0])["to"]["title"] == "정책 브리핑 (수정)"
    assert db_rows(workdir, "SELECT first_seen_at FROM items WHERE key LIKE '%nttId=1'") == first_seen


def test_first_poll_is_a_baseline_that_announces_only_the_recent_past(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    entries = [
        Entry(5, "마을기업 오늘 소식", published=recent(2)),
        Entry(4, "마을기업 어제 소식", published=recent(30)),
        Entry(3, "마을기업 지난주 소식", published=recent(24 * 8)),
        Entry(2, "마을기업 지난달 소식", published=recent(24 * 40)),
    ]
    state = {"body": feed(entries)}
    server.expect_request("/rss").respond_with_handler(lambda r: Response(state["body"]))
    write_sources([rss_source(server, backfill_days=3)])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert out["new"] == 4 and out["announced"] == 2
    assert db_rows(workdir, "SELECT COUNT(*) FROM items") == [(4,)]

    # after the baseline every new item is announced, whatever its date
    state["body"] = feed([Entry(6, "마을기업 뒤늦게 올라온 공고", published=recent(24 * 20)), *entries])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert out["new"] == 1 and out["announced"] == 1
    events = lines(cli("events", "--json", ok=True))
    assert [e["announce"] for e in events] == [True, True, False, False, True]


def test_one_broken_source_fails_alone_and_is_recorded(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    server.expect_request("/good").respond_with_data((FIXTURES / "mois_press.xml").read_bytes())
    server.expect_request("/down").respond_with_data("error", status=500)
    server.expect_request("/html").respond_with_data((FIXTURES / "not_a_feed.html").read_bytes())
    server.expect_request("/empty").respond_with_data((FIXTURES / "empty_channel.xml").read_bytes())
    write_sources(
        [
            rss_source(server, "down", "/down"),
            rss_source(server, "good", "/good"),
            rss_source(server, "html", "/html"),
            rss_source(server, "empty", "/empty"),
            rss_source(server, "empty-ok", "/empty", allow_empty=True),
        ]
    )
    result = cli("poll", "--json")
    assert result.exit_code == 1
    by_id = {o["source"]: o for o in lines(result)}
    assert by_id["good"]["status"] == "ok" and by_id["good"]["new"] == 3
    assert by_id["down"]["status"] == "failed" and "HTTP 500" in by_id["down"]["error"]
    assert by_id["down"]["http_status"] == 500
    assert "ParseError" in by_id["html"]["error"] and "HTML page" in by_id["html"]["error"]
    assert "EmptyResult" in by_id["empty"]["error"]
    assert by_id["empty-ok"]["status"] == "ok"
    assert "4개 소스 실패" not in result.output and "3개 소스 실패: down, html, empty" in result.output

    cli("poll", "down")
    states = {s["id"]: s for s in lines(cli("sources", "--json", ok=True))}
    assert states["down"]["consecutive_failures"] == 2 and "HTTP 500" in states["down"]["last_error"]
    assert states["good"]["consecutive_failures"] == 0 and states["good"]["status"] == "ok"
    assert states["good"]["last_counts"] == {"fetched": 3, "new": 3, "updated": 0, "flagged": 1}
    assert db_rows(workdir, "SELECT COUNT(*) FROM runs WHERE status = 'failed'") == [(4,)]


def test_robots_disallowed_source_is_skipped_with_a_clear_message(
    httpserver: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /\n")
    httpserver.expect_request("/rss").respond_with_data((FIXTURES / "mois_press.xml").read_bytes())
    write_sources([rss_source(httpserver), rss_source(httpserver, "allowed", ignore_robots=True)])
    result = cli("poll", "--json")
    out = {o["source"]: o for o in lines(result)}
    assert out["mois-press"]["status"] == "blocked" and "robots.txt" in out["mois-press"]["error"]
    assert out["allowed"]["status"] == "ok"
    assert sum(1 for r, _ in httpserver.log if r.path == "/rss") == 1


def test_config_error_exits_non_zero_and_writes_nothing(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    write_sources([dict(rss_source(server), intervall="1h")])
    result = cli("poll")
    assert result.exit_code == 2
    assert (
        "sources.yaml: source 'mois-press': unknown key 'intervall' (did you mean 'interval'?)"
        in result.output
    )
    assert not (workdir / "monitor.db").exists()


def test_items_json_and_filters(server: HTTPServer, write_sources: Callable[..., Path], cli: Cli) -> None:
    server.expect_request("/rss").respond_with_data((FIXTURES / "mois_press.xml").read_bytes())
    write_sources([rss_source(server, backfill_days=10000)])
    cli("poll", ok=True)
    everything = lines(cli("items", "--json", ok=True))
    assert len(everything) == 3
    assert set(everything[0]) >= {
        "source",
        "key",
        "title",
        "url",
        "published_at",
        "first_seen_at",
        "topics",
        "fields",
    }
    assert everything[0]["published_at"] == "2026-09-14T10:00:00+09:00"
    flagged = lines(cli("items", "--flagged", "--json", ok=True))
    assert [i["title"][:13] for i in flagged] == ["2026년 신규 마을기업"]
    (why,) = flagged[0]["matches"]
    assert (why["rule"], why["field"], why["terms"]) == ("village-enterprise", "title", ["마을기업"])
    assert lines(cli("items", "--topic", "cooperatives", "--json", ok=True)) == []
    human = cli("items", "--flagged", ok=True).output
    assert "└ community-enterprise · village-enterprise · title: 마을기업" in human
    assert "마을버스" not in cli("items", "--topic", "community-enterprise", ok=True).output


def test_rules_test_contract_on_a_jsonl_file(cli: Cli, workdir: Path) -> None:
    path = workdir / "in.jsonl"
    rows = [
        {"id": "a", "source": "assembly_bills", "title": "협동조합 기본법 일부개정법률안", "summary": ""},
        {"id": "b", "source": "rss", "title": "농업협동조합법 일부개정법률안", "summary": "농협 조합장 선거"},
        {"id": "c", "source": "rss", "title": "조세특례제한법", "summary": "사회적협동조합에 대한 감면"},
        {"id": "d", "title": "신규 마을기업", "committee": "행정안전위원회"},
    ]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", encoding="utf-8")
    out = lines(cli("rules", "test", "--input", str(path), "--json", ok=True))
    assert [o["id"] for o in out] == ["a", "b", "c", "d"]
    assert out[0] == {
        "id": "a",
        "matched": True,
        "topics": ["cooperatives"],
        "rules": ["coop-basic-act", "coop-general"],
        "terms": ["협동조합 기본법", "협동조합"],
    }
    assert out[1]["matched"] is False and out[1]["topics"] == []
    assert out[2]["terms"] == ["사회적협동조합", "협동조합"]
    assert out[3]["topics"] == ["community-enterprise"]
    human = cli("rules", "test", "--input", str(path), ok=True).output
    assert "coop-basic-act [cooperatives] · summary: '사회적협동조합'" in human


def test_rules_test_reports_a_bad_line(cli: Cli, workdir: Path) -> None:
    path = workdir / "bad.jsonl"
    path.write_text('{"id": "a", "title": "x"}\n{not json\n', encoding="utf-8")
    result = cli("rules", "test", "--input", str(path), "--json")
    assert result.exit_code == 1
    assert "bad.jsonl: line 2: 올바른 JSON 이 아닙니다 (not valid JSON" in result.output


def test_rules_test_on_stored_items(server: HTTPServer, write_sources: Callable[..., Path], cli: Cli) -> None:
    server.expect_request("/rss").respond_with_data((FIXTURES / "mois_press.xml").read_bytes())
    write_sources([rss_source(server)])
    cli("poll", ok=True)
    out = lines(cli("rules", "test", "--json", ok=True))
    assert len(out) == 3 and sum(o["matched"] for o in out) == 1
    assert out[0]["id"].startswith("mois-press:")


def test_rules_check_runs_examples(cli: Cli, workdir: Path) -> None:
    ok = cli("rules", "check", ok=True)
    assert "OK: 주제 2개 · 규칙 3개" in ok.output and "예시 6/6 통과" in ok.output
    assert "(2 topics, 3 rules" in ok.output and "6/6 examples pass" in ok.output
    path = workdir / "rules" / "community-enterprise.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("신규 마을기업 선정", "마을 공동체 선정"), encoding="utf-8"
    )
    bad = cli("rules", "check")
    assert bad.exit_code == 1
    assert "rule 'village-enterprise': 예시 example “마을 공동체 선정” 걸려야 하는데 안 걸렸습니다" in (
        bad.output
    )


def test_every_command_documents_itself_with_an_example(cli: Cli) -> None:
    from monitor.cli import main

    def walk(group: Any, prefix: list[str]) -> list[list[str]]:
        found = []
        for name, cmd in group.commands.items():
            found.append([*prefix, name])
            if hasattr(cmd, "commands"):
                found.extend(walk(cmd, [*prefix, name]))
        return found

    for path in walk(main, []):
        result = cli(*path, "--help", ok=True)
        assert "Example:" in result.output, path
