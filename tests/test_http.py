"""The shared HTTP client against a real loopback server."""

from __future__ import annotations

import time

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import HttpConfig, SourceConfig
from monitor.errors import FetchError, RobotsDisallowed
from monitor.http import HttpClient, canonical_charset, decode_body, sniff_charset


class Sleeps:
    """Record the waits the client asks for instead of sleeping."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def client(config: HttpConfig, sleeps: Sleeps | None = None) -> HttpClient:
    return HttpClient(config, sleep=sleeps or Sleeps())


def test_user_agent_is_honest_and_names_a_contact(server: HTTPServer, fast_http: HttpConfig) -> None:
    server.expect_request("/feed").respond_with_data("ok")
    client(fast_http).get(server.url_for("/feed"))
    request, _ = server.log[-1]
    ua = request.headers["User-Agent"]
    assert ua.startswith("policy-monitor/") and "+http" in ua
    assert "python-requests" not in ua


def test_retry_after_is_honoured_and_capped(server: HTTPServer, fast_http: HttpConfig) -> None:
    server.expect_ordered_request("/feed").respond_with_data("busy", status=429, headers={"Retry-After": "7"})
    server.expect_ordered_request("/feed").respond_with_data(
        "busy", status=503, headers={"Retry-After": "9999"}
    )
    server.expect_ordered_request("/feed").respond_with_data("done")
    sleeps = Sleeps()
    config = fast_http.model_copy(update={"retries": 3})
    resp = client(config, sleeps).get(server.url_for("/feed"), ignore_robots=True)
    assert resp.content == b"done" and resp.attempts == 3
    assert sleeps.calls == [7.0, 120.0]  # the second Retry-After is capped at 2 minutes


def test_5xx_exhausting_retries_is_a_fetch_error_with_status(
    server: HTTPServer, fast_http: HttpConfig
) -> None:
    server.expect_request("/feed").respond_with_data("oops", status=500)
    sleeps = Sleeps()
    with pytest.raises(FetchError) as info:
        client(fast_http, sleeps).get(server.url_for("/feed"))
    assert info.value.status == 500 and "HTTP 500" in str(info.value)
    assert len(sleeps.calls) == fast_http.retries  # backoff between the attempts


def test_backoff_grows_between_attempts(server: HTTPServer) -> None:
    server.expect_request("/feed").respond_with_data("oops", status=502)
    sleeps = Sleeps()
    config = HttpConfig(host_spacing=0, backoff=1.0, retries=3)
    with pytest.raises(FetchError):
        client(config, sleeps).get(server.url_for("/feed"))
    assert len(sleeps.calls) == 3
    assert 1.0 <= sleeps.calls[0] <= 1.5 and 2.0 <= sleeps.calls[1] <= 3.0 and 4.0 <= sleeps.calls[2] <= 6.0


def test_404_is_not_retried(server: HTTPServer, fast_http: HttpConfig) -> None:
    server.expect_request("/feed").respond_with_data("no", status=404)
    sleeps = Sleeps()
    with pytest.raises(FetchError, match="HTTP 404"):
        client(fast_http, sleeps).get(server.url_for("/feed"))
    assert sleeps.calls == []


def test_extra_retry_statuses_per_call(server: HTTPServer, fast_http: HttpConfig) -> None:
    # the lawmaking REST API answers 401 now and then; its kind retries that status
    server.expect_ordered_request("/rest").respond_with_data("no", status=401)
    server.expect_ordered_request("/rest").respond_with_data("<ok/>")
    resp = client(fast_http).get(server.url_for("/rest"), retry_on=frozenset({401}), ignore_robots=True)
    assert resp.content == b"<ok/>"


def test_read_timeout_is_retried_then_reported(server: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response("late")

    server.expect_request("/slow").respond_with_handler(slow)
    config = HttpConfig(host_spacing=0, backoff=0.01, retries=1, read_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out after 2 attempts"):
        client(config).get(server.url_for("/slow"))
    assert time.monotonic() - started < 5


def test_connection_refused_is_a_fetch_error(fast_http: HttpConfig) -> None:
    with pytest.raises(FetchError, match="connection failed"):
        client(fast_http).get("http://127.0.0.1:9/feed", ignore_robots=True)


def test_conditional_get_sends_validators_and_reports_304(server: HTTPServer, fast_http: HttpConfig) -> None:
    server.expect_request(
        "/feed", headers={"If-None-Match": '"v1"', "If-Modified-Since": "Tue, 08 Sep 2026 00:00:00 GMT"}
    ).respond_with_data("", status=304)
    resp = client(fast_http).get(
        server.url_for("/feed"), etag='"v1"', last_modified="Tue, 08 Sep 2026 00:00:00 GMT"
    )
    assert resp.not_modified and resp.content == b""


def test_size_cap_from_content_length_and_from_the_stream(server: HTTPServer) -> None:
    server.expect_request("/big").respond_with_data(b"x" * 5000)
    config = HttpConfig(host_spacing=0, max_bytes=1000)
    with pytest.raises(FetchError, match="cap"):
        client(config).get(server.url_for("/big"))

    def chunked(request: Request) -> Response:
        return Response((b"y" * 500 for _ in range(10)), direct_passthrough=True)

    server.expect_request("/stream").respond_with_handler(chunked)
    with pytest.raises(FetchError, match="exceeds the size cap"):
        client(config).get(server.url_for("/stream"))


def test_robots_disallow_is_respected_unless_ignored(httpserver: HTTPServer, fast_http: HttpConfig) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /board.es\n")
    httpserver.expect_request("/board.es").respond_with_data("<html></html>")
    httpserver.expect_request("/rss/board.es").respond_with_data("<rss/>")
    c = client(fast_http)
    with pytest.raises(RobotsDisallowed, match=r"disallows /board\.es"):
        c.get(httpserver.url_for("/board.es"))
    assert c.get(httpserver.url_for("/rss/board.es")).content == b"<rss/>"
    assert c.get(httpserver.url_for("/board.es"), ignore_robots=True).status == 200
    robots_fetches = [r for r, _ in httpserver.log if r.path == "/robots.txt"]
    assert len(robots_fetches) == 1  # cached per host


def test_robots_404_allows_everything(httpserver: HTTPServer, fast_http: HttpConfig) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/x").respond_with_data("fine")
    assert client(fast_http).get(httpserver.url_for("/x")).content == b"fine"


def test_robots_unreachable_means_do_not_poll(httpserver: HTTPServer, fast_http: HttpConfig) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("down", status=503)
    with pytest.raises(FetchError, match=r"robots\.txt of .* could not be read"):
        client(fast_http).get(httpserver.url_for("/x"))


def test_per_host_spacing(server: HTTPServer) -> None:
    server.expect_request("/a").respond_with_data("a")
    sleeps = Sleeps()
    c = client(HttpConfig(host_spacing=5.0), sleeps)
    c.get(server.url_for("/a"))
    c.get(server.url_for("/a"))
    # robots.txt, then /a, then /a: every request after the first waits for the gap
    assert len(sleeps.calls) == 2 and all(4.0 < s <= 5.0 for s in sleeps.calls)


def test_redirect_to_a_non_http_scheme_is_refused(server: HTTPServer, fast_http: HttpConfig) -> None:
    server.expect_request("/go").respond_with_data("", status=302, headers={"Location": "file:///etc/passwd"})
    with pytest.raises(FetchError, match="non-http"):
        client(fast_http).get(server.url_for("/go"))


def test_a_redirect_to_another_host_is_refused_unless_the_source_allows_it(
    server: HTTPServer, fast_http: HttpConfig
) -> None:
    # 127.0.0.1 and localhost are one machine but two hosts: a source on one may not send us
    # to the other unless sources.yaml says so (issue 17.6)
    elsewhere = server.url_for("/inside").replace("127.0.0.1", "localhost")
    server.expect_request("/go").respond_with_data("", status=302, headers={"Location": elsewhere})
    server.expect_request("/inside").respond_with_data("internal answer")
    http = client(fast_http)
    source = SourceConfig(id="s", kind="rss", name="s", url=server.url_for("/go"))
    http.prepare(source)
    with pytest.raises(FetchError, match="not the source's host") as refused:
        http.get(server.url_for("/go"))
    assert "internal answer" not in str(refused.value)
    assert not [r for r, _ in server.log if r.path == "/inside"]
    http.prepare(source.model_copy(update={"redirect_hosts": ["localhost"]}))
    assert http.get(server.url_for("/go")).content == b"internal answer"


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/admin"])
def test_a_redirect_to_a_link_local_or_private_address_is_never_followed(
    server: HTTPServer, fast_http: HttpConfig, target: str
) -> None:
    server.expect_request("/go").respond_with_data("", status=302, headers={"Location": target})
    with pytest.raises(FetchError, match="refused a redirect"):
        client(fast_http).get(server.url_for("/go"))


def test_a_server_dripping_bytes_meets_the_total_deadline(server: HTTPServer) -> None:
    sent: list[int] = []

    def drip(request: Request) -> Response:
        def body():  # type: ignore[no-untyped-def]
            for n in range(40):
                sent.append(n)
                yield b"x"
                time.sleep(0.1)

        return Response(body(), direct_passthrough=True, content_type="text/plain")

    server.expect_request("/slow").respond_with_handler(drip)
    # each byte comes well within the read timeout; only the total deadline stops it
    config = HttpConfig(host_spacing=0, read_timeout=2, retries=0, request_deadline=0.5)
    with pytest.raises(FetchError, match=r"http\.request_deadline"):
        client(config).get(server.url_for("/slow"))
    assert len(sent) < 40  # given up while the server was still dripping


# --- charsets ---------------------------------------------------------------------------------

KOREAN = "사회적기업 인증 공고 똠방각하"  # 똠 exists only in cp949, not in EUC-KR proper


@pytest.mark.parametrize("label", ["EUC-KR", "euc-kr", "ks_c_5601-1987", "x-windows-949", "cp949", "KSC5601"])
def test_every_euc_kr_label_decodes_as_cp949(label: str) -> None:
    assert canonical_charset(label) == "cp949"
    body = KOREAN.encode("cp949")
    assert decode_body(body, {"Content-Type": f"text/html; charset={label}"}) == KOREAN


def test_charset_order_header_bom_meta_detection() -> None:
    euc = f"<html><head><meta charset='euc-kr'></head><body>{KOREAN}</body></html>".encode("cp949")
    assert sniff_charset(euc, {}) == ("cp949", "meta")
    http_equiv = f'<meta http-equiv="Content-Type" content="text/html; charset=EUC-KR">{KOREAN}'.encode(
        "cp949"
    )
    assert sniff_charset(http_equiv, {})[0] == "cp949"
    assert sniff_charset("\ufeff가".encode("utf-8"), {}) == ("utf-8-sig", "bom")
    assert sniff_charset(KOREAN.encode("cp949"), {}) == ("cp949", "detected")
    assert sniff_charset(KOREAN.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"}) == (
        "utf-8",
        "header",
    )


def test_a_wrong_declared_charset_falls_back_to_what_decodes() -> None:
    # korea.kr declared a charset its UTF-8 body did not use (MINISTRIES.md §1.3)
    body = f"<?xml version='1.0' encoding='euc-kr'?><rss>{KOREAN}</rss>".encode()
    assert decode_body(body, {}).endswith(f"{KOREAN}</rss>")


def test_euc_kr_page_over_http(server: HTTPServer, fast_http: HttpConfig) -> None:
    server.expect_request("/board").respond_with_data(
        f"<html><body>{KOREAN}</body></html>".encode("cp949"), content_type="text/html; charset=EUC-KR"
    )
    assert KOREAN in client(fast_http).get(server.url_for("/board")).text()
