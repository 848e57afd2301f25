"""The release policy: who may make which version live in which environment.

Every refusal names its rule in ``details.reason``, so the API, the pages and the
people reading them can tell a missing role from a missing approval:

* ``role``: deploying needs an editor's rights on the prompt;
* ``protected_environment``: a protected environment takes releases from reviewers only;
* ``approvals_required``: the version lacks approvals from people other than its author;
* ``previous_environment``: the version was never live in the environment before this one;
* ``evaluation_required``: the environment requires a passing evaluation of the
  version (asked of the checks registered with ``register_release_check``);
* ``breaking_change`` (409): the version needs a variable the live one did not, and
  nobody confirmed that callers send it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from accounts.permissions import can
from prompts.models import Prompt, Version
from registry_site.errors import Conflict, Forbidden
from releases.live import live_deployment
from releases.models import Deployment, Environment
from reviews.services import approvals_of

# Rules that apps above releases add to the policy at start-up (evaluations registers
# the required evaluation): each gets (prompt, environment, version) and raises
# Forbidden to refuse. Releases asks them without importing those apps.
ReleaseCheck = Callable[[Prompt, Environment, Version], None]
RELEASE_CHECKS: list[ReleaseCheck] = []


def register_release_check(check: ReleaseCheck) -> None:
    if check not in RELEASE_CHECKS:
        RELEASE_CHECKS.append(check)


# Prompts whose callers a release breaks besides the prompt's own (composition: the
# prompts that include it): each gets (actor, prompt, environment, version) and answers
# [{"address", "environment", "variables"}] for those the actor may see, and
# {"hidden": True, "variables"} for any others; the breaking-change guard names them.
BreakingCheck = Callable[[Any, Prompt, Environment, Version], list[dict]]
BREAKING_CHECKS: list[BreakingCheck] = []


def register_breaking_check(check: BreakingCheck) -> None:
    if check not in BREAKING_CHECKS:
        BREAKING_CHECKS.append(check)


class BreakingChange(Conflict):
    """The version requires variables that callers of the live version never had to send."""

    code = "breaking_change"

    def __init__(
        self, message: str, variables: list[str], dependents: list[dict] | None = None
    ) -> None:
        details: dict[str, Any] = {"reason": "breaking_change", "variables": variables}
        if dependents:
            details["dependents"] = dependents
        super().__init__(message, details)
        self.variables = variables
        self.dependents = dependents or []


def approvals(version: Version) -> int:
    """Reviewers whose latest verdict on the version is approve; the author's own
    verdicts never count."""
    return approvals_of([version])[version.pk]


def may_release_to(actor: Any, prompt: Prompt, environment: Environment) -> bool:
    """The role part of the policy alone: may ``actor`` release anything there at all?"""
    if not can(actor, "deploy", prompt):
        return False
    return not environment.protected or can(actor, "review", prompt)


def previous_environment(environment: Environment) -> Environment | None:
    """The environment just before this one in the team's release order (order, slug)."""
    earlier = Q(order__lt=environment.order) | Q(order=environment.order, slug__lt=environment.slug)
    return (
        Environment.objects.filter(earlier, team_id=environment.team_id)
        .order_by("-order", "-slug")
        .first()
    )


def was_live(prompt: Prompt, environment: Environment, version: Version) -> bool:
    """Has ``version`` ever been live in ``environment`` (a due, not cancelled deployment)?"""
    return Deployment.objects.filter(
        prompt=prompt,
        environment=environment,
        version=version,
        cancelled_at__isnull=True,
        effective_at__lte=timezone.now(),
    ).exists()


def check_policy(
    actor: Any,
    prompt: Prompt,
    environment: Environment,
    version: Version,
    *,
    rollback: bool = False,
) -> None:
    """Raise Forbidden naming the rule when ``actor`` may not make ``version`` live.

    A rollback (and the cancelling of a plan) needs the role alone: it brings back what
    the rules already let through once, and must work when an incident is on.
    """
    if not can(actor, "deploy", prompt):
        raise Forbidden("Only editors deploy.", reason="role")
    if environment.protected and not can(actor, "review", prompt):
        raise Forbidden(
            f"Only reviewers deploy to {environment.slug}, a protected environment.",
            reason="protected_environment",
        )
    if rollback:
        return
    if environment.required_approvals:
        have = approvals(version)
        if have < environment.required_approvals:
            raise Forbidden(
                f"{environment.slug} needs {environment.required_approvals} approval(s) from "
                f"someone other than the author; version {version.number} has {have}.",
                reason="approvals_required",
                details={"required": environment.required_approvals, "approvals": have},
            )
    if environment.requires_previous:
        before = previous_environment(environment)
        if before is not None and not was_live(prompt, before, version):
            raise Forbidden(
                f"{environment.slug} takes only versions that were live in {before.slug} first; "
                f"version {version.number} never was.",
                reason="previous_environment",
                details={"previous": before.slug},
            )
    for check in RELEASE_CHECKS:
        check(prompt, environment, version)


def _required(variables: list[dict]) -> set[str]:
    """Names a caller must send: required and without a default."""
    return {
        v["name"] for v in variables or [] if v.get("required", True) and v.get("default") is None
    }


def newly_required(variables: list[dict], before: list[dict]) -> list[str]:
    """Names ``variables`` require that ``before`` did not: what callers never sent."""
    return sorted(_required(variables) - _required(before))


def breaking_variables(version: Version, live: Version | None) -> list[str]:
    """Variables ``version`` requires that callers of ``live`` never had to send."""
    if live is None or live.pk == version.pk:
        return []
    return newly_required(version.variables, live.variables)


def check_breaking(
    prompt: Prompt,
    environment: Environment,
    version: Version,
    at: datetime | None,
    *,
    actor: Any = None,
) -> None:
    """Refuse a release that would make the callers of ``environment`` fail: its own,
    and those of the prompts that take it from there (``BREAKING_CHECKS``)."""
    live = live_deployment(prompt, environment, at)
    names = breaking_variables(version, live.version if live else None)
    dependents = [
        d for check in BREAKING_CHECKS for d in check(actor, prompt, environment, version)
    ]
    if not names and not dependents:
        return
    parts = []
    if names:
        parts.append(
            f"Version {version.number} requires {', '.join(names)}, which version "
            f"{live.version.number} (live in {environment.slug}) did not: callers that do "
            f"not send {'it' if len(names) == 1 else 'them'} will fail."
        )
    if dependents:
        named = "; ".join(
            f"{d['address']} in {d['environment']} (needs {', '.join(d['variables'])})"
            if not d.get("hidden")
            else "prompts you cannot see"
            for d in dependents
        )
        parts.append(
            f"Prompts that include {prompt.address} would need variables their callers "
            f"never sent: {named}."
        )
    raise BreakingChange(" ".join(parts), names, dependents)
