"""Page: who holds a role on one prompt alone, for the team's admins to grant and revoke.

``/p/<team>/<slug>/grants/`` lists the grants with a revoke button each and a form to
grant a role. Others who see the prompt get a 403, everyone else a 404. The rule is
accounts.services'; its refusals come back on the form.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services as access
from accounts.models import Role
from prompts.lookups import prompt_or_404
from prompts.models import Prompt
from registry_site.errors import DomainError, Forbidden, NotFound
from registry_site.pages import form_error


class GrantForm(forms.Form):
    username = forms.CharField(max_length=150, strip=True)
    role = forms.ChoiceField(
        choices=Role.choices,
        initial=Role.VIEWER,
        help_text="On this prompt only. A new role replaces the one they held here.",
    )


def _grants(request: HttpRequest, prompt: Prompt) -> list[access.PromptGrant]:
    try:
        return access.grants_on(request.user, prompt)
    except Forbidden as error:
        raise PermissionDenied(error.message) from None
    except NotFound:
        raise Http404("No such prompt.") from None


def _page(prompt: Prompt) -> str:
    return reverse("prompt-grants", kwargs={"team": prompt.team.slug, "slug": prompt.slug})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def grants_page(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug)
    grants = _grants(request, prompt)
    form = GrantForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        username, role = form.cleaned_data["username"], form.cleaned_data["role"]
        try:
            access.grant_on_prompt(request.user, prompt, username, role)
        except DomainError as error:
            if isinstance(error, NotFound):
                form.add_error("username", error.message)
            else:
                form_error(form, error)
        else:
            messages.success(request, f"{username} is now {role} on {prompt.slug}.")
            return redirect(_page(prompt))
    context = {"prompt": prompt, "grants": grants, "form": form, "roles": Role.choices}
    return render(request, "prompts/grants.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def revoke_grant(request: HttpRequest, team: str, slug: str, username: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug)
    _grants(request, prompt)  # the same 403 / 404 as the page
    try:
        access.revoke_on_prompt(request.user, prompt, username)
    except NotFound:
        raise Http404("No such grant.") from None
    messages.success(request, f"{username} no longer holds a role on {prompt.slug}.")
    return redirect(_page(prompt))


urlpatterns = [
    path("p/<str:team>/<str:slug>/grants/", grants_page, name="prompt-grants"),
    # Usernames made in a shell may hold "/": path, not str.
    path(
        "p/<str:team>/<str:slug>/grants/<path:username>/revoke/",
        revoke_grant,
        name="prompt-grant-revoke",
    ),
]
