"""Webhooks of a team, the deliveries queued for them, and every attempt to send one.

A Delivery is the outbox row that ``events.emit`` writes in the transaction of the
change it reports; the worker (``delivery.py``) sends it later and logs each try as an
Attempt. The body is stored as the exact text that is sent and signed, so a redelivery
sends the same bytes.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from accounts.models import Team


def new_secret() -> str:
    return secrets.token_hex(32)


class Webhook(models.Model):
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="webhooks")
    url = models.CharField(max_length=2000)  # checked by services.check_url
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=64, default=new_secret)
    # An inactive webhook is paused: nothing new is queued for it, and what is queued
    # waits until it is active again.
    active = models.BooleanField(default=True)
    description = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Old secrets stay out of the history tables: a rotated secret must be gone for good.
    history = HistoricalRecords(excluded_fields=["secret"])

    class Meta:
        ordering = ["team", "pk"]

    def __str__(self) -> str:
        return f"{self.team.slug}: {self.url}"


class Delivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=64)
    # One id per event: the same in every webhook's delivery of it, and across retries,
    # so receivers can drop duplicates.
    event_id = models.UUIDField()
    body = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Failed attempts since the delivery was queued or last redelivered: they set the
    # backoff and, at WEBHOOK_MAX_ATTEMPTS, give up.
    failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # A worker's claim: until then no other worker sends this delivery.
    locked_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    redelivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    redelivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            # The worker's query: pending deliveries by due time, and nothing else.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="delivery_due",
            ),
            # A webhook's delivery log, newest first.
            models.Index(fields=["webhook", "-created_at"], name="delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event} #{self.pk} ({self.status})"


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # The first KB of the answer, kept only from receivers in OUTBOUND_ALLOWED_NETWORKS.
    response = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "number"], name="attempt_number_unique"),
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of delivery {self.delivery_id}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
