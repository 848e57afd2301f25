"""Review of versions: the review state, named review requests, comment threads and verdicts.

The tables keep the names they had when these models lived in ``prompts``."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from prompts.models import Version


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    DEPRECATED = "deprecated", "Deprecated"


class Review(models.Model):
    """The review state of a version, kept apart because a version row never changes.
    No row means the version is a draft."""
    # (team, prompt) lookups: how accounts.permissions reaches this row's team and prompt.
    permission_paths = ("version__prompt__team_id", "version__prompt_id")

    version = models.OneToOneField(
        Version, on_delete=models.CASCADE, primary_key=True, related_name="review"
    )
    status = models.CharField(max_length=20, choices=ReviewStatus.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    updated_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords(table_name="prompts_historicalreview")

    class Meta:
        db_table = "prompts_review"
        # "Waiting for me" looks for versions in review across every team one may review.
        indexes = [models.Index(fields=["status"], name="review_status")]

    def __str__(self) -> str:
        return f"{self.version} {self.status}"


class ReviewRequest(models.Model):
    """A reviewer asked by name to review a version. Asking again renews ``requested_at``:
    a verdict given before it no longer answers the request. Who asked, and why, is also
    in the history of the version's Review."""
    # (team, prompt) lookups: how accounts.permissions reaches this row's team and prompt.
    permission_paths = ("version__prompt__team_id", "version__prompt_id")

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="review_requests")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "prompts_reviewrequest"
        constraints = [
            models.UniqueConstraint(
                fields=["version", "reviewer"], name="one_review_request_per_reviewer"
            ),
        ]
        indexes = [models.Index(fields=["reviewer", "version"], name="review_request_reviewer")]
        ordering = ["version", "reviewer__username"]

    def __str__(self) -> str:
        return f"{self.reviewer_id} asked to review {self.version_id}"


class Comment(models.Model):
    # (team, prompt) lookups: how accounts.permissions reaches this row's team and prompt.
    permission_paths = ("version__prompt__team_id", "version__prompt_id")
    class Verdict(models.TextChoices):
        APPROVE = "approve", "Approve"
        REQUEST_CHANGES = "request_changes", "Request changes"

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    verdict = models.CharField(max_length=20, choices=Verdict.choices, blank=True)
    line = models.PositiveIntegerField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Set by review.edit_comment; the earlier texts are in the comment's history.
    edited_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(table_name="prompts_historicalcomment")

    class Meta:
        db_table = "prompts_comment"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.version_id}"
