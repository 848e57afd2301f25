"""Every state change of prompts, versions and environments.

Each function takes the acting user first, checks the right through
``accounts.permissions``, runs in one transaction, records who and why in history,
and returns domain objects. Views and API views only call these.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import SLUG_PATTERN, Team
from accounts.permissions import can, visible
from accounts.services import require
from prompts import cache, templating
from prompts.models import Environment, Prompt, PromptAddress, Version
from prompts.search import search_document
from registry_site.errors import Conflict, Invalid, NotFound
from registry_site.history import attribute
from webhooks import events

T = TypeVar("T")

DEFAULT_ENVIRONMENTS = [
    # slug, name, protected, required approvals, default
    ("development", "Development", False, 0, False),
    ("staging", "Staging", False, 0, False),
    ("production", "Production", True, 1, True),
]
MAX_TAGS = 20
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,39}$")
WRITE_ATTEMPTS = 5


def create_default_environments(actor: Any, team: Team) -> list[Environment]:
    environments = []
    for order, (slug, name, protected, approvals, default) in enumerate(DEFAULT_ENVIRONMENTS):
        env = Environment(
            team=team,
            slug=slug,
            name=name,
            order=order,
            protected=protected,
            required_approvals=approvals,
            is_default=default,
        )
        attribute(env, actor, "default environment").save()
        environments.append(env)
    return environments


# ---------------------------------------------------------------- lookups


def find_prompt(user: Any, team_slug: str, slug: str, *, archived: bool = False) -> Prompt:
    """The prompt at ``team/slug`` (current or former slug) that ``user`` may see.

    Anything the user may not see is NotFound, exactly like what does not exist.
    """
    address = (
        PromptAddress.objects.filter(team__slug=team_slug, slug=slug)
        .select_related("prompt__team", "prompt__latest_version")
        .first()
    )
    prompt = address.prompt if address else None
    if prompt is None or (prompt.is_archived and not archived):
        raise NotFound(f"No prompt {team_slug}/{slug}.")
    if not can(user, "view", prompt):
        raise NotFound(f"No prompt {team_slug}/{slug}.")
    return prompt


def find_prompt_or_archived(user: Any, team_slug: str, slug: str) -> Prompt:
    """``find_prompt``, and an archived prompt too for those who may restore it (team
    admins, or an admin grant on it), so it can be found and brought back. To anyone
    else an archived prompt is NotFound, as if it were gone."""
    prompt = find_prompt(user, team_slug, slug, archived=True)
    if prompt.is_archived and not can(user, "admin", prompt):
        raise NotFound(f"No prompt {team_slug}/{slug}.")
    return prompt


def find_team(user: Any, team_slug: str) -> Team:
    team = visible(user, Team.objects.filter(slug=team_slug)).first()
    if team is None:
        raise NotFound(f"No team {team_slug}.")
    return team


def find_environment(team: Team, slug: str | None) -> Environment:
    """An environment of the team by slug, or the team's default one."""
    environments = Environment.objects.filter(team=team)
    env = (
        environments.filter(slug=slug).first()
        if slug
        else environments.filter(is_default=True).first()
    )
    if env is None:
        raise NotFound(
            f"No environment {slug or '(default)'} in {team.slug}.", code="environment_not_found"
        )
    return env


def find_version(prompt: Prompt, number: Any) -> Version:
    try:
        number = int(number)
    except (TypeError, ValueError):
        raise Invalid("A version number is a positive integer.", {"field": "version"}) from None
    version = Version.objects.filter(prompt=prompt, number=number).first() if number > 0 else None
    if version is None:
        raise NotFound(f"{prompt.address} has no version {number}.")
    version.prompt = prompt
    return version


# ---------------------------------------------------------------- input checks


def _check_slug(slug: Any) -> str:
    if not isinstance(slug, str) or not re.match(SLUG_PATTERN, slug):
        raise Invalid(
            "A slug is 1 to 64 lowercase letters, digits or hyphens, not starting with a hyphen.",
            {"field": "slug"},
        )
    return slug


