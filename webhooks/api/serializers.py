"""Shapes of the webhook endpoints: types checked here, rules in webhooks.services;
output built by plain functions and described by the serializers (schema)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from registry_site.fields import StrictChar
from webhooks import events
from webhooks.models import Attempt, Delivery, Webhook
from webhooks.services import DESCRIPTION_CHARS, URL_CHARS

EVENT_NAMES = list(events.EVENTS)


class WebhookPatch(serializers.Serializer):
    url = StrictChar(max_length=URL_CHARS, required=False, help_text="an http or https URL")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_NAMES),
        min_length=1,
        max_length=len(EVENT_NAMES),
        required=False,
    )
    description = StrictChar(max_length=DESCRIPTION_CHARS, required=False, allow_blank=True)
    active = serializers.BooleanField(required=False)


class WebhookIn(WebhookPatch):
    url = StrictChar(max_length=URL_CHARS, help_text="an http or https URL")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_NAMES),
        min_length=1,
        max_length=len(EVENT_NAMES),
    )


class WebhookOut(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_NAMES))
    description = serializers.CharField(allow_blank=True)
    active = serializers.BooleanField()
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class WebhookWithSecret(WebhookOut):
    """What creating a webhook and rotating its secret answer: the one time it is shown."""

    secret = serializers.CharField(
        help_text="the HMAC-SHA256 key of the signatures; shown only now, never on later reads"
    )


class AttemptOut(serializers.Serializer):
    number = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    duration_ms = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_blank=True)
    response = serializers.CharField(
        allow_blank=True,
        help_text="the first KB of the receiver's answer, kept only from receivers in "
        "OUTBOUND_ALLOWED_NETWORKS",
    )


class DeliveryOut(serializers.Serializer):
    id = serializers.IntegerField()
    event = serializers.CharField()
    event_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Delivery.Status.values)
    body = serializers.CharField(help_text="the exact JSON text sent and signed")
    created_at = serializers.DateTimeField()
    next_attempt_at = serializers.DateTimeField(
        allow_null=True, help_text="when a pending delivery is tried next"
    )
    delivered_at = serializers.DateTimeField(allow_null=True)
    redelivered_at = serializers.DateTimeField(allow_null=True)
    redelivered_by = serializers.CharField(allow_null=True)
    attempts = AttemptOut(many=True)


def _time(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _name(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def webhook_out(webhook: Webhook, *, with_secret: bool = False) -> dict:
    """The webhook; its secret only when just made (creation, rotation)."""
    shown = {
        "id": webhook.pk,
        "url": webhook.url,
        "events": webhook.events,
        "description": webhook.description,
        "active": webhook.active,
        "created_by": _name(webhook.created_by),
        "created_at": _time(webhook.created_at),
    }
    if with_secret:
        shown["secret"] = webhook.secret
    return shown


def attempt_out(attempt: Attempt) -> dict:
    return {
        "number": attempt.number,
        "started_at": _time(attempt.started_at),
        "duration_ms": attempt.duration_ms,
        "status_code": attempt.status_code,
        "error": attempt.error,
        "response": attempt.response,
    }


def delivery_out(delivery: Delivery) -> dict:
    pending = delivery.status == Delivery.Status.PENDING
    return {
        "id": delivery.pk,
        "event": delivery.event,
        "event_id": str(delivery.event_id),
        "status": delivery.status,
        "body": delivery.body,
        "created_at": _time(delivery.created_at),
        "next_attempt_at": _time(delivery.next_attempt_at) if pending else None,
        "delivered_at": _time(delivery.delivered_at),
        "redelivered_at": _time(delivery.redelivered_at),
        "redelivered_by": _name(delivery.redelivered_by),
        "attempts": [attempt_out(a) for a in delivery.attempt_log.all()],
    }
