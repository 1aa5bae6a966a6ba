"""Every fault scenario, the test that plays it, and the outcome that test checks; run to fill the table."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET  # our own pytest report, not untrusted input
from pathlib import Path
from typing import Any

from bench import corpus

# (area, scenario, test (file::name), parameter id prefix or "", outcome the test asserts)
SCENARIOS: list[tuple[str, str, str, str, str]] = [
    (
        "Slack",
        "429 ratelimited",
        "test_delivery.py::test_rate_limit_is_retried_by_the_client",
        "",
        "slack-sdk waits Retry-After and retries; posted once, ledger `sent`",
    ),
    (
        "Slack",
        "HTTP 500",
        "test_delivery.py::test_slack_outage_delays_the_digest_which_then_arrives_exactly_once",
        "500",
        "ledger `pending`, not retried before its back-off, then delivered exactly once",
    ),
    (
        "Slack",
        "timeout (no answer)",
        "test_delivery.py::test_slack_outage_delays_the_digest_which_then_arrives_exactly_once",
        "hang",
        "ledger `sending` (may have arrived): history is checked, then delivered exactly once",
    ),
    (
        "Slack",
        "invalid_auth / channel_not_found",
        "test_delivery.py::test_auth_and_channel_errors_are_clear_and_not_hammered",
        "",
        "Korean message naming SLACK_BOT_TOKEN / the channel; one attempt, next in an hour",
    ),
    (
        "Slack",
        "answer lost after the post",
        "test_delivery.py::test_a_lost_answer_is_found_in_history_not_posted_twice",
        "",
        "found in conversations.history by its metadata key; not posted twice",
    ),
    (
        "Slack",
        "500 in the middle of a multi-part digest",
        "test_delivery.py::test_a_long_digest_resumes_after_the_last_confirmed_part",
        "",
        "resumes after the last confirmed part; every part once, in order",
    ),
    (
        "Slack",
        "hostile titles (`<!channel>`, `<@U…>`, forged links, `&lt;`)",
        "test_security.py::test_a_hostile_feed_posts_nothing_that_pings_or_links",
        "",
        "alerts and digest carry no control sequence; `&lt;` shows as `&lt;`",
    ),
    (
        "SMTP",
        "mail server down",
        "test_delivery.py::test_smtp_down_leaves_the_summary_pending",
        "",
        "exit 1 with the server named; weekly summary stays `pending`",
    ),
    (
        "Source",
        "HTTP 500 (and HTML, empty feed)",
        "test_poll.py::test_one_broken_source_fails_alone_and_is_recorded",
        "",
        "that run `failed` with the status; other sources stored; consecutive failures counted",
    ),
    (
        "Source",
        "5xx until retries run out",
        "test_http.py::test_5xx_exhausting_retries_is_a_fetch_error_with_status",
        "",
        "FetchError with the status after `retries` back-offs",
    ),
    (
        "Source",
        "read timeout (client)",
        "test_http.py::test_read_timeout_is_retried_then_reported",
        "",
        "retried, then `timed out after N attempts`",
    ),
    (
        "Source",
        "timeout in a poll",
        "test_faults.py::test_a_source_that_times_out_fails_alone_within_its_timeouts",
        "",
        "that source fails within its timeouts; the other is stored",
    ),
    (
        "Source",
        "connection refused",
        "test_http.py::test_connection_refused_is_a_fetch_error",
        "",
        "FetchError `connection failed`",
    ),
    (
        "Source",
        "connection reset (RST)",
        "test_faults.py::test_broken_connections_fail_that_source_after_a_retry_and_store_nothing",
        "connection-reset",
        "retried once, then `connection failed after 2 attempts`; nothing stored; other source ok",
    ),
    (
        "Source",
        "reset in the middle of the body",
        "test_faults.py::test_broken_connections_fail_that_source_after_a_retry_and_store_nothing",
        "reset-mid-body",
        "retried, then `reading the body failed after 2 attempts`; nothing stored",
    ),
    (
        "Source",
        "truncated body (Content-Length not met)",
        "test_faults.py::test_broken_connections_fail_that_source_after_a_retry_and_store_nothing",
        "truncated-body",
        "retried, then `reading the body failed after 2 attempts`; nothing stored",
    ),
    (
        "Source",
        "HTML instead of JSON (Open API, real poll)",
        "test_faults.py::test_html_instead_of_json_from_the_open_api_is_a_failed_run_with_the_reason",
        "",
        "run `failed`: ParseError `expected JSON but got an HTML page`; no items",
    ),
    (
        "Source",
        "EUC-KR feed, no charset anywhere",
        "test_faults.py::test_an_euc_kr_feed_without_any_charset_is_read_right",
        "",
        "decoded as cp949 (똠 included), stored and matched",
    ),
    (
        "Source",
        "EUC-KR board, no charset anywhere",
        "test_faults.py::test_an_euc_kr_board_without_any_charset_is_read_right",
        "",
        "decoded as cp949, stored",
    ),
    (
        "Source",
        "200 MB body, streamed (no length)",
        "test_faults.py::test_a_200_mb_body_is_refused_by_the_size_cap_without_being_read",
        "streamed",
        "refused at the 20 MB cap, fetched once; the server produced < 40 MB, RSS grew < 120 MB",
    ),
    (
        "Source",
        "200 MB body, Content-Length declared",
        "test_faults.py::test_a_200_mb_body_is_refused_by_the_size_cap_without_being_read",
        "content-length",
        "refused from the header before reading; the server produced < 8 MB",
    ),
    (
        "Source",
        "robots.txt disallows",
        "test_poll.py::test_robots_disallowed_source_is_skipped_with_a_clear_message",
        "",
        "`blocked`, with what to do",
    ),
    (
        "Source",
        "robots.txt unreachable (5xx)",
        "test_http.py::test_robots_unreachable_means_do_not_poll",
        "",
        "not polled this run (RFC 9309)",
    ),
    (
        "Source",
        "XML bomb served as a feed",
        "test_security.py::test_a_bomb_served_as_a_feed_fails_that_source_alone",
        "",
        "run `failed`: DTD refused; other source stored",
    ),
    (
        "Source",
        "redirect loop",
        "test_security.py::test_a_redirect_loop_stops_after_five",
        "",
        "FetchError after 5 redirects (6 requests)",
    ),
    (
        "Source",
        "redirect to file:, ftp:, gopher:, data:, javascript:, dict:",
        "test_security.py::test_redirects_to_other_schemes_are_refused",
        "",
        "FetchError `non-http(s)`; nothing fetched",
    ),
    (
        "Process",
        "kill -9 during a big poll (6 times), restart",
        "test_crash.py::test_kill_9_during_polls_then_recover",
        "",
        "integrity ok; items = events = 3000 exactly; run rows `aborted`, last `ok`",
    ),
    (
        "Process",
        "kill -9 while a poll posts its urgent alerts, restart",
        "test_faults.py::test_kill_9_during_a_polls_alerts_then_restart_loses_and_repeats_nothing",
        "",
        "34 items, 34 events; 4 alerts posted once each (by delivery key); ledger all `sent`",
    ),
    (
        "Process",
        "kill -9 between a Slack post and its record",
        "test_delivery.py::test_kill_9_between_post_and_record_does_not_post_twice",
        "",
        "restart finds the post in history; 1 post in total",
    ),
    (
        "Process",
        "kill -9 in a multi-part digest: part posted, not recorded",
        "test_faults.py::test_kill_9_during_a_multi_part_digest_then_restart_posts_every_part_once",
        "posted-unrecorded",
        "parts 0…n-1 each posted exactly once, in order; ledger `sent`",
    ),
    (
        "Process",
        "kill -9 in a multi-part digest: part not yet posted",
        "test_faults.py::test_kill_9_during_a_multi_part_digest_then_restart_posts_every_part_once",
        "not-yet-posted",
        "parts 0…n-1 each posted exactly once, in order; ledger `sent`",
    ),
    (
        "Process",
        "concurrent polls writing big batches",
        "test_poll_concurrency.py::test_big_batches_from_many_hosts_are_all_written",
        "",
        "4 × 1,500 items stored, no `database is locked`",
    ),
    (
        "Source",
        "a server dripping one byte at a time",
        "test_http.py::test_a_server_dripping_bytes_meets_the_total_deadline",
        "",
        "FetchError at `http.request_deadline`, while the server is still sending",
    ),
    (
        "Source",
        "a redirect to another host / a link-local or private address",
        "test_http.py::test_a_redirect_to_another_host_is_refused_unless_the_source_allows_it",
        "",
        "refused, the internal answer never fetched; allowed with `redirect_hosts`",
    ),
    (
        "Source",
        "two posts sharing one guid",
        "test_real_world.py::test_two_posts_sharing_a_guid_are_both_kept_with_stable_keys_and_a_warning",
        "",
        "2 items, a run warning; the next poll adds nothing and keeps the keys",
    ),
    (
        "Source",
        "a session id changing between polls",
        "test_real_world.py::test_a_changing_session_id_is_one_post_announced_once",
        "",
        "1 item, 1 `new` event, 1 urgent alert; the stored URL has no session id",
    ),
    (
        "Source",
        "EUC-KR served with `charset=ISO-8859-1`",
        "test_real_world.py::test_a_latin1_header_on_an_euckr_document_is_decoded_as_the_document_says",
        "",
        "Korean titles, flagged under their topics, a run warning that header and document disagree",
    ),
    (
        "Source",
        "rows nested in rows (quadratic markup)",
        "test_html_board.py::test_rows_nested_in_rows_are_read_within_a_bound",
        "",
        "row cap and time budget, each with a warning",
    ),
    (
        "Process",
        "SIGTERM mid-poll with the default grace (docker stop)",
        "test_service_bounds.py::test_sigterm_mid_poll_exits_0_inside_docker_stop_timeout_and_marks_the_poll",
        "",
        "exit 0 inside 10 s; nothing stored; the run marked `aborted` at the stop",
    ),
    (
        "Process",
        "sources hanging on every poll thread",
        "test_service_bounds.py::test_hanging_sources_on_every_poll_thread_do_not_starve_the_daily_digest",
        "",
        "the daily digest is posted while every poll thread waits",
    ),
    (
        "Rules",
        "a nested-repeat regex (`^(\\S+\\s?)+법$`)",
        "test_service_bounds.py::test_a_nested_repeat_is_refused_naming_the_rule_and_the_fix",
        "",
        "`rules check`, `run`, `poll` refuse it naming file, rule and fix (exit 2)",
    ),
    (
        "Rules",
        "a slow regex that passes the check",
        "test_service_bounds.py::test_a_slow_pattern_that_passes_the_check_is_time_limited_and_switched_off",
        "",
        "stopped at the time limit once, switched off, other rules still match",
    ),
    (
        "Database",
        "DB deleted under `monitor run`",
        "test_db_guard.py::test_a_db_deleted_under_the_service_stops_it_and_is_never_recreated",
        "",
        "service exits 2 with one line; no new DB; no alert sent again; a restart refuses too",
    ),
    (
        "Database",
        "DB file replaced under `monitor run`",
        "test_db_guard.py::test_a_db_replaced_under_the_service_stops_it",
        "",
        "service exits 2 with one line",
    ),
    (
        "Database",
        "damaged DB file",
        "test_status.py::test_a_damaged_db_is_one_line_naming_the_file_and_what_to_do",
        "",
        "every command: one line naming the file and the fix, exit 2; `status --json` prints JSON",
    ),
    (
        "Database",
        "read-only volume / root-owned folder",
        "test_status.py::test_a_read_only_volume_reads_but_refuses_writes_with_one_line",
        "",
        "reads work; `status` fails (2); writes are one line naming file, user and fix",
    ),
]

FILES = sorted({s[2].split("::")[0] for s in SCENARIOS})


def run() -> dict[str, Any]:
    """Run the tests behind the table once; each scenario gets its tests' combined result."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
               *(f"tests/{f}" for f in FILES)]  # fmt: skip
        subprocess.run(cmd, cwd=corpus.ROOT, capture_output=True, text=True, check=False)
        cases = []
        for case in ET.parse(report).getroot().iter("testcase"):
            module = case.get("classname", "").rsplit(".", 1)[-1]
            failed = case.find("failure") is not None or case.find("error") is not None
            cases.append((f"{module}.py::{case.get('name')}", not failed, float(case.get("time") or 0)))
    rows = []
    for area, scenario, test, param, outcome in SCENARIOS:
        hits = [c for c in cases if c[0] == test or c[0].startswith(f"{test}[{param}")]
        status = "pass" if hits and all(ok for _, ok, _ in hits) else ("FAIL" if hits else "not run")
        rows.append({"area": area, "scenario": scenario, "test": test, "params": param, "outcome": outcome,
                     "status": status, "seconds": sum(t for _, _, t in hits)})  # fmt: skip
    return {"rows": rows, "tests_run": len(cases), "tests_passed": sum(ok for _, ok, _ in cases)}
