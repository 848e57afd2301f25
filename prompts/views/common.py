"""What every page shares: finding what the user may see, and showing domain errors."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from prompts import services
from prompts.models import Prompt
from registry_site.errors import DomainError, NotFound


def prompt_or_404(request: HttpRequest, team: str, slug: str, archived: bool = False) -> Prompt:
    """The prompt at team/slug if the user may see it; a 404 otherwise, as if it did not exist."""
    try:
        return services.find_prompt(request.user, team, slug, archived=archived)
    except NotFound:
        raise Http404("No such prompt.") from None


def team_or_404(request: HttpRequest, team: str) -> Any:
    try:
        return services.find_team(request.user, team)
    except NotFound:
        raise Http404("No such team.") from None


def form_error(form: Any, error: DomainError) -> None:
    """Show a service's refusal on the form: on the field it names, else on the form."""
    field = error.details.get("field")
    form.add_error(field if field in form.fields else None, error.message)
