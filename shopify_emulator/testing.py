"""Helpers for tests that need the emulator over real HTTP.

    with EmulatorServer(config=EmulatorConfig(app_url=receiver.url, ...)) as server:
        httpx.post(f"{server.url}/_emulator/shops", json={"domain": "demo.myshopify.com"})

`WebhookReceiver` is a tiny threaded HTTP server that records what it is sent, for tests that
check webhook deliveries end to end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from shopify_emulator.app import EmulatorApp, create_app
from shopify_emulator.config import EmulatorConfig


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the per-request access log line."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class EmulatorServer:
    """The real emulator server on a free port, in a background thread."""

    def __init__(
        self,
        *,
        config: EmulatorConfig | None = None,
        world: Any = None,
        host: str = "127.0.0.1",
        port: int = 0,
        quiet: bool = True,
    ) -> None:
        self.app: EmulatorApp = create_app(world=world, config=config or EmulatorConfig())
        self.host = host
        self.port = port
        self.quiet = quiet
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def world(self) -> Any:
        return self.app.world

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        self._server = make_server(
            self.host,
            self.port,
            self.app,
            threaded=True,
            request_handler=QuietRequestHandler if self.quiet else None,
        )
        self.port = self._server.server_port
        self.app.set_base_url(self.url)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="emulator-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self.app.webhooks.close()
        if self.app.mail is not None:
            self.app.mail.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def client(self, *, timeout: float = 10.0) -> httpx.Client:
        """A client for the control API (`/_emulator/...`)."""
        return httpx.Client(base_url=self.url, timeout=timeout)

    def shop_client(self, shop: str, token: str, *, timeout: float = 10.0) -> httpx.Client:
        """A client whose `/admin/...` paths reach `shop` (through the `/shops/<shop>` prefix)."""
        return httpx.Client(
            base_url=f"{self.url}/shops/{shop}",
            headers={"X-Shopify-Access-Token": token},
            timeout=timeout,
        )


@dataclass
class ReceivedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: bytes
    status: int
    at: float


class WebhookReceiver:
    """Records every request; answers with `responder(request_index, path) -> status` (200)."""

    def __init__(
        self,
        *,
        responder: Callable[[int, str], int] | None = None,
        delay: float = 0.0,
        host: str = "127.0.0.1",
    ) -> None:
        self.responder = responder or (lambda index, path: 200)
        self.delay = delay
        self.requests: list[ReceivedRequest] = []
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with receiver._lock:
                    index = len(receiver.requests)
                status = receiver.responder(index, self.path)
                if receiver.delay:
                    time.sleep(receiver.delay)
                record = ReceivedRequest(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    status=status,
                    at=time.time(),
                )
                with receiver._lock:
                    receiver.requests.append(record)
                    receiver._lock.notify_all()
                payload = b"ok"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            do_POST = _handle  # noqa: N815 - http.server naming
            do_GET = _handle  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedRequest]:
        """Block until at least `count` requests arrived; returns them all."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.requests) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            return list(self.requests)

    def posts(self, topic: str | None = None) -> list[ReceivedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == "POST"
                and (topic is None or r.headers.get("x-shopify-topic") == topic)
            ]
