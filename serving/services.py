"""What services ask on every request: which version is live, and its rendering.

The warm path reads the team's generation and the caller's rights generation (and the
address's pointer and the rights themselves when this process does not hold them) in
one round trip, which the API makes together with the token's own read (``warm_keys``),
and the version payload from this process's memory; see prompts/cache.py for why that
can never be stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.models import SLUG_PATTERN
from accounts.permissions import can_in, grant_keys, grant_keys_of
from composition.releases import pinned_for
from composition.services import Composed, has_references
from composition.services import compose as compose_version
from prompts import cache, templating
from prompts.models import Prompt, Version
from prompts.services import find_prompt, find_version
from registry_site.errors import DomainError, Invalid, NotFound
from releases.environments import find_environment
from releases.live import live_deployment, next_planned_at


@dataclass(frozen=True)
class Resolved:
    payload: dict  # team, slug, name, version, template, messages, variables, config, hash
    environment: str | None
    prompt_id: int
    version_id: int

    def as_dict(self) -> dict:
        # A version's payload kept from before composition has no dependencies: none.
        return {"dependencies": [], **self.payload, "environment": self.environment}


def payload_of(version: Version, prompt: Prompt) -> dict:
    return {**address_of(prompt), **version_payload(version)}


def address_of(prompt: Prompt) -> dict:
    """What an answer says of the prompt itself. A rename or a new name changes it, so
    it travels in the pointer, which the team's generation guards, never in the
    version's payload, which every process keeps for as long as it likes."""
    return {"team": prompt.team.slug, "slug": prompt.slug, "name": prompt.name}


def version_payload(version: Version) -> dict:
    """What an answer says of the version: it never changes."""
    return {
        "kind": version.kind,
        "version": version.number,
        "template": version.template,
        "messages": version.messages,
        "variables": version.variables,
        "config": version.config,
        "content_hash": version.content_hash,
        "dependencies": [],
    }


def composed_payload(own: dict, composed: Composed) -> dict:
    """The version's payload with what it includes composed in; it never changes either
    (its key names the parent version, the environment and every snippet version)."""
    return {
        **own,
        "template": composed.template,
        "messages": composed.messages,
        "variables": composed.variables,
        "content_hash": composed.content_hash,
        "dependencies": composed.dependencies,
    }


SLUG = re.compile(SLUG_PATTERN)


def _selector(environment: str | None, version: Any, label: str | None) -> str:
    given = [x for x in (environment, version, label) if x not in (None, "")]
    if len(given) > 1:
        raise Invalid("Ask for one of environment, version or label.", {"field": "environment"})
    if label not in (None, ""):
        if label != "latest":
            raise Invalid("The only label is 'latest'.", {"field": "label"})
        return "latest"
    if version not in (None, ""):
        try:
            number = int(version)
        except (TypeError, ValueError):
            number = 0
        if number < 1 or number > 10**9:
            raise Invalid("version is a positive integer.", {"field": "version"})
        return f"v:{number}"
    if environment not in (None, ""):
        if not isinstance(environment, str) or not SLUG.match(environment):
            raise Invalid("environment is an environment's slug.", {"field": "environment"})
        return f"env:{environment}"
    return "default"


def warm_keys(user_id: int, team_slug: str, slug: str, ask: dict | None) -> list[str]:
    """The cache entries ``resolve`` will read for this caller and address: with ``ask``
    (its environment, version or label) the pointer too, unless this process holds it.
    Nothing for anything that is not a well-formed request: it gets its error from
    ``resolve``."""
    if not (SLUG.match(team_slug) and SLUG.match(slug)):
        return []
    if ask is None:
        keys = [cache.generation_key(team_slug)]
    else:
        try:
            selector = _selector(ask.get("environment"), ask.get("version"), ask.get("label"))
        except Invalid:
            return []
        keys = cache.pointer_keys(team_slug, slug, selector)
    return [*keys, *grant_keys_of(user_id)]


