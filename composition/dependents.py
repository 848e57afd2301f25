"""Who includes a prompt: its dependents, by version and environment.

``dependents_of(actor, prompt)`` reads what a snippet's page lists: every prompt the
actor may see whose versions include the snippet, which of those versions do (and how,
as written), and where those versions are live. What the actor may not see is neither
listed nor counted. Two queries whatever the number of dependents (the references,
the live versions), the list bounded by ``MAX_REFERENCES``.

``live_dependents(prompt)`` answers who would break if the snippet went away: the
prompts whose live versions include it, for everyone (archiving refuses on it).

``dependent_prompts`` and ``describe`` answer the API's paginated list: the prompts,
then for one page of them their latest and live versions that include the snippet.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from accounts.permissions import visible
from composition.models import Reference
from prompts.models import Prompt
from releases.live import live_version_ids, live_version_ids_in_order

MAX_REFERENCES = 500  # a page lists this many including versions at most


@dataclass
class Including:
    """One version of a dependent that includes the snippet."""

    number: int
    written: list[str]  # the references as written, e.g. ["support/safety@production"]
    live_in: list[str] = field(default_factory=list)  # environment slugs, release order


@dataclass
class Dependent:
    prompt: Prompt
    versions: list[Including] = field(default_factory=list)

    @property
    def address(self) -> str:
        return self.prompt.address

    @property
    def live_in(self) -> list[str]:
        """Every environment where a version of it that includes the snippet is live."""
        return [env for v in self.versions for env in v.live_in]


def _references(prompt: Prompt):
    return (
        Reference.objects.filter(target=prompt, version__prompt__archived_at__isnull=True)
        .select_related("version__prompt__team")
        .only(
            "written",
            "version__number",
            "version__prompt__slug",
            "version__prompt__name",
            "version__prompt__team__slug",
            "version__prompt__team_id",
            "version__prompt__archived_at",
        )
        .order_by("version__prompt__team__slug", "version__prompt__slug", "-version__number")
    )


def _group(rows, live: dict[int, dict[str, int]]) -> list[Dependent]:
    by_prompt: dict[int, Dependent] = {}
    by_version: dict[int, Including] = {}
    for row in rows:
        version = row.version
        parent = version.prompt
        dependent = by_prompt.setdefault(parent.pk, Dependent(parent))
        including = by_version.get(version.pk)
        if including is None:
            envs = [e for e, vid in live.get(parent.pk, {}).items() if vid == version.pk]
            including = by_version[version.pk] = Including(version.number, [], envs)
            dependent.versions.append(including)
        including.written.append(row.written)
    return list(by_prompt.values())


def dependents_of(actor: Any, prompt: Prompt) -> list[Dependent]:
    """The prompts ``actor`` may see that include ``prompt``, by address; each with its
    including versions, newest first, and where each is live."""
    rows = list(visible(actor, _references(prompt))[:MAX_REFERENCES])
    if not rows:
        return []
    parents = {row.version.prompt_id for row in rows}
    return _group(rows, live_version_ids_in_order(sorted(parents)))


def live_dependents(prompt: Prompt) -> list[Dependent]:
    """Every prompt (whoever may see it) with a version live somewhere that includes
    ``prompt``, with only those live versions."""
    parents = set(
        Reference.objects.filter(target=prompt, version__prompt__archived_at__isnull=True)
        .values_list("version__prompt_id", flat=True)
        .distinct()
    )
    if not parents:
        return []
    live = live_version_ids_in_order(sorted(parents))
    live_ids = {vid for envs in live.values() for vid in envs.values()}
    rows = list(_references(prompt).filter(version_id__in=live_ids)[:MAX_REFERENCES])
    return _group(rows, live)


# ------------------------------------------------------------------ the API's list


def dependent_prompts(user: Any, prompt: Prompt) -> QuerySet[Prompt]:
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
