from django.contrib import admin

from accounts.admin_base import ReadOnlyAdmin
from composition.models import Reference


@admin.register(Reference)
class ReferenceAdmin(ReadOnlyAdmin):
    # Written with their version, never changed.
    list_display = ["version", "written", "target", "pinned", "environment"]
    list_filter = ["version__prompt__team"]
    search_fields = ["written", "target__slug", "version__prompt__slug"]
    list_select_related = ["version__prompt__team", "target__team", "pinned"]
