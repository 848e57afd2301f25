"""Who includes a prompt: the prompts (that the caller may see) with a version that
includes it, and which of their versions that matter (the latest, those live) do.
A page costs the same few queries whatever the number of prompts and versions."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from accounts.permissions import visible
from composition.models import Reference
from prompts.models import Prompt
from releases.live import live_version_ids


def dependents_of(user: Any, prompt: Prompt) -> QuerySet[Prompt]:
    """Prompts, not archived, ``user`` may see, that include ``prompt`` by any version."""
    including = Reference.objects.filter(target=prompt).values("version__prompt_id")
    return (
        visible(user, Prompt.objects.filter(pk__in=including, archived_at__isnull=True))
        .select_related("team")
        .order_by("team__slug", "slug")
    )


def describe(target: Prompt, prompts: list[Prompt]) -> list[dict]:
    """For each prompt: its address and name, and its latest and live versions that
    include ``target``, each with the references as written."""
    live = live_version_ids([p.pk for p in prompts])
    wanted: dict[int, dict] = {}
    for prompt in prompts:
        for version_id in [prompt.latest_version_id, *live[prompt.pk].values()]:
            if version_id is not None:
                wanted.setdefault(version_id, {"latest": False, "environments": []})
        if prompt.latest_version_id is not None:
            wanted[prompt.latest_version_id]["latest"] = True
        for environment, version_id in sorted(live[prompt.pk].items()):
            wanted[version_id]["environments"].append(environment)
    rows = Reference.objects.filter(target=target, version_id__in=list(wanted)).values_list(
        "version_id", "version__number", "version__prompt_id", "written"
    )
    versions: dict[int, dict[int, dict]] = {}
    for version_id, number, prompt_id, written in rows.order_by("-version__number", "written"):
        entry = versions.setdefault(prompt_id, {}).setdefault(
            version_id, {"version": number, **wanted[version_id], "references": []}
        )
        entry["references"].append(written)
    return [
        {
            "address": prompt.address,
            "name": prompt.name,
            "versions": list(versions.get(prompt.pk, {}).values()),
        }
        for prompt in prompts
    ]
