"""A team's environments and their release rules, managed by the team's admins.

The rules (order, protected, required approvals, live in the previous environment
first) are read by ``releases.policy``; the default environment is what ``resolve``
answers when a caller names none, so every change drops the team's resolve cache
once it commits.

A team always has exactly one default environment: making another one the default
moves the mark in one transaction (the partial unique index ``one_default_environment``
holds at every step), and the default cannot be unmarked or deleted, only moved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, Max, OuterRef, QuerySet

from accounts.models import Team
from accounts.services import require
from prompts import cache, writing
from registry_site.errors import Conflict, Invalid, NotFound
from registry_site.history import attribute
from releases.models import Deployment, Environment

MAX_APPROVALS = 20
MAX_ORDER = 10_000
RULES = (
    "name",
    "order",
    "protected",
    "required_approvals",
    "is_default",
    "requires_previous",
    "required_evaluation",
)
# A dataset's name as evaluations/datasets.py takes it.
DATASET_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
ADMINS_ONLY = "Only team admins manage environments."


DEFAULT_ENVIRONMENTS = [
    # slug, name, protected, required approvals, default
    ("development", "Development", False, 0, False),
    ("staging", "Staging", False, 0, False),
    ("production", "Production", True, 1, True),
]


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


def environments_of(team: Team | int) -> QuerySet[Environment]:
    """The team's (a team or its id) environments in release order: what every list
    of them shows."""
    return Environment.objects.filter(team=team).order_by("order", "slug")


def environments_in_use(team: Team) -> list[Environment]:
    """The team's environments in release order, each marked ``used`` when anything
    was ever deployed to it (what may be deleted without a trace)."""
    used = Deployment.objects.filter(environment=OuterRef("pk"))
    return list(environments_of(team).annotate(used=Exists(used)))


def environments_of_teams(team_ids: Iterable[int]) -> QuerySet[Environment]:
    """The environments of several teams, each team's in release order."""
    return Environment.objects.filter(team_id__in=team_ids).order_by("order", "slug")


# ---------------------------------------------------------------- input checks


