"""The order an import writes prompts in: snippets before the prompts that include
them, across teams too, since a version's references are checked when it is written.

The references are read from the version files as written (``{% include "team/slug" %}``,
``@N``, ``@environment``). One naming a prompt of the files (by its slug or a former
one) orders that prompt first; one naming neither a prompt of the files nor one the
importer may see here refuses the whole import before anything is written (400
``bad_reference``, naming it and the file). Prompts that include each other across
their versions (possible over time: an old version of A included B, a newer B includes
A) have no such order; they keep the order of their addresses, and a version whose
snippet is not there yet is reported by its prompt.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import Any

from accounts.permissions import can
from composition import parsing
from composition.errors import BadReference
from portable import fileformat as ff
from prompts.models import PromptAddress
from registry_site.errors import DomainError

Node = tuple[str, str]  # (team slug, prompt slug) as the files name them


def _text(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _references(team: str, slug: str, files: Mapping[str, bytes]):
    """(path, reference) of every include in the prompt's version files; a file that
    cannot be read is left for the prompt's own import to report."""
    for name in sorted(files):
        if name == ff.PROMPT_FILE:
            continue
        path = f"{team}/{slug}/{name}"
        text = _text(files[name])
        if text is None:
            continue
        try:
            data = ff.read_version(name, text, path)
            sources = (
                [(m.get("content", ""), {}) for m in data["messages"] or []]
                if data["kind"] == "chat"
                else [(data["template"] or "", {})]
            )
            for source, where in sources:
                if isinstance(source, str):
                    for reference in parsing.find(source, where):
                        yield path, reference
        except (DomainError, KeyError, TypeError, AttributeError):
            continue


def _aliases(team: str, slug: str, files: Mapping[str, bytes]) -> list[str]:
    raw = files.get(ff.PROMPT_FILE)
    text = _text(raw) if raw is not None else None
    if text is None:
        return []
    try:
        former = ff.read_prompt(text, f"{team}/{slug}/{ff.PROMPT_FILE}")["former_slugs"]
    except DomainError:
        return []
    return [s for s in former or [] if isinstance(s, str)]


def _known_here(actor: Any, team: str, slug: str) -> bool:
    address = (
        PromptAddress.objects.filter(team__slug=team, slug=slug).select_related("prompt").first()
    )
    if address is None or address.prompt.is_archived:
        return False
    return not getattr(actor, "is_authenticated", False) or can(actor, "view", address.prompt)


def import_order(
    actor: Any, prompts: Mapping[Node, Mapping[str, bytes]]
) -> tuple[list[Node], set[Node]]:
    """Every prompt of the files, snippets first, and the snippets (prompts of the
    files that others include); BadReference for a reference to a prompt neither in
    the files nor here (as ``actor`` may see it)."""
    by_address: dict[Node, Node] = {}
    for node, files in prompts.items():
        by_address[node] = node
        for former in _aliases(*node, files):
            by_address.setdefault((node[0], former), node)
    needs: dict[Node, set[Node]] = {node: set() for node in prompts}
    checked: dict[Node, bool] = {}
    for node, files in prompts.items():
        for path, reference in _references(*node, files):
            target = by_address.get((reference.team, reference.slug))
            if target is not None:
                if target != node:
                    needs[node].add(target)
                continue
            key = (reference.team, reference.slug)
            if key not in checked:
                checked[key] = _known_here(actor, *key)
            if not checked[key]:
                raise BadReference(
                    f"{path}, line {reference.line}: there is no prompt {reference.address} "
                    "to include, in the files or here. Nothing was imported.",
                    reference.written,
                    "not_found",
                    {"path": path},
                    line=reference.line,
                )
    return _topological(needs), {target for targets in needs.values() for target in targets}


def _topological(needs: dict[Node, set[Node]]) -> list[Node]:
    """Kahn's order, ties by address; what a cycle leaves follows by address."""
    waiting = {node: len(targets) for node, targets in needs.items()}
    needed_by: dict[Node, list[Node]] = {node: [] for node in needs}
    for node, targets in needs.items():
        for target in targets:
            needed_by[target].append(node)
    ready = [node for node, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[Node] = []
    while ready:
        node = heapq.heappop(ready)
        order.append(node)
        for dependent in needed_by[node]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, dependent)
    done = set(order)
    return order + sorted(node for node in needs if node not in done)
