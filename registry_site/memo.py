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
    """A bounded, thread-safe LRU map in this process's memory.

    ``scan_resistant``: once full, a new key is admitted on its second offer within the
    recent past only. A caller that fetches every prompt once (a crawler, a cold start
    of many services) then cannot evict the entries in steady use, and a stream of
    one-off keys stops churning the process's memory (each eviction and insertion of
    a payload of a different size fragments the allocator's heap)."""

    def __init__(self, size: int, *, scan_resistant: bool = False) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()
        self.lock = Lock()
        # One byte per slot, keys hashed into 8 slots per entry; forgotten after every
        # size / 2 new keys, so at most 1 in 16 one-off keys passes for a second offer.
        self.offered = bytearray(8 * size) if scan_resistant else None
        self.marks = 0

    def get(self, key: Any) -> Any:
        # No lock: each OrderedDict operation is atomic under the GIL (the keys are
        # tuples of ints and strings, hashed and compared in C), and a key evicted by
        # another thread between the two steps is simply not moved. A warm fetch makes
        # a dozen of these; the lock cost more than the lookups.
        value = self.items.get(key)
        if value is not None:
            try:  # noqa: SIM105 - contextlib.suppress costs an object per lookup
                self.items.move_to_end(key)
            except KeyError:  # evicted meanwhile: nothing to move
                pass
        return value

    def put(self, key: Any, value: Any) -> None:
        with self.lock:
            if key not in self.items and len(self.items) >= self.size and self._first(key):
                return
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def _first(self, key: Any) -> bool:
        """Whether this is the key's first offer lately (it is marked offered now)."""
        if self.offered is None:
            return False
        slot = hash(key) % len(self.offered)
        if self.offered[slot]:
            return False
        self.offered[slot] = 1
        self.marks += 1
        if self.marks >= max(1, self.size // 2):
            self.offered[:] = bytes(len(self.offered))
            self.marks = 0
        return True

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            if self.offered is not None:
                self.offered[:] = bytes(len(self.offered))
            self.marks = 0

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
