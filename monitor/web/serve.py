"""Serve the web view with uvicorn on a socket we bind ourselves, in a thread we can stop.

Binding first gives a clear one-line error for a taken port before anything starts, and port 0
(a free port, for tests) reports the real one. The server runs in its own thread for both
`monitor web` and `monitor run --web`, so signals stay with the main thread (uvicorn installs
none outside it) and a stop is `should_exit` plus a bounded join.
"""

from __future__ import annotations

import errno
import socket
import threading
from typing import Any

import uvicorn

from monitor.errors import MonitorError

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class BindError(MonitorError):
    """The web address cannot be used (taken port, unknown host, privileged port): one line."""


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port; BindError (one line) when it cannot be had."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise BindError(
            f"웹 주소 --host {host!r} 을(를) 알 수 없습니다 ({e.strerror}): "
            "127.0.0.1 이나 0.0.0.0 처럼 쓰세요"
        ) from None
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as e:
        sock.close()
        fix = (
            "--port 로 다른 포트를 쓰거나 그 포트를 쓰는 프로그램을 멈추세요"
            if e.errno == errno.EADDRINUSE
            else "1024 아래 포트는 관리자 권한이 필요합니다: --port 8080 처럼 쓰세요"
            if e.errno == errno.EACCES
            else "--host/--port 를 확인하세요"
        )
        raise BindError(f"웹 주소 {host}:{port} 에 열 수 없습니다 ({e.strerror}): {fix}") from None
    sock.set_inheritable(True)
    return sock


class WebServer:
    """uvicorn serving `app` on a bound socket in a daemon thread: start(), url, stop(timeout)."""

    def __init__(self, app: Any, sock: socket.socket) -> None:
        self.sock = sock
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=2,
            server_header=False,
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="web", daemon=True)

    def _run(self) -> None:
        self.server.run(sockets=[self.sock])

    @property
    def url(self) -> str:
        """http://host:port/ of the bound socket (an IPv6 host in brackets)."""
        host, port = self.sock.getsockname()[:2]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    def start(self) -> None:
        """Start serving in the background."""
        self.thread.start()

    def stop(self, timeout: float = 3.0) -> bool:
        """Ask the server to finish (open requests get 2 s), wait at most `timeout` s; True if it ended."""
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
        alive = self.thread.is_alive()
        if not alive:
            self.sock.close()
        return not alive
