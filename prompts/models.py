"""Prompts, their addresses, immutable versions and sample inputs."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

from accounts.models import GroupRightsManager, Team, UserRightsManager, slug_validator
from registry_site.errors import Immutable


class Prompt(models.Model):
    # (team, prompt) lookups: how accounts.permissions reaches this row's team and prompt.
    permission_paths = ("team_id", "pk")
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
    # (team, prompt) lookups: how accounts.permissions reaches this row's team and prompt.
    permission_paths = ("prompt__team_id", "prompt_id")

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
        return review.status if review else "draft"  # reviews.models.ReviewStatus.DRAFT


class PromptUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Prompt, on_delete=models.CASCADE)
    objects = UserRightsManager()


class PromptGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Prompt, on_delete=models.CASCADE)
    objects = GroupRightsManager()


class SampleInput(models.Model):
    """A named set of variable values kept with a prompt, to try its versions with.

    Written only through prompts.samples; no history: a sample is a working aid, not
    part of what services fetch.
    """

    # (team, prompt) lookups: how accounts.permissions reaches this row's team and prompt.
    permission_paths = ("prompt__team_id", "prompt_id")

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
