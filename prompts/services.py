"""Every state change of prompts and versions, and the lookups that find them.

Each function takes the acting user first, checks the right through
``accounts.permissions``, runs in one transaction, records who and why in history,
and returns domain objects. Views and API views only call these.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Team
from accounts.permissions import can
from accounts.services import require
from prompts import cache, signals, writing
from prompts.models import Prompt, PromptAddress, Version
from prompts.search import search_document
from registry_site.errors import Conflict, Invalid, NotFound
from registry_site.history import attribute
from webhooks import events

T = TypeVar("T")

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


# ---------------------------------------------------------------- writes


def _deploy_new(actor: Any, prompt: Prompt, version: Version, deploy_to: str | None, force: bool):
    """Deploy a new version in its own transaction when asked to: releases does it."""
    if not deploy_to:
        return
    if not signals.deploy_requested.send(
        sender=Version,
        actor=actor,
        prompt=prompt,
        version=version,
        environment=deploy_to,
        force=force,
    ):
        raise Invalid("Deploying needs the releases app.", {"field": "deploy_to"})


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
    ``releases.services.deploy``)."""
    require(actor, "edit", team, "Only editors create prompts.")
    name = writing.check_text(name, "name", 200, required=True)
    slug = writing.check_slug(slugify(name)[:64].strip("-") if slug in (None, "") else slug)
    description = writing.check_text(description, "description", 10_000)
    tags = writing.check_tags(tags)
    change_note = writing.check_text(change_note, "change_note", 2_000)
    content = writing.version_content(template, messages, variables, config)

    def write() -> Prompt:
        if PromptAddress.objects.filter(team=team, slug=slug).exists():
            raise Conflict(f"{team.slug}/{slug} is taken.", {"field": "slug"})
        now = timezone.now()
        prompt = writing.new_prompt(
            actor,
            team,
            slug=slug,
            name=name,
            description=description,
            tags=tags,
            reason=change_note or "created with version 1",
            now=now,
        )
        version = writing.new_version(
            actor, prompt, number=1, content=content, change_note=change_note, created_at=now
        )
        writing.set_latest(prompt, version)
        _deploy_new(actor, prompt, version, deploy_to, force)
        return prompt

    try:
        return writing.with_retry(write)
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
    ``deploy_to`` in the same transaction (``force`` as in ``releases.services.deploy``)."""
    require(actor, "edit", prompt, "Only editors add versions.")
    change_note = writing.check_text(change_note, "change_note", 2_000)
    content = writing.version_content(template, messages, variables, config)

    def write() -> Version:
        locked = writing.lock(prompt)
        latest = locked.latest_version
        version = writing.new_version(
            actor,
            locked,
            number=(latest.number if latest else 0) + 1,
            content=content,
            change_note=change_note,
        )
        writing.set_latest(
            locked, version, actor=actor, reason=change_note or f"version {version.number} added"
        )
        _deploy_new(actor, locked, version, deploy_to, force)
        return version

    version = writing.with_retry(write)
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
        changes["name"] = writing.check_text(name, "name", 200, required=True)
    if description is not None:
        changes["description"] = writing.check_text(description, "description", 10_000)
    if tags is not None:
        changes["tags"] = writing.check_tags(tags)
    if slug is not None and slug != prompt.slug:
        changes["slug"] = writing.check_slug(slug)
    reason = writing.check_text(reason, "reason", 2_000)

    def write() -> Prompt:
        locked = writing.lock(prompt)
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

    updated = writing.with_retry(write)
    cache.forget_prompt_on_commit(updated)
    return updated


def archive_prompt(actor: Any, prompt: Prompt, reason: str = "", *, force: bool = False) -> Prompt:
    """Take a prompt out of lists, search and resolve; nothing is deleted. The checks
    registered in ``writing.ARCHIVE_CHECKS`` may refuse it (live prompts include it)
    unless ``force``."""
    require(actor, "admin", prompt, "Only team admins archive prompts.")
    return _set_archived(actor, prompt, timezone.now(), reason or "archived", force=force)


def restore_prompt(actor: Any, prompt: Prompt, reason: str = "") -> Prompt:
    require(actor, "admin", prompt, "Only team admins restore prompts.")
    return _set_archived(actor, prompt, None, reason or "restored")


def _set_archived(
    actor: Any, prompt: Prompt, when: Any, reason: str, *, force: bool = False
) -> Prompt:
    def write() -> Prompt:
        locked = writing.lock(prompt)
        if when is not None:
            for check in writing.ARCHIVE_CHECKS:
                check(actor, locked, force)
        locked.archived_at = when
        locked.updated_at = timezone.now()
        attribute(locked, actor, reason)
        locked.save(update_fields=["archived_at", "updated_at"])
        if when is not None:
            events.emit(events.PROMPT_ARCHIVED, team=locked.team, actor=actor, prompt=locked)
        return locked

    updated = writing.with_retry(write)
    cache.forget_prompt_on_commit(updated)
    return updated
