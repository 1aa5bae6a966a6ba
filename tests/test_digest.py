"""What the digests say: grouping, badges, the why, deadlines, health, routing, limits, escaping."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from monitor.digest import next_week_end
from monitor.jobs import Job, alert_digests, daily_digests, weekly_digests
from monitor.notify import payload_for
from monitor.render.slack import render_slack
from monitor.render.text import render_text
from monitor.store import Store
from monitor.text import now
from tests.seed import bill, config, fail, notice, poll, press, ruleset

TODAY = now().date()
COOP = "협동조합 기본법 일부개정법률안"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "monitor.db")
    yield s
    s.close()


def job(store: Store, tmp_path: Path, notify: dict | None = None, today: date = TODAY, extra=None) -> Job:
    return Job(store, config(notify), ruleset(tmp_path, extra), today)


def test_daily_digest_groups_by_topic_explains_and_leaves_out_the_irrelevant(
    store: Store, tmp_path: Path
) -> None:
    rules = ruleset(tmp_path)
    poll(store, rules, "bills", [bill(1, COOP), bill(2, "도로교통법 일부개정법률안")], kind="assembly_bills")
    poll(
        store,
        rules,
        "mois",
        [press(10, "2026년 신규 마을기업 156곳 선정"), press(11, "마을버스 안전점검 실시")],
    )
    (digest,) = daily_digests(job(store, tmp_path))
    text = render_text(digest)
    assert "정책 모니터 일일 다이제스트" in text
    assert "[협동조합]" in text and "[마을기업·자활기업]" in text
    # rule files in name order: community-enterprise.yaml before cooperatives.yaml
    assert text.index("[마을기업·자활기업]") < text.index("[협동조합]")
    assert COOP in text and "신규 마을기업 156곳" in text
    assert "도로교통법" not in text and "마을버스" not in text
    # the why names the rule as staff described it; its id is for --json and `monitor items`
    assert "왜: 협동조합 기본법 개정 (긴급) · 제목: ‘협동조합 기본법’" in text
    assert "coop-basic-act" not in text
    assert "[긴급] 협동조합 기본법" in text  # an urgent rule
    assert "국회 법률안 · 2026-09-01 · 접수" in text
    assert "https://likms.assembly.go.kr/bill/billDetail.do?billId=PRC_SEED0001" in text


def test_stage_changes_and_deadlines_have_their_sections_and_badges(store: Store, tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    poll(store, rules, "bills", [bill(1, COOP)], kind="assembly_bills")
    poll(
        store,
        rules,
        "notices",
        [notice(3, "사회적협동조합 지원법안", TODAY + timedelta(days=3))],
        kind="assembly_notices",
    )
    first = job(store, tmp_path)
    for d in daily_digests(first):
        store.create_delivery(d.kind, d.period, d.destination, {}, d.event_ids)
        store.update_delivery(store.find_delivery(d.kind, d.period, d.destination)["id"], status="sent")
    poll(store, rules, "bills", [bill(1, COOP, stage="위원회 심사")], kind="assembly_bills")
    (digest,) = daily_digests(job(store, tmp_path, today=TODAY + timedelta(days=1)))
    text = render_text(digest)
    assert "■ 진행 단계가 바뀐 의안 (1건)" in text and "접수 → 위원회 심사" in text
    assert "■ 7일 안에 의견 마감 (1건)" in text and "의견마감 D-2" in text
    assert "새로 올라온 항목" not in text  # yesterday's items went out yesterday


def test_reminder_days_are_marked(store: Store, tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    poll(
        store,
        rules,
        "notices",
        [notice(3, "사회적협동조합 지원법안", TODAY + timedelta(days=3))],
        kind="assembly_notices",
    )
    text = render_text(daily_digests(job(store, tmp_path))[0])
    assert "⏰ 의견마감 D-3" in text


def test_a_bill_and_its_notice_show_as_one_entry(store: Store, tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    poll(store, rules, "bills", [bill(5, COOP)], kind="assembly_bills")
    poll(store, rules, "notices", [notice(5, COOP, TODAY + timedelta(days=5))], kind="assembly_notices")
    (digest,) = daily_digests(job(store, tmp_path))
    text = render_text(digest)
    assert text.count(f"• [긴급] {COOP}") == 1
    assert "국회 입법예고: https://pal.assembly.go.kr/" in text and "의견마감 D-5" in text
    # one matter, in the section of its most important news: a deadline within the week outranks
    # "new" (issue 14.4), and the entry says it is new
    assert "■ 7일 안에 의견 마감 (1건)" in text and "새로 올라온 항목" not in text
    assert "의견마감 D-5" in text and " · 새 항목" in text


def test_empty_day_sends_nothing_unless_a_source_fails(store: Store, tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    poll(store, rules, "bills", [], kind="assembly_bills")  # collected once, nothing relevant
    poll(store, rules, "mois", [])
    assert daily_digests(job(store, tmp_path)) == []
    fail(
        store,
        "notices",
        "HTTP 500 from https://open.assembly.go.kr/portal/openapi/nknalejkafmvgzmpt",
        days_ago=2,
    )
    (digest,) = daily_digests(job(store, tmp_path))
    text = render_text(digest)
    assert "소스 상태: 정상 2/3 · 국회 입법예고 3일째 실패" in text
    assert "새로 표시할 항목은 없습니다." in text


def test_a_long_pause_caps_the_backfill_and_says_so(store: Store, tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    poll(store, rules, "mois", [press(n, f"마을기업 소식 {n}") for n in range(5)])
    old = (now() - timedelta(days=10)).isoformat(timespec="seconds")
    store.db.execute("UPDATE events SET created_at = ? WHERE id <= 3", [old])
    store.db.conn.commit()
    (digest,) = daily_digests(job(store, tmp_path))
    assert len(digest.event_ids) == 2 and len(digest.skipped_event_ids) == 3
    assert "3일보다 오래된 항목 3건은 생략했습니다" in render_text(digest)


def test_routing_sends_a_topic_to_its_destination_once(store: Store, tmp_path: Path) -> None:
    rules_extra = {"cooperatives.yaml": None}
    notify = {
        "destinations": {
            "main": {"type": "slack", "channel": "C0POLICY"},
            "coops": {"type": "slack", "channel": "C0COOPS"},
        },
        "routes": {"cooperatives": ["coops", "main"]},
    }
    rules = ruleset(tmp_path)
    poll(
        store,
        rules,
        "mois",
        [press(1, "사회적협동조합과 마을기업 합동 설명회"), press(2, "신규 마을기업 선정")],
    )
    digests = {d.destination: d for d in daily_digests(job(store, tmp_path, notify))}
    assert set(digests) == {"main", "coops"}
    main_text, coops_text = render_text(digests["main"]), render_text(digests["coops"])
    assert main_text.count("사회적협동조합과 마을기업 합동 설명회") == 1  # two topics, one entry
    assert "신규 마을기업 선정" in main_text and "신규 마을기업 선정" not in coops_text
    assert rules_extra  # (kept simple: the routes come from the notify section)


def test_a_300_item_digest_stays_inside_slack_limits(store: Store, tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    long_summary = "사회적협동조합 " + "가" * 5000
    poll(
        store,
        rules,
        "mois",
        [press(n, f"마을기업 소식 {n:03d} " + "나" * 200, long_summary) for n in range(300)],
    )
    # every entry shown (a cap above 300): the split alone keeps each message inside the limits
    (digest,) = daily_digests(job(store, tmp_path, {"digest_max_entries": 400}))
    messages = render_slack(digest)
    assert len(messages) > 1
    seen = set()
    for number, message in enumerate(messages, start=1):
        blocks = message["blocks"]
        assert len(blocks) <= 50 and len(blocks) <= 40
        assert len(json.dumps(blocks, ensure_ascii=False)) < 16_000
        assert message["text"] and f"{number}/{len(messages)})" in message["text"]
        for block in blocks:
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= 150
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
        seen.update(
            n for n in range(300) if f"마을기업 소식 {n:03d}" in json.dumps(blocks, ensure_ascii=False)
        )
    assert seen == set(range(300))


HOSTILE = [
    "<!channel> 긴급 마을기업 공지",
    "<!here> 마을기업 <@U123ABC> 확인",
    "마을기업 <https://evil.example|여기를 클릭> 지원",
    "마을기업 &lt;태그&gt; & 기호",
]


def test_hostile_titles_are_inert_in_block_kit(store: Store, tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    items = [press(n, title) for n, title in enumerate(HOSTILE)]
    items.append(press(99, "마을기업 링크", "x"))
    items[-1].url = "https://example.org/a>b|c <!channel>"
    poll(store, rules, "mois", items)
    (digest,) = daily_digests(job(store, tmp_path))
    raw = json.dumps(render_slack(digest), ensure_ascii=False)
    for forbidden in ("<!channel>", "<!here>", "<@U123ABC>", "<https://evil.example|"):
        assert forbidden not in raw
    assert "&lt;!channel&gt;" in raw and "&lt;@U123ABC&gt;" in raw
    assert "&amp;lt;태그&amp;gt; &amp; 기호" in raw  # "&lt;" in a title stays literally "&lt;"
    assert "https://example.org/a%3Eb%7Cc%20%3C!channel%3E" in raw
    for message in render_slack(digest):
        for block in message["blocks"]:
            for obj in [block.get("text"), *block.get("elements", [])]:
                if obj and obj.get("type") == "mrkdwn":
                    assert obj.get("verbatim") is True


def test_weekly_summary_for_representatives(store: Store, tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    # due on Sunday of next week: inside the "this week or next" window whatever weekday today is
    # (a fixed nine days falls past it on a Saturday or a Sunday)
    due = (next_week_end(TODAY) - TODAY).days
    poll(store, rules, "bills", [bill(1, COOP), bill(2, "사회적협동조합 지원법안")], kind="assembly_bills")
    poll(
        store,
        rules,
        "bills",
        [bill(1, COOP, stage="위원회 심사"), bill(2, "사회적협동조합 지원법안")],
        kind="assembly_bills",
    )
    poll(store, rules, "bills", [bill(1, COOP, stage="체계자구 심사")], kind="assembly_bills")
    poll(
        store,
        rules,
        "notices",
        [notice(7, "협동조합 기본법 시행령 개정 입법예고", TODAY + timedelta(days=due))],
        kind="assembly_notices",
    )
    poll(store, rules, "mois", [press(1, "신규 마을기업 선정")])
    (digest,) = weekly_digests(job(store, tmp_path))
    text = render_text(digest)
    assert digest.kind == "weekly" and digest.period.startswith(str(TODAY.isocalendar()[0]))
    assert "마을기업·자활기업 1건 · 협동조합 3건" in text
    assert "■ 움직인 의안과 현재 단계 (1건)" in text and "접수 → 체계자구 심사" in text
    assert "■ 의견 제출 필요 (이번 주·다음 주 마감, 1건)" in text and f"의견마감 D-{due}" in text
    assert ") (" not in text  # no doubled parentheses in headings
    assert "■ 중요 항목" in text


def test_urgent_alerts_and_d1_reminders(store: Store, tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    poll(store, rules, "bills", [bill(1, COOP), bill(2, "사회적협동조합 지원법안")], kind="assembly_bills")
    poll(
        store,
        rules,
        "notices",
        [notice(4, "사회적협동조합 지원법안", TODAY + timedelta(days=1))],
        kind="assembly_notices",
    )
    alerts = alert_digests(job(store, tmp_path))
    kinds = sorted((d.kind, d.period.split(":")[0]) for d in alerts)
    # both bills match an urgent rule; the notice is due tomorrow
    assert kinds == [("reminder", "item"), ("urgent", "event"), ("urgent", "event"), ("urgent", "event")]
    urgent = next(d for d in alerts if d.kind == "urgent")
    assert COOP in render_text(urgent) and urgent.title.startswith("🔴 긴급")
    reminder = next(d for d in alerts if d.kind == "reminder")
    assert reminder.title == f"⏰ 의견 마감 내일 ({(TODAY + timedelta(days=1)).isoformat()})"
    assert reminder.period.endswith(
        f"{(TODAY + timedelta(days=1)).isoformat()}:D-1"
    )  # a new deadline, a new key


def test_payload_has_every_transport_form(store: Store, tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    poll(store, rules, "mois", [press(1, "신규 마을기업 선정")])
    payload = payload_for(daily_digests(job(store, tmp_path))[0])
    assert payload["slack"][0]["blocks"][0]["type"] == "header"
    assert "신규 마을기업 선정" in payload["text"] and "<html" in payload["email"]["html"]


def test_an_alert_names_its_item_in_the_notification_text_escaped(store: Store, tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    poll(store, rules, "bills", [bill(1, "<!channel> " + COOP)], kind="assembly_bills")
    (alert,) = [d for d in alert_digests(job(store, tmp_path)) if d.kind == "urgent"]
    (message,) = render_slack(alert)
    assert message["text"] == f"🔴 긴급: 새 항목: &lt;!channel&gt; {COOP}"


def test_a_digest_shows_at_most_its_cap_and_says_how_many_more(store: Store, tmp_path: Path) -> None:
    rules = ruleset(tmp_path)
    poll(store, rules, "mois", [press(n, f"마을기업 소식 {n:03d} " + "나" * 200) for n in range(500)])
    (digest,) = daily_digests(job(store, tmp_path))
    messages = render_slack(digest)
    assert len(messages) <= 6  # not dozens of posts
    text = render_text(digest)
    assert text.count("• ") == 60 and "외 440건 더 — `monitor items --flagged --since 2d`" in text
    assert len(digest.event_ids) == 60 and len(digest.skipped_event_ids) == 440
    assert "외 440건 더" in json.dumps(messages[-1]["blocks"], ensure_ascii=False)
