"""Django's file-based cache, without a directory listing on every write.

The file cache is the default shared cache on one machine (several server processes
read each other's entries). Django's backend lists its whole directory on every write
to decide whether to cull: 35 ms per write at 20,000 entries, growing with the
registry (each resolved address and version is an entry). Here a process looks once
every ``CULL_EVERY`` writes, so between looks the directory may hold up to that many
entries per process beyond ``MAX_ENTRIES``.

A key's file name (an MD5 of the full key) is kept per process: a warm fetch reads
three entries, and naming their files cost more than reading them.
"""

from __future__ import annotations

from threading import Lock
from typing import Any

from django.core.cache.backends import filebased

from registry_site.memo import Memo

CULL_EVERY = 500


class FileBasedCache(filebased.FileBasedCache):
    def __init__(self, dir: str, params: dict[str, Any]) -> None:  # noqa: A002 - Django's name
        super().__init__(dir, params)
        self._writes = 0
        self._writes_lock = Lock()
        self._files = Memo(16_384)

    def _key_to_file(self, key: str, version: int | None = None) -> str:
        name = self._files.get((key, version))
        if name is None:
            name = super()._key_to_file(key, version)
            self._files.put((key, version), name)
        return name

    def validate_key(self, key: str) -> None:
        """Any key makes a file name (it is hashed): the checks Django makes for
        memcached would cost more than the read."""

    def _cull(self) -> None:
        with self._writes_lock:
            self._writes += 1
            if self._writes < CULL_EVERY:
                return
            self._writes = 0
        super()._cull()
