"""Who includes a prompt."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from composition import dependents
from composition.api import serializers as s
from prompts.lookups import PromptScoped
from registry_site.api import ERRORS, Pages, paginated


class Dependents(PromptScoped):
    @extend_schema(responses={200: paginated(s.DependentOut), **ERRORS})
    def get(self, request: Request, team: str, slug: str) -> Response:
        """The prompts the caller may see that include this one, a page at a time."""
        prompt = self.prompt(request, team, slug, archived=True)
        pages = Pages()
        page = pages.paginate_queryset(
            dependents.dependent_prompts(request.user, prompt), request, view=self
        )
        return pages.get_paginated_response(dependents.describe(prompt, list(page)))
