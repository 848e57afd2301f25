"""Archives that cost a reader far more than their size, built here, small and fast.

Each is a few hundred kilobytes at most; read naively, each costs seconds to minutes
of CPU, hundreds of megabytes to gigabytes of memory, or a crash. ``BOMBS`` names each
with the words its refusal must say. Building one never holds its unpacked size in
memory: repetitive parts are streamed through gzip.
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from collections.abc import Callable, Iterable

from portable.archive import pack

MB = 1024 * 1024


def gzip_of(parts: Iterable[bytes | tuple[bytes, int]]) -> bytes:
    """A gzip stream of the parts; ``(block, n)`` stands for ``block`` n times. A gzip
    file may hold many members, read as one stream: a megabyte of repeated blocks is
    compressed once and its member repeated, so building costs milliseconds."""
    out = io.BytesIO()
    for part in parts:
        block, times = part if isinstance(part, tuple) else (part, 1)
        per_member = max(1, MB // len(block))
        if times >= per_member:
            out.write(gzip.compress(block * per_member, mtime=0) * (times // per_member))
        if times % per_member:
            out.write(gzip.compress(block * (times % per_member), mtime=0))
    return out.getvalue()


def header(name: str, kind: bytes, size: int = 0) -> bytes:
    """One raw tar header block; ``size`` may claim anything."""
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mtime = kind, size, 0
    return info.tobuf(format=tarfile.USTAR_FORMAT)


def one_prompt(version: str, *, files: int = 1) -> bytes:
    """A well-formed export of prompt support/bomb whose version file(s) hold ``version``."""
    tree = {"support/bomb/prompt.yaml": b"name: Bomb\n"}
    for number in range(1, files + 1):
        tree[f"support/bomb/v{number:04d}.txt"] = version.encode()
    return pack(tree)


# ---------------------------------------------------------------- YAML


def yaml_aliases() -> bytes:
    """Billion laughs: nine levels of nine aliases, 9**9 strings once expanded."""
    lines = ['  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  {name}: &{name} [{','.join([f'*{previous}'] * 9)}]")
    return one_prompt("---\nconfig:\n" + "\n".join(lines) + "\n---\nHello {{ who }}\n")


def yaml_merge_keys() -> bytes:
    """The same through merge keys (``<<: *name``), which are aliases too."""
    lines = ["  a: &a {x: 1}"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"  {name}: &{name} {{<<: *{previous}, {name}: [*{previous}, *{previous}]}}")
    return one_prompt("---\nconfig:\n" + "\n".join(lines) + "\n---\nHello {{ who }}\n")


def yaml_deep() -> bytes:
    """Nesting deeper than any recursive reader goes."""
    return one_prompt("---\nconfig:\n  x: " + "[" * 900 + "]" * 900 + "\n---\nHi\n")


def yaml_values() -> bytes:
    """A million values in one 2 MB file: 40 s and 670 MB for a pure-Python reader."""
    return one_prompt("---\nconfig:\n  x: [" + "1," * 999_999 + "1]\n---\nHi\n")


def yaml_values_in_all() -> bytes:
    """Files each under the limit of one file, together far over the limit of an import."""
    return one_prompt("---\nconfig:\n  x: [" + "1," * 19_000 + "1]\n---\nHi\n", files=12)


# ---------------------------------------------------------------- tar


END = b"\0" * 1024


def tar_folders() -> bytes:
    """400,000 folder entries: each costs a header read and a TarInfo kept in memory."""
    folder = header("support/d", tarfile.DIRTYPE)
    return gzip_of([(folder, 400_000), END])


def pax_header() -> bytes:
    """A PAX header claiming 300 MB: tarfile reads it whole into memory."""
    return gzip_of([header("pax", tarfile.XHDTYPE, 300 * MB), (b"\0" * 512, 600 * 1024), END])


def gnu_long_name() -> bytes:
    """A GNU long-name header claiming 300 MB, read whole likewise."""
    long = header("././@LongLink", tarfile.GNUTYPE_LONGNAME, 300 * MB)
    return gzip_of([long, (b"\0" * 512, 600 * 1024), END])


def header_chain() -> bytes:
    """100,000 long-name headers in a row: tarfile follows each by recursion."""
    long = header("././@LongLink", tarfile.GNUTYPE_LONGNAME, 10) + b"x" * 10 + b"\0" * 502
    return gzip_of([(long, 100_000), header("support/team.yaml", tarfile.REGTYPE), END])


def sparse_map() -> bytes:
    """A GNU sparse file whose map goes on for 400,000 blocks, each read and kept."""
    info = tarfile.TarInfo("support/team.yaml")
    info.type, info.mtime = tarfile.GNUTYPE_SPARSE, 0
    block = bytearray(info.tobuf(format=tarfile.GNU_FORMAT))
    block[482] = 1  # isextended: a map block follows
    block[148:156] = b" " * 8  # the checksum, counted as spaces, then written
    block[148:156] = b"%06o\0 " % sum(block)
    extension = bytearray(512)
    for entry in range(21):  # offset 1, 1 byte: kept in memory by tarfile
        extension[entry * 24 : entry * 24 + 24] = b"%011o\0%011o\0" % (1, 1)
    extension[504] = 1  # and another block follows
    return gzip_of([bytes(block), (bytes(extension), 400_000), END])


# ---------------------------------------------------------------- zip


def zip_folders() -> bytes:
    """25,000 folder entries in a zip: zipfile builds all of them before anyone looks."""
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        for number in range(25_000):
            archive.writestr(zipfile.ZipInfo(f"d{number}/"), b"")
        archive.writestr("support/team.yaml", b"name: S\n")
    return raw.getvalue()


BOMBS: dict[str, tuple[Callable[[], bytes], str]] = {
    "yaml-aliases": (yaml_aliases, "YAML aliases"),
    "yaml-merge-keys": (yaml_merge_keys, "YAML aliases"),
    "yaml-deep": (yaml_deep, "nested more than 50 levels"),
    "yaml-values": (yaml_values, "more than 20000 YAML values in one file"),
    "yaml-values-in-all": (yaml_values_in_all, "more than 200000 YAML values in all"),
    "tar-folders": (tar_folders, "more than 20000 entries"),
    "pax-header": (pax_header, "extension header of 314572800 bytes"),
    "gnu-long-name": (gnu_long_name, "extension header of 314572800 bytes"),
    "header-chain": (header_chain, "more than 4 extension headers"),
    "sparse-map": (sparse_map, "sparse file"),
    "zip-folders": (zip_folders, "more than 20000 entries"),
}
