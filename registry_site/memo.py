"""Two helpers for caches that must never answer stale across server processes.

A *generation* is a random token in the shared cache, replaced after every commit that
changes what the entries it guards would say. Entries carry the generation they were
computed under and are trusted only while it is current. A *memo* keeps such entries in
this process as well, so a warm check reads only the small generation token from the
shared cache, never the entry itself.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from threading import Lock
from typing import Any

from django.core.cache import cache


class Memo:
    """A bounded, thread-safe LRU map in this process's memory."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()
        self.lock = Lock()

    def get(self, key: Any) -> Any:
        with self.lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()

    def __len__(self) -> int:
        return len(self.items)


def ensure_generation(key: str) -> str:
    """The generation under ``key``, created if the shared cache has none. A missing token
    is never a valid tag: were it, an evicted token would revive entries tagged before."""
    token = uuid.uuid4().hex
    if cache.add(key, token, None):
        return token
    current = cache.get(key)
    if current is None:  # culled between add and get by a full cache
        cache.set(key, token, None)
        return token
    return current


def new_generation(key: str) -> None:
    cache.set(key, uuid.uuid4().hex, None)
