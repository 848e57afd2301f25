"""Finding prompts: one restricted, filtered queryset for the API list and the pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.permissions import visible
from prompts.models import Prompt, Usage

MAX_QUERY = 200


def find_prompts(
    user: Any,
    *,
    q: str | None = None,
    tags: list[str] | None = None,
    team: str | None = None,
    archived: bool = False,
    unused_days: int | None = None,
) -> QuerySet:
    """Prompts ``user`` may see, matching every filter given, in a stable order.

    ``unused_days``: only prompts nobody fetched in that many days (candidates to archive).
    """
    prompts = visible(user, Prompt.objects.filter(archived_at__isnull=not archived))
    if unused_days is not None:
        since = timezone.now().date() - timedelta(days=unused_days)
        fetched = Usage.objects.filter(day__gte=since).values("prompt_id")
        prompts = prompts.exclude(pk__in=fetched)
    if team:
        prompts = prompts.filter(team__slug=team)
    if tags:
        prompts = prompts.filter(_any_tag(tags))
    if q and q.strip():
        prompts = _matching(prompts, q.strip()[:MAX_QUERY])
    return prompts.select_related("team", "latest_version").order_by("team_id", "slug")


def _any_tag(tags: list[str]) -> Q:
    condition = Q()
    for tag in {t.strip().lower() for t in tags if t.strip()}:
        if connection.vendor == "postgresql":
            condition |= Q(tags__contains=[tag])  # jsonb containment, served by a GIN index
        else:
            # Tags are validated to hold no quote, so the quoted form matches exactly.
            condition |= Q(tags__icontains=f'"{tag}"')
    return condition


def _matching(prompts: QuerySet, q: str) -> QuerySet:
    return prompts.filter(
        Q(name__icontains=q)
        | Q(description__icontains=q)
        | Q(slug__icontains=q)
        | Q(latest_version__template__icontains=q)
    )
