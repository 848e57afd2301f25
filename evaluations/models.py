"""Datasets of a prompt (every change a new immutable revision) and evaluations: one
version run on one dataset revision, row by row, with each check's verdict."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from prompts.models import Prompt, Version
from runs.models import Connection


class Dataset(models.Model):
    permission_paths = ("prompt__team_id", "prompt_id")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["prompt", "name"], name="dataset_name_unique"),
        ]
        ordering = ["prompt", "name"]

    def __str__(self) -> str:
        return f"{self.prompt_id}:{self.name}"


class DatasetRevision(models.Model):
    """Rows and checks as they were saved; never changed, a change is a new revision."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    rows = models.JSONField(default=list)  # [{variables: {}, expected: str | None}]
    checks = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="dataset_revision_unique"),
        ]
        ordering = ["dataset", "-number"]

    def __str__(self) -> str:
        return f"{self.dataset_id} r{self.number}"


class Evaluation(models.Model):
    permission_paths = ("prompt__team_id", "prompt_id")

    class State(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="evaluations")
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="evaluations")
    revision = models.ForeignKey(
        DatasetRevision, on_delete=models.CASCADE, related_name="evaluations"
    )
    environment = models.CharField(max_length=64, blank=True)
    connection = models.ForeignKey(
        Connection, on_delete=models.SET_NULL, null=True, related_name="evaluations"
    )
    connection_name = models.CharField(max_length=64)
    model = models.CharField(max_length=200)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    error_message = models.TextField(blank=True)
    # Moved on by its workers while they run it (evaluations/claims.py): a running
    # evaluation whose heartbeat is older than EVALUATION_LEASE_SECONDS is queued again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["version", "state"], name="evaluation_by_version"),
            models.Index(fields=["state", "heartbeat_at"], name="evaluation_by_state"),
        ]

    def __str__(self) -> str:
        return f"evaluation {self.pk}"

    @property
    def done(self) -> int:
        return self.passed + self.failed + self.errors

    @property
    def pass_rate(self) -> float | None:
        return round(self.passed / self.total, 4) if self.total else None

    @property
    def finished(self) -> bool:
        return self.state in (self.State.SUCCEEDED, self.State.FAILED, self.State.CANCELLED)


class RowResult(models.Model):
    """One row of an evaluation, recorded once (unique per evaluation and index)."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="results")
    index = models.PositiveIntegerField()
    variables = models.JSONField(default=dict)
    expected = models.TextField(null=True, blank=True)
    output = models.TextField(blank=True)
    error = models.TextField(blank=True)  # the call failed: no verdicts
    checks = models.JSONField(default=list)  # [{type, passed, reason}]
    passed = models.BooleanField(default=False)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    attempts = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "index"], name="row_result_unique"),
        ]
        ordering = ["evaluation", "index"]

    def __str__(self) -> str:
        return f"{self.evaluation_id}#{self.index}"


class RowClaim(models.Model):
    """Which worker runs one row of an evaluation, and until when. A worker claims a row
    before calling the model and renews the lease while the call runs; another worker
    takes the row over only once the lease ran out (its worker stopped), and a row is
    recorded only by the worker holding its claim, so no row is run twice to the end by
    two live workers, and a killed worker's rows are run again by another."""

    evaluation = models.ForeignKey(Evaluation, on_delete=models.CASCADE, related_name="claims")
    index = models.PositiveIntegerField()
    worker = models.CharField(max_length=64)
    lease_until = models.DateTimeField()
    recorded = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["evaluation", "index"], name="row_claim_unique"),
        ]
        ordering = ["evaluation", "index"]

    def __str__(self) -> str:
        return f"{self.evaluation_id}#{self.index} by {self.worker}"
