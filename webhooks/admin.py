"""Webhooks in the Django admin: read-only, history included. Changes go through the
team's webhook pages and the API, which check URLs and events and record who acted.

Staff see the webhooks of the teams they administer only: a webhook shows its
receiver's address, which other members of a team do not see either.
"""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from accounts.admin_base import TeamAdminsOnly
from webhooks.models import Attempt, Delivery, Webhook


@admin.register(Webhook)
class WebhookAdmin(SimpleHistoryAdmin, TeamAdminsOnly):
    list_display = ["team", "url", "active", "created_by", "created_at"]
    list_filter = ["active", "team"]
    search_fields = ["url", "description", "team__slug"]
    list_select_related = ["team", "created_by"]
    exclude = ["secret"]  # shown to team admins on the webhook's page only


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    fields = ["number", "started_at", "duration_ms", "status_code", "error", "response"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Delivery)
class DeliveryAdmin(TeamAdminsOnly):
    team_path = "webhook__team"
    list_display = ["pk", "webhook", "event", "status", "attempts", "next_attempt_at", "created_at"]
    list_filter = ["status", "event", "webhook__team"]
    search_fields = ["event", "webhook__url", "webhook__team__slug"]
    list_select_related = ["webhook__team"]
    inlines = [AttemptInline]


@admin.register(Attempt)
class AttemptAdmin(TeamAdminsOnly):
    team_path = "delivery__webhook__team"
    list_display = ["delivery", "number", "started_at", "status_code", "duration_ms", "error"]
    list_filter = ["status_code"]
    search_fields = ["error", "delivery__webhook__url"]
    list_select_related = ["delivery"]
