"""What the run pages share: finding what the user may see (404 otherwise)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.cache import add_never_cache_headers

from accounts.lookups import team_or_404
from accounts.models import Team
from accounts.permissions import can


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
