"""A tree of the export format as one archive, in memory: tar.gz out, tar.gz or zip in.

Archives come from clients, so reading one trusts nothing: every entry must be a
regular file at a relative path inside the tree (no "..", no absolute path, no link or
device), and every entry is paid for before it is read. Files, folders, links and
the extension headers of tar (PAX, GNU long names) all count against one budget of
entries and of bytes, whatever they claim, and an extension header larger than a
header can need is refused before it is read. A bad archive is an ``Invalid`` with
code ``bad_archive``, never an exception of tarfile or zipfile.
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
# Every entry: files, folders, links, and tar's extension headers. An export of
# MAX_FILES files made by a tar tool (a folder per prompt, an extension header for
# a path over 100 characters) stays within it; reading one header costs ~0.1 ms.
MAX_ENTRIES = 2 * MAX_FILES
MAX_TREE_BYTES = 50 * 1024 * 1024
MAX_FILE_BYTES = 2 * 1024 * 1024
# One PAX or GNU long-name header: a path and a few fields, never more than this.
MAX_HEADER_BYTES = 64 * 1024
# Extension headers in front of one member: a PAX header, a GNU long name and long
# link at most, in any tool's output.
MAX_HEADERS_PER_MEMBER = 4
# Zip entries may be stored or deflated: what every zip tool writes by default.
ZIP_COMPRESSIONS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


def _bad(message: str) -> Invalid:
    return Invalid(message, code="bad_archive")


def _mb(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MB"


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
        raise _bad(f"The archive is larger than {_mb(MAX_ARCHIVE_BYTES)}.")
    if data[:4] == b"PK\x03\x04" or data[:4] == b"PK\x05\x06":
        return _unzip(data)
    return _untar(data)


class _Budget:
    """What an archive may hold, paid entry by entry before anything is read."""

    def __init__(self) -> None:
        self.entries = 0
        self.files = 0
        self.bytes = 0

    def entry(self, size: int = 0) -> None:
        """Any entry: a folder, a link, an extension header, or a file (see ``file``)."""
        self.entries += 1
        self.bytes += max(size, 0)
        if self.entries > MAX_ENTRIES:
            raise _bad(
                f"The archive holds more than {MAX_ENTRIES} entries (files, folders and headers)."
            )
        if self.bytes > MAX_TREE_BYTES:
            raise _bad(f"The archive unpacks to more than {_mb(MAX_TREE_BYTES)}.")

    def file(self, path: str, size: int) -> str:
        self.files += 1
        if self.files > MAX_FILES:
            raise _bad(f"The archive holds more than {MAX_FILES} files.")
        if size > MAX_FILE_BYTES:
            raise _bad(f"{path} is larger than {_mb(MAX_FILE_BYTES)}.")
        self.entry(size)
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


# ---------------------------------------------------------------- tar


class _CheckedTarInfo(tarfile.TarInfo):
    """tarfile reads a PAX or GNU long-name header whole, whatever size it claims, and
    follows a chain of them by recursion: both are checked here, before the read."""

    def _proc_pax(self, tar: _CheckedTarFile) -> tarfile.TarInfo:
        tar.extension(self)
        return super()._proc_pax(tar)

    def _proc_gnulong(self, tar: _CheckedTarFile) -> tarfile.TarInfo:
        tar.extension(self)
        return super()._proc_gnulong(tar)

    # Sparse files make tarfile read map blocks for as long as the archive claims
    # more; an export never holds one.
    def _proc_sparse(self, tar: _CheckedTarFile) -> tarfile.TarInfo:
        raise _bad(f"{self.name} is a sparse file; only plain files are read.")

    def _proc_gnusparse_00(self, next, pax_headers, buf) -> None:
        raise _bad("The archive holds a sparse file; only plain files are read.")

    def _proc_gnusparse_01(self, next, pax_headers) -> None:
        raise _bad("The archive holds a sparse file; only plain files are read.")

    def _proc_gnusparse_10(self, next, pax_headers, tar) -> None:
        raise _bad("The archive holds a sparse file; only plain files are read.")


class _CheckedTarFile(tarfile.TarFile):
    tarinfo = _CheckedTarInfo

    def __init__(self, *args, budget: _Budget, **kwargs) -> None:
        self.budget = budget
        self.chained = 0
        super().__init__(*args, **kwargs)  # reads the first member already

    def next(self) -> tarfile.TarInfo | None:
        self.chained = 0
        return super().next()

    def extension(self, header: tarfile.TarInfo) -> None:
        """Pay for an extension header, or refuse it unread."""
        if header.size > MAX_HEADER_BYTES:
            raise _bad(
                f"The archive holds a tar extension header of {header.size} bytes; at most "
                f"{MAX_HEADER_BYTES // 1024} KB are read."
            )
        self.chained += 1
        if self.chained > MAX_HEADERS_PER_MEMBER:
            raise _bad(
                f"The archive chains more than {MAX_HEADERS_PER_MEMBER} extension headers "
                "in front of one entry."
            )
        self.budget.entry(header.size)


def _untar(data: bytes) -> Tree:
    tree: Tree = {}
    budget = _Budget()
    # Only plain and gzip'd tar: other compressions (xz, bzip2) cost far more memory
    # or time per byte, and no export is written with them.
    mode = "r:gz" if data[:2] == b"\x1f\x8b" else "r:"
    try:
        with _CheckedTarFile.open(fileobj=io.BytesIO(data), mode=mode, budget=budget) as tar:
            for member in tar:
                if member.isdir():
                    budget.entry()  # a folder is never written: its name does not matter
                    continue
                if not member.isfile():
                    raise _bad(f"{member.name} is a link or a device; only files are read.")
                path = budget.file(member.name, member.size)
                handle = tar.extractfile(member)
                tree[path] = handle.read(MAX_FILE_BYTES + 1) if handle else b""
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error) as exc:
        raise _bad(f"Not a readable tar.gz or zip archive ({exc}).") from None
    except RecursionError:
        raise _bad("Not a readable tar.gz or zip archive (headers nested too deep).") from None
    if not tree:
        raise _bad("The archive holds no files.")
    return tree


# ---------------------------------------------------------------- zip


def _unzip(data: bytes) -> Tree:
    # zipfile reads the whole central directory before anyone can look at it: count
    # its records first (each begins with this signature), so a directory of millions
    # of tiny records is refused unread.
    if data.count(b"PK\x01\x02") > MAX_ENTRIES:
        raise _bad(f"The archive holds more than {MAX_ENTRIES} entries (files and folders).")
    tree: Tree = {}
    budget = _Budget()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    budget.entry()
                    continue
                if (info.external_attr >> 16) & 0o170000 not in (0, 0o100000):
                    raise _bad(f"{info.filename} is a link or a device; only files are read.")
                if info.compress_type not in ZIP_COMPRESSIONS:
                    raise _bad(
                        f"{info.filename} is compressed in a way this server does not read; "
                        "use deflate."
                    )
                path = budget.file(info.filename, info.file_size)
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
