"""Template context for every page: the signed-in user's teams, for the header."""

from django.http import HttpRequest

from accounts.models import Team


def navigation(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_teams": []}
    return {"nav_teams": Team.objects.filter(memberships__user=user).order_by("name")}