def _check_number(value: Any, field: str, highest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= highest:
        raise Invalid(f"{field} is a whole number from 0 to {highest}.", {"field": field})
    return value


def _check_flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(f"{field} is true or false.", {"field": field})
    return value


def check_required_evaluation(value: Any) -> dict | None:
    """{"dataset": name, "min_pass_rate": 0 to 1}, or None: no evaluation required."""
    if value is None:
        return None
    field = "required_evaluation"
    if not isinstance(value, dict) or set(value) != {"dataset", "min_pass_rate"}:
        raise Invalid(f"{field} is {{dataset, min_pass_rate}} or null.", {"field": field})
    dataset, rate = value["dataset"], value["min_pass_rate"]
    if not isinstance(dataset, str) or not DATASET_NAME.match(dataset):
        raise Invalid(f"{field}.dataset is a dataset's name.", {"field": field})
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise Invalid(f"{field}.min_pass_rate is a number from 0 to 1.", {"field": field})
    return {"dataset": dataset, "min_pass_rate": float(rate)}


def _checked(changes: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(RULES))
    if unknown:
        raise Invalid(
            f"Unknown environment field(s): {', '.join(unknown)}.",
            {"field": unknown[0], "unknown": unknown},
        )
    checked: dict[str, Any] = {}
    for field, value in changes.items():
        if field == "name":
            checked[field] = writing.check_text(value, "name", 100, required=True)
        elif field == "order":
            checked[field] = _check_number(value, field, MAX_ORDER)
        elif field == "required_approvals":
            checked[field] = _check_number(value, field, MAX_APPROVALS)
        elif field == "required_evaluation":
            checked[field] = check_required_evaluation(value)
        else:
            checked[field] = _check_flag(value, field)
    return checked


# ---------------------------------------------------------------- writes


def _lock_team_environments(team: Team) -> list[Environment]:
    """Writers of one team's environments take turns (PostgreSQL: row locks; SQLite:
    its immediate transactions), so moving the default never races another move."""
    return list(Environment.objects.select_for_update().filter(team=team).order_by("pk"))


def _take_default(actor: Any, environments: list[Environment], keep: Environment) -> None:
    """Unmark the current default (before ``keep`` is marked, so the index holds)."""
    for env in environments:
        if env.is_default and env.pk != keep.pk:
            env.is_default = False
            attribute(env, actor, f"default moved to {keep.slug}").save()


def create_environment(
    actor: Any, team: Team, *, slug: Any, name: Any = None, reason: str = "", **rules: Any
) -> Environment:
    """A new environment; without an ``order`` it comes last."""
    require(actor, "admin", team, ADMINS_ONLY)
    slug = writing.check_slug(slug)
    rules = _checked({"name": slug.capitalize() if name is None else name, **rules})
    reason = writing.check_text(reason, "reason", 2_000)

    def write() -> Environment:
        current = _lock_team_environments(team)
        if any(env.slug == slug for env in current):
            raise Conflict(f"{team.slug} already has an environment {slug}.", {"field": "slug"})
        if "order" not in rules:
            highest = Environment.objects.filter(team=team).aggregate(top=Max("order"))["top"]
            rules["order"] = min(MAX_ORDER, (highest if highest is not None else -1) + 1)
        env = Environment(team=team, slug=slug, **rules)
        if env.is_default:
            _take_default(actor, current, env)
        elif not any(e.is_default for e in current):
            env.is_default = True  # a team without a default gets one
        attribute(env, actor, reason or f"environment {slug} added").save()
        cache.forget_team_on_commit(team)
        return env

    return _conflict_on_duplicate(write, team, slug)


def update_environment(
    actor: Any, environment: Environment, *, reason: str = "", **changes: Any
) -> Environment:
    """Change an environment's name or rules; its slug, which callers use, stays."""
    team = environment.team
    require(actor, "admin", team, ADMINS_ONLY)
    changes = _checked(changes)
    reason = writing.check_text(reason, "reason", 2_000)

    def write() -> Environment:
        current = _lock_team_environments(team)
        env = next((e for e in current if e.pk == environment.pk), None)
        if env is None:
            raise Conflict(f"{environment.slug} was deleted meanwhile.", {"reason": "deleted"})
        if env.is_default and changes.get("is_default") is False:
            raise Conflict(
                f"{env.slug} is the default environment; make another one the default instead.",
                {"field": "is_default", "reason": "default_required"},
            )
        if changes.get("is_default") and not env.is_default:
            _take_default(actor, current, env)
        changed = sorted(f for f, v in changes.items() if getattr(env, f) != v)
        for field, value in changes.items():
            setattr(env, field, value)
        if changed:
            attribute(env, actor, reason or f"changed {', '.join(changed)}").save()
            cache.forget_team_on_commit(team)
        env.team = team
        return env

    return writing.with_retry(write)


def delete_environment(actor: Any, environment: Environment, reason: str = "") -> None:
    """Remove an environment nothing was ever deployed to; the release log never loses
    an entry, so one with deployments stays."""
    team = environment.team
    require(actor, "admin", team, ADMINS_ONLY)
    reason = writing.check_text(reason, "reason", 2_000)

    def write() -> None:
        current = _lock_team_environments(team)
        env = next((e for e in current if e.pk == environment.pk), None)
        if env is None:
            return
        if env.is_default:
            raise Conflict(
                f"{env.slug} is the default environment; make another one the default first.",
                {"reason": "default_required"},
            )
        if Deployment.objects.filter(environment=env).exists():
            raise Conflict(
                f"{env.slug} has deployments; its release log stays, so it cannot be deleted.",
                {"reason": "in_use"},
            )
        attribute(env, actor, reason or f"environment {env.slug} deleted").delete()
        cache.forget_team_on_commit(team)

    writing.with_retry(write)


def _conflict_on_duplicate(write: Any, team: Team, slug: str) -> Environment:
    """A racing creator of the same slug loses on the unique index: a conflict, not a 500."""
    try:
        return writing.with_retry(write)
    except Conflict as exc:
        if exc.details.get("reason") != "concurrent_write":
            raise
        raise Conflict(
            f"{team.slug} already has an environment {slug}.", {"field": "slug"}
        ) from None
