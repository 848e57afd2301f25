"""Django's file-based cache, kept in each process's memory and never stale.

The file cache is the default shared cache on one machine: several server processes
read each other's entries, and a warm fetch reads three of them (the token, the
team's generation, the caller's rights generation). Two changes to Django's backend:

* Reads are answered from this process's memory while the entry's *stamp* has not
  moved. Stamps live in a small file every process maps into memory (``StampBoard``):
  whoever writes or removes an entry through this backend puts a new random stamp in
  the entry's slot *after* the file changed, and a reader takes the stamp *before*
  reading the file and keeps what it read under that stamp. A read after a change
  has finished therefore sees a new stamp and goes to the file: no process answers
  stale, and a warm read is a memory read instead of an open, a read and a
  decompression. Slots are shared by many entries (a change to one only sends the
  others back to their files once); stamps are random, so two writers never leave
  the same stamp behind. Only the registry's own processes may write the directory
  (removing files by hand is not seen by processes that hold them: restart them).
* Django's backend lists its whole directory on every write to decide whether to
  cull: 35 ms per write at 20,000 entries. Here a process looks once every
  ``CULL_EVERY`` writes, so between looks the directory may hold up to that many
  entries per process beyond ``MAX_ENTRIES``.
"""

from __future__ import annotations

import mmap
import os
import pickle
import secrets
import time
import zlib
from threading import Lock
from typing import Any

from django.core.cache.backends import filebased
from django.core.cache.backends.base import DEFAULT_TIMEOUT

from registry_site.memo import Memo

CULL_EVERY = 500
SLOTS = 1 << 16  # 512 KiB of stamps
BOARD_NAME = "stamps.board"  # not a cache file: never listed, culled or cleared
_ABSENT = object()


class StampBoard:
    """One 64-bit stamp per slot, in a file every process maps."""

    def __init__(self, path: str, slots: int = SLOTS) -> None:
        size = slots * 8
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < size:
                os.ftruncate(fd, size)  # zeros; the same size whoever gets here first
            self._map = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        self.words = memoryview(self._map).cast("Q")
        self.slots = slots

    def slot(self, fname: str) -> int:
        # The file name ends in an MD5 of the key: the same slot in every process.
        return int(fname[-len(filebased.FileBasedCache.cache_suffix) - 8 :][:8], 16) % self.slots

    def read(self, slot: int) -> int:
        return self.words[slot]

    def move(self, slot: int) -> None:
        self.words[slot] = secrets.randbits(64)


class FileBasedCache(filebased.FileBasedCache):
    def __init__(self, dir: str, params: dict[str, Any]) -> None:  # noqa: A002 - Django's name
        super().__init__(dir, params)
        self._writes = 0
        self._writes_lock = Lock()
        self._files = Memo(16_384)
        self._held = Memo(16_384)  # file name -> (stamp, expiry, pickled value or _ABSENT)
        self._board = StampBoard(os.path.join(self._dir, BOARD_NAME))

    # ---------------------------------------------------------------- reading

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        fname = self._key_to_file(key, version)
        slot = self._board.slot(fname)
        stamp = self._board.read(slot)
        held = self._held.get(fname)
        if held is not None and held[0] == stamp and (held[1] is None or held[1] >= time.time()):
            return default if held[2] is _ABSENT else pickle.loads(held[2])  # noqa: S301 - written by us
        expiry, data = self._read(fname)
        self._held.put(fname, (stamp, expiry, data))
        return default if data is _ABSENT else pickle.loads(data)  # noqa: S301 - written by us

    def _read(self, fname: str) -> tuple[float | None, Any]:
        """(expiry, the pickled value) of the file, or (None, _ABSENT) if it holds none."""
        try:
            with open(fname, "rb") as f:
                try:
                    expiry = pickle.load(f)  # noqa: S301 - our 0700 directory
                except EOFError:
                    expiry = 0  # an empty file is expired, as Django's backend says
                if expiry is not None and expiry < time.time():
                    f.close()
                    self._delete(fname)
                    return None, _ABSENT
                return expiry, zlib.decompress(f.read())
        except FileNotFoundError:
            return None, _ABSENT

    def has_key(self, key: str, version: int | None = None) -> bool:
        return self.get(key, _ABSENT, version) is not _ABSENT

    # ---------------------------------------------------------------- changing

    def set(
        self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> None:
        super().set(key, value, timeout, version)
        self._moved(self._key_to_file(key, version))

    def touch(self, key: str, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        touched = super().touch(key, timeout, version)
        self._moved(self._key_to_file(key, version))
        return touched

    def _delete(self, fname: str) -> bool:
        deleted = super()._delete(fname)
        self._moved(fname)
        return deleted

    def _moved(self, fname: str) -> None:
        """After the file changed: every process's copy of it is done."""
        self._board.move(self._board.slot(fname))
        self._held.put(fname, None)

    # ---------------------------------------------------------------- names, culling

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