def _check_text(value: Any, field: str, limit: int, *, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{field} must be text.", {"field": field})
    if "\x00" in value:
        raise Invalid(f"{field} must not contain NUL characters.", {"field": field})
    value = value.strip() if field == "name" else value
    if required and not value:
        raise Invalid(f"{field} is required.", {"field": field})
    if len(value) > limit:
        raise Invalid(f"{field} is longer than {limit} characters.", {"field": field})
    return value


def _check_tags(tags: Any) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise Invalid("tags must be a list of strings.", {"field": "tags"})
    cleaned = sorted({t.strip().lower() for t in tags if t.strip()})
    bad = [t for t in cleaned if not TAG_PATTERN.match(t)]
    if bad:
        raise Invalid(
            "A tag is up to 40 lowercase letters, digits, '-', '_', '.' or ':'.",
            {"field": "tags", "invalid": bad},
        )
    if len(cleaned) > MAX_TAGS:
        raise Invalid(f"At most {MAX_TAGS} tags.", {"field": "tags"})
    return cleaned


def _check_config(config: Any) -> dict:
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise Invalid("config must be a JSON object.", {"field": "config"})
    try:
        encoded = json.dumps(config, allow_nan=False)
    except (TypeError, ValueError):
        raise Invalid("config must be plain JSON.", {"field": "config"}) from None
    if "\\u0000" in encoded:
        raise Invalid("config must not contain NUL characters.", {"field": "config"})
    if len(encoded) > 100_000:
        raise Invalid("config is larger than 100 kB.", {"field": "config"})
    return config


def content_hash(kind: str, template: str, messages: list, variables: list, config: dict) -> str:
    canonical = json.dumps(
        {
            "kind": kind,
            "template": template,
            "messages": messages,
            "variables": variables,
            "config": config,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _version_content(template: Any, messages: Any, variables: Any, config: Any) -> dict:
    """Validate a version's content; returns the fields of the version row."""
    if messages is not None and template not in (None, ""):
        raise Invalid("Give a template or chat messages, not both.", {"field": "messages"})
    if messages is not None:
        kind = Version.Kind.CHAT
        detected = templating.check_messages(messages)
        messages = [{"role": m["role"], "content": m["content"]} for m in messages]
        template = ""
    else:
        kind = Version.Kind.TEXT
        if not isinstance(template, str) or not template.strip():
            raise Invalid("A template is required.", {"field": "template"})
        detected = templating.check(template)
        messages = []
    merged = templating.merge_variables(variables or [], detected)
    config = _check_config(config)
    return {
        "kind": kind,
        "template": template,
        "messages": messages,
        "variables": merged,
        "config": config,
        "content_hash": content_hash(kind, template, messages, merged, config),
    }


# ---------------------------------------------------------------- writes


def _with_retry(write: Callable[[], T]) -> T:
    """Run a write transaction, retrying a few times when a concurrent writer won.

    PostgreSQL serializes writers of one prompt with a row lock; SQLite with
    immediate transactions. Both can still give up under heavy contention (a busy
    database, a racing insert), and a short retry is what the caller would do anyway.
    Inside an outer transaction a retry cannot help, so the conflict is reported at once.
    """
    attempts = 1 if connection.in_atomic_block else WRITE_ATTEMPTS
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                return write()
        except (IntegrityError, OperationalError) as exc:
            if isinstance(exc, OperationalError) and not _is_contention(exc):
                raise
            if attempt == attempts - 1:
                raise Conflict(
                    "The prompt changed at the same time; try again.",
                    {"reason": "concurrent_write"},
                ) from exc
            time.sleep(0.02 * (2**attempt))
    raise AssertionError("unreachable")


def _is_contention(exc: OperationalError) -> bool:
    text = str(exc).lower()
    return any(word in text for word in ("locked", "deadlock", "could not serialize", "busy"))


def _lock(prompt: Prompt) -> Prompt:
    """Re-read the prompt row with a lock, so writers of one prompt take turns.

    No join here: on PostgreSQL a joined row would come from the snapshot taken before
    the lock was granted, so the latest version is read afterwards, by its own query.
    """
    locked = Prompt.objects.select_for_update().get(pk=prompt.pk)
    locked.team = prompt.team
    return locked


def create_prompt(
    actor: Any,
    team: Team,
    *,
    name: str,
    slug: str | None = None,
    description: str = "",
    tags: list[str] | None = None,
    template: str | None = None,
    messages: list | None = None,
    variables: list | None = None,
    config: dict | None = None,
    change_note: str = "",
    deploy_to: str | None = None,
    force: bool = False,
) -> Prompt:
    """A new prompt with its version 1 (optionally deployed at once; ``force`` as in
    ``deployments.deploy``)."""
    require(actor, "edit", team, "Only editors create prompts.")
    name = _check_text(name, "name", 200, required=True)
    slug = _check_slug(slugify(name)[:64].strip("-") if slug in (None, "") else slug)
    description = _check_text(description, "description", 10_000)
    tags = _check_tags(tags)
    change_note = _check_text(change_note, "change_note", 2_000)
    content = _version_content(template, messages, variables, config)
    environment = find_environment(team, deploy_to) if deploy_to else None

    def write() -> Prompt:
        if PromptAddress.objects.filter(team=team, slug=slug).exists():
            raise Conflict(f"{team.slug}/{slug} is taken.", {"field": "slug"})
        now = timezone.now()
        prompt = Prompt(
            team=team,
            slug=slug,
            name=name,
            description=description,
            tags=tags,
            author=actor,
            updated_at=now,
        )
        attribute(prompt, actor, change_note or "created with version 1").save()
        # The unique (team, slug) index turns a racing duplicate into a conflict.
        PromptAddress.objects.create(team=team, slug=slug, prompt=prompt)
        version = Version.objects.create(
            prompt=prompt,
            number=1,
            author=actor,
            change_note=change_note,
            created_at=now,
            **content,
        )
        # The pointer is not part of history; the creation record already says it all.
        prompt.latest_version = version
        prompt.search_text = search_document(prompt, version)
        prompt.skip_history_when_saving = True
        prompt.save(update_fields=["latest_version", "search_text"])
        del prompt.skip_history_when_saving
        events.emit(events.VERSION_CREATED, team=team, actor=actor, prompt=prompt, version=version)
        if environment is not None:
            from prompts.deployments import deploy

            deploy(actor, prompt, environment, version, force=force)
        return prompt

    try:
        return _with_retry(write)
    except Conflict as exc:
        if exc.details.get("reason") == "concurrent_write":
            raise Conflict(f"{team.slug}/{slug} is taken.", {"field": "slug"}) from None
        raise


def add_version(
    actor: Any,
    prompt: Prompt,
    *,
    template: str | None = None,
    messages: list | None = None,
    variables: list | None = None,
    config: dict | None = None,
    change_note: str = "",
    deploy_to: str | None = None,
    force: bool = False,
) -> Version:
    """The prompt's next version, numbered without gap or duplicate; deployed to
    ``deploy_to`` in the same transaction (``force`` as in ``deployments.deploy``)."""
    require(actor, "edit", prompt, "Only editors add versions.")
    change_note = _check_text(change_note, "change_note", 2_000)
    content = _version_content(template, messages, variables, config)
    environment = find_environment(prompt.team, deploy_to) if deploy_to else None

    def write() -> Version:
        locked = _lock(prompt)
        latest = locked.latest_version
        version = Version.objects.create(
            prompt=locked,
            number=(latest.number if latest else 0) + 1,
            author=actor,
            change_note=change_note,
            **content,
        )
        locked.latest_version = version
        locked.updated_at = version.created_at
        locked.search_text = search_document(locked, version)
        attribute(locked, actor, change_note or f"version {version.number} added")
        locked.save(update_fields=["latest_version", "updated_at", "search_text"])
        events.emit(
            events.VERSION_CREATED, team=locked.team, actor=actor, prompt=locked, version=version
        )
        if environment is not None:
            from prompts.deployments import deploy

            deploy(actor, locked, environment, version, force=force)
        return version

    version = _with_retry(write)
    prompt.latest_version = version
    prompt.updated_at = version.created_at
    cache.forget_prompt_on_commit(prompt)
    return version


def update_prompt(
    actor: Any,
    prompt: Prompt,
    *,
    name: str | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    slug: str | None = None,
    reason: str = "",
) -> Prompt:
    """Change a prompt's metadata, or rename it; never adds a version.

    A renamed prompt keeps answering at its old address, which stays reserved.
    """
    require(actor, "edit", prompt, "Only editors change prompts.")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = _check_text(name, "name", 200, required=True)
    if description is not None:
        changes["description"] = _check_text(description, "description", 10_000)
    if tags is not None:
        changes["tags"] = _check_tags(tags)
    if slug is not None and slug != prompt.slug:
        changes["slug"] = _check_slug(slug)
    reason = _check_text(reason, "reason", 2_000)

    def write() -> Prompt:
        locked = _lock(prompt)
        new_slug = changes.get("slug")
        if new_slug:
            owner = PromptAddress.objects.filter(team=locked.team, slug=new_slug).first()
            if owner and owner.prompt_id != locked.pk:
                raise Conflict(f"{locked.team.slug}/{new_slug} is taken.", {"field": "slug"})
            if owner is None:
                PromptAddress.objects.create(team=locked.team, slug=new_slug, prompt=locked)
        for field, value in changes.items():
            setattr(locked, field, value)
        if changes:
            locked.search_text = search_document(locked, locked.latest_version)
        locked.updated_at = timezone.now()
        what = ", ".join(sorted(changes)) or "nothing"
        attribute(
            locked, actor, reason or (f"renamed to {new_slug}" if new_slug else f"changed {what}")
        )
        locked.save()
        return locked

    updated = _with_retry(write)
    cache.forget_prompt_on_commit(updated)
    return updated


def archive_prompt(actor: Any, prompt: Prompt, reason: str = "") -> Prompt:
    """Take a prompt out of lists, search and resolve; nothing is deleted."""
    require(actor, "admin", prompt, "Only team admins archive prompts.")
    return _set_archived(actor, prompt, timezone.now(), reason or "archived")


def restore_prompt(actor: Any, prompt: Prompt, reason: str = "") -> Prompt:
    require(actor, "admin", prompt, "Only team admins restore prompts.")
    return _set_archived(actor, prompt, None, reason or "restored")


def _set_archived(actor: Any, prompt: Prompt, when: Any, reason: str) -> Prompt:
    def write() -> Prompt:
        locked = _lock(prompt)
        locked.archived_at = when
        locked.updated_at = timezone.now()
        attribute(locked, actor, reason)
        locked.save(update_fields=["archived_at", "updated_at"])
        if when is not None:
            events.emit(events.PROMPT_ARCHIVED, team=locked.team, actor=actor, prompt=locked)
        return locked

    updated = _with_retry(write)
    cache.forget_prompt_on_commit(updated)
    return updated
