"""Every change to a team's webhooks, for the API, the pages and the admin alike.

Team admins alone manage webhooks: a member who is not one gets Forbidden, anyone who
may not see the team gets NotFound (require() decides which).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Team
from accounts.services import require
from registry_site import outbound
from registry_site.errors import Conflict, Invalid, NotFound
from registry_site.history import attribute
from registry_site.outbound import OutboundRefused
from webhooks import events
from webhooks.models import Delivery, Webhook, new_secret

URL_CHARS = 2000
DESCRIPTION_CHARS = 200
# Each one costs every change of the team a row; a team needs a handful.
MAX_PER_TEAM = 20
MAX_ID = 2**63 - 1
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$", re.IGNORECASE)


# ------------------------------------------------------------------ checks


def _bad_url(message: str) -> Invalid:
    return Invalid(message, {"field": "url"})


def check_url(url: Any) -> str:
    """An absolute http or https address that can be sent to as it is, and that the
    outbound address policy allows (registry_site/outbound.py; it is checked again on
    every send)."""
    if not isinstance(url, str) or not url.strip():
        raise _bad_url("A webhook needs a URL.")
    url = url.strip()
    if len(url) > URL_CHARS:
        raise _bad_url(f"A URL has at most {URL_CHARS} characters.")
    if not url.isascii() or any(ord(c) < 33 or c == "\x7f" for c in url):
        raise _bad_url("Percent-encode spaces and other special characters in the URL.")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise _bad_url("A webhook URL starts with http:// or https://.")
    if parts.username is not None or parts.password is not None:
        raise _bad_url(
            "Leave user names and passwords out of the URL; the signature "
            "tells your receiver the request is ours."
        )
    host = parts.hostname or ""
    if not host or not (_is_ip(host) or _HOST.match(host)):
        raise _bad_url("The URL needs a valid host name or IP address.")
    try:
        parts.port  # noqa: B018 (parsing it is the check)
    except ValueError:
        raise _bad_url("The URL's port is a number from 0 to 65535.") from None
    try:
        outbound.check_url(url)
    except OutboundRefused as refused:
        raise _bad_url(refused.message) from None
    return url


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def check_events(chosen: Any) -> list[str]:
    """The events, each once, in the registry's order."""
    allowed = {"field": "events", "allowed": list(events.EVENTS)}
    if not isinstance(chosen, list | tuple) or not all(isinstance(e, str) for e in chosen):
        raise Invalid("Events are a list of event names.", allowed)
    unknown = sorted({e for e in chosen if e not in events.EVENTS})
    if unknown:
        raise Invalid(f"Unknown event: {', '.join(unknown)}.", {**allowed, "unknown": unknown})
    if not chosen:
        raise Invalid("Pick at least one event.", allowed)
    return [e for e in events.EVENTS if e in chosen]


def check_description(text: Any) -> str:
    if text is None:
        return ""
    if not isinstance(text, str) or len(text) > DESCRIPTION_CHARS or "\x00" in text:
        raise Invalid(
            f"A description is text of at most {DESCRIPTION_CHARS} characters.",
            {"field": "description"},
        )
    return text.strip()


def check_active(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Invalid("Active is true or false.", {"field": "active"})
    return value


def _require_admin(actor: Any, team: Team) -> None:
    require(actor, "admin", team, "Only team admins manage webhooks.")


# ------------------------------------------------------------------ reads


def webhooks_of(actor: Any, team: Team) -> QuerySet:
    """The team's webhooks, oldest first, each with counts of its waiting and failed
    deliveries (one query)."""
    _require_admin(actor, team)
    return (
        Webhook.objects.filter(team=team)
        .select_related("created_by")
        .annotate(
            pending=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING)),
            failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
        )
        .order_by("pk")
    )


