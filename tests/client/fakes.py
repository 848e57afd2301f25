"""A fake registry we fully control, a fake clock, and helpers for the client tests."""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def payload(
    version: int = 1,
    template: str = "Classify: {{ ticket_text }} for {{ product }}",
    environment: str | None = "production",
) -> dict[str, Any]:
    return {
        "team": "support",
        "slug": "ticket-classifier",
        "name": "Ticket classifier",
        "kind": "text",
        "version": version,
        "environment": environment,
        "template": template,
        "messages": [],
        "variables": [
            {"name": "product", "description": "", "default": "Acme", "required": False},
            {"name": "ticket_text", "description": "", "default": None, "required": True},
        ],
        "config": {"model": "small", "temperature": 0},
        "content_hash": f"hash{version}",
    }


class FakeRegistry:
    """A stdlib HTTP server speaking just enough of the contract: resolve with ETags and
    render with missing_variables. ``reply`` forces an answer, ``delay`` slows every
    answer down, ``requests`` records what arrived."""

    def __init__(self) -> None:
        self.prompt = payload()
        self.reply: tuple[int, Any, dict[str, str]] | None = None
        self.delay = 0.0
        self.requests: list[dict[str, Any]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """After this the port refuses connections, as a registry that is down."""
        if self._thread.is_alive():
            self.server.shutdown()
            self.server.server_close()

    def _answer(self, path: str, headers: Any, body: dict) -> tuple[int, Any, dict[str, str]]:
        if self.reply is not None:
            return self.reply
        if path.split("?")[0].endswith("/resolve"):
            etag = f'"{self.prompt["content_hash"]}"'
            if headers.get("If-None-Match") == etag:
                return 304, None, {"ETag": etag}
            return 200, self.prompt, {"ETag": etag}
        values = body.get("variables", {})
        missing = [
            v["name"] for v in self.prompt["variables"] if v["required"] and v["name"] not in values
        ]
        if missing:
            return (
                400,
                {
                    "error": {
                        "code": "missing_variables",
                        "message": "Missing values.",
                        "details": {"missing": missing},
                    }
                },
                {},
            )
        return (
            200,
            {
                "rendered": "rendered!",
                "version": self.prompt["version"],
                "environment": self.prompt["environment"],
            },
            {},
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else {}
                registry.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                time.sleep(registry.delay)
                status, data, headers = registry._answer(self.path, self.headers, body)
                raw = b"" if data is None else json.dumps(data).encode()
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    if data is not None:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:
                    pass  # the client gave up (timeout tests)

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


class Clock:
    """A monotonic clock the test moves by hand, so TTLs need no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def closed_port() -> int:
    """A port that was free a moment ago, so connecting to it is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.01)
