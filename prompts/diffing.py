"""What changed between two versions: template lines (with word highlights on changed
lines), variables and config.

Lines are matched with difflib.SequenceMatcher, not ndiff: ndiff looks for the most
similar pair among every removed and added line, which is quadratic and takes seconds
on large templates. Here a removed line pairs with the added line at the same place in
its block of changes, and only similar pairs get word highlights.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from prompts.models import Version

# Word highlights are skipped when both texts are longer than this many lines, and on
# lines longer than this many characters: what bounds the work on huge inputs.
WORD_DIFF_MAX_LINES = 5_000
WORD_DIFF_MAX_CHARS = 20_000
# A removed and an added line this similar (difflib ratio over their words) are one
# changed line; below it they are unrelated and highlighting words would only be noise.
PAIR_MIN_RATIO = 0.5
VARIABLE_FIELDS = ("description", "default", "required")
_SPACE = re.compile(r"(\s+)")


# ---------------------------------------------------------------------- text form


def lines_of(text: str) -> list[str]:
    """The lines of ``text`` as an editor numbers them (a final newline does not start
    another line). Comments refer to lines by these numbers."""
    if not text:
        return []
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def text_of(version: Version) -> str:
    """The text that is diffed and commented on: the template, or for a chat version each
    message as a ``[role]`` line followed by its content lines."""
    if version.kind != Version.Kind.CHAT:
        return version.template
    lines: list[str] = []
    for message in version.messages:
        lines.append(f"[{message.get('role', '')}]")
        content = message.get("content", "")
        lines.extend(lines_of(content if isinstance(content, str) else str(content)))
    return "\n".join(lines)


# ---------------------------------------------------------------------- comparison


def compare(old: Version, new: Version) -> dict:
    return {
        "from": old.number,
        "to": new.number,
        "template": diff_lines(text_of(old), text_of(new)),
        "variables": diff_variables(old.variables or [], new.variables or []),
        "config": diff_config(old.config or {}, new.config or {}),
    }


def diff_lines(old_text: str, new_text: str) -> list[dict]:
    old, new = lines_of(old_text), lines_of(new_text)
    words = len(old) <= WORD_DIFF_MAX_LINES or len(new) <= WORD_DIFF_MAX_LINES
    result: list[dict] = []
    for op, i1, i2, j1, j2 in _opcodes(old, new):
        if op == "equal":
            result += [_line("equal", i + 1, j + 1, old[i]) for i, j in
                       zip(range(i1, i2), range(j1, j2), strict=True)]
            continue
        removed = [_line("remove", i + 1, None, old[i]) for i in range(i1, i2)]
        added = [_line("add", None, j + 1, new[j]) for j in range(j1, j2)]
        if words:
            for before, after in zip(removed, added, strict=False):
                _highlight(before, after)
        result += removed + added
    return result


def _line(op: str, old_line: int | None, new_line: int | None, text: str) -> dict:
    return {"op": op, "old_line": old_line, "new_line": new_line, "text": text, "words": None}


def _opcodes(old: list[str], new: list[str]) -> list[tuple[str, int, int, int, int]]:
    """SequenceMatcher's opcodes over the lines, after setting the common head and tail
    aside: most edits touch a few lines of a long template, and this keeps them linear."""
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    ops: list[tuple[str, int, int, int, int]] = []
    if head:
        ops.append(("equal", 0, head, 0, head))
    matcher = difflib.SequenceMatcher(None, old[head:len(old) - tail], new[head:len(new) - tail])
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        ops.append((op, i1 + head, i2 + head, j1 + head, j2 + head))
    if tail:
        ops.append(("equal", len(old) - tail, len(old), len(new) - tail, len(new)))
    return ops


def _highlight(removed: dict, added: dict) -> None:
    """Set the word-level changes of a removed line and the added line it pairs with,
    if the two are similar enough to be one changed line."""
    before, after = removed["text"], added["text"]
    if len(before) > WORD_DIFF_MAX_CHARS or len(after) > WORD_DIFF_MAX_CHARS:
        return
    old = [token for token in _SPACE.split(before) if token]
    new = [token for token in _SPACE.split(after) if token]
    matcher = difflib.SequenceMatcher(None, old, new)
    if matcher.ratio() < PAIR_MIN_RATIO:
        return
    old_words: list[list[str]] = []
    new_words: list[list[str]] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            _append(old_words, "equal", old[i1:i2])
            _append(new_words, "equal", new[j1:j2])
        else:
            _append(old_words, "remove", old[i1:i2])
            _append(new_words, "add", new[j1:j2])
    removed["words"], added["words"] = old_words, new_words


def _append(words: list[list[str]], op: str, tokens: list[str]) -> None:
    """Add a run of tokens, merged into the previous run when the op is the same (an
    insertion leaves two equal runs side by side on the old line)."""
    if not tokens:
        return
    text = "".join(tokens)
    if words and words[-1][0] == op:
        words[-1][1] += text
    else:
        words.append([op, text])


def diff_variables(old: list[dict], new: list[dict]) -> dict:
    """Variables by name, in each version's order; changed when a compared field differs."""
    before = {variable["name"]: variable for variable in old}
    after = {variable["name"]: variable for variable in new}
    changed = []
    for name, variable in after.items():
        if name not in before:
            continue
        was, now = _fields(before[name]), _fields(variable)
        if not _same(was, now):
            changed.append({"name": name, "from": was, "to": now})
    return {
        "added": [name for name in after if name not in before],
        "removed": [name for name in before if name not in after],
        "changed": changed,
    }


def _fields(variable: dict) -> dict:
    return {field: variable.get(field) for field in VARIABLE_FIELDS}


def diff_config(old: dict, new: dict) -> dict:
    """Top-level keys only: a nested change shows as the whole value changing."""
    return {
        "added": {key: new[key] for key in sorted(new) if key not in old},
        "removed": {key: old[key] for key in sorted(old) if key not in new},
        "changed": {
            key: {"from": old[key], "to": new[key]}
            for key in sorted(old)
            if key in new and not _same(old[key], new[key])
        },
    }


def _same(a: Any, b: Any) -> bool:
    """JSON equality: unlike ==, 1 and true (or 1 and 1.0) are different values."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