def _id(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def find_webhook(actor: Any, team: Team, webhook_id: Any) -> Webhook:
    _require_admin(actor, team)
    pk = _id(webhook_id)
    found = Webhook.objects.filter(team=team, pk=pk).select_related("team")
    webhook = found.first() if pk else None
    if webhook is None:
        raise NotFound("No such webhook.")
    return webhook


def deliveries_of(webhook: Webhook) -> QuerySet:
    """The webhook's deliveries, newest first, each with its attempts (two queries for a
    page, however long)."""
    return (
        Delivery.objects.filter(webhook=webhook)
        .select_related("redelivered_by")
        .prefetch_related("attempt_log")
        .order_by("-created_at", "-pk")
    )


def find_delivery(webhook: Webhook, delivery_id: Any) -> Delivery:
    pk = _id(delivery_id)
    delivery = Delivery.objects.filter(webhook=webhook, pk=pk).first() if pk else None
    if delivery is None:
        raise NotFound("No such delivery.")
    return delivery


# ------------------------------------------------------------------ writes


def create_webhook(
    actor: Any,
    team: Team,
    *,
    url: Any,
    events: Any,
    description: Any = "",
    active: Any = True,
) -> Webhook:
    _require_admin(actor, team)
    # Checked before the transaction: the URL check may wait on DNS.
    webhook = Webhook(
        team=team,
        url=check_url(url),
        events=check_events(events),
        description=check_description(description),
        active=check_active(active),
        created_by=actor,
    )
    with transaction.atomic():
        if Webhook.objects.filter(team=team).count() >= MAX_PER_TEAM:
            raise Conflict(f"A team has at most {MAX_PER_TEAM} webhooks.", {"reason": "limit"})
        attribute(webhook, actor, f"webhook to {webhook.url} added").save()
    return webhook


def update_webhook(
    actor: Any,
    webhook: Webhook,
    *,
    url: Any = None,
    events: Any = None,
    description: Any = None,
    active: Any = None,
) -> Webhook:
    """Change what is given (None: keep it). Already queued deliveries go to the new URL.
    An unchanged URL is not checked again (a webhook stays editable after the allow-list
    shrank); every send checks it anyway."""
    _require_admin(actor, webhook.team)
    changes: dict[str, Any] = {}
    if url is not None:
        changes["url"] = webhook.url if url == webhook.url else check_url(url)
    if events is not None:
        changes["events"] = check_events(events)
    if description is not None:
        changes["description"] = check_description(description)
    if active is not None:
        changes["active"] = check_active(active)
    changed = sorted(k for k, v in changes.items() if getattr(webhook, k) != v)
    if not changed:
        return webhook
    with transaction.atomic():
        for field, value in changes.items():
            setattr(webhook, field, value)
        attribute(webhook, actor, f"changed {', '.join(changed)}").save()
    return webhook


@transaction.atomic
def rotate_secret(actor: Any, webhook: Webhook) -> Webhook:
    """A new secret: deliveries sent from now on, queued ones included, are signed with it."""
    _require_admin(actor, webhook.team)
    webhook.secret = new_secret()
    attribute(webhook, actor, "secret rotated").save()
    return webhook


@transaction.atomic
def delete_webhook(actor: Any, webhook: Webhook) -> None:
    """Remove the webhook with its deliveries; its history keeps who did it."""
    _require_admin(actor, webhook.team)
    attribute(webhook, actor, f"webhook to {webhook.url} deleted").delete()


@transaction.atomic
def redeliver(actor: Any, delivery: Delivery) -> Delivery:
    """Send the delivery again as soon as a worker is free, with a fresh round of retries.
    Its body, and so its event id, stay the same."""
    _require_admin(actor, delivery.webhook.team)
    now = timezone.now()
    delivery.status = Delivery.Status.PENDING
    delivery.next_attempt_at = now
    delivery.failures = 0
    delivery.delivered_at = None
    delivery.redelivered_by = actor
    delivery.redelivered_at = now
    delivery.save(
        update_fields=[
            "status",
            "next_attempt_at",
            "failures",
            "delivered_at",
            "redelivered_by",
            "redelivered_at",
        ]
    )
    return delivery


@transaction.atomic
def send_test(actor: Any, webhook: Webhook) -> Delivery:
    """Queue a ``ping`` event for this webhook alone."""
    _require_admin(actor, webhook.team)
    return events.ping(webhook, actor)
