"""What the run pages share: finding what the user may see (404 otherwise)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils.cache import add_never_cache_headers

from accounts.models import Team
from accounts.permissions import can
from prompts import services as prompts
from prompts.models import Prompt
from registry_site.errors import NotFound


def prompt_or_404(request: HttpRequest, team: str, slug: str) -> Prompt:
    try:
        return prompts.find_prompt(request.user, team, slug)
    except NotFound:
        raise Http404("No such prompt.") from None


def team_or_404(request: HttpRequest, team: str) -> Team:
    try:
        return prompts.find_team(request.user, team)
    except NotFound:
        raise Http404("No such team.") from None


def admin_team(request: HttpRequest, slug: str) -> Team:
    """The team, if the user may see it (else 404) and administer it (else 403)."""
    team = team_or_404(request, slug)
    if not can(request.user, "admin", team):
        raise PermissionDenied("Only team admins manage connections.")
    return team


def private(response):
    """Pages about keys: no cache may keep them."""
    add_never_cache_headers(response)
    return response


def form_error(form, error) -> None:
    field = error.details.get("field")
    form.add_error(field if field in form.fields else None, error.message)
