from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from accounts.admin_base import ReadOnlyAdmin
from releases.models import Deployment, Environment


@admin.register(Environment)
class EnvironmentAdmin(SimpleHistoryAdmin, ReadOnlyAdmin):
    # Rules change through services, which also drop cached answers.
    list_display = [
        "team",
        "slug",
        "name",
        "order",
        "protected",
        "required_approvals",
        "is_default",
    ]
    list_filter = ["team", "protected"]
    search_fields = ["slug", "name"]


@admin.register(Deployment)
class DeploymentAdmin(SimpleHistoryAdmin, ReadOnlyAdmin):
    list_display = ["prompt", "environment", "version", "kind", "exact", "effective_at", "actor"]
    list_filter = ["kind", "exact", "environment__slug", "prompt__team"]
    search_fields = ["prompt__slug", "note"]
    list_select_related = ["prompt__team", "environment", "version", "actor"]
