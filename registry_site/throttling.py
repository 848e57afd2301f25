"""Throttles per token (or per signed-in user), kept in the shared cache so every
server process counts against the same budget.

A fixed window counter, one atomic increment per batch of requests. DRF's own
throttle keeps a list of every request time in the window, which costs more the
higher the allowed rate — wrong for the fetch path, which services call constantly.

A process adds its requests to the shared counter in batches of up to 1/BATCH_SHARE
of the limit, so a busy token costs one round trip per batch, not one per request.
At any moment a process holds fewer than a batch of uncounted requests: a caller gets
at most its limit plus 1% per server process. Limits under 2 × BATCH_SHARE count every
request at once, exactly.
"""

import time
from threading import Lock

from django.core.cache import caches
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from registry_site.memo import Memo

BATCH_SHARE = 100

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
        used = windows.count(key, period + 1, max(1, limit // BATCH_SHARE))
        if used <= limit:
            return True
        self.wait_seconds = (window + 1) * period - now
        return False

    def wait(self) -> float | None:
        return self.wait_seconds


class _Windows:
    """This process's view of each caller's window: the shared count when last added
    to, and the requests counted here since."""

    def __init__(self, size: int = 10_000) -> None:
        self.memo = Memo(size)  # key -> [shared count, uncounted here]
        self.lock = Lock()

    def count(self, key: str, seconds: int, batch: int) -> int:
        """The window's count with this request, as far as this process knows."""
        with self.lock:
            state = self.memo.get(key)
            if state is None:
                state = [0, 0]
                self.memo.put(key, state)
            state[1] += 1
            if state[1] < batch:
                return state[0] + state[1]
            pending, state[1] = state[1], 0
        shared = _add(caches["throttle"], key, seconds, pending)
        with self.lock:
            state[0] = max(state[0], shared)
            return state[0] + state[1]

    def clear(self) -> None:
        self.memo.clear()


def _add(counters, key: str, seconds: int, amount: int) -> int:
    if hasattr(counters, "count_in_window"):  # Redis: one round trip
        return counters.count_in_window(key, seconds, amount)
    counters.add(key, 0, seconds)
    try:
        return counters.incr(key, amount)
    except ValueError:  # the window's key expired between add and incr
        counters.set(key, amount, seconds)
        return amount


windows = _Windows()


class FetchThrottle(_PerCaller):
    """resolve and render, what services call on every request."""

    scope = "fetch"


class WriteThrottle(_PerCaller):
    scope = "write"

    def allow_request(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)
