"""Fake receivers on loopback: plain TCP servers that answer HTTP as scripted, count the
connections they get, and can be as slow as an attacker's."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Handler = Callable[[socket.socket, threading.Event], None]


class Listener:
    """A TCP server on 127.0.0.1; each connection goes to ``handler`` in its own thread."""

    def __init__(self, handler: Handler, tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.tls = tls
        self.connections = 0
        self.stopping = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def url(self, host: str = "127.0.0.1", path: str = "/hook", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
            conn.settimeout(30)
            self.handler(conn, self.stopping)
        except OSError:
            pass  # the client gave up: that is what slow receivers are for
        finally:
            conn.close()

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()
        self.thread.join(5)


@contextmanager
def listening(handler: Handler, tls: ssl.SSLContext | None = None) -> Iterator[Listener]:
    server = Listener(handler, tls)
    try:
        yield server
    finally:
        server.close()


def read_request(conn: socket.socket) -> bytes:
    """The request's head and body (by Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def answer(status: int = 200, body: bytes = b"thanks", headers: str = "") -> Handler:
    """Reads the request, answers ``status`` with ``body``."""

    def handle(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        head = f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{headers}\r\n"
        conn.sendall(head.encode() + body)

    return handle


def trickle(every: float = 2.0, head_first: bool = True, most: int = 30) -> Handler:
    """Reads the request, then sends one byte every ``every`` seconds: of the body after
    a prompt head (``head_first``), or of the head itself. Stops after ``most`` bytes."""

    def handle(conn: socket.socket, stopping: threading.Event) -> None:
        read_request(conn)
        if head_first:
            conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {most}\r\n\r\n".encode())
            payload = b"x" * most
        else:
            payload = f"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Pad: {'p' * most}\r\n\r\n"
            payload = payload.encode()[:most]
        for byte in payload:
            conn.sendall(bytes([byte]))
            if stopping.wait(every):
                return

    return handle


def never_reads(conn: socket.socket, stopping: threading.Event) -> None:
    """Accepts, then reads nothing: a client sending a large body blocks on send."""
    stopping.wait(30)


def hangs_up(conn: socket.socket, stopping: threading.Event) -> None:
    """An open port that closes at once."""


def speaks_nonsense(conn: socket.socket, stopping: threading.Event) -> None:
    """An open port with something that is not HTTP behind it."""
    conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")


def closed_port() -> int:
    """A port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Resolver:
    """What the operating system's resolver answers for some names: installed over
    ``socket.getaddrinfo`` for those names only; every other name resolves as usual.
    Each name maps to a list of answers, one per lookup (the last repeats), each answer
    a list of addresses; an empty answer is "no such name"."""

    def __init__(self, real: Callable) -> None:
        self.real = real
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: dict[str, int] = {}

    def set(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = list(answers)
        self.lookups[name] = 0

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in self.answers:
            return self.real(host, port, family, type, proto, flags)
        count = self.lookups[name]
        self.lookups[name] = count + 1
        answers = self.answers[name]
        found = answers[min(count, len(answers) - 1)]
        if not found:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        result = []
        for address in found:
            if ":" in address:
                result.append(
                    (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, int(port), 0, 0))
                )
            else:
                result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port))))
        return result


def install_resolver(monkeypatch) -> Resolver:
    fake = Resolver(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


def route_to_loopback(monkeypatch, address: str) -> None:
    """The network, as the test would have it: connections to ``address`` (a public
    one) reach the same port on 127.0.0.1, where a fake receiver listens."""
    real = socket.socket.connect

    def connect(sock: socket.socket, sockaddr) -> None:
        if isinstance(sockaddr, tuple) and sockaddr[0] == address:
            sockaddr = ("127.0.0.1", sockaddr[1])
        return real(sock, sockaddr)

    monkeypatch.setattr(socket.socket, "connect", connect)
