from django.contrib import admin
from guardian.admin import GuardedModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from accounts.admin_base import ReadOnlyAdmin, VisibleOnlyAdmin
from prompts.models import Prompt, SampleInput, Version
from prompts.search import search_document


@admin.register(Prompt)
class PromptAdmin(GuardedModelAdmin, SimpleHistoryAdmin, VisibleOnlyAdmin):
    list_display = ["slug", "team", "name", "latest_version", "archived_at", "updated_at"]
    list_filter = ["team", ("archived_at", admin.EmptyFieldListFilter)]
    search_fields = ["slug", "name", "description"]
    list_select_related = ["team", "latest_version"]
    readonly_fields = [
        "team",
        "slug",
        "author",
        "latest_version",
        "archived_at",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # prompts are archived, never deleted

    def save_model(self, request, obj, form, change):
        # Name, description and tags are editable here, and search must see the change.
        obj.search_text = search_document(obj, obj.latest_version)
        super().save_model(request, obj, form, change)


@admin.register(Version)
class VersionAdmin(ReadOnlyAdmin):
    list_display = ["prompt", "number", "kind", "author", "created_at", "content_hash"]
    list_filter = ["kind", "prompt__team"]
    search_fields = ["prompt__slug", "change_note", "template"]
    list_select_related = ["prompt__team", "author"]


@admin.register(SampleInput)
class SampleInputAdmin(ReadOnlyAdmin):
    list_display = ["prompt", "name", "author", "updated_at"]
    search_fields = ["name", "prompt__slug"]
    list_select_related = ["prompt__team", "author"]
