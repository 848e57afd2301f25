"""Who may do what: the one place that answers it.

Every page, endpoint, service and admin screen asks one of two questions:

* ``can(user, action, obj)`` — may this user do ``action`` on ``obj``?
* ``visible(user, queryset)`` — the part of ``queryset`` this user may see.

Team roles reach us through guardian group permissions on the team; single-prompt
grants through guardian permissions on the prompt. ``visible`` filters with
subqueries over guardian's tables, so its cost grows with a user's teams, not with
the number of prompts. A token (see accounts.tokens) narrows its user's rights to
its scopes and team; it never widens them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Model, Q, QuerySet

from accounts.models import Role, Team, TeamGroupObjectPermission, TeamUserObjectPermission
from registry_site.commit import now_and_after_commit
from registry_site.memo import Memo, ensure_generation, new_generation

# action -> (permission on the team, permission on a single prompt)
ACTIONS: dict[str, tuple[str, str]] = {
    "view": ("view_prompts", "view_prompt"),
    "edit": ("edit_prompts", "edit_prompt"),
    "deploy": ("deploy_prompts", "deploy_prompt"),
    "review": ("review_prompts", "review_prompt"),
    "admin": ("admin_team", "admin_prompt"),
}

# Each role includes the rights of the one before it.
ROLE_ACTIONS: dict[str, list[str]] = {
    Role.VIEWER: ["view"],
    Role.EDITOR: ["view", "edit", "deploy"],
    Role.REVIEWER: ["view", "edit", "deploy", "review"],
    Role.ADMIN: ["view", "edit", "deploy", "review", "admin"],
}

GRANTS_SECONDS = 3600
# Rights of recent users, held in this process; trusted only under their generation.
_held = Memo(4096)

# Which token scope an action needs.
SCOPE_OF_ACTION = {
    "view": "read",
    "edit": "write",
    "review": "write",
    "admin": "write",
    "deploy": "deploy",
}


class _Grantable:
    """The model whose rows are granted one by one (a prompt) and guardian's direct
    permission models for it; the app that owns it registers them (see register_grants)."""

    model: Any = None
    by_user: Any = None
    by_group: Any = None


_grantable = _Grantable()


def register_grants(model: type[Model], by_user: type[Model], by_group: type[Model]) -> None:
    """Called by the app that owns the grantable model when it is ready."""
    _grantable.model, _grantable.by_user, _grantable.by_group = model, by_user, by_group


def team_permissions(role: str) -> list[str]:
    return [ACTIONS[action][0] for action in ROLE_ACTIONS[role]]


def prompt_permissions(role: str) -> list[str]:
    return [ACTIONS[action][1] for action in ROLE_ACTIONS[role]]


def _active(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def _token(user: Any):
    """The token a request authenticated with, if any (set by the API's authentication)."""
    return getattr(user, "registry_token", None)


def _scope(obj: Model) -> tuple[int, int | None]:
    """(team id, prompt id or None) of any object that lives in a team: the model says
    how it reaches them (``permission_paths``), so this module names no model above it."""
    team_path, prompt_path = _paths(type(obj))
    return _follow(obj, team_path), _follow(obj, prompt_path) if prompt_path else None


def _follow(obj: Any, path: str) -> Any:
    """The value at a lookup path such as ``version__prompt__team_id``."""
    for name in path.split("__"):
        obj = getattr(obj, name)
    return obj


def _token_allows(user: Any, action: str, team_id: int) -> bool:
    token = _token(user)
    if token is None:
        return True
    if token.team_id is not None and token.team_id != team_id:
        return False
    return SCOPE_OF_ACTION[action] in token.scopes


def can(user: Any, action: str, obj: Model | None = None) -> bool:
    """May ``user`` do ``action`` on ``obj``? Actions: view, edit, deploy, review, admin,
    and create_team (no object)."""
    if not _active(user):
        return False
    if action == "create_team":
        token = _token(user)
        return (user.is_staff or user.is_superuser) and (
            token is None or (token.team_id is None and "write" in token.scopes)
        )
    team_id, prompt_id = _scope(obj)
    return can_in(user, action, team_id, prompt_id)


def can_in(
    user: Any, action: str, team_id: int, prompt_id: int | None, known: dict | None = None
) -> bool:
    """``can`` for an object known by its ids (the fetch path builds no model object).
    ``known``: cache entries the caller already read, including those of
    ``grant_keys(user)``, so the check costs no round trip of its own."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if not _active(user) or not _token_allows(user, action, team_id):
        return False
    if user.is_superuser:
        return True
    team_perm, prompt_perm = ACTIONS[action]
    grants = _grants(user, known)
    if team_perm in grants["teams"].get(team_id, set()):
        return True
    return prompt_id is not None and prompt_perm in grants["prompts"].get(prompt_id, set())


def grant_keys(user: Any) -> list[str]:
    """The cache keys of a user's rights: a hot path reads them together with its own
    keys in one round trip and hands them to ``can_in(..., known=...)``. With the rights
    already held in this process, only their generation is read."""
    if not _active(user):
        return []
    return grant_keys_of(user.pk)


def grant_keys_of(user_id: int) -> list[str]:
    """``grant_keys`` for a user known by id only (before the user is loaded)."""
    gen_key, key = _grant_keys_of(user_id)
    return [gen_key] if _held.get(key) is not None else [gen_key, key]


def _grant_keys(user: Any) -> tuple[str, str]:
    return _grant_keys_of(user.pk)


def _grant_keys_of(user_id: int) -> tuple[str, str]:
    return f"aclgen:{user_id}", f"acl:{user_id}"


def _grants(user: Any, known: dict | None = None) -> dict[str, dict[int, set[str]]]:
    """All of a user's object permissions: {"teams": {id: codenames}, "prompts": {...}}.

    Kept in the shared cache (and in this process) under a generation token that every
    change of the user's rights replaces after commit (see forget_grants_on_commit); a
    warm check reads the token alone, no table, and a changed role counts at once.
    """
    gen_key, key = _grant_keys(user)
    if known is None or gen_key not in known:
        known = cache.get_many(grant_keys(user))
    gen = known.get(gen_key)
    if gen is not None:
        held = _held.get(key)
        if held is not None and held["gen"] == gen:
            return held
        shared = known[key] if key in known else cache.get(key)
        if shared is not None and shared["gen"] == gen:
            _held.put(key, shared)
            return shared
    grants = {
        "gen": gen if gen is not None else ensure_generation(gen_key),
        "teams": _load_grants(user, TeamGroupObjectPermission, TeamUserObjectPermission),
    }
    grants["prompts"] = _load_grants(user, _grantable.by_group, _grantable.by_user)
    cache.set(key, grants, GRANTS_SECONDS)
    _held.put(key, grants)
    return grants


def _load_grants(user: Any, by_group_model: Any, direct_model: Any) -> dict[int, set[str]]:
    by_group = by_group_model.objects.filter(group__user=user).values_list(
        "content_object_id", "permission__codename"
    )
    direct = direct_model.objects.filter(user=user).values_list(
        "content_object_id", "permission__codename"
    )
    found: dict[int, set[str]] = {}
    for object_id, codename in by_group.union(direct, all=True):
        found.setdefault(object_id, set()).add(codename)
    return found


def forget_grants_on_commit(user: Any) -> None:
    """After commit, the user's cached rights are no longer trusted."""
    gen_key, _ = _grant_keys(user)
    now_and_after_commit(lambda: new_generation(gen_key))


def teams_where(user: Any, action: str = "view") -> QuerySet:
    """A subquery of the ids of teams where ``user`` may do ``action`` team-wide."""
    codename = ACTIONS[action][0]
    by_group = TeamGroupObjectPermission.objects.filter(
        group__user=user, permission__codename=codename
    ).values("content_object_id")
    direct = TeamUserObjectPermission.objects.filter(
        user=user, permission__codename=codename
    ).values("content_object_id")
    ids = Team.objects.filter(Q(pk__in=by_group) | Q(pk__in=direct))
    token = _token(user)
    if token is not None:
        if SCOPE_OF_ACTION[action] not in token.scopes:
            return Team.objects.none().values("pk")
        if token.team_id is not None:
            ids = ids.filter(pk=token.team_id)
    return ids.values("pk")


def _paths(model: type[Model]) -> tuple[str, str | None]:
    """How to reach (team id, prompt id) from a model, as lookup paths: every model that
    lives in a team declares ``permission_paths``."""
    paths = getattr(model, "permission_paths", None)
    if paths is None:
        raise TypeError(f"no visibility rule for {model.__name__}")
    return paths


def visible(user: Any, queryset: QuerySet, action: str = "view") -> QuerySet:
    """Restrict ``queryset`` to what ``user`` may see (or do ``action`` on).

    The ids of the user's teams and granted prompts come from their cached rights (read
    from guardian's tables, see ``_grants``) and go into the query as lists: the planner
    then knows how few they are and walks the team and primary-key indexes, so the cost
    grows with the user's teams and grants, never with the number of prompts. (As
    subqueries, "team in (…) OR id in (…)" made PostgreSQL test every prompt row.)
    """
    if not _active(user):
        return queryset.none()
    if user.is_superuser and _token(user) is None:
        return queryset
    team_path, prompt_path = _paths(queryset.model)
    token = _token(user)
    if token is not None and SCOPE_OF_ACTION[action] not in token.scopes:
        return queryset.none()
    if user.is_superuser:
        if token.team_id is None:
            return queryset
        return queryset.filter(**{team_path: token.team_id})
    team_ids, prompt_ids = _ids_where(user, action)
    narrowed = Q(**{team_path: token.team_id}) if token and token.team_id else Q()
    condition = Q(**{f"{team_path}__in": team_ids})
    if prompt_ids and prompt_path is not None:
        condition |= Q(**{f"{prompt_path}__in": prompt_ids})
    elif prompt_ids:
        # Someone granted one prompt may see its team and environments, nothing more.
        granted = _grantable.model.objects.order_by().filter(pk__in=prompt_ids)
        teams_of_grants = granted.values("team_id")
        condition |= Q(**{f"{team_path}__in": teams_of_grants})
    return queryset.filter(condition & narrowed)


def _ids_where(user: Any, action: str) -> tuple[list[int], list[int]]:
    """(ids of teams where ``user`` may do ``action`` team-wide, ids of prompts granted
    for it one by one), sorted, from the user's cached rights."""
    team_perm, prompt_perm = ACTIONS[action]
    grants = _grants(user)
    teams = sorted(t for t, codenames in grants["teams"].items() if team_perm in codenames)
    prompts = sorted(p for p, codenames in grants["prompts"].items() if prompt_perm in codenames)
    return teams, prompts


def people_who_may(action: str, obj: Model) -> QuerySet:
    """The active users who may do ``action`` on ``obj`` through a team role or a grant
    on its prompt (superusers only where they hold one): the people a form may offer,
    e.g. the reviewers one can ask. One query, as a subquery over guardian's tables."""
    team_id, prompt_id = _scope(obj)
    team_perm, prompt_perm = ACTIONS[action]
    groups = TeamGroupObjectPermission.objects.filter(
        content_object_id=team_id, permission__codename=team_perm
    ).values("group_id")
    direct = TeamUserObjectPermission.objects.filter(
        content_object_id=team_id, permission__codename=team_perm
    ).values("user_id")
    condition = Q(groups__in=groups) | Q(pk__in=direct)
    if prompt_id is not None:
        condition |= Q(
            groups__in=_grantable.by_group.objects.filter(
                content_object_id=prompt_id, permission__codename=prompt_perm
            ).values("group_id")
        ) | Q(
            pk__in=_grantable.by_user.objects.filter(
                content_object_id=prompt_id, permission__codename=prompt_perm
            ).values("user_id")
        )
    users = get_user_model().objects
    return users.filter(is_active=True, pk__in=users.filter(condition).values("pk"))


def forget_grants_of(user_ids: Iterable[int]) -> None:
    """``forget_grants_on_commit`` for users known by id, e.g. every member of a group."""
    keys = [_grant_keys_of(user_id)[0] for user_id in set(user_ids)]
    if keys:
        now_and_after_commit(lambda: [new_generation(key) for key in keys])
