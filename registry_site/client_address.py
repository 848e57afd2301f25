"""The address a request came from, for sign-in throttling.

Only behind a proxy of ours (BEHIND_PROXY) is X-Forwarded-For read, and then only the
entry our own proxies added: each appends the address it saw, so the entry PROXY_COUNT
from the right is the one the outermost proxy saw. Anything to its left was sent by
the client and may be made up; reading it would let anyone pick their own address.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _address(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def client_address(request: HttpRequest) -> str | None:
    direct = request.META.get("REMOTE_ADDR")
    if not settings.BEHIND_PROXY:
        return direct
    forwarded = [e for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if e.strip()]
    count = settings.PROXY_COUNT
    if len(forwarded) < count:
        return direct
    return _address(forwarded[-count]) or direct
