"""What a snippet's change does to the prompts that include it.

A dependent is a prompt version live in an environment whose composed text takes the
snippet, directly or through other snippets. Its text *before* is what it composes to
now (what services get); *after* is the same with another version of the snippet
where the snippet is taken (never where it is pinned by number: ``"team/slug@3"``
stays version 3). ``only_environment`` narrows that to where the snippet is taken from
that environment (a deployment of the snippet there).

Three readers: the editor's note after saving a snippet's version, the compare page's
composed diff of a dependent, and the breaking-change guard of a snippet's deployment
(``breaking_dependents``, registered with releases), which names the dependents whose
callers would have to send a variable they never had to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from accounts.permissions import can
from composition import parsing
from composition.errors import MAX_LEVELS, CompositionFailed
from composition.models import Reference
from composition.services import Composed, _Composer, _result, _Target, compose
from prompts.models import Prompt, PromptAddress, Version
from registry_site.errors import DomainError
from releases.live import live_in, live_version_ids_in_order
from releases.models import Environment
from releases.policy import newly_required

MAX_DEPENDENTS = 200  # live (prompt, environment) pairs looked at, at most


class _Replacing(_Composer):
    """A composer that takes ``replacement`` for ``snippet`` wherever it is not pinned
    by number (and, with ``only_environment``, only where it is taken from there)."""

    def __init__(
        self, environment: str, snippet: Prompt, replacement: Version, only: str | None
    ) -> None:
        super().__init__(environment, None)
        self.replaced, self.replacement, self.only = snippet, replacement, only

    def version_of(self, reference: parsing.Found, target: _Target) -> tuple[Version, str | None]:
        if target.prompt.pk == self.replaced.pk and target.pinned is None:
            taken_from = target.environment or self.environment
            if self.only is None or taken_from == self.only:
                if target.prompt.is_archived:
                    return super().version_of(reference, target)
                return self.replacement, taken_from
        return super().version_of(reference, target)


def compose_with(
    version: Version,
    environment: str,
    snippet: Prompt,
    replacement: Version,
    only_environment: str | None = None,
) -> Composed:
    """``compose(version, environment)`` with ``replacement`` taken for ``snippet``."""
    composer = _Replacing(environment, snippet, replacement, only_environment)
    root = (frozenset({version.prompt_id}), version.prompt.address)
    if version.kind == Version.Kind.CHAT:
        template, messages = (
            "",
            [
                {
                    "role": m["role"],
                    "content": composer.text(
                        m["content"], version, root, {"field": "messages", "index": i}
                    ),
                }
                for i, m in enumerate(version.messages)
            ],
        )
    else:
        template = composer.text(version.template, version, root, {"field": "template"})
        messages = []
    return _result(composer, version.kind, template, messages, version.variables, version.config)


@dataclass
class Impact:
    prompt: Prompt  # the dependent
    environment: str  # where its version is live
    version: Version  # its live version
    before: Composed | None  # None: it cannot be composed now (why: ``failure``)
    after: Composed | None
    failure: str = ""

    @property
    def address(self) -> str:
        return self.prompt.address

    @property
    def changed(self) -> bool:
        if self.before is None or self.after is None:
            return self.before is not self.after
        return self.before.content_hash != self.after.content_hash

    @property
    def newly_required(self) -> list[str]:
        """Variables its callers must now send that they never had to."""
        if self.before is None or self.after is None:
            return []
        return newly_required(self.after.variables, self.before.variables)


def including_prompt_ids(prompt: Prompt) -> set[int]:
    """Ids of the prompts (not archived) that include ``prompt`` by any version,
    directly or through others: one query per level."""
    found: set[int] = set()
    wanted = {prompt.pk}
    for _ in range(MAX_LEVELS):
        rows = set(
            Reference.objects.filter(
                target_id__in=wanted, version__prompt__archived_at__isnull=True
            ).values_list("version__prompt_id", flat=True)
        )
        wanted = rows - found - {prompt.pk}
        found |= wanted
        if not wanted:
            break
    return found


def live_pairs(prompt_ids: set[int]) -> list[tuple[int, str, int]]:
    """(prompt id, environment slug, version id) of every live version of these."""
    live = live_version_ids_in_order(sorted(prompt_ids))
    pairs = [(pk, env, vid) for pk, envs in live.items() for env, vid in envs.items()]
    return pairs[:MAX_DEPENDENTS]


def _measure(
    version: Version, environment: str, snippet: Prompt, replacement: Version, only: str | None
) -> Impact:
    prompt = version.prompt
    try:
        before = compose(version, environment)
    except CompositionFailed as error:
        before, failure = None, error.message
    else:
        failure = ""
    try:
        after = compose_with(version, environment, snippet, replacement, only)
    except DomainError as error:
        after, failure = None, error.message
    return Impact(prompt, environment, version, before, after, failure)


def impacts(
    snippet: Prompt,
    replacement: Version,
    *,
    actor: Any = None,
    only_environment: str | None = None,
) -> list[Impact]:
    """The live dependents of ``snippet`` whose composed text changes when
    ``replacement`` is taken for it (as ``actor`` may see them; None: all)."""
    pairs = live_pairs(including_prompt_ids(snippet))
    if not pairs:
        return []
    versions = {
        v.pk: v
        for v in Version.objects.filter(pk__in={vid for _, _, vid in pairs}).select_related(
            "prompt__team"
        )
    }
    found = []
    for _, environment, version_id in pairs:
        version = versions[version_id]
        if actor is not None and not can(actor, "view", version.prompt):
            continue
        impact = _measure(version, environment, snippet, replacement, only_environment)
        if impact.changed:
            found.append(impact)
    return found


def impact_on(
    actor: Any, snippet: Prompt, replacement: Version, address: str, environment: str
) -> Impact | None:
    """The impact on one dependent live in ``environment`` (the compare page's choice),
    or None when ``actor`` may not see it, it is not live there or does not include
    the snippet."""
    team, _, slug = address.partition("/")
    row = (
        PromptAddress.objects.filter(team__slug=team, slug=slug)
        .select_related("prompt__team")
        .first()
    )
    if row is None or row.prompt.is_archived or not can(actor, "view", row.prompt):
        return None
    prompt = row.prompt
    if prompt.pk not in including_prompt_ids(snippet):
        return None
    version = live_in(prompt, environment)
    if version is None:
        return None
    version.prompt = prompt
    return _measure(version, environment, snippet, replacement, None)


def breaking_dependents(
    actor: Any, prompt: Prompt, environment: Environment, version: Version
) -> list[dict]:
    """The breaking-change check of a snippet's deployment: live dependents taking
    ``prompt`` from ``environment`` whose callers would have to send variables they
    never did; named as far as ``actor`` may see them (None: trusted, all named)."""
    found, hidden = [], set()
    for impact in impacts(prompt, version, only_environment=environment.slug):
        names = impact.newly_required
        if not names:
            continue
        if actor is None or can(actor, "view", impact.prompt):
            found.append(
                {"address": impact.address, "environment": impact.environment, "variables": names}
            )
        else:
            hidden |= set(names)
    if hidden:
        found.append({"hidden": True, "variables": sorted(hidden)})
    return found
