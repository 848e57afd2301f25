"""Django's file-based cache, without a directory listing on every write.

The file cache is the default shared cache on one machine (several server processes
read each other's entries). Django's backend lists its whole directory on every write
to decide whether to cull: 35 ms per write at 20,000 entries, growing with the
registry (each resolved address and version is an entry). Here a process looks once
every ``CULL_EVERY`` writes, so between looks the directory may hold up to that many
entries per process beyond ``MAX_ENTRIES``.
"""

from __future__ import annotations

from threading import Lock
from typing import Any

from django.core.cache.backends import filebased

CULL_EVERY = 500


class FileBasedCache(filebased.FileBasedCache):
    def __init__(self, dir: str, params: dict[str, Any]) -> None:  # noqa: A002 - Django's name
        super().__init__(dir, params)
        self._writes = 0
        self._writes_lock = Lock()

    def _cull(self) -> None:
        with self._writes_lock:
            self._writes += 1
            if self._writes < CULL_EVERY:
                return
            self._writes = 0
        super()._cull()
