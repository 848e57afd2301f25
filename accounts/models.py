"""Teams, memberships and roles.

A membership's role is the source of truth; it is mirrored into django-guardian as
membership in one group per team and role, each group holding object permissions on
its team. A right on a single prompt is a guardian permission on that prompt.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.dispatch import Signal
from guardian.managers import GroupObjectPermissionManager, UserObjectPermissionManager
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from simple_history.models import HistoricalRecords

SLUG_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
slug_validator = RegexValidator(
    SLUG_PATTERN, "Use 1 to 64 lowercase letters, digits or hyphens, not starting with a hyphen."
)


class Role(models.TextChoices):
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    REVIEWER = "reviewer", "Reviewer"
    ADMIN = "admin", "Admin"

    @property
    def rank(self) -> int:
        return ROLE_ORDER.index(self.value)


ROLE_ORDER = [Role.VIEWER.value, Role.EDITOR.value, Role.REVIEWER.value, Role.ADMIN.value]


class Team(models.Model):
    # (team, prompt) lookups: how accounts.permissions reaches this row's team and prompt.
    permission_paths = ("pk", None)
    slug = models.CharField(max_length=64, unique=True, validators=[slug_validator])
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["slug"]
        permissions = [
            ("view_prompts", "Read, search and render the team's prompts"),
            ("edit_prompts", "Create prompts, add versions and comment"),
            ("deploy_prompts", "Deploy to unprotected environments"),
            ("review_prompts", "Approve versions and deploy to protected environments"),
            ("admin_team", "Manage members, environments and tokens; archive prompts"),
        ]

    def __str__(self) -> str:
        return self.slug


class Membership(models.Model):
    # (team, prompt) lookups: how accounts.permissions reaches this row's team and prompt.
    permission_paths = ("team_id", None)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "user"], name="one_membership_per_team"),
        ]
        ordering = ["team", "user"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} as {self.role}"


rights_bulk_created = Signal()


class RightsQuerySet(models.QuerySet):
    """Object permissions whose bulk writes, which send no signal (guardian's assign_perm
    on many objects uses them), still make the holders' cached rights stale."""

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        created = super().bulk_create(objs, *args, **kwargs)
        # accounts.signals forgets the holders' rights (a signal, so models import no module
        # that imports them back).
        rights_bulk_created.send(sender=self.model, rows=objs)
        return created


UserRightsManager = UserObjectPermissionManager.from_queryset(RightsQuerySet)
GroupRightsManager = GroupObjectPermissionManager.from_queryset(RightsQuerySet)


class TeamUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Team, on_delete=models.CASCADE)
    objects = UserRightsManager()


class TeamGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Team, on_delete=models.CASCADE)
    objects = GroupRightsManager()


class ApiToken(models.Model):
    """A credential for services and scripts. Only a non-secret prefix and a keyed
    digest are stored; the raw value is shown once, when it is issued."""

    SCOPES = ["read", "write", "deploy", "tokens"]
    # What a token gets when none are named; managing tokens must be asked for.
    DEFAULT_SCOPES = ["read", "write", "deploy"]

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    team = models.ForeignKey(
        Team, on_delete=models.CASCADE, null=True, blank=True, related_name="api_tokens"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… of {self.user_id}"
