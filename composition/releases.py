"""Composition's part in releases: the graph a deployment records, the graph an exact
deployment composes with, and the dependents a snippet's deployment changed.

Releases asks through ``releases.recording`` (registered in ``hooks.register``).
Serving composes a live deployment with ``compose(version, environment,
pinned=pinned_for(deployment))``.
"""

from __future__ import annotations

from composition.errors import MAX_LEVELS, CompositionFailed
from composition.models import Reference
from composition.services import compose
from prompts.models import Version
from releases.live import live_rows, live_version_ids
from releases.models import Deployment

EVERY = "*"  # in a set of environments: composing in any environment changes


def pinned_for(deployment: Deployment | None) -> dict[int, int] | None:
    """The graph to compose ``deployment`` with (``compose(..., pinned=...)``): the one
    it recorded when it is exact (a rollback), else None (it follows its snippets)."""
    if deployment is None or not deployment.exact or deployment.graph is None:
        return None
    return {int(k): int(v) for k, v in deployment.graph.items()}


def graph_of(deployment: Deployment) -> tuple[dict, list] | None:
    """What ``deployment``'s version takes in its environment now: ({"<snippet prompt
    id>": version id}, [{prompt_id, version_id, address, version, environment}]); None
    when it does not compose there (a snippet not live in that environment, archived)."""
    version = deployment.version
    if "include" not in (version.template or "") and not any(
        "include" in (m.get("content") or "") for m in version.messages or []
    ):
        return {}, []
    try:
        composed = compose(version, deployment.environment.slug, pinned_for(deployment))
    except CompositionFailed:
        return None
    parts = {
        (v.prompt.address, v.number): v
        for v in Version.objects.filter(pk__in=composed.version_ids).select_related("prompt__team")
    }
    dependencies = []
    for dependency in composed.dependencies:
        part = parts.get((dependency["address"], dependency["version"]))
        dependencies.append(
            {
                "prompt_id": part.prompt_id if part else None,
                "version_id": part.pk if part else None,
                **dependency,
            }
        )
    return {str(k): v for k, v in composed.graph.items()}, dependencies


def changed_dependents(deployment: Deployment) -> dict:
    """``{"dependents": [{"prompt": address, "environments": [slugs]}]}``: the prompts
    whose live composed text this deployment of a snippet changed, and where.

    A parent changes in environment Y when its version live in Y (a deployment that
    follows its snippets, not an exact one) takes the snippet from the environment
    deployed to: ``"team/slug"`` with Y of the same slug, ``"team/slug@env"`` naming it,
    or through other snippets that do (any depth, two queries per level)."""
    snippet = deployment.prompt_id
    slug = deployment.environment.slug
    if _unchanged(deployment):
        return {"dependents": []}
    # {version id: environments (slugs being resolved) in which its composed text changed}
    changes: dict[int, set[str]] = {}
    changed_prompts = {snippet}
    owners: dict[int, int] = {}  # version id -> prompt id
    for level in range(MAX_LEVELS):
        rows = list(
            Reference.objects.filter(target_id__in=changed_prompts).values_list(
                "version_id", "version__prompt_id", "target_id", "pinned_id", "environment"
            )
        )
        if not rows:
            break
        live = live_version_ids(list({r[2] for r in rows})) if level else {}
        found: set[int] = set()
        for version_id, prompt_id, target, pinned_id, env in rows:
            owners[version_id] = prompt_id
            where = _changed_in(level, slug, changes, live.get(target, {}), pinned_id, env)
            if where - changes.get(version_id, set()):
                changes.setdefault(version_id, set()).update(where)
                found.add(prompt_id)
        changed_prompts = found
        if not found:
            break
    return {"dependents": _live_dependents(changes, owners, snippet)}


def _unchanged(deployment: Deployment) -> bool:
    """The version deployed was already the one live there: nothing changed."""
    before = (
        Deployment.objects.filter(
            prompt_id=deployment.prompt_id,
            environment_id=deployment.environment_id,
            cancelled_at__isnull=True,
            effective_at__lte=deployment.effective_at,
        )
        .exclude(pk=deployment.pk)
        .order_by("-effective_at", "-id")
        .values_list("version_id", flat=True)
        .first()
    )
    return before == deployment.version_id


def _changed_in(
    level: int,
    slug: str,
    changes: dict[int, set[str]],
    live: dict[str, int],
    pinned_id: int | None,
    env: str,
) -> set[str]:
    """Environments being resolved in which a reference's text changed."""
    if level == 0:  # a reference to the snippet deployed
        if pinned_id is not None:
            return set()
        if env:
            return {EVERY} if env == slug else set()
        return {slug}
    if pinned_id is not None:  # the version taken is fixed; its own text may change
        return set(changes.get(pinned_id, set()))
    if env:
        return set(changes.get(live.get(env, 0), set()))
    where: set[str] = set()
    for each, version_id in live.items():  # follows: taken live in the slug resolved
        inner = changes.get(version_id, set())
        if each in inner or EVERY in inner:
            where.add(each)
    return where


def _live_dependents(changes: dict[int, set[str]], owners: dict[int, int], snippet: int):
    prompt_ids = list({owners[v] for v in changes if owners[v] != snippet})
    if not prompt_ids:
        return []
    rows = live_rows(prompt_ids).values_list(
        "prompt_id",
        "prompt__team__slug",
        "prompt__slug",
        "environment__slug",
        "version_id",
        "exact",
    )
    found: dict[str, set[str]] = {}
    for _, team, prompt_slug, env_slug, version_id, exact in rows:
        where = changes.get(version_id, set())
        if not exact and (env_slug in where or EVERY in where):
            found.setdefault(f"{team}/{prompt_slug}", set()).add(env_slug)
    return [{"prompt": a, "environments": sorted(found[a])} for a in sorted(found)]
