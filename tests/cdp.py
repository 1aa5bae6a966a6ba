"""Headless Chromium driven over the DevTools protocol (websocket-client), for the web view's test.

Debian's `chromium` is started with its own profile in a temporary folder and a debugging port
of the system's choosing (read back from DevToolsActivePort). One page target; `call` sends a
command and returns its result, `events` keeps every event seen (a JavaScript dialog would show
up as Page.javascriptDialogOpening).
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import requests
import websocket


def chromium_path() -> str | None:
    """The chromium binary (Debian's package), or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium process with one page, closed by close()."""

    def __init__(self, profile: Path) -> None:
        binary = chromium_path()
        assert binary, "chromium is missing: .ci/run installs it (apt-get install chromium fonts-noto-cjk)"
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--no-default-browser-check", "--hide-scrollbars", "--mute-audio",
             "--remote-debugging-port=0", "--remote-allow-origins=*", f"--user-data-dir={profile}",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        port_file = profile / "DevToolsActivePort"
        for _ in range(600):  # up to a minute on a busy machine; a readiness wait, not a timing assertion
            if port_file.exists() and port_file.read_text().strip():
                break
            assert self.proc.poll() is None, "chromium exited at start"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        pages = [t for t in requests.get(f"http://127.0.0.1:{port}/json/list", timeout=30).json()
                 if t["type"] == "page"]  # fmt: skip
        address = pages[0]["webSocketDebuggerUrl"]
        self.ws = websocket.create_connection(address, timeout=60, suppress_origin=True)
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []
        for domain in ("Page", "DOM", "CSS", "Runtime"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and wait for its answer (events in between are kept)."""
        ident = next(self.ids)
        self.ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == ident:
                assert "error" not in message, (method, message["error"])
                return dict(message.get("result") or {})
            self.events.append(message)

    def wait_for(self, event: str) -> dict[str, Any]:
        """Wait for the next event of that name."""
        while True:
            message = json.loads(self.ws.recv())
            self.events.append(message)
            if message.get("method") == event:
                return message

    def open(self, url: str, width: int, height: int = 900) -> None:
        """Load `url` in a viewport `width` px wide (a phone's metrics below 500 px)."""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=width < 500)  # fmt: skip
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        """The value of a DevTools-side expression (the pages themselves carry no script)."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    def fonts_for(self, selector: str) -> list[dict[str, Any]]:
        """The platform fonts that drew the text of the first node matching `selector`."""
        root = self.call("DOM.getDocument", depth=-1)["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        assert node, selector
        fonts: list[dict[str, Any]] = self.call("CSS.getPlatformFontsForNode", nodeId=node)["fonts"]
        return fonts

    def screenshot(self) -> bytes:
        """A PNG of the viewport."""
        return base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])

    def close(self) -> None:
        """Close the connection and end the process."""
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
