"""Outbound address policy (minimal): where the registry may send requests of its own.

http(s) only; a host that is, or resolves to, a loopback, private, link-local,
multicast, unspecified or reserved address is refused unless it falls in
``OUTBOUND_ALLOWED_NETWORKS``. Redirects are never followed.

This is the smallest version of the interface that model connections need:
``check_url`` when an address is saved, and ``open_client`` for every call. It checks
the name when asked, not at connect time, so it does not pin the resolved address;
the complete policy keeps the same two names.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import httpx
from django.conf import settings


class OutboundRefused(Exception):
    """The address may not be called."""


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    raw = getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", []) or []
    items = raw.split(",") if isinstance(raw, str) else raw
    return [ipaddress.ip_network(item.strip(), strict=False) for item in items if item.strip()]


def _refused_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in network for network in _allowed_networks()):
        return False
    return not address.is_global or address.is_multicast


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise OutboundRefused(f"The host {host} does not resolve.") from None
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]


def check_url(url: str) -> None:
    """Raise OutboundRefused unless ``url`` is http(s) to a host we may call."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise OutboundRefused("Only http and https addresses are allowed.")
    host = parts.hostname
    if not host:
        raise OutboundRefused("The address has no host.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefused("The address's port is not a number from 0 to 65535.") from None
    for address in _addresses(host, port):
        if _refused_address(address):
            raise OutboundRefused(
                f"{host} is a loopback, private, link-local or reserved address ({address})."
            )


def open_client(
    *, timeout: float, deadline: float | None = None, headers: dict | None = None
) -> httpx.Client:
    """An HTTP client that never follows redirects."""
    return httpx.Client(follow_redirects=False, timeout=timeout, headers=headers)
