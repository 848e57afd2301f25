"""State changes of teams, memberships and single-prompt grants.

A membership's role is mirrored into guardian: the user joins the group of that team
and role, and each such group holds the role's permissions on its team.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils import timezone
from guardian.shortcuts import assign_perm
from guardian.utils import get_user_obj_perms_model

from accounts.models import (
    ROLE_ORDER,
    Membership,
    Team,
    TeamGroupObjectPermission,
    slug_validator,
)
from accounts.permissions import (
    can,
    forget_grants_on_commit,
    prompt_permissions,
    team_permissions,
    visible,
)
from registry_site.errors import Conflict, Forbidden, Invalid, NotFound
from registry_site.history import attribute

# Sent inside the transaction that creates a team: receivers add to it, or undo it all.
team_created = Signal()


def _check_role(role: str) -> str:
    if role not in ROLE_ORDER:
        raise Invalid(
            f"Role must be one of {', '.join(ROLE_ORDER)}.",
            {"field": "role", "allowed": ROLE_ORDER},
        )
    return role


def role_group(team: Team, role: str) -> Group:
    """The guardian group of a team and role, holding that role's rights on the team."""
    group, created = Group.objects.get_or_create(name=f"team:{team.pk}:{role}")
    if created:
        # guardian's direct foreign-key rows, written at once (assign_perm does one
        # lookup and insert per permission).
        permissions = Permission.objects.filter(
            content_type=ContentType.objects.get_for_model(Team),
            codename__in=team_permissions(role),
        )
        TeamGroupObjectPermission.objects.bulk_create(
            TeamGroupObjectPermission(group=group, permission=p, content_object=team)
            for p in permissions
        )
    return group


def require(actor: Any, action: str, obj: Any, message: str) -> None:
    """Raise Forbidden if the actor may see ``obj`` but not do ``action``; NotFound if
    it may not even see it."""
    if can(actor, action, obj):
        return
    if action != "view" and can(actor, "view", obj):
        raise Forbidden(message, reason="role")
    raise NotFound("No such object.")


@transaction.atomic
def create_team(actor: Any, slug: str, name: str) -> Team:
    if not can(actor, "create_team"):
        raise Forbidden("Only staff may create teams.", reason="staff_only")
    try:
        slug_validator(slug)
    except ValidationError as exc:
        raise Invalid(exc.messages[0], {"field": "slug"}) from None
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise Invalid("A team needs a name of at most 200 characters.", {"field": "name"})
    if Team.objects.filter(slug=slug).exists():
        raise Conflict(f"A team with the slug {slug!r} exists.", {"field": "slug"})
    team = attribute(Team(slug=slug, name=name), actor, "team created")
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        raise Conflict(f"A team with the slug {slug!r} exists.", {"field": "slug"}) from None
    for role in ROLE_ORDER:
        role_group(team, role)
    _save_membership(actor, team, actor, "admin", "created the team")
    # Apps above accounts give a new team what it needs (releases: its environments).
    team_created.send(sender=Team, actor=actor, team=team)
    return team


def find_team(user: Any, team_slug: str) -> Team:
    """The team ``user`` may see by slug; NotFound otherwise, as if it did not exist."""
    team = visible(user, Team.objects.filter(slug=team_slug)).first()
    if team is None:
        raise NotFound(f"No team {team_slug}.")
    return team


def _save_membership(actor: Any, team: Team, user: Any, role: str, reason: str) -> Membership:
    membership = Membership.objects.filter(team=team, user=user).first()
    if membership is None:
        membership = Membership(team=team, user=user, role=role)
    elif membership.role == role:
        return membership
    else:
        membership.role = role
    attribute(membership, actor, reason).save()
    groups = Group.objects.filter(name__startswith=f"team:{team.pk}:")
    user.groups.remove(*groups)
    user.groups.add(role_group(team, role))
    forget_grants_on_commit(user)
    return membership


def _find_user(username: str):
    user = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise NotFound(f"No user named {username!r}.")
    return user


@transaction.atomic
def set_role(actor: Any, team: Team, username: str, role: str) -> Membership:
    require(actor, "admin", team, "Only team admins manage members.")
    _check_role(role)
    user = _find_user(username)
    current = Membership.objects.filter(team=team, user=user).first()
    if current and current.role == "admin" and role != "admin":
        _keep_an_admin(team, user)
    return _save_membership(actor, team, user, role, f"role set to {role}")


