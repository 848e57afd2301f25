"""Pages: browse. The home page, the prompt list and a prompt's page.

Every page reads through the restricted querysets of ``accounts.permissions`` (or
``prompts.search.find_prompts``, which uses them), so what a user may not see never
shows, and a prompt they may not see is a 404 like a missing one. Each page makes the
same number of queries whatever the number of prompts, versions and deployments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.dateparse import parse_datetime

from accounts.models import Membership, Team
from accounts.permissions import can, visible
from composition.dependents import dependents_of
from prompts.listing import prompt_page, without_bodies
from prompts.lookups import prompt_or_404
from prompts.models import Prompt, Version
from prompts.search import MAX_QUERY, find_prompts
from releases import panel as release
from releases.environments import environments_of, environments_of_teams
from releases.live import live_ids, live_versions
from releases.models import Deployment, Environment
from reviews import my_reviews
from reviews.models import Review, ReviewStatus
from serving import usage

RECENT = 10
PER_PAGE = 25
VERSIONS_PER_PAGE = 50
SORTS: dict[str, tuple[str, ...]] = {
    "name": ("name", "team_id", "slug"),  # served by the index prompt_by_name
    "-updated": ("-updated_at", "-id"),
}
SORT_LABELS = {"name": "Name", "-updated": "Last change"}


# ---------------------------------------------------------------------- helpers


def _page_number(number: str | None) -> int:
    """Page 1 for a missing, malformed or too small number."""
    try:
        return max(int(number or 1), 1)
    except (TypeError, ValueError):  # not a number, or one of thousands of digits
        return 1


def _page(paginator: Paginator, number: str | None) -> Page:
    """The asked page (see ``_page_number``), a 404 past the end."""
    try:
        return paginator.page(_page_number(number))
    except EmptyPage:
        raise Http404("No such page.") from None


@dataclass
class LiveIn:
    """What is live (and planned) in one environment."""

    environment: Environment
    number: int | None = None
    deployment: Deployment | None = None
    planned: list[Deployment] = field(default_factory=list)


# ---------------------------------------------------------------------- home


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    memberships = Membership.objects.filter(user=user).select_related("team").order_by("team__name")
    changed = without_bodies(
        find_prompts(user).select_related("latest_version__author"), "latest_version__"
    ).order_by("-updated_at", "-id")[:RECENT]
    released = without_bodies(
        visible(
            user,
            Deployment.objects.filter(
                environment__is_default=True,
                cancelled_at__isnull=True,
                effective_at__lte=timezone.now(),
                prompt__archived_at__isnull=True,
            ),
        ).select_related("prompt__team", "environment", "version", "actor"),
        "version__",
    ).order_by("-effective_at", "-id")[:RECENT]
    # The rule of what waits for whom lives in reviews.my_reviews ("My reviews" page).
    waiting = without_bodies(
        Review.objects.filter(version__in=my_reviews.waiting_for(user)).select_related(
            "version__prompt__team", "version__author", "requested_by"
        ),
        "version__",
    ).order_by("-updated_at", "-pk")[:RECENT]
    return render(
        request,
        "prompts/home.html",
        {
            "memberships": memberships,
            "changed": changed,
            "released": released,
            "waiting": waiting,
        },
    )


# ---------------------------------------------------------------------- list


def _tags(request: HttpRequest) -> list[str]:
    """Tags from ?tag=a&tag=b or ?tag=a,b (any of them matches)."""
    found: list[str] = []
    for value in request.GET.getlist("tag"):
        found += [t.strip().lower() for t in value.replace(",", " ").split() if t.strip()]
    return found[:20]


def _rows(prompts: list[Prompt]) -> list[dict[str, Any]]:
    """Each prompt with the versions live in its team's environments, in their order:
    two queries for the whole page."""
    live = live_versions(prompts)
    environments: dict[int, list[Environment]] = {}
    teams = {p.team_id for p in prompts}
    if teams:
        for env in environments_of_teams(teams):
            environments.setdefault(env.team_id, []).append(env)
    return [
        {
            "prompt": p,
            "live": [
                LiveIn(env, live[p.pk][env.slug])
                for env in environments.get(p.team_id, [])
                if env.slug in live[p.pk]
            ],
        }
        for p in prompts
    ]


def _order(sort: str, *, searched: bool) -> tuple:
    if searched and sort == "name":
        # Matches are found through the search index, then sorted. In the indexed name
        # order the planner may walk the name index instead, testing every prompt
        # against a rare word: a second at 100,000 prompts.
        return (Lower("name"), "team_id", "slug")
    return SORTS[sort]


def _page_of(prompts: QuerySet, number: str | None) -> Page:
    try:
        return prompt_page(prompts, _page_number(number), PER_PAGE)
    except EmptyPage:
        raise Http404("No such page.") from None


@login_required
def prompt_list(request: HttpRequest) -> HttpResponse:
    user = request.user
    q = request.GET.get("q", "").strip()[:MAX_QUERY]
    team = request.GET.get("team", "").strip()
    tags = _tags(request)
    sort = request.GET.get("sort", "")
    sort = sort if sort in SORTS else "name"
    # Archived prompts are found by those who may restore them (find_prompts says who).
    archived = request.GET.get("archived") in ("1", "true", "on")
    prompts = find_prompts(
        user, q=q or None, tags=tags or None, team=team or None, archived=archived
    )
    page = _page_of(prompts.order_by(*_order(sort, searched=bool(q))), request.GET.get("page"))
    filters = request.GET.copy()
    filters.pop("page", None)
    teams = list(visible(user, Team.objects.all()).order_by("name"))
    context = {
        "page": page,
        "rows": _rows(list(page.object_list)),
        "q": q,
        "team": team,
        "tag": ", ".join(tags),
        "sort": sort,
        "sorts": SORT_LABELS,
        "teams": teams,
        "filters": filters.urlencode(),
        "filtered": bool(q or team or tags),
        "archived": archived,
        # Read from the cached rights: no query.
        "may_restore": any(can(user, "admin", t) for t in teams),
    }
    htmx = getattr(request, "htmx", None)
    partial = bool(htmx) and not htmx.boosted and htmx.target == "prompt-results"
    response = render(
        request, "partials/prompt_rows.html" if partial else "prompts/list.html", context
    )
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


# ---------------------------------------------------------------------- one prompt


def _environments(prompt: Prompt) -> list[LiveIn]:
    """Every environment of the prompt's team with its live deployment and the planned
    ones: three queries whatever the length of the release log."""
    now = timezone.now()
    environments = [LiveIn(env) for env in environments_of(prompt.team_id)]
    by_id = {item.environment.pk: item for item in environments}
    live = live_ids(prompt, now)
    rows = without_bodies(
        Deployment.objects.filter(
            Q(pk__in=live) | Q(prompt=prompt, cancelled_at__isnull=True, effective_at__gt=now)
        ).select_related("version", "actor"),
        "version__",
    ).order_by("effective_at", "id")
    for deployment in rows:
        item = by_id.get(deployment.environment_id)
        if item is None:
            continue
        if deployment.pk in live:
            item.deployment, item.number = deployment, deployment.version.number
        else:
            item.planned.append(deployment)
    return environments


@dataclass
class Shown:
    """The version whose text the prompt page shows, and where it is live."""

    version: Version
    live_in: list[Environment]
    default_live: bool  # it is the one live in the team's default environment


def _shown(prompt: Prompt, environments: list[LiveIn]) -> Shown | None:
    """The version live in the team's default environment (what services get when they
    name none), else the latest. The page has the latest's text already; another
    version's is one more query."""
    version = prompt.latest_version
    default = next((item for item in environments if item.environment.is_default), None)
    live = default.deployment if default is not None else None
    if live is not None and (version is None or live.version_id != version.pk):
        version = Version.objects.defer("config", "variables").get(pk=live.version_id)
    if version is None:
        return None
    live_in = [
        item.environment
        for item in environments
        if item.deployment is not None and item.deployment.version_id == version.pk
    ]
    return Shown(version, live_in, live is not None)


