"""Webhook fixtures: a webhook of "support" listening to every event, and a real HTTP
receiver on loopback that checks signatures the way the README tells receivers to."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.registry_site.servers import install_resolver
from webhooks import events
from webhooks import services as webhooks
from webhooks.signing import verify


@dataclass
class Received:
    headers: dict
    body: bytes
    verified: bool


@dataclass
class Receiver:
    """Answers each POST with the next status of ``script`` (200 once it runs out) and
    keeps what it got."""

    url: str = ""
    secret: str = ""
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict, body: bytes) -> int:
        ok = verify(self.secret, headers.get("X-Registry-Signature"), body)
        with self.lock:
            self.received.append(Received(headers, body, ok))
            if not ok:
                return 401
            return self.script.pop(0) if self.script else 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = receiver.answer(dict(self.headers), body)
            reply = b"thanks" if status < 300 else b"receiver trouble"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture
def receiver():
    """A live receiver on 127.0.0.1; set ``secret`` before anything is sent."""
    found = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/registry"
    yield found
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port_url():
    """The address of a port nothing listens on: a receiver that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/down"


@pytest.fixture
def hook(people):
    """A webhook of support listening to every event."""
    return webhooks.create_webhook(
        people["alice"],
        people["support"],
        url="https://hooks.example.com/registry",
        events=list(events.EVENTS),
        description="chat bot",
    )


@pytest.fixture
def dns(monkeypatch):
    """The system resolver, with answers of our choosing for the names a test sets."""
    return install_resolver(monkeypatch)
