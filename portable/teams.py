"""The teams an import writes into: found or created, their environments matched."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from accounts import services as accounts
from accounts.models import Team
from accounts.permissions import can
from portable.wording import REASON
from registry_site.errors import Invalid
from releases import environments


def target_team(actor: Any, slug: str, data: dict | None) -> Team:
    team = Team.objects.filter(slug=slug).first()
    if team is not None:
        accounts.require(actor, "admin", team, "Only team admins import prompts.")
        if data:
            with transaction.atomic():
                add_missing_environments(actor, team, data["environments"])
        return team
    if not can(actor, "create_team"):
        raise Invalid(f"There is no team {slug}; staff can create it, or import into another.")
    with transaction.atomic():
        team = accounts.create_team(actor, slug, (data or {}).get("name") or slug)
        if data and data["environments"]:
            match_environments(actor, team, data["environments"])
    return team


def rules_of(env: dict) -> dict:
    return {k: v for k, v in env.items() if k in environments.RULES}


def add_missing_environments(actor: Any, team: Team, wanted: list[dict]) -> None:
    existing = {env.slug for env in environments.environments_of(team)}
    for env in wanted:
        if env["slug"] not in existing:
            rules = {**rules_of(env), "is_default": False}  # the team's default stays
            environments.create_environment(actor, team, slug=env["slug"], reason=REASON, **rules)


def match_environments(actor: Any, team: Team, wanted: list[dict]) -> None:
    """A team the import just created gets exactly the environments of the files.
    The default one goes first, so the team has a default at every step."""
    current = {e.slug: e for e in environments.environments_of(team)}
    for env in sorted(wanted, key=lambda e: not e.get("is_default", False)):
        if env["slug"] in current:
            environments.update_environment(
                actor, current[env["slug"]], reason=REASON, **rules_of(env)
            )
        else:
            environments.create_environment(
                actor, team, slug=env["slug"], reason=REASON, **rules_of(env)
            )
    keep = {env["slug"] for env in wanted}
    for slug in set(current) - keep:
        # Read again: making another one the default changed this row meanwhile.
        fresh = environments.find_environment(team, slug)
        environments.delete_environment(actor, fresh, REASON)
