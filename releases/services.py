"""Deploying versions to environments, planned releases and rollback.

Which deployment is live is derived from the rows, never stored: the latest one by
``effective_at`` that is due and not cancelled. Writers of one prompt take turns on
the prompt's row lock, so the release log is a clean sequence. Who may release what
is ``releases.policy``'s answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.services import require
from prompts import cache, writing
from prompts.models import Prompt, Version
from registry_site.errors import Conflict, Invalid, NotFound
from registry_site.history import attribute
from releases import recording
from releases.models import Deployment, Environment
from releases.policy import check_breaking, check_policy
from webhooks import events

# How far back a rollback looks for the version to bring back.
ROLLBACK_DEPTH = 50
ACTIVATE_BATCH = 200


def record_deployment(
    actor: Any,
    prompt: Prompt,
    environment: Environment,
    version: Version,
    *,
    kind: str = Deployment.Kind.DEPLOY,
    when: datetime | None = None,
    note: str = "",
    exact_graph: dict | None = None,
    dependencies: list | None = None,
) -> Deployment:
    """The one writer of deployment rows: live now (and announced), or planned for
    ``when``. It asks nothing: ``deploy`` and ``rollback`` have checked the policy
    under the prompt's lock; the importer restores what its files say was live.

    A deployment live now records the snippet versions its version takes
    (``releases.recording``); given ``exact_graph`` (a rollback bringing back what a
    deployment had), it composes with that graph for as long as it is live."""
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
        exact=exact_graph is not None,
        graph=exact_graph,
        dependencies=list(dependencies or []) if exact_graph is not None else [],
    )
    if not planned:
        recording.record_graph(deployment)
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
        data=lambda: {
            "deployment": deployment.pk,
            "note": deployment.note,
            **recording.announcement_data(deployment),
        },
    )


def deploy(
    actor: Any,
    prompt: Prompt,
    environment: Environment,
    version: Version,
    *,
    when: datetime | None = None,
    note: str = "",
    force: bool = False,
) -> Deployment:
    """Make ``version`` live in ``environment`` now, or at ``when``.

    ``force`` confirms a breaking change: the version requires a variable that the
    version it replaces did not, so callers must already send it.
    """

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
        locked = writing.lock(prompt)
        if not force:
            # Under the lock: the version it replaces is the one live when it goes live
            # (a time already past means now, as for record_deployment).
            now = timezone.now()
            at = when if when and when > now else now
            check_breaking(locked, environment, version, at, actor=actor)
        return record_deployment(
            actor, locked, environment, version, kind=Deployment.Kind.DEPLOY, when=when, note=note
        )

    return writing.with_retry(write)


def rollback(actor: Any, prompt: Prompt, environment: Environment, note: str = "") -> Deployment:
    """Make the version that was live before the current one live again. The breaking
    change guard does not apply: callers of that version worked a moment ago."""

    require(actor, "view", prompt, "")
    if environment.team_id != prompt.team_id:
        raise NotFound(f"No environment {environment.slug} in {prompt.team.slug}.")

    def write() -> Deployment:
        locked = writing.lock(prompt)
        past = list(
            Deployment.objects.filter(
                prompt=locked,
                environment=environment,
                cancelled_at__isnull=True,
                effective_at__lte=timezone.now(),
            )
            .select_related("version")
            .order_by("-effective_at", "-id")[:ROLLBACK_DEPTH]
        )
        if not past:
            raise Conflict(
                f"Nothing is live in {environment.slug} to roll back.", {"reason": "not_deployed"}
            )
        # The first that differs from the live one (releases.live.previous_version).
        back = next((d for d in past[1:] if d.version_id != past[0].version_id), None)
        if back is None:
            raise Conflict(
                f"No earlier version was live in {environment.slug}.", {"reason": "no_previous"}
            )
        check_policy(actor, locked, environment, back.version, rollback=True)
        # The exact composed text it had: its graph, when one was recorded; otherwise
        # (deployed before graphs were kept) the snippets are followed again.
        return record_deployment(
            actor,
            locked,
            environment,
            back.version,
            kind=Deployment.Kind.ROLLBACK,
            when=None,
            note=note or f"rolled back from version {past[0].version.number}",
            exact_graph=back.graph,
            dependencies=back.dependencies,
        )

    return writing.with_retry(write)


def cancel(actor: Any, deployment: Deployment) -> Deployment:
    """Cancel a planned deployment before its time."""

    prompt = deployment.prompt
    check_policy(actor, prompt, deployment.environment, deployment.version, rollback=True)

    def write() -> Deployment:
        writing.lock(prompt)
        fresh = Deployment.objects.get(pk=deployment.pk)
        if fresh.cancelled_at is not None or fresh.effective_at <= timezone.now():
            raise Conflict("Only a planned deployment can be cancelled.", {"reason": "not_planned"})
        fresh.cancelled_at = timezone.now()
        attribute(fresh, actor, "planned deployment cancelled").save()
        cache.forget_prompt_on_commit(prompt)
        return fresh

    return writing.with_retry(write)


def history(prompt: Prompt, environment: Environment | None = None) -> QuerySet[Deployment]:
    """The release log, newest first; a queryset, so pages fetch only what they show."""
    query = Q(prompt=prompt) & (Q(environment=environment) if environment else Q())
    return (
        Deployment.objects.filter(query)
        .select_related("environment", "version", "actor")
        .defer("version__template", "version__messages", "version__config", "version__variables")
        .order_by("-effective_at", "-id")
    )


def find_deployment(prompt: Prompt, deployment_id: Any) -> Deployment:
    try:
        pk = int(deployment_id)
    except (TypeError, ValueError):
        pk = 0
    found = (
        Deployment.objects.filter(prompt=prompt, pk=pk)
        .select_related("environment", "version", "actor")
        .first()
        if 0 < pk < 2**63
        else None
    )
    if found is None:
        raise NotFound(f"{prompt.address} has no deployment {deployment_id}.")
    found.prompt = prompt
    return found


# ---------------------------------------------------------------- planned releases


def activate_due(now: datetime | None = None) -> list[Deployment]:
    """Mark the planned deployments whose time has come as activated, and announce each.

    Nothing depends on this for what is live (that is derived from ``effective_at``);
    it is what tells other systems. Each deployment is claimed by a conditional update,
    so processes running this at once announce every deployment exactly once.
    """
    now = now or timezone.now()
    activated: list[Deployment] = []
    while True:
        due = list(
            Deployment.objects.filter(
                activated_at__isnull=True, cancelled_at__isnull=True, effective_at__lte=now
            )
            .order_by("effective_at", "id")
            .values_list("pk", flat=True)[:ACTIVATE_BATCH]
        )
        claimed = [d for d in (_activate(pk, now) for pk in due) if d is not None]
        activated += claimed
        if len(due) < ACTIVATE_BATCH or not claimed:
            return activated


def _activate(pk: int, now: datetime) -> Deployment | None:
    with transaction.atomic():
        claimed = Deployment.objects.filter(
            pk=pk, activated_at__isnull=True, cancelled_at__isnull=True
        ).update(activated_at=now)
        if not claimed:
            return None  # another process got it first, or it was cancelled meanwhile
        deployment = Deployment.objects.select_related(
            "prompt__team", "environment", "version", "actor"
        ).get(pk=pk)
        # The claim bypassed history; this save records it, by nobody in particular.
        attribute(deployment, None, "planned deployment went live")
        recording.record_graph(deployment)  # what it takes now that it is announced
        deployment.save(update_fields=["activated_at", "graph", "dependencies"])
        announce(deployment)
        return deployment
