"""monitor/urls.py: absolute http(s) links, session ids removed, one canonical key per post."""

from __future__ import annotations

import pytest

from monitor.urls import absolute, canonical_key, strip_session


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        # Servlet URL rewriting: a path parameter, any case, a route suffix, on any segment
        ("http://x.go.kr/a.do;jsessionid=AB12?nttId=1", "http://x.go.kr/a.do?nttId=1"),
        ("https://x.go.kr/a.do;JSESSIONID=AB12.node1", "https://x.go.kr/a.do"),
        ("https://x.go.kr/bbs;jsessionid=1/view.do?x=1", "https://x.go.kr/bbs/view.do?x=1"),
        # query parameters: PHP, ASP, ColdFusion, `sid`; the rest kept in order, repeats and encoding
        ("https://x.go.kr/a.do?nttId=1&PHPSESSID=z", "https://x.go.kr/a.do?nttId=1"),
        ("https://x.go.kr/a.do?PHPSESSID=z", "https://x.go.kr/a.do"),
        ("https://x.go.kr/a.do?sid=9&b=2&a=1#top", "https://x.go.kr/a.do?b=2&a=1#top"),
        ("https://x.go.kr/a.do?ASPSESSIONIDQABC=1&q=%ED%95%9C", "https://x.go.kr/a.do?q=%ED%95%9C"),
        ("https://x.go.kr/a.do?x=1&x=2&sessionid=3", "https://x.go.kr/a.do?x=1&x=2"),
        ("https://x.go.kr/a.do?x=a+b&CFID=1&CFTOKEN=2", "https://x.go.kr/a.do?x=a+b"),
        # look-alikes are not sessions
        ("https://x.go.kr/a.do?side=1&sidebar=2&bsid=3", "https://x.go.kr/a.do?side=1&sidebar=2&bsid=3"),
        ("https://x.go.kr/a.do?nttId=1", "https://x.go.kr/a.do?nttId=1"),
    ],
)
def test_session_ids_leave_the_url_and_nothing_else_does(url: str, clean: str) -> None:
    assert strip_session(url) == clean
    assert strip_session(clean) == clean  # idempotent


@pytest.mark.parametrize(
    ("link", "base", "url"),
    [
        ("view.do?nttId=1", "https://x.go.kr/bbs/list.do?page=2", "https://x.go.kr/bbs/view.do?nttId=1"),
        ("/bbs/view.do?nttId=1", "https://x.go.kr/a/b/", "https://x.go.kr/bbs/view.do?nttId=1"),
        ("../view.do", "https://x.go.kr/a/b/list.do", "https://x.go.kr/a/view.do"),
        ("//cdn.x.go.kr/file.pdf", "https://x.go.kr/", "https://cdn.x.go.kr/file.pdf"),
        ("  view.do  ", "https://x.go.kr/bbs/", "https://x.go.kr/bbs/view.do"),
        ("view.do;jsessionid=AB?nttId=1&PHPSESSID=z", "https://x.go.kr/bbs/", "https://x.go.kr/bbs/view.do?nttId=1"),
        ("https://y.go.kr/a.do", "https://x.go.kr/", "https://y.go.kr/a.do"),  # absolute stays
        ("http://y.go.kr/a.do", None, "http://y.go.kr/a.do"),  # the scheme is left as the site wrote it
        # only http(s) is a link
        ("javascript:fnView('1')", "https://x.go.kr/", None),
        ("JavaScript:void(0);", "https://x.go.kr/", None),
        ("mailto:desk@x.go.kr", "https://x.go.kr/", None),
        ("data:text/html,hi", "https://x.go.kr/", None),
        ("ftp://x.go.kr/a", "https://x.go.kr/", None),
        ("", "https://x.go.kr/", None),
        (None, "https://x.go.kr/", None),
        ("view.do", None, None),  # relative with nothing to resolve against
    ],
)
def test_absolute_links_resolve_against_the_base_and_keep_only_http(
    link: str | None, base: str | None, url: str | None
) -> None:
    assert absolute(link, base) == url


@pytest.mark.parametrize("link", ["http://[::1", "https://[abc]/x", "http://exa\uff0fmple.com/"])
def test_a_malformed_absolute_link_is_refused_not_stored(link: str) -> None:
    """urlsplit's own refusal (an unclosed IPv6 host, a host invalid under NFKC) still reaches the
    caller (the poll fails with it) although plain absolute links skip parsing."""
    with pytest.raises(ValueError):
        absolute(link, "https://x.go.kr/")


@pytest.mark.parametrize(
    ("key", "canonical"),
    [
        ("http://x.go.kr/a.do;jsessionid=AB?nttId=1", "https://x.go.kr/a.do?nttId=1"),
        ("https://x.go.kr/a.do?nttId=1&PHPSESSID=z", "https://x.go.kr/a.do?nttId=1"),
        ("HTTP://X.GO.KR:80/a.do?nttId=1", "https://x.go.kr/a.do?nttId=1"),
        ("https://x.go.kr:443", "https://x.go.kr/"),
        ("//x.go.kr/a.do", "https://x.go.kr/a.do"),
        ("  http://x.go.kr/a.do  ", "https://x.go.kr/a.do"),  # a guid with whitespace around it
        ("https://x.go.kr:8443/a.do", "https://x.go.kr:8443/a.do"),
        ("https://x.go.kr/A.do?B=1#c", "https://x.go.kr/A.do?B=1#c"),  # path, query, fragment kept
        # keys that are not URLs are never touched
        ("PRC_K2S4R0S4Q3P0L0K9J0J9I5Q7P2Q4O6", "PRC_K2S4R0S4Q3P0L0K9J0J9I5Q7P2Q4O6"),
        ("88388", "88388"),
        ("tag:x.go.kr,2026:post-1", "tag:x.go.kr,2026:post-1"),
        ("h:0123456789abcdef0123", "h:0123456789abcdef0123"),
    ],
)
def test_canonical_keys(key: str, canonical: str) -> None:
    assert canonical_key(key) == canonical
    assert canonical_key(canonical) == canonical  # idempotent: a stored key never moves again


def test_the_same_post_under_every_spelling_is_one_key() -> None:
    spellings = [
        "http://www.example.go.kr/news/view.do?nttId=7",
        "https://www.example.go.kr/news/view.do?nttId=7",
        "https://WWW.example.go.kr:443/news/view.do?nttId=7",
        "http://www.example.go.kr/news/view.do;jsessionid=0A1B2C?nttId=7",
        "https://www.example.go.kr/news/view.do?nttId=7&PHPSESSID=abc",
    ]
    assert {canonical_key(s) for s in spellings} == {"https://www.example.go.kr/news/view.do?nttId=7"}
    # a different post stays a different key
    assert canonical_key(spellings[0].replace("nttId=7", "nttId=8")) != canonical_key(spellings[0])
