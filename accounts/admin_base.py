"""What every admin screen of the registry shares.

Staff see in the admin only what ``visible()`` lets them see elsewhere; history is
read-only; object permission pages come from guardian.
"""

from django.contrib import admin

from accounts.permissions import visible


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
