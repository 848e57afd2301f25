"""Where the registry may send requests: the outbound address policy.

Team admins type the addresses the server calls (webhooks now, model providers later).
Unchecked, that lets them make the server call itself or the private network behind
it (SSRF). The policy: http and https only, and every address a host is or resolves
to must be public: loopback, private, link-local, multicast, unspecified and reserved
addresses are refused (also when wrapped in an IPv4-mapped, 6to4 or NAT64 IPv6
address), unless they lie in ``settings.OUTBOUND_ALLOWED_NETWORKS``.

It is applied twice. ``check_url`` tells an admin at save time. ``open_client`` is the
guard: each connection it opens resolves the host once, checks every address, and
connects to the checked address itself, so a name that answers differently the second
time (DNS rebinding) gains nothing. TLS still verifies the certificate for, and sends
SNI of, the host name. Redirects are never followed.

``deadline`` bounds a whole request: every socket operation waits at most the time left,
so a receiver trickling one byte at a time cannot hold the caller past it.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import selectors
import socket
import ssl
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpcore
import httpx
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SockAddr = tuple[Any, ...]

# How long a save waits for DNS: the admin's request should not hang on a slow resolver.
RESOLVE_SECONDS = 5.0
SCHEMES = ("http", "https")
# RFC 6052: IPv4 addresses translated by NAT64 gateways. The well-known /96 carries the
# IPv4 address in its last 32 bits; the local-use /48 is a private network's own.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")

# getaddrinfo cannot be given a timeout; it runs here, so callers wait only as long as
# they choose. A lookup that outlives its caller ends on the resolver's own timeout.
_resolver = ThreadPoolExecutor(max_workers=8, thread_name_prefix="outbound-resolve")
# When the request in progress on this thread must end (time.monotonic()), if it must.
_ends_at: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "outbound_ends_at", default=None
)


class OutboundRefused(Exception):
    """The policy refuses this address. The message is for the person who typed it;
    it says what kind of address was refused, never whether anything listens there."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ------------------------------------------------------------------ the policy


def allowed_networks() -> tuple[IPNetwork, ...]:
    """OUTBOUND_ALLOWED_NETWORKS as networks (tests may set strings)."""
    networks = []
    for item in getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", ()) or ():
        try:
            networks.append(ipaddress.ip_network(item) if isinstance(item, str) else item)
        except ValueError:
            raise ImproperlyConfigured(
                f"OUTBOUND_ALLOWED_NETWORKS holds networks such as 10.0.0.0/8, not {item!r}"
            ) from None
    return tuple(networks)


def _kind(address: IPAddress) -> str | None:
    """What kind of non-public address this is; None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address in _NAT64:
            # What the gateway connects to decides (DNS64 answers IPv6-only hosts so).
            return _kind(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if address in _NAT64_LOCAL:
            return "private"
        if address.sixtofour is not None and (kind := _kind(address.sixtofour)):
            return kind
        if address.is_site_local:
            return "private"
    if address.is_loopback:
        return "loopback"
    if address.is_unspecified:
        return "unspecified"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address.is_private or not address.is_global:
        return "private"
    return None


def _host_address(address: IPAddress) -> IPAddress:
    """The host a connection to ``address`` reaches: an IPv4-mapped IPv6 address is
    its IPv4 host."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def is_allowed_network(address: str | IPAddress) -> bool:
    """True if ``address`` lies in OUTBOUND_ALLOWED_NETWORKS (an internal receiver the
    operator vouches for)."""
    host = _host_address(_ip(address))
    return any(host in network for network in allowed_networks())


def _refusal(host: str, address: IPAddress) -> OutboundRefused | None:
    if is_allowed_network(address):
        return None
    kind = _kind(_host_address(address))
    if kind is None:
        return None
    return OutboundRefused(
        f"{host} is or resolves to a {kind} address; the registry does not send "
        "requests to loopback, private, link-local, multicast, unspecified or reserved "
        "addresses. An operator can allow internal networks with "
        "OUTBOUND_ALLOWED_NETWORKS."
    )


def _ip(address: str | IPAddress) -> IPAddress:
    if isinstance(address, str):
        # getaddrinfo writes link-local IPv6 addresses with their zone: fe80::1%eth0.
        return ipaddress.ip_address(address.partition("%")[0])
    return address


