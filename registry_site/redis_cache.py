"""Django's Redis cache, keeping one client per connection pool.

Django's client builds a new ``redis.Redis`` for every cache call, and redis-py fills
a table of a few hundred response callbacks in each constructor: on the resolve path
that cost more than the round trips themselves. A ``redis.Redis`` is safe to share
between threads (its pool hands out connections), so one per pool is enough.
"""

from __future__ import annotations

from threading import Lock
from typing import Any

from django.core.cache.backends import redis as django_redis


class _Client(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._lock = Lock()

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            with self._lock:
                client = self._clients.get(index)
                if client is None:
                    client = self._clients[index] = super().get_client(key, write=write)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server: Any, params: dict) -> None:
        super().__init__(server, params)
        self._class = _Client

    def validate_key(self, key: str) -> None:
        """Redis takes any key: the checks Django makes for memcached (a loop over every
        character of every key) would cost more than a warm fetch's own lookups."""

    def count_in_window(self, key: str, seconds: int, amount: int = 1) -> int:
        """Add ``amount`` to a counter that expires ``seconds`` after its first count;
        one round trip (Django's add + incr take three)."""
        name = self.make_and_validate_key(key)
        pipe = self._cache.get_client(key, write=True).pipeline(transaction=False)
        pipe.incrby(name, amount)
        pipe.expire(name, seconds, nx=True)
        used, _ = pipe.execute()
        return int(used)
