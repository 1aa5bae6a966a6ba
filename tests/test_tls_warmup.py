"""Access options of any source: `tls: legacy` (per host, still verifying), `warmup_url`, `headers`."""

from __future__ import annotations

import ast
import json
import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import Result
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from monitor.config import HttpConfig, SourceConfig
from monitor.errors import FetchError
from monitor.http import LEGACY_CIPHERS, HttpClient, LegacyTlsAdapter

ROOT = Path(__file__).parents[1]
Cli = Callable[..., Result]


def lines(result: Result) -> list[dict[str, Any]]:
    return [json.loads(x) for x in result.stdout.splitlines() if x.strip()]


def src(url: str, **extra: Any) -> SourceConfig:
    return SourceConfig.model_validate({"id": "s", "kind": "rss", "name": "s", "url": url, **extra})


# --- tls: legacy --------------------------------------------------------------------------------


def test_legacy_tls_is_mounted_for_that_host_only() -> None:
    client = HttpClient(HttpConfig())
    client.prepare(src("https://www.weak-dh.go.kr/board/list.do?id=1", tls="legacy"))
    adapter = client.session.get_adapter("https://www.weak-dh.go.kr/board/view.do?id=2")
    assert isinstance(adapter, LegacyTlsAdapter)
    for other in ("https://www.mohw.go.kr/rss", "https://www.weak-dh.go.kr.evil.example/",
                  "https://weak-dh.go.kr/", "http://www.weak-dh.go.kr/"):  # fmt: skip
        assert not isinstance(client.session.get_adapter(other), LegacyTlsAdapter), other
    context = adapter.ssl_context
    assert context.security_level == 1  # OpenSSL's default is 2
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname is True
    assert client.session.verify is True
    client.prepare(src("https://www.weak-dh.go.kr/other", tls="legacy"))  # mounting twice keeps one adapter
    assert client.session.get_adapter("https://www.weak-dh.go.kr/") is adapter


def test_default_sources_mount_nothing() -> None:
    client = HttpClient(HttpConfig())
    before = dict(client.session.adapters)
    client.prepare(src("https://www.mohw.go.kr/rss/board.es?mid=a10503000000&bid=0027"))
    assert client.session.adapters == before
    assert LEGACY_CIPHERS.endswith("@SECLEVEL=1")


def test_the_legacy_adapter_refuses_to_skip_verification() -> None:
    client = HttpClient(HttpConfig())
    client.use_legacy_tls("https://www.weak-dh.go.kr/")
    request = requests.Request("GET", "https://www.weak-dh.go.kr/").prepare()
    with pytest.raises(FetchError, match="verify=False"):
        client.session.get_adapter(request.url).send(request, verify=False)


def test_no_code_turns_certificate_verification_off() -> None:
    """`verify=False`, `CERT_NONE` and `check_hostname = False` appear nowhere in monitor/."""
    offences = []
    for path in (ROOT / "monitor").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.keyword)
                and node.arg == "verify"
                and getattr(node.value, "value", 1) is False
            ):
                offences.append(f"{path.name}:{node.lineno} verify=False")
            if isinstance(node, ast.Attribute) and node.attr == "CERT_NONE":
                offences.append(f"{path.name}:{node.lineno} CERT_NONE")
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) and t.attr in ("verify", "check_hostname") for t in node.targets
            ) and getattr(node.value, "value", None) is False:  # fmt: skip
                offences.append(f"{path.name}:{node.lineno} assignment of False")
    assert offences == []


@pytest.mark.parametrize(("value", "ok"), [("legacy", True), ("default", True), ("insecure", False)])
def test_tls_accepts_only_known_values(
    value: str, ok: bool, write_sources: Callable[..., Path], cli: Cli
) -> None:
    write_sources([{"id": "s", "kind": "rss", "name": "s", "url": "https://a.go.kr/rss", "tls": value}])
    result = cli("sources")
    assert (result.exit_code == 0) is ok, result.output
    if not ok:
        assert "source 's': tls: 'insecure' is not allowed" in result.output


# A server whose certificate has a 1024-bit RSA key: OpenSSL's default security level refuses it
# the way it refuses a weak DH key; level 1 accepts both. The certificate is signed by a test CA.