def _usage(prompt: Prompt) -> list[dict[str, Any]]:
    return [{**row, "last_seen": parse_datetime(row["last_seen"])} for row in usage.report(prompt)]


@login_required
def prompt_detail(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug)
    if prompt.slug != slug:  # a former address: show the prompt where it lives now
        return redirect("prompt", team=prompt.team.slug, slug=prompt.slug)
    versions = without_bodies(
        Version.objects.filter(prompt=prompt).select_related("author", "review"), ""
    ).order_by("-number")
    page = _page(Paginator(versions, VERSIONS_PER_PAGE), request.GET.get("versions_page"))
    page.object_list = list(page.object_list)
    for version in page.object_list:
        version.status_label = ReviewStatus(version.status).label
    base = reverse("prompt", kwargs={"team": prompt.team.slug, "slug": prompt.slug})
    environments = _environments(prompt)
    release.live_actions(request.user, prompt, environments)
    return render(
        request,
        "prompts/detail.html",
        {
            "prompt": prompt,
            "base": base,
            "latest": prompt.latest_version,
            "environments": environments,
            "shown": _shown(prompt, environments),
            "deploy_form": release.deploy_panel(
                request.user, prompt, [item.environment for item in environments]
            ),
            "versions": page,
            "callers": _usage(prompt),
            "dependents": dependents_of(request.user, prompt),
            "may_edit": can(request.user, "edit", prompt),
            "may_grant": can(request.user, "admin", prompt.team),
        },
    )


urlpatterns = [
    path("", home, name="home"),
    path("prompts/", prompt_list, name="prompt-list"),
    path("p/<str:team>/<str:slug>/", prompt_detail, name="prompt"),
]
