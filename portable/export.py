"""A team's prompts as a tree of files (see ``fileformat``), for git, backups and moves.

Everything a team keeps is exported, archived prompts too: the tree restores the team.
Prompts are read in batches, so the number of queries grows with the number of
batches, not with the number of prompts or versions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from accounts.models import Team
from accounts.services import require
from portable import fileformat as ff
from prompts.models import Prompt, PromptAddress, Version
from releases.environments import environments_of
from releases.live import live_versions

BATCH = 200
Tree = dict[str, bytes]


def export_team(actor: Any, team: Team, *, tick: Callable[[], None] | None = None) -> Tree:
    """``{path: bytes}`` of one team, paths starting with the team's slug."""
    require(actor, "admin", team, "Only team admins export a team.")
    tree: Tree = {f"{team.slug}/{ff.TEAM_FILE}": _team_file(team)}
    for prompt, files in _prompt_files(team):
        for name, text in files.items():
            tree[f"{team.slug}/{prompt.slug}/{name}"] = text.encode()
        if tick:
            tick()
    return tree


def prompt_count(team: Team) -> int:
    return Prompt.objects.filter(team=team).count()


def _team_file(team: Team) -> bytes:
    environments = [
        {field: getattr(env, field) for field in ff.ENVIRONMENT_FIELDS}
        for env in environments_of(team)
    ]
    return ff.team_text(team.name, environments).encode()


def _prompt_files(team: Team) -> Iterator[tuple[Prompt, dict[str, str]]]:
    last_slug = ""
    while True:
        batch = list(Prompt.objects.filter(team=team, slug__gt=last_slug).order_by("slug")[:BATCH])
        if not batch:
            return
        live = live_versions(batch)
        former = _former_slugs(batch)
        versions = _versions(batch)
        for prompt in batch:
            files = {
                ff.PROMPT_FILE: ff.prompt_text(
                    name=prompt.name,
                    description=prompt.description,
                    tags=prompt.tags,
                    environments=live[prompt.pk],
                    archived=prompt.is_archived,
                    former_slugs=former.get(prompt.pk, []),
                )
            }
            for version in versions.get(prompt.pk, []):
                files[ff.version_name(version.number, version.kind)] = ff.version_text(
                    _version_data(version)
                )
            yield prompt, files
        last_slug = batch[-1].slug


def _former_slugs(prompts: list[Prompt]) -> dict[int, list[str]]:
    current = {p.pk: p.slug for p in prompts}
    former: dict[int, list[str]] = {}
    rows = PromptAddress.objects.filter(prompt_id__in=list(current)).values_list(
        "prompt_id", "slug"
    )
    for prompt_id, slug in rows:
        if slug != current[prompt_id]:
            former.setdefault(prompt_id, []).append(slug)
    return former


def _versions(prompts: list[Prompt]) -> dict[int, list[Version]]:
    by_prompt: dict[int, list[Version]] = {}
    rows = (
        Version.objects.filter(prompt_id__in=[p.pk for p in prompts])
        .select_related("author")
        .order_by("prompt_id", "number")
    )
    for version in rows:
        by_prompt.setdefault(version.prompt_id, []).append(version)
    return by_prompt


def _version_data(version: Version) -> dict:
    if version.imported_at is not None:
        # An imported version is written as its files told it, so that export, import
        # and export again give the same bytes.
        author, created_at = version.imported_author or None, version.imported_at
    else:
        author = version.author.get_username() if version.author else None
        created_at = version.created_at
    return {
        "kind": version.kind,
        "template": version.template,
        "messages": version.messages,
        "variables": version.variables,
        "config": version.config,
        "note": version.change_note,
        "author": author,
        "created_at": created_at,
    }
