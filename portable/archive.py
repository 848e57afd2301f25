"""A tree of the export format as one archive, in memory: tar.gz out, tar.gz or zip in.

Archives come from clients, so reading one trusts nothing: every entry must be a
regular file at a relative path inside the tree (no "..", no absolute path, no link or
device), and the number of files and of bytes, read or claimed, is bounded. A bad
archive is an ``Invalid`` with code ``bad_archive``, never an exception of tarfile or
zipfile.
"""

from __future__ import annotations

import gzip
import io
import posixpath
import tarfile
import zipfile
import zlib

from registry_site.errors import Invalid

Tree = dict[str, bytes]

MAX_ARCHIVE_BYTES = 10 * 1024 * 1024
MAX_FILES = 10_000
MAX_TREE_BYTES = 50 * 1024 * 1024
MAX_FILE_BYTES = 2 * 1024 * 1024


def _bad(message: str) -> Invalid:
    return Invalid(message, code="bad_archive")


def pack(tree: Tree) -> bytes:
    """A gzip'd tar of the tree; the same tree always gives the same bytes (no times,
    owners or modes from the machine)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(tree):
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(tree[path]), 0o644, 0
            tar.addfile(info, io.BytesIO(tree[path]))
    return gzip.compress(raw.getvalue(), mtime=0)


def unpack(data: bytes) -> Tree:
    """The files of a tar (plain or gzip'd) or zip archive, checked."""
    if len(data) > MAX_ARCHIVE_BYTES:
        raise _bad(f"The archive is larger than {MAX_ARCHIVE_BYTES // (1024 * 1024)} MB.")
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return _unzip(data)
    return _untar(data)


class _Budget:
    def __init__(self) -> None:
        self.files = 0
        self.bytes = 0

    def take(self, path: str, size: int) -> str:
        self.files += 1
        self.bytes += size
        if self.files > MAX_FILES:
            raise _bad(f"The archive holds more than {MAX_FILES} files.")
        if size > MAX_FILE_BYTES:
            raise _bad(f"{path} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
        if self.bytes > MAX_TREE_BYTES:
            raise _bad(f"The archive unpacks to more than {MAX_TREE_BYTES // (1024 * 1024)} MB.")
        return _safe_path(path)


def _safe_path(path: str) -> str:
    if "\\" in path or "\x00" in path:
        raise _bad(f"{path!r} is not a plain relative path.")
    normal = posixpath.normpath(path)
    if (
        path.startswith("/")
        or normal.startswith("../")
        or normal == ".."
        or "/../" in f"/{path}/"
        or normal == "."
    ):
        raise _bad(f"{path!r} points outside the archive.")
    return normal.removeprefix("./")


def _untar(data: bytes) -> Tree:
    tree: Tree = {}
    budget = _Budget()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            for member in tar:
                if member.isdir():
                    continue
                if not member.isfile():
                    raise _bad(f"{member.name} is a link or a device; only files are read.")
                path = budget.take(member.name, member.size)
                handle = tar.extractfile(member)
                tree[path] = handle.read(MAX_FILE_BYTES + 1) if handle else b""
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as exc:
        raise _bad(f"Not a readable tar.gz or zip archive ({exc}).") from None
    if not tree:
        raise _bad("The archive holds no files.")
    return tree


def _unzip(data: bytes) -> Tree:
    tree: Tree = {}
    budget = _Budget()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                if (info.external_attr >> 16) & 0o170000 not in (0, 0o100000):
                    raise _bad(f"{info.filename} is a link or a device; only files are read.")
                path = budget.take(info.filename, info.file_size)
                with archive.open(info) as handle:
                    content = handle.read(MAX_FILE_BYTES + 1)
                if len(content) != info.file_size:
                    raise _bad(f"{info.filename} is not the size the archive claims.")
                tree[path] = content
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        OSError,
        ValueError,
        zlib.error,
    ) as exc:
        raise _bad(f"Not a readable zip archive ({exc}).") from None
    except NotImplementedError:
        raise _bad("The zip archive uses a compression this server does not read.") from None
    if not tree:
        raise _bad("The archive holds no files.")
    return tree
