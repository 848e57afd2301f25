"""What is live: the reads every page, endpoint and the fetch path ask of releases.

Which deployment is live is derived, never stored (see releases.models.Deployment):
the one with the latest ``effective_at`` that is due and not cancelled.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from prompts.models import Prompt, Version
from releases.models import Deployment, Environment

ROLLBACK_DEPTH = 50


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


def live_rows(prompt_ids: list[int], at: datetime | None = None):
    """The live deployments of these prompts, one per environment (a queryset)."""
    return _live_rows(prompt_ids, at)


def live_versions(prompts: list[Prompt], at: datetime | None = None) -> dict[int, dict[str, int]]:
    """{prompt id: {environment slug: live version number}} for many prompts in one query."""
    live: dict[int, dict[str, int]] = {p.pk: {} for p in prompts}
    rows = _live_rows([p.pk for p in prompts], at).values_list(
        "prompt_id", "environment__slug", "version__number"
    )
    for prompt_id, env_slug, number in rows:
        live[prompt_id][env_slug] = number
    return live


def previous_version(versions: list[Version]) -> Version | None:
    """Given the versions of the due deployments, newest first: the one a rollback brings
    back, the first that differs from the live one."""
    if not versions:
        return None
    return next((v for v in versions[1:] if v.pk != versions[0].pk), None)


def rollback_targets(prompt: Prompt, at: datetime | None = None) -> dict[int, Version]:
    """{environment id: the version a rollback there would bring back}, in one query."""
    ranked = Window(
        RowNumber(),
        partition_by=[F("environment_id")],
        order_by=[F("effective_at").desc(), F("id").desc()],
    )
    rows = (
        Deployment.objects.filter(
            prompt=prompt, cancelled_at__isnull=True, effective_at__lte=at or timezone.now()
        )
        .annotate(rank=ranked)
        .filter(rank__lte=ROLLBACK_DEPTH)
        .select_related("version")
        .defer("version__template", "version__messages", "version__config", "version__variables")
        .order_by("environment_id", "rank")
    )
    by_environment: dict[int, list[Version]] = {}
    for deployment in rows:
        by_environment.setdefault(deployment.environment_id, []).append(deployment.version)
    targets = {env_id: previous_version(versions) for env_id, versions in by_environment.items()}
    return {env_id: version for env_id, version in targets.items() if version is not None}


def state_of(deployment: Deployment, live_ids: set[int], at: datetime | None = None) -> str:
    if deployment.cancelled_at is not None:
        return "cancelled"
    if deployment.effective_at > (at or timezone.now()):
        return "planned"
    return "active" if deployment.pk in live_ids else "superseded"


def live_ids(prompt: Prompt, at: datetime | None = None) -> set[int]:
    """Ids of the deployments live now, one per environment, in one query."""
    return set(_live_rows([prompt.pk], at).values_list("id", flat=True))


def live_in(prompt: Prompt, environment_slug: str, at: datetime | None = None) -> Version | None:
    """The version of ``prompt`` live in its team's environment ``environment_slug``
    (None: nothing, or no such environment), in one query."""
    deployment = (
        Deployment.objects.filter(
            prompt=prompt,
            environment__team_id=prompt.team_id,
            environment__slug=environment_slug,
            cancelled_at__isnull=True,
            effective_at__lte=at or timezone.now(),
        )
        .select_related("version")
        .order_by("-effective_at", "-id")
        .first()
    )
    return deployment.version if deployment is not None else None


def next_planned_in(
    prompt: Prompt, environment_slug: str, at: datetime | None = None
) -> datetime | None:
    """When the next planned deployment of ``prompt`` in its team's environment
    ``environment_slug`` takes over (caches of what includes it must not outlive it)."""
    return (
        Deployment.objects.filter(
            prompt=prompt,
            environment__team_id=prompt.team_id,
            environment__slug=environment_slug,
            cancelled_at__isnull=True,
            effective_at__gt=at or timezone.now(),
        )
        .order_by("effective_at")
        .values_list("effective_at", flat=True)
        .first()
    )


def live_version_ids(
    prompt_ids: list[int], at: datetime | None = None
) -> dict[int, dict[str, int]]:
    """{prompt id: {environment slug: live version id}} for many prompts in one query."""
    live: dict[int, dict[str, int]] = {pk: {} for pk in prompt_ids}
    rows = _live_rows(prompt_ids, at).values_list("prompt_id", "environment__slug", "version_id")
    for prompt_id, env_slug, version_id in rows:
        live[prompt_id][env_slug] = version_id
    return live


def live_version_ids_in_order(
    prompt_ids: list[int], at: datetime | None = None
) -> dict[int, dict[str, int]]:
    """``live_version_ids``, each prompt's environments in its team's release order."""
    live: dict[int, dict[str, int]] = {pk: {} for pk in prompt_ids}
    rows = (
        _live_rows(prompt_ids, at)
        .order_by("environment__order", "environment__slug")
        .values_list("prompt_id", "environment__slug", "version_id")
    )
    for prompt_id, env_slug, version_id in rows:
        live[prompt_id][env_slug] = version_id
    return live
