"""Deploying versions to environments, planned releases and rollback.

Which deployment is live is derived from the rows, never stored: the latest one by
``effective_at`` that is due and not cancelled. Writers of one prompt take turns on
the prompt's row lock, so the release log is a clean sequence.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from accounts.permissions import can
from accounts.services import require
from prompts import cache
from prompts.models import Comment, Deployment, Environment, Prompt, Version
from registry_site.errors import Conflict, Forbidden, Invalid, NotFound
from registry_site.history import attribute
from webhooks import events


def live_deployment(
    prompt: Prompt, environment: Environment, at: datetime | None = None
) -> Deployment | None:
    return (
        Deployment.objects.filter(
            prompt=prompt,
            environment=environment,
            cancelled_at__isnull=True,
            effective_at__lte=at or timezone.now(),
        )
        .select_related("version")
        .order_by("-effective_at", "-id")
        .first()
    )


def next_planned_at(
    prompt: Prompt, environment: Environment, at: datetime | None = None
) -> datetime | None:
    """When the next planned deployment takes over (caches must not outlive it)."""
    return (
        Deployment.objects.filter(
            prompt=prompt,
            environment=environment,
            cancelled_at__isnull=True,
            effective_at__gt=at or timezone.now(),
        )
        .order_by("effective_at")
        .values_list("effective_at", flat=True)
        .first()
    )


def _live_rows(prompt_ids: list[int], at: datetime | None):
    """The live deployment of every (prompt, environment) pair, one row each: a window
    over the due deployments, so the cost does not grow with the release log's length
    beyond what the index serves."""
    ranked = Window(
        RowNumber(),
        partition_by=[F("prompt_id"), F("environment_id")],
        order_by=[F("effective_at").desc(), F("id").desc()],
    )
    return (
        Deployment.objects.filter(
            prompt_id__in=prompt_ids,
            cancelled_at__isnull=True,
            effective_at__lte=at or timezone.now(),
        )
        .annotate(rank=ranked)
        .filter(rank=1)
    )


def live_versions(prompts: list[Prompt], at: datetime | None = None) -> dict[int, dict[str, int]]:
    """{prompt id: {environment slug: live version number}} for many prompts in one query."""
    live: dict[int, dict[str, int]] = {p.pk: {} for p in prompts}
    rows = _live_rows([p.pk for p in prompts], at).values_list(
        "prompt_id", "environment__slug", "version__number"
    )
    for prompt_id, env_slug, number in rows:
        live[prompt_id][env_slug] = number
    return live


def approvals(version: Version) -> int:
    """Reviewers whose latest verdict on the version is approve; the author's own
    verdicts never count."""
    from prompts.review import latest_verdicts

    latest = latest_verdicts(version)
    return sum(1 for verdict in latest.values() if verdict == Comment.Verdict.APPROVE)


def check_policy(
    actor: Any,
    prompt: Prompt,
    environment: Environment,
    version: Version,
    *,
    rollback: bool = False,
) -> None:
    """Raise Forbidden naming the rule when ``actor`` may not make ``version`` live."""
    if not can(actor, "deploy", prompt):
        raise Forbidden("Only editors deploy.", reason="role")
    if not environment.protected:
        return
    if not can(actor, "review", prompt):
        raise Forbidden(
            f"Only reviewers deploy to {environment.slug}, a protected environment.",
            reason="protected_environment",
        )
    if rollback:
        return
    have = approvals(version)
    if have < environment.required_approvals:
        raise Forbidden(
            f"{environment.slug} needs {environment.required_approvals} approval(s) from "
            f"someone other than the author; version {version.number} has {have}.",
            reason="approvals_required",
            details={"required": environment.required_approvals, "approvals": have},
        )


def _record(
    actor: Any,
    prompt: Prompt,
    environment: Environment,
    version: Version,
    *,
    kind: str,
    when: datetime | None,
    note: str,
) -> Deployment:
    now = timezone.now()
    planned = when is not None and when > now
    deployment = Deployment(
        prompt=prompt,
        environment=environment,
        version=version,
        kind=kind,
        effective_at=when if planned else now,
        scheduled_for=when if planned else None,
        activated_at=None if planned else now,
        actor=actor,
        note=note,
        created_at=now,
    )
    reason = note or f"{kind} version {version.number} to {environment.slug}"
    attribute(deployment, actor, reason).save()
    cache.forget_prompt_on_commit(prompt)
    if not planned:
        announce(deployment)
    return deployment


def announce(deployment: Deployment) -> None:
    """Queue the event of a deployment that is live now (at once, or when a planned one
    is materialized)."""
    kind = (
        events.DEPLOYMENT_ROLLED_BACK
        if deployment.kind == Deployment.Kind.ROLLBACK
        else events.DEPLOYMENT_ACTIVATED
    )
    events.emit(
        kind,
        team=deployment.prompt.team,
        actor=deployment.actor,
        prompt=deployment.prompt,
        version=deployment.version,
        environment=deployment.environment,
        data={"deployment": deployment.pk, "note": deployment.note},
    )


def deploy(
    actor: Any,
    prompt: Prompt,
    environment: Environment,
    version: Version,
    *,
    when: datetime | None = None,
    note: str = "",
) -> Deployment:
    """Make ``version`` live in ``environment`` now, or at ``when``."""
    from prompts.services import _lock, _with_retry

    require(actor, "view", prompt, "")
    if environment.team_id != prompt.team_id:
        raise NotFound(f"No environment {environment.slug} in {prompt.team.slug}.")
    if version.prompt_id != prompt.pk:
        raise NotFound(f"{prompt.address} has no such version.")
    if when is not None and timezone.is_naive(when):
        raise Invalid("A planned time needs a time zone.", {"field": "scheduled_for"})
    if not isinstance(note, str) or len(note) > 2000 or "\x00" in note:
        raise Invalid("A note is text of at most 2000 characters.", {"field": "note"})
    check_policy(actor, prompt, environment, version)

    def write() -> Deployment:
        locked = _lock(prompt)
        return _record(
            actor, locked, environment, version, kind=Deployment.Kind.DEPLOY, when=when, note=note
        )

    return _with_retry(write)


def rollback(actor: Any, prompt: Prompt, environment: Environment, note: str = "") -> Deployment:
    """Make the version that was live before the current one live again."""
    from prompts.services import _lock, _with_retry

    require(actor, "view", prompt, "")
    if environment.team_id != prompt.team_id:
        raise NotFound(f"No environment {environment.slug} in {prompt.team.slug}.")

    def write() -> Deployment:
        locked = _lock(prompt)
        past = list(
            Deployment.objects.filter(
                prompt=locked,
                environment=environment,
                cancelled_at__isnull=True,
                effective_at__lte=timezone.now(),
            )
            .select_related("version")
            .order_by("-effective_at", "-id")[:50]
        )
        if not past:
            raise Conflict(
                f"Nothing is live in {environment.slug} to roll back.", {"reason": "not_deployed"}
            )
        current = past[0].version
        previous = next((d.version for d in past[1:] if d.version_id != current.pk), None)
        if previous is None:
            raise Conflict(
                f"No earlier version was live in {environment.slug}.", {"reason": "no_previous"}
            )
        check_policy(actor, locked, environment, previous, rollback=True)
        return _record(
            actor,
            locked,
            environment,
            previous,
            kind=Deployment.Kind.ROLLBACK,
            when=None,
            note=note or f"rolled back from version {current.number}",
        )

    return _with_retry(write)


def cancel(actor: Any, deployment: Deployment) -> Deployment:
    """Cancel a planned deployment before its time."""
    from prompts.services import _lock, _with_retry

    prompt = deployment.prompt
    check_policy(actor, prompt, deployment.environment, deployment.version, rollback=True)

    def write() -> Deployment:
        _lock(prompt)
        fresh = Deployment.objects.get(pk=deployment.pk)
        if fresh.cancelled_at is not None or fresh.effective_at <= timezone.now():
            raise Conflict("Only a planned deployment can be cancelled.", {"reason": "not_planned"})
        fresh.cancelled_at = timezone.now()
        attribute(fresh, actor, "planned deployment cancelled").save()
        cache.forget_prompt_on_commit(prompt)
        return fresh

    return _with_retry(write)


def state_of(deployment: Deployment, live_ids: set[int], at: datetime | None = None) -> str:
    if deployment.cancelled_at is not None:
        return "cancelled"
    if deployment.effective_at > (at or timezone.now()):
        return "planned"
    return "active" if deployment.pk in live_ids else "superseded"


def live_ids(prompt: Prompt, at: datetime | None = None) -> set[int]:
    """Ids of the deployments live now, one per environment, in one query."""
    return set(_live_rows([prompt.pk], at).values_list("id", flat=True))


def history(prompt: Prompt, environment: Environment | None = None) -> list[Deployment]:
    query = Q(prompt=prompt) & (Q(environment=environment) if environment else Q())
    return list(
        Deployment.objects.filter(query)
        .select_related("environment", "version", "actor")
        .order_by("-effective_at", "-id")
    )
