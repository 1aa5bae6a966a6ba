"""The web view in headless Chromium (issue 16): Korean renders, nothing overflows at 390 and 1280 px.

Debian's `chromium` with a Korean font (`fonts-noto-cjk`); `.ci/run` installs both when missing,
so this test never skips. The pages carry no script: the checks run on the DevTools side
(tests/cdp.py). Screenshots are written under the test's tmp folder, and into docs/screenshots/
for the README when UPDATE_SCREENSHOTS=1 is set (so a test run leaves the worktree as it was).
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from click.testing import Result
from PIL import Image
from pytest_httpserver import HTTPServer

from tests.assembly_api import FakeAssembly
from tests.cdp import Browser
from tests.test_agenda import COOP
from tests.test_web import Web, coop_matter, fill, serve

Cli = Callable[..., Result]
DOCS = Path(__file__).parents[1] / "docs" / "screenshots"
WIDTHS = (390, 1280)
KOREAN_FONTS = ("Noto Sans CJK", "Noto Serif CJK", "NanumGothic", "Noto Sans KR")


def test_pages_render_korean_and_fit_phone_and_desktop_widths(
    api: FakeAssembly, server: HTTPServer, write_sources: Callable[..., Path], cli: Cli, workdir: Path,
    tmp_path: Path,
) -> None:  # fmt: skip
    world, _ = fill(api, server, write_sources, cli)
    web, settings = serve(workdir)
    base = web.url.rstrip("/")
    matter = coop_matter(Web(web.url, settings, world.coop, world.meet, workdir))
    pages = {"home": "/", "matter": f"/matters/{matter}", "search": "/search?q=협동조합"}
    expected = {"home": "다가오는 심사 일정", "matter": "경과", "search": "협동조합"}
    browser = Browser(tmp_path / "profile")
    shots = tmp_path / "shots"
    shots.mkdir()
    try:
        for width in WIDTHS:
            for name, path in pages.items():
                browser.open(base + path, width)
                where = f"{name} @ {width}px"
                text = browser.evaluate("document.body.innerText")
                assert expected[name] in text and "정책 모니터" in text, where
                # nothing wider than the viewport: no sideways scrolling on a phone
                scroll = browser.evaluate("document.documentElement.scrollWidth")
                inner = browser.evaluate("window.innerWidth")
                assert inner == width and scroll <= inner, (where, scroll, inner)
                # Korean drawn with a Korean font, not boxes: the heading's glyphs come from a CJK face
                fonts = browser.fonts_for("h1")
                assert any(f["familyName"].startswith(KOREAN_FONTS) and f["glyphCount"] > 0 for f in fonts), (
                    where, fonts,
                )  # fmt: skip
                png = browser.screenshot()
                image = Image.open(io.BytesIO(png)).convert("RGB")
                assert image.width == width, where
                colours = image.getcolors(maxcolors=1 << 20) or []
                assert len(colours) > 20, f"{where}: the screenshot is blank"
                (shots / f"web-{name}-{width}.png").write_bytes(png)
        # the hostile title is text on the page, and no dialog ever opened
        browser.open(base + "/matters", 390)
        assert "<svg/onload=alert(1)>" in browser.evaluate("document.body.innerText")
        assert browser.evaluate("document.querySelectorAll('main svg').length") == 0
        assert not [e for e in browser.events if e.get("method") == "Page.javascriptDialogOpening"]
        assert COOP in browser.evaluate("document.body.innerText")
    finally:
        browser.close()
        assert web.stop(timeout=10)
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        for shot in shots.iterdir():
            shutil.copy(shot, DOCS / shot.name)
    assert len(list(shots.iterdir())) == len(WIDTHS) * len(pages)