def resolve(
    user: Any,
    team_slug: str,
    slug: str,
    *,
    environment: str | None = None,
    version: Any = None,
    label: str | None = None,
    compose: Any = True,
    known: dict | None = None,
) -> Resolved:
    """``known``: cache entries this request already read (``warm_keys``). ``compose``:
    the text with what it includes composed in (the default), or, when false, the
    version's own text as written.

    The pointer names both payloads: the version's own (``version_id``) and the
    composed one (``composed``, absent when the version includes nothing). A change to
    a snippet (a deployment, rollback, new version, rename, archive) replaces the
    generation of every team with a prompt that includes it (prompts.cache
    ``forget_prompt_on_commit``), so a warm composed resolve reads exactly what a plain
    one reads."""
    compose = _compose_flag(compose)
    if not (SLUG.match(team_slug) and SLUG.match(slug)):
        # Not an address at all: answer before it becomes a cache key.
        raise NotFound(f"No prompt {team_slug}/{slug}.")
    selector = _selector(environment, version, label)
    # The caller's rights ride along with the pointer: one round trip for both.
    gen, pointer, found = cache.read_pointer(team_slug, slug, selector, grant_keys(user), known)
    if pointer is not None and (pointer["until"] is None or timezone.now() < pointer["until"]):
        if not can_in(user, "view", pointer["team_id"], pointer["prompt_id"], found):
            raise NotFound(f"No prompt {team_slug}/{slug}.")
        key = pointer.get("composed") if compose else None
        payload = cache.payloads.get(key or pointer["version_id"])
        address = pointer.get("address")  # None in a pointer written before it had one
        if payload is not None and address is not None:
            return Resolved(
                {**payload, **address},
                pointer["environment"],
                pointer["prompt_id"],
                pointer["version_id"],
            )
    return _resolve_from_database(user, team_slug, slug, selector, gen, compose)


def _compose_flag(value: Any) -> bool:
    if value in (True, None, "", "true", "1"):
        return True
    if value in (False, "false", "0"):
        return False
    raise Invalid("compose is true or false.", {"field": "compose"})


def _resolve_from_database(
    user: Any, team_slug: str, slug: str, selector: str, gen: Any, compose: bool = True
) -> Resolved:
    gen = cache.current_generation(team_slug, gen)  # taken before reading the database
    prompt = find_prompt(user, team_slug, slug)
    env_slug, version, until, deployment = _pick(prompt, selector)
    payload = version_payload(version)
    cache.payloads.put(version.pk, payload)
    extra: dict[str, Any] = {}
    if has_references(version.kind, version.template, version.messages):
        try:
            # A rollback composes with the snippet versions its deployment recorded.
            composed = compose_version(version, env_slug, pinned_for(deployment))
        except DomainError:
            if compose:
                raise
            # The version's own text is still there to answer; nothing is kept.
            return Resolved({**payload, **address_of(prompt)}, env_slug, prompt.pk, version.pk)
        key = composed.payload_key(version.pk, env_slug)
        composed_answer = composed_payload(payload, composed)
        cache.payloads.put(key, composed_answer)
        extra["composed"] = key
        if composed.until is not None:
            until = composed.until if until is None else min(until, composed.until)
        if compose:
            payload = composed_answer
    address = address_of(prompt)
    seconds = cache.POINTER_SECONDS
    if until is not None:
        seconds = min(seconds, (until - timezone.now()).total_seconds())
    cache.write_pointer(
        team_slug,
        slug,
        selector,
        {
            "gen": gen,
            "until": until,
            "team_id": prompt.team_id,
            "prompt_id": prompt.pk,
            "version_id": version.pk,
            "environment": env_slug,
            "address": address,
            **extra,
        },
        seconds,
    )
    return Resolved({**payload, **address}, env_slug, prompt.pk, version.pk)


def _pick(prompt: Prompt, selector: str) -> tuple[str | None, Version, datetime | None, Any]:
    """(environment slug, version, time until which the answer holds, the deployment
    that made it live: None for a version asked for by number or label)."""
    if selector == "latest":
        if prompt.latest_version is None:
            raise NotFound(f"{prompt.address} has no version.")
        return None, prompt.latest_version, None, None
    if selector.startswith("v:"):
        return None, find_version(prompt, selector[2:]), None, None
    env = find_environment(prompt.team, selector[4:] if selector.startswith("env:") else None)
    now = timezone.now()
    live = live_deployment(prompt, env, now)
    if live is None:
        raise NotFound(f"Nothing of {prompt.address} is live in {env.slug}.", code="not_deployed")
    return env.slug, live.version, next_planned_at(prompt, env, now), live


def render(
    user: Any,
    team_slug: str,
    slug: str,
    values: Any,
    *,
    version: Any = None,
    environment: str | None = None,
) -> dict:
    """Render the version ``resolve`` would pick (or the one asked for) with ``values``,
    what it includes composed in."""
    if values is None:
        values = {}
    resolved = resolve(user, team_slug, slug, environment=environment, version=version)
    return render_payload(resolved, values)


def render_payload(resolved: Resolved, values: Any) -> dict:
    payload = resolved.payload
    filled = templating.resolve_values(payload["variables"], values)
    answer: dict[str, Any] = {"version": payload["version"], "environment": resolved.environment}
    if payload["kind"] == Version.Kind.CHAT:
        answer["messages"] = templating.render_messages(payload["messages"], filled)
    else:
        answer["rendered"] = templating.render_text(payload["template"], filled)
    return answer