def _check(host: str, found: Iterable[SockAddr]) -> None:
    """Raise OutboundRefused unless every address found for ``host`` is allowed."""
    for sockaddr in found:
        refused = _refusal(host, _ip(sockaddr[0]))
        if refused is not None:
            raise refused


# ------------------------------------------------------------------ resolving


def _resolve(host: str, port: int, seconds: float | None) -> list[tuple[int, SockAddr]]:
    """(family, sockaddr) of each address of ``host``, as the system resolver answers.
    Raises OSError (socket.gaierror) when it does not, TimeoutError after ``seconds``."""
    lookup = _resolver.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        answers = lookup.result(timeout=None if seconds is None else max(seconds, 0.0))
    except TimeoutError:
        lookup.cancel()
        raise
    found = [
        (family, sockaddr)
        for family, _, _, _, sockaddr in answers
        if family in (socket.AF_INET, socket.AF_INET6)
    ]
    if not found:
        raise socket.gaierror(socket.EAI_NONAME, "no IPv4 or IPv6 address")
    return found


def _target(url: str) -> tuple[str, int]:
    """The host and port a request to ``url`` connects to, parsed as httpx will."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        raise OutboundRefused("That is not a valid URL.") from None
    if parsed.scheme not in SCHEMES:
        raise OutboundRefused("Only http:// and https:// addresses are called.")
    host = parsed.raw_host.decode("ascii")
    if not host:
        raise OutboundRefused("The URL needs a host.")
    return host, parsed.port or (443 if parsed.scheme == "https" else 80)


def check_url(url: str) -> None:
    """Raise OutboundRefused unless ``url`` is http(s) and every address its host is or
    resolves to is allowed. A name that does not resolve now passes: the check at send
    time guards the connection, and a receiver's name may not exist yet."""
    host, port = _target(url)
    try:
        found = _resolve(host, port, RESOLVE_SECONDS)
    except (OSError, UnicodeError):  # gaierror and TimeoutError are OSErrors
        return
    _check(host, (sockaddr for _, sockaddr in found))


# ------------------------------------------------------------------ the deadline


@contextlib.contextmanager
def _until(ends_at: float | None) -> Iterator[None]:
    token = _ends_at.set(ends_at)
    try:
        yield
    finally:
        _ends_at.reset(token)


def _wait(timeout: float | None, expired: type[Exception]) -> float | None:
    """How long the next socket operation may wait: its own timeout, cut to what is
    left of the request's deadline; ``expired`` is raised when nothing is left."""
    ends_at = _ends_at.get()
    if ends_at is None:
        return timeout
    left = ends_at - time.monotonic()
    if left <= 0:
        raise expired("the request ran out of time")
    return left if timeout is None else min(timeout, left)


@contextlib.contextmanager
def _mapped(timed_out: type[Exception], failed: type[Exception]) -> Iterator[None]:
    """Socket errors as the httpcore exceptions that httpx maps to its own."""
    try:
        yield
    except TimeoutError as exc:  # socket.timeout is TimeoutError
        raise timed_out(str(exc) or "timed out") from exc
    except OSError as exc:
        raise failed(str(exc)) from exc


# ------------------------------------------------------------------ connections


class _Stream(httpcore.NetworkStream):
    """A socket whose every operation ends by the request's deadline."""

    def __init__(self, sock: socket.socket, peer: SockAddr) -> None:
        self._sock = sock
        self._peer = peer

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _mapped(httpcore.ReadTimeout, httpcore.ReadError):
            self._sock.settimeout(_wait(timeout, httpcore.ReadTimeout))
            return self._sock.recv(max_bytes)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _mapped(httpcore.WriteTimeout, httpcore.WriteError):
            view = memoryview(buffer)
            while view:
                # Each send waits at most what is left: a receiver that takes a byte at
                # a time cannot stretch the request either.
                self._sock.settimeout(_wait(timeout, httpcore.WriteTimeout))
                view = view[self._sock.send(view) :]

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> _Stream:
        # server_hostname is the URL's host: the certificate is checked for the name
        # (and SNI sent), while the socket stays connected to the checked address.
        try:
            with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
                self._sock.settimeout(_wait(timeout, httpcore.ConnectTimeout))
                tls = ssl_context.wrap_socket(self._sock, server_hostname=server_hostname)
        except BaseException:
            self.close()
            raise
        return _Stream(tls, self._peer)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock  # has what httpcore asks of it (selected_alpn_protocol)
        if info == "server_addr":
            return self._peer
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            return _readable(self._sock)
        return None