@transaction.atomic
def remove_member(actor: Any, team: Team, username: str) -> None:
    require(actor, "admin", team, "Only team admins manage members.")
    user = _find_user(username)
    membership = Membership.objects.filter(team=team, user=user).first()
    if membership is None:
        raise NotFound(f"{username} is not a member of {team.slug}.")
    if membership.role == "admin":
        _keep_an_admin(team, user)
    attribute(membership, actor, "removed from the team")
    membership.delete()
    user.groups.remove(*Group.objects.filter(name__startswith=f"team:{team.pk}:"))
    forget_grants_on_commit(user)


def _keep_an_admin(team: Team, leaving: Any) -> None:
    others = Membership.objects.filter(team=team, role="admin").exclude(user=leaving)
    if not others.exists():
        raise Conflict("A team keeps at least one admin.", {"reason": "last_admin"})


# ---------------------------------------------------------------- single-prompt grants
#
# The prompt comes in as any object with ``team`` and ``updated_at`` (accounts never
# imports the prompts app); guardian finds its direct foreign-key permission model.


@dataclass(frozen=True)
class PromptGrant:
    username: str
    role: str | None  # None: permissions set by hand (the admin) that make no role


def members_of(actor: Any, team: Team) -> QuerySet[Membership]:
    """The team's memberships, for those who see the team as a whole: a grant on one
    prompt shows that prompt, not who works in the team."""
    if not can(actor, "view", team):
        raise NotFound(f"No team {team.slug}.")
    return Membership.objects.filter(team=team)


def _require_grant_admin(actor: Any, prompt: Any) -> None:
    if can(actor, "admin", prompt.team):
        return
    if can(actor, "view", prompt):
        raise Forbidden("Only team admins grant rights on a prompt.", reason="role")
    raise NotFound("No such prompt.")


def grants_on(actor: Any, prompt: Any) -> list[PromptGrant]:
    """Who holds rights on this prompt alone, and which role they make; team admins only."""
    _require_grant_admin(actor, prompt)
    rows = (
        get_user_obj_perms_model(prompt)
        .objects.filter(content_object=prompt, user__is_active=True)
        .values_list("user__username", "permission__codename")
        .order_by("user__username")
    )
    codenames: dict[str, set[str]] = {}
    for username, codename in rows:
        codenames.setdefault(username, set()).add(codename)
    return [PromptGrant(name, _role_of(held)) for name, held in codenames.items()]


def _role_of(codenames: set[str]) -> str | None:
    for role in reversed(ROLE_ORDER):
        if set(prompt_permissions(role)) <= codenames:
            return role
    return None


@transaction.atomic
def grant_on_prompt(actor: Any, prompt: Any, username: str, role: str) -> PromptGrant:
    """Give one user a role's rights on one prompt only (replacing any they had there)."""
    _require_grant_admin(actor, prompt)
    _check_role(role)
    user = _find_user(username)
    _take_grant(user, prompt)
    for codename in prompt_permissions(role):
        assign_perm(f"{prompt._meta.app_label}.{codename}", user, prompt)
    _record(actor, prompt, f"granted {role} on this prompt to {username}")
    forget_grants_on_commit(user)
    return PromptGrant(user.get_username(), role)


@transaction.atomic
def revoke_on_prompt(actor: Any, prompt: Any, username: str) -> None:
    _require_grant_admin(actor, prompt)
    user = _find_user(username)
    if not _take_grant(user, prompt):
        raise NotFound(f"{username} holds no grant on this prompt.")
    _record(actor, prompt, f"revoked the grant of {username} on this prompt")
    forget_grants_on_commit(user)


def _take_grant(user: Any, prompt: Any) -> int:
    """Remove every right the user holds on the prompt alone; how many there were."""
    held = get_user_obj_perms_model(prompt).objects.filter(user=user, content_object=prompt)
    return held.delete()[0]


def _record(actor: Any, prompt: Any, reason: str) -> None:
    """Grants live in guardian's rows, which keep no history: the prompt's history says
    who granted what, when and why, and the audit trail shows it."""
    locked = type(prompt).objects.select_for_update().get(pk=prompt.pk)
    locked.updated_at = timezone.now()
    attribute(locked, actor, reason).save(update_fields=["updated_at"])
