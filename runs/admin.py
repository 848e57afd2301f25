"""Connections, prices and runs in the Django admin.

Connections and runs are read-only here and shown to staff only for the teams they
administer; their secrets never appear (not as fields, not in history). Connections
change through the team's connection page and the API, which check addresses and
encrypt keys. The price table is edited here.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from accounts.admin_base import TeamAdminsOnly
from runs.models import SECRET_FIELDS, Connection, ModelPrice, Run


@admin.register(Connection)
class ConnectionAdmin(SimpleHistoryAdmin, TeamAdminsOnly):
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
class RunAdmin(TeamAdminsOnly):
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
