"""Throttles per token (or per signed-in user), kept in the shared cache so every
server process counts against the same budget.

A fixed window counter: one atomic increment per request, whatever the rate. DRF's
own throttle keeps a list of every request time in the window, which costs more the
higher the allowed rate — wrong for the fetch path, which services call constantly.
"""

import time

from django.core.cache import caches
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'600/min' -> (600, 60)."""
    count, _, period = rate.partition("/")
    return int(count), _UNITS[period.strip()[0]]


class _PerCaller(BaseThrottle):
    scope = ""

    def __init__(self) -> None:
        self.wait_seconds: float | None = None

    def caller(self, request) -> str:
        token = getattr(request.user, "registry_token", None)
        if token is not None:
            return f"token:{token.id}"
        if request.user and request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"ip:{self.get_ident(request)}"

    def allow_request(self, request, view) -> bool:
        limit, period = parse_rate(api_settings.DEFAULT_THROTTLE_RATES[self.scope])
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{self.caller(request)}:{window}"
        used = _count(caches["throttle"], key, period + 1)
        if used <= limit:
            return True
        self.wait_seconds = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return self.wait_seconds


def _count(counters, key: str, seconds: int) -> int:
    if hasattr(counters, "count_in_window"):  # Redis: one round trip
        return counters.count_in_window(key, seconds)
    counters.add(key, 0, seconds)
    try:
        return counters.incr(key)
    except ValueError:  # the window's key expired between add and incr
        counters.set(key, 1, seconds)
        return 1


class FetchThrottle(_PerCaller):
    """resolve and render, what services call on every request."""

    scope = "fetch"


class WriteThrottle(_PerCaller):
    scope = "write"

    def allow_request(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)
