"""Prompts, their immutable versions, environments, deployments and comments."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from accounts.models import Team, slug_validator
from registry_site.errors import Immutable


class Prompt(models.Model):
    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="prompts")
    slug = models.CharField(max_length=64, validators=[slug_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    # The "latest" pointer: the newest version, kept by services.add_version.
    latest_version = models.ForeignKey(
        "Version", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # What search reads (prompts.search.search_document), so it never joins versions;
    # written by every service that changes a part of it. Derived, so not in history.
    search_text = models.TextField(blank=True, default="", editable=False)
    history = HistoricalRecords(excluded_fields=["latest_version", "search_text"])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "slug"], name="prompt_slug_unique_in_team"),
        ]
        indexes = [
            models.Index(fields=["-updated_at"], name="prompt_recent"),
            # The prompt list's default order: a page of it is read off the index.
            models.Index(fields=["name", "team", "slug"], name="prompt_by_name"),
        ]
        ordering = ["team__slug", "slug"]
        permissions = [
            ("edit_prompt", "Add versions and comment on this prompt"),
            ("deploy_prompt", "Deploy this prompt to unprotected environments"),
            ("review_prompt", "Approve this prompt and deploy it to protected environments"),
            ("admin_prompt", "Archive and restore this prompt"),
        ]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.slug}"

    @property
    def address(self) -> str:
        return f"{self.team.slug}/{self.slug}"

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class PromptAddress(models.Model):
    """Every slug a prompt has had in its team. Old slugs keep answering and stay
    reserved; one unique index makes a taken slug a conflict even between racing writers."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    slug = models.CharField(max_length=64)
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="addresses")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "slug"], name="address_unique_in_team"),
        ]

    def __str__(self) -> str:
        return f"{self.team_id}/{self.slug} -> {self.prompt_id}"


class VersionQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise Immutable("Versions cannot be changed.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise Immutable("Versions cannot be changed.")


class Version(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", "Text"
        CHAT = "chat", "Chat"

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEXT)
    template = models.TextField(blank=True)
    messages = models.JSONField(default=list, blank=True)
    variables = models.JSONField(default=list, blank=True)
    config = models.JSONField(default=dict, blank=True)
    change_note = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    content_hash = models.CharField(max_length=64)
    # Provenance of an imported version, as its files told it: shown and exported,
    # never trusted. The importing user is the author for every rule, and created_at
    # is when it was imported.
    imported_author = models.CharField(max_length=150, blank=True, default="")
    imported_at = models.DateTimeField(null=True, blank=True)

    objects = VersionQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prompt", "number"], name="version_number_unique"),
        ]
        ordering = ["prompt", "-number"]

    def __str__(self) -> str:
        return f"{self.prompt_id} v{self.number}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise Immutable("Versions cannot be changed; add a new version instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise Immutable("Versions cannot be deleted.")

    @property
    def status(self) -> str:
        review = getattr(self, "review", None) if self.pk else None
        return review.status if review else ReviewStatus.DRAFT


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    APPROVED = "approved", "Approved"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    DEPRECATED = "deprecated", "Deprecated"


class Review(models.Model):
    """The review state of a version, kept apart because a version row never changes.
    No row means the version is a draft."""

    version = models.OneToOneField(
        Version, on_delete=models.CASCADE, primary_key=True, related_name="review"
    )
    status = models.CharField(max_length=20, choices=ReviewStatus.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    updated_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        # "Waiting for me" looks for versions in review across every team one may review.
        indexes = [models.Index(fields=["status"], name="review_status")]

    def __str__(self) -> str:
        return f"{self.version} {self.status}"


class ReviewRequest(models.Model):
    """A reviewer asked by name to review a version. Asking again renews ``requested_at``:
    a verdict given before it no longer answers the request. Who asked, and why, is also
    in the history of the version's Review."""

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="review_requests")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "reviewer"], name="one_review_request_per_reviewer"
            ),
        ]
        indexes = [models.Index(fields=["reviewer", "version"], name="review_request_reviewer")]
        ordering = ["version", "reviewer__username"]

    def __str__(self) -> str:
        return f"{self.reviewer_id} asked to review {self.version_id}"


class Environment(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="environments")
    slug = models.CharField(max_length=64, validators=[slug_validator])
    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(default=0)
    protected = models.BooleanField(default=False)
    required_approvals = models.PositiveIntegerField(default=0)
    is_default = models.BooleanField(default=False)
    # A version must have been live in the environment before this one in order.
    requires_previous = models.BooleanField(default=False)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "slug"], name="environment_slug_unique"),
            models.UniqueConstraint(
                fields=["team"], condition=models.Q(is_default=True), name="one_default_environment"
            ),
        ]
        ordering = ["team", "order", "slug"]

    def __str__(self) -> str:
        return f"{self.team_id}:{self.slug}"


class Deployment(models.Model):
    """A version made live in an environment, now or at a planned time.

    Which deployment is live is derived, never stored: the one with the latest
    `effective_at` not in the future and not cancelled. So at most one is live per
    prompt and environment at any instant, and a planned one goes live at its time
    with nothing running.
    """

    class Kind(models.TextChoices):
        DEPLOY = "deploy", "Deploy"
        ROLLBACK = "rollback", "Rollback"

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="deployments")
    environment = models.ForeignKey(
        Environment, on_delete=models.PROTECT, related_name="deployments"
    )
    version = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="deployments")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DEPLOY)
    effective_at = models.DateTimeField()
    scheduled_for = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(
                fields=["prompt", "environment", "-effective_at", "-id"], name="deployment_live"
            ),
        ]
        ordering = ["-effective_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prompt_id}@{self.environment_id} v{self.version_id}"


class Comment(models.Model):
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
    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"comment {self.pk} on {self.version_id}"


class PromptUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Prompt, on_delete=models.CASCADE)


class PromptGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Prompt, on_delete=models.CASCADE)


class Usage(models.Model):
    """How often a caller fetched a version, per day: who depends on a prompt."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="usage")
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="+")
    environment = models.CharField(max_length=64, blank=True)
    kind = models.CharField(max_length=10)  # resolve or render
    caller = models.CharField(max_length=40)  # "token:<id>" or "user:<id>"
    token = models.ForeignKey(
        "accounts.ApiToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    day = models.DateField()
    count = models.PositiveBigIntegerField(default=0)
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["prompt", "version", "environment", "kind", "caller", "day"],
                name="usage_unique_bucket",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.caller} {self.kind} {self.prompt_id} v{self.version_id}: {self.count}"


class SampleInput(models.Model):
    """A named set of variable values kept with a prompt, to try its versions with.

    Written only through prompts.samples; no history: a sample is a working aid, not
    part of what services fetch.
    """

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="samples")
    name = models.CharField(max_length=100)
    values = models.JSONField(default=dict, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, related_name="+", null=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prompt", "name"], name="sample_name_unique_in_prompt"),
        ]
        ordering = ["prompt", "name"]

    def __str__(self) -> str:
        return f"{self.prompt_id}: {self.name}"
