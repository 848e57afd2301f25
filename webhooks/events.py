"""Events other systems hear about, queued in the writer's transaction (an outbox).

Services call ``emit`` inside the transaction that makes the change, so an event exists
exactly when its change committed; ``manage.py deliver_webhooks`` sends it later.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from webhooks.models import Delivery, Webhook

VERSION_CREATED = "version.created"
REVIEW_REQUESTED = "review.requested"
REVIEW_VERDICT = "review.verdict"
DEPLOYMENT_ACTIVATED = "deployment.activated"
DEPLOYMENT_ROLLED_BACK = "deployment.rolled_back"
PROMPT_ARCHIVED = "prompt.archived"
EVALUATION_COMPLETED = "evaluation.completed"
EVENTS = (
    VERSION_CREATED,
    REVIEW_REQUESTED,
    REVIEW_VERDICT,
    DEPLOYMENT_ACTIVATED,
    DEPLOYMENT_ROLLED_BACK,
    PROMPT_ARCHIVED,
    EVALUATION_COMPLETED,
)
# What each event means, in the words of the pages.
DESCRIPTIONS = {
    VERSION_CREATED: "A version is added to a prompt",
    REVIEW_REQUESTED: "Someone asks for a review of a version",
    REVIEW_VERDICT: "A reviewer approves a version or requests changes",
    DEPLOYMENT_ACTIVATED: "A version goes live in an environment",
    DEPLOYMENT_ROLLED_BACK: "An environment is rolled back to its previous version",
    PROMPT_ARCHIVED: "A prompt is archived",
    EVALUATION_COMPLETED: "An evaluation of a version finishes (succeeded, failed or cancelled)",
}
# Sent on an admin's request to one webhook, to try a receiver; nobody subscribes to it.
PING = "ping"


def emit(
    kind: str,
    *,
    team: Any,
    actor: Any,
    prompt: Any = None,
    version: Any = None,
    environment: Any = None,
    data: dict | Callable[[], dict] | None = None,
) -> None:
    """Queue ``kind`` for every active webhook of ``team`` that listens to it.
    Call inside the transaction of the change it reports. ``data`` may be a function
    giving it, asked only when some webhook listens (what costs queries to say)."""
    if kind not in EVENTS:
        raise ValueError(f"unknown event {kind!r}")
    # One small query, whatever happens next: most teams have no webhook at all. Events
    # are matched here rather than in SQL, since SQLite cannot search in a JSON list.
    listening = [
        pk
        for pk, events in Webhook.objects.filter(team_id=team.pk, active=True).values_list(
            "pk", "events"
        )
        if kind in events
    ]
    if listening:
        if callable(data):
            data = data()
        body = _body(kind, team, actor, prompt, version, environment, data)
        _queue(listening, kind, body)


def ping(webhook: Webhook, actor: Any) -> Delivery:
    """Queue a test event for ``webhook`` alone, whatever it subscribes to."""
    data = {"message": "A test event from the prompt registry.", "webhook": webhook.pk}
    body = _body(PING, webhook.team, actor, None, None, None, data)
    return _queue([webhook.pk], PING, body)[0]


def _queue(webhook_ids: list[int], kind: str, body: dict) -> list[Delivery]:
    text = json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"))
    event_id = uuid.UUID(body["id"])
    now = timezone.now()
    return Delivery.objects.bulk_create(
        Delivery(
            webhook_id=pk,
            event=kind,
            event_id=event_id,
            body=text,
            next_attempt_at=now,
            created_at=now,
        )
        for pk in webhook_ids
    )


def _time(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _body(
    kind: str,
    team: Any,
    actor: Any,
    prompt: Any,
    version: Any,
    environment: Any,
    data: dict | None,
) -> dict:
    """What receivers get: the event and the names of what it is about."""
    return {
        "id": str(uuid.uuid4()),
        "event": kind,
        "occurred_at": _time(timezone.now()),
        "team": team.slug,
        "prompt": {"slug": prompt.slug, "name": prompt.name, "address": prompt.address}
        if prompt is not None
        else None,
        "version": {"number": version.number, "content_hash": version.content_hash}
        if version is not None
        else None,
        "environment": environment.slug if environment is not None else None,
        "actor": actor.get_username() if getattr(actor, "is_authenticated", False) else None,
        "data": data or {},
    }
