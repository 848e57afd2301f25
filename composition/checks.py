"""The check made when a version is written (pages, API, importer alike): every
reference names a prompt its author may see, a version or an environment that
exists, a text prompt; no cycle; nesting no deeper than 5. Its rows are written in
the same transaction, so a refused version leaves nothing behind.

Cycles and depth are walked on the graph of prompts as it may be composed: from each
snippet through its latest version, the versions live in any of its environments (a
follow reference), the one live in the named environment, or the pinned version.
Each level costs two queries, whatever the number of prompts.
"""

from __future__ import annotations

from typing import Any

from composition import parsing
from composition.errors import MAX_DEPTH, BadReference, CompositionFailed
from composition.models import Reference
from composition.services import _lookup, _sources, _Target, compose
from prompts.models import Prompt, Version
from releases.live import live_version_ids


def check_version(actor: Any, prompt: Prompt, version: Version) -> None:
    """Refuse the version (BadReference) or write its references."""
    reader = actor if getattr(actor, "is_authenticated", False) else None  # None: a command
    found: dict[str, tuple[_Target, dict, parsing.Found]] = {}
    for source, where in _sources(version.kind, version.template, version.messages):
        for reference in parsing.find(source, where):
            if reference.written not in found:
                target = _lookup(reader, reference, where)
                _refuse_chat(target, reference, where)
                found[reference.written] = (target, where, reference)
    if not found:
        return
    Reference.objects.bulk_create(
        Reference(
            version=version,
            target=target.prompt,
            written=written,
            pinned=target.pinned,
            environment=target.environment,
        )
        for written, (target, _, _) in found.items()
    )
    _check_graph(prompt, found)
    _check_size(version, found)


def _check_size(version: Version, found: dict) -> None:
    """Composed with the latest of its snippets, the version must stay a template that
    can be rendered (what is live elsewhere is checked when it is resolved)."""
    try:
        compose(version)
    except CompositionFailed as error:
        if error.details.get("why") != "too_large":
            return
        written = error.details["reference"]
        _, where, reference = found.get(written, (None, {"field": "template"}, None))
        line = reference.line if reference is not None else None
        raise BadReference(
            f"Line {line}: {error.message}" if line else error.message,
            written,
            "too_large",
            where,
            line=line,
            limit=error.details["limit"],
        ) from None


def _refuse_chat(target: _Target, reference: parsing.Found, where: dict) -> None:
    version = target.pinned or target.prompt.latest_version
    if version is not None and version.kind == Version.Kind.CHAT:
        raise BadReference(
            f"Line {reference.line}: {target.prompt.address} is a chat prompt; only text "
            "prompts are included.",
            reference.written,
            "chat",
            where,
            line=reference.line,
        )


def _versions_of(target: Prompt, pinned: Version | None, environment: str, live: dict) -> set:
    if pinned is not None:
        return {pinned.pk}
    in_environments = live.get(target.pk, {})
    if environment:
        return {in_environments[environment]} if environment in in_environments else set()
    ids = set(in_environments.values())
    if target.latest_version_id is not None:
        ids.add(target.latest_version_id)
    return ids


def _check_graph(prompt: Prompt, found: dict) -> None:
    """Walk level by level; each item: a snippet version, the chain of prompts that led
    to it (ids, addresses) and the root's reference it came from."""
    root = (prompt.pk, prompt.address)
    edges = [
        (written, {**where, "line": ref.line}, target.prompt, target.pinned, target.environment,
         [root])
        for written, (target, where, ref) in found.items()
    ]  # fmt: skip
    depth = 1
    while edges:
        live = live_version_ids(list({e[2].pk for e in edges if e[3] is None}))
        frontier: dict[int, tuple] = {}
        for written, where, target, pinned, environment, chain in edges:
            path = [*chain, (target.pk, target.address)]
            if target.pk in {pk for pk, _ in chain}:
                _refuse(written, where, "cycle", path, "includes a prompt that includes it")
            if depth > MAX_DEPTH:
                _refuse(written, where, "too_deep", path, f"nests deeper than {MAX_DEPTH}")
            for version_id in _versions_of(target, pinned, environment, live):
                frontier.setdefault(version_id, (written, where, path))
        depth += 1
        rows = Reference.objects.filter(version_id__in=list(frontier)).select_related(
            "target__team", "pinned"
        )
        edges = [
            (*frontier[row.version_id][:2], row.target, row.pinned, row.environment,
             frontier[row.version_id][2])
            for row in rows
        ]  # fmt: skip


def _refuse(written: str, where: dict, why: str, path: list, what: str) -> None:
    chain = [address for _, address in path]
    raise BadReference(
        f"Line {where['line']}: the include {written!r} {what}: {' -> '.join(chain)}.",
        written,
        why,
        where,
        path=chain,
    )