def _readable(sock: socket.socket) -> bool:
    """An idle pooled connection with something to read has been closed by the peer."""
    if sock.fileno() < 0:
        return True
    with selectors.DefaultSelector() as selector:
        selector.register(sock, selectors.EVENT_READ)
        return bool(selector.select(0))


class _PinnedBackend(httpcore.NetworkBackend):
    """Resolves the host once, checks every address, connects to a checked one."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            found = _resolve(host, port, _wait(timeout, httpcore.ConnectTimeout))
        except TimeoutError:
            raise httpcore.ConnectTimeout("the host name did not resolve in time") from None
        except (OSError, UnicodeError):
            raise httpcore.ConnectError("the host name does not resolve") from None
        _check(host, (sockaddr for _, sockaddr in found))
        failure: Exception = httpcore.ConnectError("no address could be reached")
        for family, sockaddr in found:
            try:
                return _Stream(
                    self._connect(family, sockaddr, timeout, local_address, socket_options),
                    sockaddr,
                )
            except httpcore.ConnectError as exc:
                failure = exc  # the next address may answer
        raise failure

    @staticmethod
    def _connect(
        family: int,
        sockaddr: SockAddr,
        timeout: float | None,
        local_address: str | None,
        socket_options: Iterable[Any] | None,
    ) -> socket.socket:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            with _mapped(httpcore.ConnectTimeout, httpcore.ConnectError):
                for option in socket_options or ():
                    sock.setsockopt(*option)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if local_address:
                    sock.bind((local_address, 0))
                sock.settimeout(_wait(timeout, httpcore.ConnectTimeout))
                sock.connect(sockaddr)
        except BaseException:
            sock.close()
            raise
        return sock


class _BoundedBody(httpx.SyncByteStream):
    """A response body read under its request's deadline (it is read after the
    transport has returned the response)."""

    def __init__(self, body: httpx.SyncByteStream, ends_at: float | None) -> None:
        self._body = body
        self._ends_at = ends_at

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self._body)
        while True:
            with _until(self._ends_at):
                chunk = next(chunks, None)
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        with _until(self._ends_at):
            self._body.close()


class _PinnedTransport(httpx.HTTPTransport):
    def __init__(self, deadline: float | None) -> None:
        context = httpx.create_ssl_context()
        super().__init__(verify=context, retries=0)
        # httpx has no argument for a network backend; its pool is httpcore's, which
        # takes one. Everything else (exception mapping, streams) stays httpx's own.
        self._pool = httpcore.ConnectionPool(
            ssl_context=context, retries=0, network_backend=_PinnedBackend()
        )
        self._deadline = deadline

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        ends_at = None if self._deadline is None else time.monotonic() + self._deadline
        with _until(ends_at):
            response = super().handle_request(request)
        response.stream = _BoundedBody(response.stream, ends_at)
        return response


class _OutboundClient(httpx.Client):
    def send(self, request: httpx.Request, **options: Any) -> httpx.Response:
        # A redirect is an answer, not a new place to send the body (and its signature) to.
        options["follow_redirects"] = False
        return super().send(request, **options)


def open_client(
    *,
    timeout: float,
    deadline: float | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Client:
    """An httpx client under the policy. ``timeout`` bounds each socket operation;
    ``deadline`` (seconds) each whole request, body included. Refused addresses raise
    OutboundRefused; an overrun raises an httpx.TimeoutException."""
    return _OutboundClient(
        transport=_PinnedTransport(deadline),
        timeout=httpx.Timeout(timeout),
        headers=headers,
        follow_redirects=False,
        trust_env=False,  # no proxies or .netrc from the environment
    )


def is_allowed_receiver(response: httpx.Response) -> bool:
    """True if ``response`` came over a connection to an address in
    OUTBOUND_ALLOWED_NETWORKS: only such receivers' answers may be shown to users."""
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    return bool(peer) and is_allowed_network(peer[0])