@pytest.fixture(scope="module")
def weak_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make test certificates")
    d = tmp_path_factory.mktemp("pki")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=d, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=policy-monitor test CA", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign")  # fmt: skip
    run(
        "req",
        "-newkey",
        "rsa:1024",
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "leaf.pem", "-days", "2", "-extfile", "san.ext")  # fmt: skip
    return d


@pytest.fixture
def weak_server(weak_pki: Path) -> Iterator[HTTPServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # the server side may load its weak key
    context.load_cert_chain(weak_pki / "leaf.pem", weak_pki / "leaf.key")
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    server.expect_request("/feed").respond_with_data("ok")
    yield server
    server.clear()
    server.stop()


def test_legacy_tls_reaches_a_weak_server_and_still_checks_the_certificate(
    weak_server: HTTPServer, weak_pki: Path, fast_http: HttpConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # they would replace session.verify
        monkeypatch.delenv(name, raising=False)
    url = weak_server.url_for("/feed")
    assert url.startswith("https://127.0.0.1:")
    default = HttpClient(fast_http.model_copy(update={"retries": 0}))
    default.session.verify = str(weak_pki / "ca.pem")  # trust the test CA, like a real CA
    with pytest.raises(FetchError) as refused:
        default.get(url, ignore_robots=True)  # security level 2 refuses the 1024-bit key
    assert "key too weak" in str(refused.value.__cause__)

    legacy = HttpClient(fast_http.model_copy(update={"retries": 0}))
    legacy.session.verify = str(weak_pki / "ca.pem")
    legacy.prepare(src(url, tls="legacy"))
    assert legacy.get(url, ignore_robots=True).content == b"ok"

    untrusted = HttpClient(fast_http.model_copy(update={"retries": 0}))  # the default CA store
    untrusted.prepare(src(url, tls="legacy"))
    with pytest.raises(FetchError) as unknown:
        untrusted.get(url, ignore_robots=True)  # an unknown CA is still refused
    assert "unable to get local issuer certificate" in str(unknown.value.__cause__)


# --- warmup_url and headers ---------------------------------------------------------------------

FEED = (
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>'
    b"<item><title>\xeb\xa7\x88\xec\x9d\x84\xea\xb8\xb0\xec\x97\x85 \xec\x84\xa0\xec\xa0\x95</title>"
    b"<link>https://www.mofa.go.kr/v?id=1</link><pubDate>Mon, 14 Sep 2026 10:00:00 +0900</pubDate>"
    b"</item></channel></rss>"
)


@pytest.fixture
def cookie_site(server: HTTPServer) -> HTTPServer:
    """A site whose feed answers only with the session cookie of its home page and a Referer."""
    server.expect_request("/home").respond_with_response(
        Response("home", headers={"Set-Cookie": "JSESSIONID=abc123; Path=/"})
    )

    def feed(request: Request) -> Response:
        if request.cookies.get("JSESSIONID") != "abc123":
            return Response("no session", status=403)
        if request.headers.get("Referer") != server.url_for("/home"):
            return Response("no referer", status=403)
        return Response(FEED, content_type="application/rss+xml")

    server.expect_request("/rss").respond_with_handler(feed)
    return server


def test_warmup_url_gets_the_cookie_before_the_feed(
    cookie_site: HTTPServer, write_sources: Callable[..., Path], cli: Cli
) -> None:
    base = {"id": "mofa", "kind": "rss", "name": "외교부", "url": cookie_site.url_for("/rss"),
            "headers": {"Referer": cookie_site.url_for("/home")}}  # fmt: skip
    write_sources([base])
    (out,) = lines(cli("poll", "--json"))
    assert out["status"] == "failed" and "HTTP 403" in out["error"]
    cookie_site.clear_log()
    write_sources([{**base, "warmup_url": cookie_site.url_for("/home")}])
    (out,) = lines(cli("poll", "--json", ok=True))
    assert (out["status"], out["fetched"]) == ("ok", 1)
    assert [r.path for r, _ in cookie_site.log if r.path != "/robots.txt"] == ["/home", "/rss"]


def test_warmup_url_must_be_a_web_address(write_sources: Callable[..., Path], cli: Cli) -> None:
    write_sources(
        [{"id": "s", "kind": "rss", "name": "s", "url": "https://a.go.kr/rss", "warmup_url": "a.go.kr"}]
    )
    result = cli("sources")
    assert result.exit_code != 0 and "warmup_url: must be an http:// or https:// URL" in result.output
