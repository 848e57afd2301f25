"""Finding a prompt for a page or an endpoint: only among what the user may see, so
anything else answers 404 as if it did not exist."""

from __future__ import annotations

from django.http import Http404, HttpRequest
from rest_framework.request import Request

from prompts import services
from prompts.models import Prompt
from registry_site.api import RegistryView
from registry_site.errors import NotFound


def prompt_or_404(request: HttpRequest, team: str, slug: str, archived: bool = False) -> Prompt:
    """The prompt at team/slug if the user may see it; a 404 otherwise, as if it did not exist."""
    try:
        return services.find_prompt(request.user, team, slug, archived=archived)
    except NotFound:
        raise Http404("No such prompt.") from None


class PromptScoped(RegistryView):
    """A view under /prompts/{team}/{slug}: the prompt is looked up on what the caller
    may see, so anything else is a 404."""

    def prompt(self, request: Request, team: str, slug: str, archived: bool = False):
        return services.find_prompt(request.user, team, slug, archived=archived)
