"""Finding a team for a page: what the user may see, else a 404 as if it did not exist."""

from __future__ import annotations

from django.http import Http404, HttpRequest

from accounts.models import Team
from accounts.services import find_team
from registry_site.errors import NotFound


def team_or_404(request: HttpRequest, team: str) -> Team:
    try:
        return find_team(request.user, team)
    except NotFound:
        raise Http404("No such team.") from None
