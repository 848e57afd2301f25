"""Model connections of a team, the price table, and every run of a prompt.

A connection's key and extra headers are stored encrypted (runs/crypto.py) and kept
out of its history: a rotated key must be gone for good, and history rows are read
by more people than the key ever was. ``key_hint`` is all anyone sees of the key.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from accounts.models import Team
from prompts.models import Prompt, Version

SECRET_FIELDS = ["api_key_encrypted", "headers_encrypted"]


class Provider(models.TextChoices):
    OPENAI = "openai", "OpenAI-compatible Chat Completions"
    ANTHROPIC = "anthropic", "Anthropic Messages"


class Connection(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="connections")
    name = models.CharField(max_length=64)
    provider = models.CharField(max_length=16, choices=Provider.choices)
    base_url = models.CharField(max_length=2000)  # checked by the outbound policy
    api_key_encrypted = models.TextField(editable=False)
    key_hint = models.CharField(max_length=32, blank=True)
    headers_encrypted = models.TextField(blank=True, editable=False)
    # Names of the extra headers (their values may be secrets, so only names show).
    header_names = models.JSONField(default=list, blank=True)
    # The models offered (the API calls it "models"); empty: any model the provider has.
    model_names = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords(excluded_fields=SECRET_FIELDS)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="connection_name_unique"),
        ]
        ordering = ["team", "name"]

    def __str__(self) -> str:
        return f"{self.team.slug}/{self.name}"


class ModelPrice(models.Model):
    """What a model costs, per million tokens; admins keep the table."""

    model = models.CharField(max_length=200, unique=True)
    input_per_million = models.DecimalField(max_digits=12, decimal_places=4)
    output_per_million = models.DecimalField(max_digits=12, decimal_places=4)
    currency = models.CharField(max_length=3, default="USD")
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["model"]

    def __str__(self) -> str:
        return self.model


class Run(models.Model):
    """One call of a model with a rendered prompt, succeeded or not."""

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="runs")
    # None: the unsaved text of the editor was run.
    version = models.ForeignKey(
        Version, on_delete=models.CASCADE, null=True, blank=True, related_name="runs"
    )
    environment = models.CharField(max_length=64, blank=True)
    connection = models.ForeignKey(
        Connection, on_delete=models.SET_NULL, null=True, blank=True, related_name="runs"
    )
    connection_name = models.CharField(max_length=64)  # kept when the connection goes
    provider = models.CharField(max_length=16, choices=Provider.choices)
    model = models.CharField(max_length=200)
    messages = models.JSONField(default=list)
    parameters = models.JSONField(default=dict, blank=True)
    variables = models.JSONField(default=dict, blank=True)
    output = models.TextField(blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    finish_reason = models.CharField(max_length=64, blank=True)
    cost = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    error_details = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["prompt", "-created_at"], name="run_by_prompt"),
            models.Index(fields=["version", "-created_at"], name="run_by_version"),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} of {self.prompt_id}"

    @property
    def failed(self) -> bool:
        return bool(self.error_code)
