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
from collections import Counter
from typing import Any

from prompts.models import Version

# Word highlights are skipped when both texts are longer than this many lines.
WORD_DIFF_MAX_LINES = 5_000
# Work bounds. SequenceMatcher's cost grows with the number of pairs of equal items it
# may match: over lines, repeated lines stop anchoring matches past the first bound;
# over words, changed lines are highlighted while the token pairs they compare fit in
# the second. Real templates stay far below both; they bound pathological ones.
LINE_PAIRS_BUDGET = 100_000
WORD_PAIRS_BUDGET = 1_000_000
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
    """Every line of both texts, in order: equal ones once, and within a block of changes
    the removed lines before the added ones (as in a unified diff)."""
    old, new = lines_of(old_text), lines_of(new_text)
    words = len(old) <= WORD_DIFF_MAX_LINES or len(new) <= WORD_DIFF_MAX_LINES
    budget = WORD_PAIRS_BUDGET
    result: list[dict] = []
    for op, i1, i2, j1, j2 in _opcodes(old, new):
        if op == "equal":
            result += [
                _line("equal", i + 1, j + 1, old[i])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            ]
            continue
        removed = [_line("remove", i + 1, None, old[i]) for i in range(i1, i2)]
        added = [_line("add", None, j + 1, new[j]) for j in range(j1, j2)]
        if words:
            for before, after in zip(removed, added, strict=False):
                budget -= _highlight(before, after, budget)
        result += removed + added
    return result


def _line(op: str, old_line: int | None, new_line: int | None, text: str) -> dict:
    return {"op": op, "old_line": old_line, "new_line": new_line, "text": text, "words": None}


def _common_ends(old: list[str], new: list[str]) -> tuple[int, int]:
    """How many items the two lists share at their start and (after it) at their end."""
    limit = min(len(old), len(new))
    head = 0
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    return head, tail


def _opcodes(old: list[str], new: list[str]) -> list[tuple[str, int, int, int, int]]:
    """SequenceMatcher's opcodes over the lines, after setting the common head and tail
    aside: most edits touch a few lines of a long template, and this keeps them linear."""
    head, tail = _common_ends(old, new)
    ops: list[tuple[str, int, int, int, int]] = []
    if head:
        ops.append(("equal", 0, head, 0, head))
    a, b = old[head : len(old) - tail], new[head : len(new) - tail]
    matcher = difflib.SequenceMatcher(_too_repeated(a, b).__contains__, a, b)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        ops.append((op, i1 + head, i2 + head, j1 + head, j2 + head))
    if tail:
        ops.append(("equal", len(old) - tail, len(old), len(new) - tail, len(new)))
    return ops


def _too_repeated(old: list[str], new: list[str]) -> set[str]:
    """Lines that may not anchor a match (difflib "junk"). None, unless the pairs of equal
    lines exceed LINE_PAIRS_BUDGET: then every line repeated in ``new``, so matches grow
    from lines found once (as in patience diff) and the work stays about linear. Lines
    difflib already ignores as popular (over 1% of 200 or more) are not counted."""
    in_old, in_new = Counter(old), Counter(new)
    popular = len(new) // 100 + 1 if len(new) >= 200 else len(new)
    pairs = sum(count * in_old[line] for line, count in in_new.items() if count <= popular)
    if pairs <= LINE_PAIRS_BUDGET:
        return set()
    return {line for line, count in in_new.items() if count > 1}


def _highlight(removed: dict, added: dict, budget: int) -> int:
    """Set the word-level changes of a removed line and the added line it pairs with, if
    the two are similar enough to be one changed line. Returns the work spent (pairs of
    tokens compared); a pair that would cost more than ``budget`` is left plain."""
    old = [token for token in _SPACE.split(removed["text"]) if token]
    new = [token for token in _SPACE.split(added["text"]) if token]
    head, tail = _common_ends(old, new)
    a, b = old[head : len(old) - tail], new[head : len(new) - tail]
    cost = len(a) * len(b)
    if cost > budget:
        return 0
    needed = PAIR_MIN_RATIO * (len(old) + len(new))
    # Tokens the two middles share (as multisets) bound what the matcher can find: most
    # unrelated pairs are told apart by this count, at a fraction of the matcher's cost.
    if 2 * (head + tail + (Counter(a) & Counter(b)).total()) < needed:
        return len(a) + len(b)
    matcher = difflib.SequenceMatcher(None, a, b)
    same = head + tail + sum(block.size for block in matcher.get_matching_blocks())
    if 2 * same < needed:
        return cost
    old_words: list[list[str]] = []
    new_words: list[list[str]] = []
    _append(old_words, "equal", old[:head])
    _append(new_words, "equal", new[:head])
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        _append(old_words, "equal" if op == "equal" else "remove", a[i1:i2])
        _append(new_words, "equal" if op == "equal" else "add", b[j1:j2])
    _append(old_words, "equal", old[len(old) - tail :])
    _append(new_words, "equal", new[len(new) - tail :])
    removed["words"], added["words"] = old_words, new_words
    return cost


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
