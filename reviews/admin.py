from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from accounts.admin_base import ReadOnlyAdmin
from reviews.models import Comment, Review, ReviewRequest


@admin.register(Comment)
class CommentAdmin(SimpleHistoryAdmin, ReadOnlyAdmin):
    list_display = ["version", "author", "verdict", "created_at"]
    list_filter = ["verdict"]
    search_fields = ["body"]
    list_select_related = ["version__prompt", "author"]


@admin.register(Review)
class ReviewAdmin(SimpleHistoryAdmin, ReadOnlyAdmin):
    list_display = ["version", "status", "updated_at"]
    list_filter = ["status"]


@admin.register(ReviewRequest)
class ReviewRequestAdmin(ReadOnlyAdmin):
    list_display = ["version", "reviewer", "requested_by", "requested_at"]
    search_fields = ["reviewer__username", "version__prompt__slug"]
    list_select_related = ["version__prompt", "reviewer", "requested_by"]
