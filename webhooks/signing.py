"""Signatures of webhook deliveries, and their check for receivers.

The signature is HMAC-SHA256, keyed with the webhook's secret, over
``"{timestamp}.{raw body}"``; it travels as ``X-Registry-Signature: t=<unix ts>,v1=<hex>``.
The timestamp is signed too, so a captured delivery cannot be replayed later than
``tolerance`` seconds after it was sent.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Registry-Signature"
SCHEME = "v1"


def sign(secret: str, timestamp: int, body: bytes | str) -> str:
    """The hex HMAC-SHA256 of ``"{timestamp}.{body}"`` with ``secret``."""
    raw = body.encode() if isinstance(body, str) else body
    message = f"{int(timestamp)}.".encode() + raw
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes | str) -> str:
    return f"t={int(timestamp)},{SCHEME}={sign(secret, timestamp, body)}"


def _parse(header: str) -> tuple[int | None, list[str]]:
    timestamp, signatures = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == SCHEME and value:
            signatures.append(value)
    return timestamp, signatures


def verify(
    secret: str,
    header: str | None,
    body: bytes | str,
    tolerance: int = 300,
    now: float | None = None,
) -> bool:
    """True if ``header`` signs ``body`` with ``secret`` and was made within ``tolerance``
    seconds of ``now``. Receivers pass the raw body as received, before any JSON parsing."""
    if not header:
        return False
    timestamp, signatures = _parse(header)
    if timestamp is None or not signatures:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, given) for given in signatures)
