"""What every admin screen of the registry shares.

Staff see in the admin only what ``visible()`` lets them see elsewhere; history is
read-only; object permission pages come from guardian.
"""

from django.contrib import admin
from django.db.models import QuerySet

from accounts.models import Team
from accounts.permissions import teams_where, visible


class VisibleOnlyAdmin(admin.ModelAdmin):
    def get_queryset(self, request):
        return visible(request.user, super().get_queryset(request))


class ReadOnlyAdmin(VisibleOnlyAdmin):
    """For records written only by services: browse, never edit here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def administered(request) -> QuerySet:
    """The teams whose records a staff user may browse here: those they administer."""
    if request.user.is_superuser:
        return Team.objects.values("pk")
    return teams_where(request.user, "admin")


class TeamAdminsOnly(admin.ModelAdmin):
    """Records of a team that only its admins see (receivers' addresses, connections,
    runs): read-only here, shown for the teams the staff user administers."""

    team_path = "team"

    def get_queryset(self, request):
        found = super().get_queryset(request)
        return found.filter(**{f"{self.team_path}__in": administered(request)})

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
