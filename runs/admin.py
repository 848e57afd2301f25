"""Connections, prices and runs in the Django admin.

Connections and runs are read-only here and shown to staff only for the teams they
administer; their secrets never appear (not as fields, not in history). Connections
change through the team's connection page and the API, which check addresses and
encrypt keys. The price table is edited here.
"""

from django.contrib import admin
from django.db.models import QuerySet
from simple_history.admin import SimpleHistoryAdmin

from accounts.models import Team
from accounts.permissions import teams_where
from runs.models import SECRET_FIELDS, Connection, ModelPrice, Run


def _administered(request) -> QuerySet:
    if request.user.is_superuser:
        return Team.objects.values("pk")
    return teams_where(request.user, "admin")


class ReadOnlyForTeamAdmins(admin.ModelAdmin):
    team_path = "team"

    def get_queryset(self, request):
        found = super().get_queryset(request)
        return found.filter(**{f"{self.team_path}__in": _administered(request)})

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Connection)
class ConnectionAdmin(SimpleHistoryAdmin, ReadOnlyForTeamAdmins):
    list_display = ["name", "team", "provider", "base_url", "key_hint", "updated_at"]
    list_filter = ["provider", "team"]
    search_fields = ["name", "base_url", "team__slug"]
    list_select_related = ["team"]
    exclude = SECRET_FIELDS


@admin.register(ModelPrice)
class ModelPriceAdmin(SimpleHistoryAdmin):
    list_display = ["model", "input_per_million", "output_per_million", "currency", "updated_at"]
    search_fields = ["model"]


@admin.register(Run)
class RunAdmin(ReadOnlyForTeamAdmins):
    team_path = "prompt__team"
    list_display = [
        "pk",
        "prompt",
        "model",
        "connection_name",
        "error_code",
        "created_by",
        "created_at",
    ]
    list_filter = ["error_code", "provider"]
    search_fields = ["prompt__slug", "model", "connection_name"]
    list_select_related = ["prompt__team", "created_by"]
    raw_id_fields = ["prompt", "version", "connection", "created_by"]
