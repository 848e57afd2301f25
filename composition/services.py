"""Composing a version: its references replaced by the snippets' own composed text.

``compose(version, environment, pinned)`` answers the composed template (or messages),
the merged variables (the version's own, then each snippet's not yet named: a declared
default is carried over, the parent's declaration wins), every part of the graph as
``dependencies`` and the composed content's hash. Which version of a snippet:

* ``"team/slug@3"``: version 3, always;
* ``pinned`` ({prompt id: version id}, e.g. the graph a deployment recorded): that
  version, for every other reference to that prompt;
* ``"team/slug@production"``: the version live in the snippet team's ``production``;
* ``"team/slug"``: the version live in the snippet team's environment of the slug being
  resolved (``environment``), or its latest version when there is none (the editor,
  a version's page, a resolve of one version or of ``latest``).

The save check (``composition.checks``) keeps cycles and deep nesting out; composing
guards both again and answers CompositionFailed (409), as it does for a snippet that
is not live where it is followed, archived since, or a chat prompt.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.permissions import can
from composition import parsing
from composition.errors import MAX_DEPTH, BadReference, CompositionFailed
from composition.models import Reference
from prompts.models import Prompt, PromptAddress, Version
from prompts.writing import content_hash
from releases.live import live_in, next_planned_in
from releases.models import Environment


@dataclass
class Composed:
    kind: str
    template: str
    messages: list[dict]
    variables: list[dict]
    config: dict
    content_hash: str
    # [{"address", "version", "environment"}]: every snippet in the graph, in the order
    # first met; environment is the one it was taken from (None: a pinned version, or
    # the latest).
    dependencies: list[dict] = field(default_factory=list)
    # {prompt id: version id} of every snippet not pinned by number where written: what
    # ``pinned`` takes to compose exactly this again.
    graph: dict[int, int] = field(default_factory=dict)
    # Snippet version ids in the graph (all of them, pinned by number too).
    version_ids: list[int] = field(default_factory=list)
    # The version taken at each reference met, in order: with the version and the
    # environment, what decides the composed text (``payload_key``).
    choices: list[int] = field(default_factory=list)
    # When a planned deployment of a snippet followed here takes over (None: none).
    until: datetime | None = None

    def payload_key(self, version_id: int, environment: str | None) -> str:
        """A name for this composed answer that no other can have: the parent version,
        the environment resolved and the snippet version taken at each reference."""
        parts = ",".join(map(str, self.choices))
        digest = hashlib.sha256(f"{environment or ''}|{parts}".encode()).hexdigest()[:32]
        return f"{version_id}:{digest}"


@dataclass(frozen=True)
class _Target:
    prompt: Prompt
    pinned: Version | None
    environment: str


class _Composer:
    def __init__(self, environment: str | None, pinned: dict[int, int] | None) -> None:
        self.environment = environment or None
        self.pinned = {int(k): int(v) for k, v in (pinned or {}).items()}
        self.dependencies: dict[tuple, dict] = {}
        self.graph: dict[int, int] = {}
        self.version_ids: dict[int, None] = {}
        self.variables: dict[str, dict] = {}
        self.choices: list[int] = []
        self.until: datetime | None = None
        self.now = timezone.now()
        # (snippet version id, depth) -> its composed text and the choices made in it:
        # a snippet included many times is composed once.
        self.memo: dict[tuple[int, int], tuple[str, list[int]]] = {}
        self.limit = int(getattr(settings, "REGISTRY_MAX_TEMPLATE_CHARS", 100_000))
        self.size = 0  # of the composed text so far, for chat messages together

    # -- which prompt and version each reference names

    def targets_of(self, version: Version | None, found: list[parsing.Found], where: dict):
        rows = {}
        if version is not None and version.pk is not None:
            rows = {
                r.written: r
                for r in Reference.objects.filter(version=version).select_related(
                    "target__team", "target__latest_version", "pinned"
                )
            }
        targets = {}
        for reference in found:
            row = rows.get(reference.written)
            if row is None:  # written before its rows, or not a stored version: look it up
                targets[reference.written] = _lookup(None, reference, where)
            else:
                targets[reference.written] = _Target(row.target, row.pinned, row.environment)
        return targets

    def version_of(self, reference: parsing.Found, target: _Target) -> tuple[Version, str | None]:
        prompt = target.prompt
        if prompt.is_archived:
            raise CompositionFailed(
                f"{prompt.address}, included as {reference.written!r}, is archived.",
                reference.written,
                "archived",
            )
        if target.pinned is not None:
            return target.pinned, None
        if prompt.pk in self.pinned:
            version = Version.objects.filter(pk=self.pinned[prompt.pk], prompt=prompt).first()
            if version is not None:
                return version, target.environment or self.environment
        environment = target.environment or self.environment
        if environment is None:
            if prompt.latest_version is None:
                raise CompositionFailed(
                    f"{prompt.address} has no version.", reference.written, "no_version"
                )
            return prompt.latest_version, None
        version = live_in(prompt, environment, self.now)
        planned = next_planned_in(prompt, environment, self.now)
        if planned is not None and (self.until is None or planned < self.until):
            self.until = planned
        if version is None:
            raise CompositionFailed(
                f"Nothing of {prompt.address}, included as {reference.written!r}, is live "
                f"in {environment}.",
                reference.written,
                "not_live",
                environment=environment,
            )
        return version, environment

    # -- the text

    def text(self, source: str, version: Version | None, path: tuple, where: dict) -> str:
        found = parsing.find(source, where)
        if not found:
            return source
        targets = self.targets_of(version, found, where)
        texts: list[str] = []
        for reference in found:
            target = targets[reference.written]
            texts.append(self.snippet(reference, target, path))
            self.bound(len(source) + sum(map(len, texts)), reference)
        return parsing.expand(source, found, texts)

    def bound(self, size: int, reference: parsing.Found) -> None:
        """The composed text is rendered as one template: it keeps the template limit."""
        if self.size + size > self.limit:
            raise CompositionFailed(
                f"Composed with {reference.written!r}, the prompt is longer than the limit "
                f"of {self.limit} characters.",
                reference.written,
                "too_large",
                limit=self.limit,
            )

    def snippet(self, reference: parsing.Found, target: _Target, path: tuple) -> str:
        prompt = target.prompt
        chain = [a for a in (*path[1:], prompt.address) if a]
        if prompt.pk in path[0]:
            raise CompositionFailed(
                f"{reference.written!r} includes a prompt that includes it: {' -> '.join(chain)}.",
                reference.written,
                "cycle",
                path=chain,
            )
        if len(path) - 1 > MAX_DEPTH:  # path: (prompt ids, the addresses from the root)
            raise CompositionFailed(
                f"{reference.written!r} nests includes deeper than {MAX_DEPTH}.",
                reference.written,
                "too_deep",
                path=chain,
            )
        version, environment = self.version_of(reference, target)
        if version.kind == Version.Kind.CHAT:
            raise CompositionFailed(
                f"{prompt.address} v{version.number} is a chat prompt; only text prompts are "
                "included.",
                reference.written,
                "chat",
            )
        self.choices.append(version.pk)
        depth = len(path)
        if (version.pk, depth) in self.memo:
            text, inner_choices = self.memo[version.pk, depth]
            self.choices.extend(inner_choices)
            return text
        if target.pinned is None:
            self.graph.setdefault(prompt.pk, version.pk)
        self.version_ids[version.pk] = None
        key = (prompt.address, version.number, environment)
        self.dependencies.setdefault(
            key, {"address": prompt.address, "version": version.number, "environment": environment}
        )
        for variable in version.variables or []:
            self.variables.setdefault(variable["name"], variable)
        inner = (path[0] | {prompt.pk}, *path[1:], prompt.address)
        start = len(self.choices)
        text = self.text(version.template, version, inner, {"field": "template"})
        self.memo[version.pk, depth] = (text, self.choices[start:])
        return text


def _lookup(actor: Any, reference: parsing.Found, where: dict) -> _Target:
    """The prompt a reference names, as its author may see it; a prompt that does not
    exist and one the author may not see are refused alike."""
    address = (
        PromptAddress.objects.filter(team__slug=reference.team, slug=reference.slug)
        .select_related("prompt__team", "prompt__latest_version")
        .first()
    )
    prompt = address.prompt if address is not None else None
    visible = prompt is not None and not prompt.is_archived
    if visible and actor is not None:
        visible = can(actor, "view", prompt)
    if not visible:
        raise BadReference(
            f"Line {reference.line}: there is no prompt {reference.address} to include.",
            reference.written,
            "not_found",
            where,
            line=reference.line,
        )
    pinned = None
    if reference.number is not None:
        number = reference.number
        if number <= parsing.MAX_VERSION_NUMBER:
            pinned = Version.objects.filter(prompt=prompt, number=number).first()
        if pinned is None:
            raise BadReference(
                f"Line {reference.line}: {prompt.address} has no version {number}.",
                reference.written,
                "no_version",
                where,
                line=reference.line,
            )
    if (
        reference.environment
        and not Environment.objects.filter(
            team_id=prompt.team_id, slug=reference.environment
        ).exists()
    ):
        raise BadReference(
            f"Line {reference.line}: {prompt.team.slug} has no environment "
            f"{reference.environment}.",
            reference.written,
            "no_environment",
            where,
            line=reference.line,
        )
    return _Target(prompt, pinned, reference.environment)


def _sources(kind: str, template: str, messages: list) -> list[tuple[str, dict]]:
    if kind == Version.Kind.CHAT:
        return [
            (m.get("content", ""), {"field": "messages", "index": i})
            for i, m in enumerate(messages)
        ]
    return [(template, {"field": "template"})]


def _compose(
    composer: _Composer,
    version: Version | None,
    kind: str,
    template: str,
    messages: list,
    root: tuple,
) -> tuple[str, list[dict]]:
    if kind == Version.Kind.CHAT:
        composed = []
        for m, (_, where) in zip(messages, _sources(kind, template, messages), strict=True):
            content = composer.text(m["content"], version, root, where)
            composer.size += len(content)
            composed.append({"role": m["role"], "content": content})
        return "", composed
    return composer.text(template, version, root, {"field": "template"}), []


def has_references(kind: str, template: str, messages: list) -> bool:
    return any("include" in (source or "") for source, _ in _sources(kind, template, messages))


def compose(
    version: Version, environment: str | None = None, pinned: dict[int, int] | None = None
) -> Composed:
    """``version`` composed for ``environment`` (a slug; None: latest snippets), with
    ``pinned`` snippets (see the module's text)."""
    own = Composed(
        kind=version.kind,
        template=version.template,
        messages=version.messages,
        variables=version.variables,
        config=version.config,
        content_hash=version.content_hash,
    )
    if not has_references(version.kind, version.template, version.messages):
        return own
    composer = _Composer(environment, pinned)
    root = (frozenset({version.prompt_id}), _address_of(version))
    template, messages = _compose(
        composer, version, version.kind, version.template, version.messages, root
    )
    return _result(composer, version.kind, template, messages, version.variables, version.config)


def compose_draft(actor: Any, kind: str, template: str, messages: list) -> Composed:
    """A draft (the editor's preview) composed with the latest snippets, each looked up
    as ``actor`` may see it. ``variables`` holds the snippets' only: the draft's own
    are what its form declares."""
    composer = _Composer(None, None)
    composer.targets_of = lambda version, found, where: {  # type: ignore[method-assign]
        r.written: _lookup(actor, r, where) for r in found
    }
    template, messages = _compose(composer, None, kind, template, messages, (frozenset(), ""))
    return _result(composer, kind, template, messages, [], {})


def draft_composer(actor: Any):
    """``compose_draft`` for ``actor`` in the form the editor's preview takes it
    (prompts.preview.Composer)."""

    def compose(kind: str, template: str, messages: list) -> tuple[str, list, list]:
        composed = compose_draft(actor, kind, template, messages)
        return composed.template, composed.messages, composed.variables

    return compose


def _address_of(version: Version) -> str:
    prompt = version.prompt
    return prompt.address


def _result(
    composer: _Composer, kind: str, template: str, messages: list, own: list, config: dict
) -> Composed:
    names = {v["name"] for v in own}
    variables = [*own, *(v for n, v in composer.variables.items() if n not in names)]
    dependencies = list(composer.dependencies.values())
    # The hash of what is answered: the composed content and which part is which, so a
    # snippet's new version changes it even when its text is the same.
    digest = content_hash(kind, template, messages, variables, config)
    if dependencies:
        parts = json.dumps(dependencies, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(f"{digest}|{parts}".encode()).hexdigest()
    return Composed(
        kind=kind,
        template=template,
        messages=messages,
        variables=variables,
        config=config,
        content_hash=digest,
        dependencies=dependencies,
        graph=dict(composer.graph),
        version_ids=list(composer.version_ids),
        choices=list(composer.choices),
        until=composer.until,
    )
