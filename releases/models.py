"""Environments with their release rules, and deployments (the release log).

The tables keep the names they had when these models lived in ``prompts``."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from accounts.models import Team, slug_validator
from prompts.models import Prompt, Version


class Environment(models.Model):
    # (team, prompt) lookups: how accounts.permissions reaches this row's team and prompt.
    permission_paths = ("team_id", None)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="environments")
    slug = models.CharField(max_length=64, validators=[slug_validator])
    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(default=0)
    protected = models.BooleanField(default=False)
    required_approvals = models.PositiveIntegerField(default=0)
    is_default = models.BooleanField(default=False)
    # A version must have been live in the environment before this one in order.
    requires_previous = models.BooleanField(default=False)
    # {"dataset": name, "min_pass_rate": 0..1}: a version goes live here only after an
    # evaluation of it on the latest revision of that dataset passed (evaluations/gate.py).
    required_evaluation = models.JSONField(null=True, blank=True, default=None)
    history = HistoricalRecords(table_name="prompts_historicalenvironment")

    class Meta:
        db_table = "prompts_environment"
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

    # (team, prompt) lookups: how accounts.permissions reaches this row's team and prompt.
    permission_paths = ("prompt__team_id", "prompt_id")

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
    # What the version included when it went live: {"<snippet prompt id>": version id} of
    # every snippet not pinned by number where written (``releases.recording``). None:
    # not recorded (deployed before graphs were kept, not composable then, or planned
    # and not announced yet).
    graph = models.JSONField(null=True, blank=True, default=None)
    # The same moment for people: [{"prompt_id", "version_id", "address", "version",
    # "environment"}], every snippet of the composition (pinned by number too).
    dependencies = models.JSONField(default=list, blank=True)
    # Composes with ``graph`` instead of following the snippets (a rollback brings back
    # the exact text it restores); a normal deployment follows them.
    exact = models.BooleanField(default=False)
    history = HistoricalRecords(table_name="prompts_historicaldeployment")

    class Meta:
        db_table = "prompts_deployment"
        indexes = [
            models.Index(
                fields=["prompt", "environment", "-effective_at", "-id"], name="deployment_live"
            ),
        ]
        ordering = ["-effective_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prompt_id}@{self.environment_id} v{self.version_id}"
