"""Pages: a team's environments and their release rules, managed by the team's admins.

``/teams/<team>/environments/`` lists every environment with a form of its rules, a
delete button for those nothing was deployed to, and a form to add one. Members who
are not admins get a 403 (they read the rules on the team page), others a 404. Writes
go through ``releases.environments``; its refusals come back on the form that was sent,
with what was typed still in it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from accounts.lookups import team_or_404
from accounts.models import Team
from accounts.permissions import can
from registry_site.errors import DomainError, Forbidden, NotFound
from registry_site.pages import form_error
from releases import environments as rules
from releases.models import Environment


class EnvironmentForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True)
    order = forms.IntegerField(
        min_value=0, max_value=rules.MAX_ORDER, help_text="Release order: lower comes first."
    )
    protected = forms.BooleanField(
        required=False, help_text="Only reviewers deploy here; editors deploy elsewhere."
    )
    required_approvals = forms.IntegerField(
        label="Required approvals",
        min_value=0,
        max_value=rules.MAX_APPROVALS,
        initial=0,
        help_text="Approvals from people other than the version's author.",
    )
    is_default = forms.BooleanField(
        label="Default", required=False, help_text="What services get when they name none."
    )
    requires_previous = forms.BooleanField(
        label="Live in the previous environment first",
        required=False,
        help_text="A version must have been live in the environment before this one.",
    )
    evaluation_dataset = forms.CharField(
        label="Required evaluation: dataset",
        required=False,
        max_length=64,
        help_text="A version goes live only after an evaluation on this dataset passed.",
    )
    evaluation_min_pass_rate = forms.FloatField(
        label="Minimum pass rate",
        required=False,
        min_value=0,
        max_value=1,
        help_text="From 0 to 1, e.g. 0.9.",
    )

    def changes(self) -> dict[str, Any]:
        found = {name: self.cleaned_data[name] for name in rules.RULES if name in self.fields}
        dataset = self.cleaned_data["evaluation_dataset"]
        rate = self.cleaned_data["evaluation_min_pass_rate"]
        found["required_evaluation"] = (
            {"dataset": dataset, "min_pass_rate": 1.0 if rate is None else rate}
            if dataset
            else None
        )
        return found


class NewEnvironmentForm(EnvironmentForm):
    slug = forms.CharField(
        max_length=64, help_text="Services name it: lowercase letters, digits and hyphens."
    )
    order = forms.IntegerField(
        min_value=0,
        max_value=rules.MAX_ORDER,
        required=False,
        help_text="Leave empty to put it last.",
    )
    field_order = ["slug", "name"]

    def changes(self) -> dict[str, Any]:
        found = super().changes()
        if found["order"] is None:
            del found["order"]
        return found


def _admin_team(request: HttpRequest, team: str) -> Team:
    found = team_or_404(request, team)
    if not can(request.user, "admin", found):
        raise PermissionDenied(rules.ADMINS_ONLY)
    return found


def _edit_form(env: Environment, data: Any = None) -> EnvironmentForm:
    initial = {name: getattr(env, name) for name in rules.RULES}
    required = env.required_evaluation or {}
    initial["evaluation_dataset"] = required.get("dataset", "")
    initial["evaluation_min_pass_rate"] = required.get("min_pass_rate")
    return EnvironmentForm(data, initial=initial, auto_id=f"env-{env.slug}-%s")


def _render(
    request: HttpRequest,
    team: Team,
    *,
    new_form: NewEnvironmentForm | None = None,
    bound: tuple[str, EnvironmentForm] | None = None,
) -> HttpResponse:
    rows = []
    for env in rules.environments_in_use(team):
        form = bound[1] if bound and bound[0] == env.slug else _edit_form(env)
        rows.append({"environment": env, "form": form})
    context = {
        "team": team,
        "rows": rows,
        "new_form": new_form or NewEnvironmentForm(auto_id="new-%s"),
    }
    return render(request, "releases/environments.html", context)


def _refused(form: forms.Form, error: DomainError) -> None:
    if isinstance(error, Forbidden):  # rights changed between the page and the post
        raise PermissionDenied(error.message)
    form_error(form, error)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def environments_page(request: HttpRequest, team: str) -> HttpResponse:
    team_obj = _admin_team(request, team)
    if request.method != "POST":
        return _render(request, team_obj)
    form = NewEnvironmentForm(request.POST, auto_id="new-%s")
    if form.is_valid():
        try:
            env = rules.create_environment(
                request.user, team_obj, slug=form.cleaned_data["slug"], **form.changes()
            )
        except DomainError as error:
            _refused(form, error)
        else:
            messages.success(request, f"Added the environment {env.name} ({env.slug}).")
            return redirect("team-environments", team_obj.slug)
    return _render(request, team_obj, new_form=form)


def _environment_or_404(team: Team, slug: str) -> Environment:
    try:
        env = rules.find_environment(team, slug or "-")
    except NotFound:
        raise Http404("No such environment.") from None
    env.team = team
    return env


@login_required
@require_POST
def environment_update(request: HttpRequest, team: str, environment: str) -> HttpResponse:
    team_obj = _admin_team(request, team)
    env = _environment_or_404(team_obj, environment)
    form = _edit_form(env, request.POST)
    if form.is_valid():
        try:
            rules.update_environment(request.user, env, **form.changes())
        except DomainError as error:
            _refused(form, error)
        else:
            messages.success(request, f"Saved the rules of {env.name}.")
            return redirect("team-environments", team_obj.slug)
    return _render(request, team_obj, bound=(env.slug, form))


@login_required
@require_POST
def environment_delete(request: HttpRequest, team: str, environment: str) -> HttpResponse:
    team_obj = _admin_team(request, team)
    env = _environment_or_404(team_obj, environment)
    try:
        rules.delete_environment(request.user, env)
    except Forbidden as error:
        raise PermissionDenied(error.message) from None
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Deleted the environment {env.name} ({env.slug}).")
    return redirect("team-environments", team_obj.slug)


urlpatterns = [
    path("teams/<str:team>/environments/", environments_page, name="team-environments"),
    path(
        "teams/<str:team>/environments/<str:environment>/",
        environment_update,
        name="team-environment",
    ),
    path(
        "teams/<str:team>/environments/<str:environment>/delete/",
        environment_delete,
        name="team-environment-delete",
    ),
]
