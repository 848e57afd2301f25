"""Pages: releasing. Deploy a version (now or at a planned time), roll back, cancel a
plan, a prompt's release log, and a team's release board.

Thin views over ``releases.services`` and ``releases.board``: the policy decides, and
its refusals come back as form errors (the deploy form) or flash messages (the one
button forms), naming the rule. The deploy form lives on its own page too, so a refused
or breaking deploy comes back with everything typed still there and, for a breaking
change, a "Deploy anyway" box naming the variables.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, Page, Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.lookups import team_or_404
from accounts.permissions import visible
from prompts import services
from prompts.lookups import prompt_or_404
from prompts.models import Prompt
from registry_site.errors import DomainError, NotFound
from registry_site.pages import form_error, prompt_path
from releases import board, environments, policy
from releases import services as deployments
from releases.live import live_ids, state_of
from releases.models import Deployment, Environment
from releases.panel import DeployForm, deploy_panel, environments_of, rules_of

MAX_NUMBER = 2**31 - 1
LOG_PER_PAGE = 50
BOARD_PER_PAGE = 50


# ---------------------------------------------------------------------- helpers


def _page(paginator: Paginator, number: str | None) -> Page:
    try:
        wanted = max(int(number or 1), 1)
    except (TypeError, ValueError):
        wanted = 1
    try:
        return paginator.page(wanted)
    except EmptyPage:
        raise Http404("No such page.") from None


def _deploy(request: HttpRequest, prompt: Prompt, form: DeployForm) -> Deployment | None:
    """The deployment, or None with the refusal on the form."""
    data = form.cleaned_data
    try:
        version = services.find_version(prompt, data["version"])
    except NotFound:
        form.add_error("version", f"{prompt.address} has no version {data['version']}.")
        return None
    try:
        return deployments.deploy(
            request.user,
            prompt,
            form.by_slug[data["environment"]],
            version,
            when=data["scheduled_for"],
            note=data["note"],
            force=data["force"],
        )
    except policy.BreakingChange as error:
        # Its own callers' variables, else those the prompts including it need.
        form.breaking = error.variables or sorted(
            {name for d in error.dependents for name in d["variables"]}
        )
        form.reason = "breaking_change"
        form.add_error(None, error.message)
    except DomainError as error:
        form.reason = error.details.get("reason", "")
        form_error(form, error)
    return None


def _deployed_message(made: Deployment) -> str:
    where = f"v{made.version.number} to {made.environment.name}"
    if made.scheduled_for:
        return f"Planned {where} for {made.effective_at:%Y-%m-%d %H:%M} UTC."
    return f"Deployed {where}: it is live now."


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def deploy_page(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug)
    environments = environments_of(prompt)
    if request.method == "POST":
        form = DeployForm(request.POST, environments=environments, auto_id="deploy_%s")
        if form.is_valid():
            made = _deploy(request, prompt, form)
            if made is not None:
                messages.success(request, _deployed_message(made))
                return redirect(prompt_path(prompt) + "#live")
    else:
        form = deploy_panel(request.user, prompt, environments)
        if form is None:
            raise PermissionDenied("You may not deploy this prompt anywhere.")
        for name in ("version", "environment"):
            if request.GET.get(name):
                form.initial[name] = request.GET[name][:64]
    context = {
        "prompt": prompt,
        "prompt_path": prompt_path(prompt),
        "form": form,
        "environments": environments,
    }
    return render(request, "releases/deploy.html", context)


# ---------------------------------------------------------------------- one-button actions


def _environment_or_404(prompt: Prompt, slug: Any) -> Environment:
    try:
        return environments.find_environment(prompt.team, str(slug or "")[:64] or "-")
    except NotFound:
        raise Http404("No such environment.") from None


@login_required
@require_POST
def rollback_view(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug)
    environment = _environment_or_404(prompt, request.POST.get("environment"))
    try:
        made = deployments.rollback(
            request.user, prompt, environment, note=request.POST.get("note", "")[:2000]
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"Rolled back {environment.name}: v{made.version.number} is live again."
        )
    return redirect(prompt_path(prompt) + "#live")


@login_required
@require_POST
def cancel_view(request: HttpRequest, team: str, slug: str, deployment_id: int) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug)
    try:
        planned = deployments.find_deployment(prompt, deployment_id)
    except NotFound:
        raise Http404("No such deployment.") from None
    try:
        deployments.cancel(request.user, planned)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Cancelled the planned release of v{planned.version.number} to "
            f"{planned.environment.name}.",
        )
    return redirect(prompt_path(prompt) + "#live")


# ---------------------------------------------------------------------- release log


@login_required
@require_GET
def release_log(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug)
    if prompt.slug != slug:
        return redirect("releases", team=prompt.team.slug, slug=prompt.slug)
    environments = environments_of(prompt)
    wanted = request.GET.get("environment", "")
    chosen = next((env for env in environments if env.slug == wanted), None)
    page = _page(
        Paginator(deployments.history(prompt, chosen), LOG_PER_PAGE), request.GET.get("page")
    )
    now = timezone.now()
    live = live_ids(prompt, now)
    entries = [(d, state_of(d, live, now)) for d in page.object_list]
    context = {
        "prompt": prompt,
        "prompt_path": prompt_path(prompt),
        "environments": environments,
        "chosen": chosen,
        "unknown": bool(wanted) and chosen is None,
        "page": page,
        "entries": entries,
        "query": f"environment={chosen.slug}&" if chosen else "",
    }
    return render(request, "releases/releases.html", context)


# ---------------------------------------------------------------------- board


@login_required
@require_GET
def board_page(request: HttpRequest, team: str) -> HttpResponse:
    team_obj = team_or_404(request, team)
    envs = list(environments.environments_of(team_obj))
    prompts = visible(
        request.user, Prompt.objects.filter(team=team_obj, archived_at__isnull=True)
    ).order_by("slug", "id")
    page = _page(Paginator(prompts, BOARD_PER_PAGE), request.GET.get("page"))
    rows = board.board(list(page.object_list), envs)
    for row in rows:
        row.prompt.team = team_obj
    context = {
        "team": team_obj,
        "environments": envs,
        "rules": {env.pk: rules_of(env) for env in envs},
        "page": page,
        "rows": rows,
    }
    return render(request, "releases/board.html", context)


urlpatterns = [
    path("p/<str:team>/<str:slug>/deploy/", deploy_page, name="deploy"),
    path("p/<str:team>/<str:slug>/rollback/", rollback_view, name="rollback"),
    path(
        "p/<str:team>/<str:slug>/deployments/<int:deployment_id>/cancel/",
        cancel_view,
        name="deployment-cancel",
    ),
    path("p/<str:team>/<str:slug>/releases/", release_log, name="releases"),
    path("teams/<str:team>/board/", board_page, name="team-board"),
]
