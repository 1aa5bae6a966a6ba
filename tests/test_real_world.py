"""Inputs real sites send (fixtures/real_world/, copied from cases/real-world), polled from 127.0.0.1.

Each right value of the cases README is asserted here through a real poll: the loopback server
sends the exact bytes and Content-Type, the shipped rules match, the CLI reports.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import ROOT
from tests.slack_api import FakeSlack

CASES = Path(__file__).parent / "fixtures" / "real_world"
RULES = str(ROOT / "rules")
Cli = Callable[..., Result]


def serve(server: HTTPServer, path: str, name: str) -> None:
    """Serve a case file with its exact Content-Type (`NAME.ctype` beside it, else XML)."""
    ctype = CASES / f"{name}.ctype"
    content_type = ctype.read_text().strip() if ctype.exists() else "application/rss+xml; charset=UTF-8"
    server.expect_request(path).respond_with_data((CASES / name).read_bytes(), content_type=content_type)


def rows(result: Result) -> list[dict[str, Any]]:
    return [json.loads(x) for x in result.stdout.splitlines() if x.strip()]


def rss_source(server: HTTPServer, sid: str = "feed") -> dict[str, Any]:
    return {"id": sid, "kind": "rss", "name": "시험 피드", "url": server.url_for(f"/{sid}.rss"),
            "backfill_days": 36500}  # fmt: skip


def poll(cli: Cli, *args: str) -> dict[str, Any]:
    (outcome,) = rows(cli("--rules", RULES, "poll", "--json", *args, ok=True))
    return outcome


def items(cli: Cli) -> list[dict[str, Any]]:
    return rows(cli("--rules", RULES, "items", "--json", ok=True))


def test_a_bare_ampersand_is_text(server: HTTPServer, write_sources: Callable[..., Path], cli: Cli) -> None:
    serve(server, "/feed.rss", "01-unescaped-amp.rss")
    write_sources([rss_source(server)])
    assert poll(cli)["status"] == "ok"
    (item,) = items(cli)
    assert item["title"] == "사회적경제 R&D 지원사업 공고"
    assert [m["topic"] for m in item["matches"]] == ["social-economy"]


def test_html_in_a_cdata_title_is_plain_text_and_the_urgent_rule_fires(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, slack: FakeSlack
) -> None:
    serve(server, "/feed.rss", "03-html-in-cdata-title.rss")
    write_sources([rss_source(server)])
    poll(cli)
    (item,) = items(cli)
    assert item["title"] == "협동조합 기본법 시행령 개정안 입법예고"
    assert "coop-basic-act" in {m["rule"] for m in item["matches"]}
    # the urgent alert went out right after the poll, with the plain title
    (alert,) = [p for p in slack.posts if "긴급" in p["text"]]
    assert "협동조합 기본법 시행령 개정안 입법예고" in json.dumps(alert["blocks"], ensure_ascii=False)
    assert "<b>" not in json.dumps(alert["blocks"], ensure_ascii=False)


def test_two_posts_sharing_a_guid_are_both_kept_with_stable_keys_and_a_warning(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    serve(server, "/feed.rss", "05-duplicate-guid.rss")
    write_sources([rss_source(server)])
    first = poll(cli)
    assert first["new"] == 2
    assert any("share the key" in w and "협동조합 설립 인가 공고" in w for w in first["warnings"])
    before = {i["key"]: i["title"] for i in items(cli)}
    assert sorted(before.values()) == ["사회적기업 인증 결과 공고", "협동조합 설립 인가 공고"]
    assert len(before) == 2
    again = poll(cli)  # the same two posts: no new item, the same keys
    assert again["new"] == 0 and again["updated"] == 0
    assert {i["key"]: i["title"] for i in items(cli)} == before


def test_a_changing_session_id_is_one_post_announced_once(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, slack: FakeSlack
) -> None:
    write_sources([rss_source(server)])
    serve(server, "/feed.rss", "07-session-id-poll1.rss")
    poll(cli)
    server.clear()
    server.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    serve(server, "/feed.rss", "07-session-id-poll2.rss")
    assert poll(cli)["new"] == 0
    (item,) = items(cli)
    assert item["url"] == "https://www.example.go.kr/news/view.do?nttId=107"
    assert "jsessionid" not in item["key"].lower()
    events = rows(cli("events", "--json", ok=True))
    assert [e["type"] for e in events] == ["new"]
    assert len([p for p in slack.posts if "긴급" in p["text"]]) == 1


def test_an_item_without_a_title_takes_one_from_its_description(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, slack: FakeSlack
) -> None:
    serve(server, "/feed.rss", "09-no-title.rss")
    write_sources([rss_source(server)])
    poll(cli)
    (item,) = items(cli)
    assert item["title"] == "사회적경제 기본법 제정을 위한 공청회를 연다"
    assert item["fields"]["title_derived"] is True
    cli("--rules", RULES, "digest", "daily", ok=True)
    blocks = json.dumps([p["blocks"] for p in slack.posts], ensure_ascii=False)
    assert "|사회적경제 기본법 제정을 위한 공청회를 연다>" in blocks and "|>" not in blocks


@pytest.mark.parametrize(
    ("name", "source", "title", "topic"),
    [
        ("10-latin1-header-euckr.rss", {"kind": "rss"}, "사회적경제 기본법 제정 공청회", "social-economy"),
        (
            "10-latin1-header-euckr.html",
            {"kind": "html_board", "row": "table.bbs tbody tr", "title": "td.subject", "date": "td.date"},
            "사회적기업 인증 신청 공고",
            "social-enterprise",
        ),
    ],
)
def test_a_latin1_header_on_an_euckr_document_is_decoded_as_the_document_says(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli,
    name: str, source: dict[str, Any], title: str, topic: str,
) -> None:  # fmt: skip
    serve(server, "/page", name)
    write_sources([{"id": "site", "name": "시험", "url": server.url_for("/page"), "backfill_days": 36500,
                    **source}])  # fmt: skip
    outcome = poll(cli)
    (item,) = items(cli)
    assert item["title"] == title
    assert topic in {m["topic"] for m in item["matches"]}
    assert any("ISO-8859-1".lower() in w.lower() or "latin" in w.lower() for w in outcome["warnings"])
    assert any("cp949" in w for w in outcome["warnings"])
    if source["kind"] == "html_board":
        assert item["url"] == server.url_for("/board/view.do?seq=1001")


def law_go_kr(server: HTTPServer) -> None:
    """law.go.kr as others report it: the user check fails without a Referer from the site."""

    def answer(request: Request) -> Response:
        referer = request.headers.get("Referer", "")
        ok = referer.startswith("https://www.law.go.kr/")
        name = "14-lsHstInf.xml" if ok else "14-user-check-failed.xml"
        return Response((CASES / name).read_bytes(), content_type="text/xml;charset=UTF-8")

    server.expect_request("/DRF/lawSearch.do").respond_with_handler(answer)


def shipped_source(source_id: str, url: str, **extra: Any) -> dict[str, Any]:
    """An entry of the shipped sources.yaml, pointed at a local server."""
    import yaml

    doc = yaml.safe_load((ROOT / "sources.yaml").read_text(encoding="utf-8"))
    (entry,) = [s for s in doc["sources"] if s["id"] == source_id]
    return {**entry, "url": url, "enabled": True, **extra}


def test_the_shipped_law_changes_source_sends_the_referer_law_go_kr_expects(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAW_GO_KR_OC", "sentinel-oc")
    law_go_kr(server)
    entry = shipped_source("law-changes", server.url_for("/DRF/lawSearch.do"), days=1, backfill_days=36500)
    write_sources([entry])
    assert poll(cli)["status"] == "ok"
    (item,) = items(cli)
    assert item["title"] == "사회적기업 육성법"
    assert "social-enterprise" in {m["topic"] for m in item["matches"]}


def test_without_the_referer_the_failure_names_the_causes_and_fixes(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAW_GO_KR_OC", "sentinel-oc")
    law_go_kr(server)
    entry = shipped_source("law-changes", server.url_for("/DRF/lawSearch.do"), days=1)
    entry.pop("headers")
    write_sources([entry])
    outcome = rows(cli("--rules", RULES, "poll", "--json"))[0]
    assert outcome["status"] == "failed"
    for cause in ("승인", "IP", "Referer", "headers: {Referer"):
        assert cause in outcome["error"]
    assert "sentinel-oc" not in outcome["error"]


def test_an_edited_source_is_read_in_full_not_answered_by_a_304(
    server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path
) -> None:
    page = (CASES / "10-latin1-header-euckr.html").read_bytes()

    def board(request: Request) -> Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(page, headers={"ETag": '"v1"'}, content_type="text/html; charset=euc-kr")

    server.expect_request("/board").respond_with_handler(board)
    source = {"id": "board", "kind": "html_board", "name": "게시판", "url": server.url_for("/board"),
              "row": "table.bbs tbody tr", "title": "td.subject", "backfill_days": 36500}  # fmt: skip
    write_sources([source])
    assert poll(cli)["status"] == "ok"
    assert poll(cli)["status"] == "not_modified"  # unchanged config: the validators apply
    write_sources([{**source, "row": "table.list tbody tr"}])  # a selector that finds nothing now
    outcome = rows(cli("--rules", RULES, "poll", "--json"))[0]
    assert outcome["status"] == "failed" and "selector found nothing" in outcome["error"]
    conn = sqlite3.connect(workdir / "monitor.db")
    sent = [r for r, _ in server.log if r.path == "/board"]
    assert sent[-1].headers.get("If-None-Match") is None
    conn.close()
