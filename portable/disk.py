"""Trees of the export format on disk: written so that unchanged files stay untouched
(their times too, for make and rsync), and read without following links."""

from __future__ import annotations

from pathlib import Path

from portable import fileformat as ff
from portable.archive import MAX_ARCHIVE_BYTES, unpack
from registry_site.errors import Invalid

Tree = dict[str, bytes]


def write_tree(root: Path, tree: Tree, teams: list[str]) -> dict[str, int]:
    """Write ``tree`` under ``root``; in the folders of ``teams``, files of the format
    that the tree no longer holds (a renamed prompt's old folder) are removed."""
    counts = {"written": 0, "unchanged": 0, "removed": 0}
    for path, data in sorted(tree.items()):
        target = root / path
        if target.is_file() and target.read_bytes() == data:
            counts["unchanged"] += 1
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        counts["written"] += 1
    for team in teams:
        for folder in sorted(p.parent for p in (root / team).glob(f"*/{ff.PROMPT_FILE}")):
            counts["removed"] += _remove_stale(folder, f"{team}/{folder.name}", tree)
    return counts


def _remove_stale(folder: Path, prefix: str, tree: Tree) -> int:
    removed = 0
    for file in folder.iterdir():
        ours = file.name == ff.PROMPT_FILE or ff.VERSION_FILE.match(file.name)
        if ours and file.is_file() and f"{prefix}/{file.name}" not in tree:
            file.unlink()
            removed += 1
    if not any(folder.iterdir()):
        folder.rmdir()
    return removed


def read_tree(root: Path) -> Tree:
    """Every regular file under ``root`` by its relative path; hidden folders (.git)
    and symbolic links are left out."""
    tree: Tree = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_symlink() or not path.is_file():
            continue
        tree[relative.as_posix()] = path.read_bytes()
    return tree


def read_files(path: Path) -> Tree:
    """The tree of a folder, or of an archive file (tar.gz or zip, as the API's export
    gives it), read with the same checks as an upload."""
    if path.is_dir():
        return read_tree(path)
    if not path.is_file():
        raise Invalid(f"{path} is neither a folder nor an archive file.")
    if path.stat().st_size > MAX_ARCHIVE_BYTES:
        raise Invalid(
            f"The archive is larger than {MAX_ARCHIVE_BYTES // (1024 * 1024)} MB.",
            code="bad_archive",
        )
    with path.open("rb") as handle:
        return unpack(handle.read(MAX_ARCHIVE_BYTES + 1))
