"""Sending queued deliveries: what ``manage.py deliver_webhooks`` runs.

Any number of workers may run side by side. A worker claims one delivery at a time with
a conditional UPDATE (``locked_until`` in the past or unset), which only one of them can
win on SQLite and PostgreSQL alike, then sends it, then logs the attempt and schedules
the next one. A claim is a lease: if a worker dies mid-send, the delivery is due again
once the lease runs out, so nothing queued is ever lost (a receiver may then see it
twice, and drops the duplicate by its ``id``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from registry_site import outbound
from registry_site.outbound import OutboundRefused
from webhooks.models import Attempt, Delivery
from webhooks.signing import SIGNATURE_HEADER, signature_header

log = logging.getLogger(__name__)

USER_AGENT = "prompt-registry-webhooks/1"
EXCERPT_BYTES = 1024
ERROR_CHARS = 1000
# The longest wait between two attempts, however large the backoff grows.
MAX_BACKOFF = timedelta(hours=6)


@dataclass
class Outcome:
    """What one attempt got back."""

    status_code: int | None = None
    error: str = ""
    response: str = ""
    duration_ms: int = 0

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# ------------------------------------------------------------------ claiming


def lease() -> timedelta:
    """How long a claim holds: longer than any attempt can last (each ends within
    WEBHOOK_ATTEMPT_SECONDS), with room to record it."""
    return timedelta(seconds=2 * settings.WEBHOOK_ATTEMPT_SECONDS + 30)


def due(now: datetime, limit: int) -> list[int]:
    """Ids of the deliveries to send now, oldest due first. Deliveries of a paused
    (inactive) webhook wait."""
    return list(
        Delivery.objects.filter(
            Q(locked_until__isnull=True) | Q(locked_until__lt=now),
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
            webhook__active=True,
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def claim(delivery_id: int, now: datetime) -> datetime | None:
    """Take the delivery for this worker until the returned time; None if another worker
    has it, or it is no longer due. One statement, so two workers cannot both win."""
    until = now + lease()
    won = (
        Delivery.objects.filter(
            Q(locked_until__isnull=True) | Q(locked_until__lt=now),
            pk=delivery_id,
            status=Delivery.Status.PENDING,
            next_attempt_at__lte=now,
        ).update(locked_until=until)
        == 1
    )
    return until if won else None


# ------------------------------------------------------------------ sending

# Whatever went wrong on the network, the log says this: a refused connection, a reset,
# a non-HTTP service and silence would otherwise tell open ports from closed ones.
UNREACHABLE = "No answer: the receiver could not be reached or did not answer in time."


def _text(raw: bytes) -> str:
    # PostgreSQL text cannot hold NUL characters.
    return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def headers_for(delivery: Delivery, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Registry-Event": delivery.event,
        "X-Registry-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature_header(delivery.webhook.secret, timestamp, delivery.body),
        # The excerpt we may keep is the first bytes as sent, never a decompressed bomb.
        "Accept-Encoding": "identity",
    }


def _excerpt(response: httpx.Response) -> str:
    """The first EXCERPT_BYTES of the answer, or what came of them in time."""
    kept = b""
    try:
        for chunk in response.iter_raw():
            kept += chunk
            if len(kept) >= EXCERPT_BYTES:
                break
    except httpx.HTTPError:
        pass  # the status came; an answer cut short is no new failure
    return _text(kept[:EXCERPT_BYTES])


def send(delivery: Delivery) -> Outcome:
    """POST the delivery once, signed now, through the outbound address policy, within
    WEBHOOK_ATTEMPT_SECONDS in all. Never raises: every failure is an outcome. The
    receiver's answer is kept only from networks the operator allows: the log must not
    become a way to read what an address answers."""
    started = time.monotonic()
    outcome = Outcome()
    body = delivery.body.encode()
    try:
        with outbound.open_client(
            timeout=settings.WEBHOOK_TIMEOUT, deadline=settings.WEBHOOK_ATTEMPT_SECONDS
        ) as client:
            headers = headers_for(delivery, int(time.time()))
            with client.stream("POST", delivery.webhook.url, content=body, headers=headers) as got:
                outcome.status_code = got.status_code
                if outbound.is_allowed_receiver(got):
                    outcome.response = _excerpt(got)
    except OutboundRefused as refused:
        outcome.error = f"Not sent: {refused.message}"[:ERROR_CHARS]
    except Exception as exc:  # whatever the network does, log it and go on
        log.info("webhook delivery %s: %s", delivery.pk, type(exc).__name__)
        outcome.error = UNREACHABLE
    outcome.duration_ms = int((time.monotonic() - started) * 1000)
    if outcome.status_code is not None and not outcome.delivered and not outcome.error:
        outcome.error = f"HTTP {outcome.status_code}"
    return outcome


# ------------------------------------------------------------------ recording


def backoff(failures: int) -> timedelta:
    """The wait after the ``failures``-th failure in a row: base, 2 × base, 4 × base …"""
    seconds = settings.WEBHOOK_BACKOFF * 2 ** min(failures - 1, 30)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


def record(delivery_id: int, outcome: Outcome, started_at: datetime, now: datetime) -> None:
    """Log the attempt and decide what comes next, in one transaction."""
    with transaction.atomic():
        row = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if row is None:  # its webhook was deleted meanwhile
            return
        row.attempts += 1
        Attempt.objects.create(
            delivery=row,
            number=row.attempts,
            started_at=started_at,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            error=outcome.error,
            response=outcome.response,
        )
        if outcome.delivered:
            row.status, row.delivered_at, row.failures = Delivery.Status.DELIVERED, now, 0
        else:
            row.failures += 1
            if row.failures >= settings.WEBHOOK_MAX_ATTEMPTS:
                row.status = Delivery.Status.FAILED
            else:
                row.next_attempt_at = now + backoff(row.failures)
        row.locked_until = None
        row.save(
            update_fields=[
                "attempts",
                "failures",
                "status",
                "delivered_at",
                "next_attempt_at",
                "locked_until",
            ]
        )


# ------------------------------------------------------------------ the worker's round


def deliver(delivery_id: int, now: datetime | None = None) -> Outcome | None:
    """Claim, send and log one delivery; None if another worker has it."""
    now = now or timezone.now()
    if claim(delivery_id, now) is None:
        return None
    delivery = Delivery.objects.select_related("webhook").filter(pk=delivery_id).first()
    if delivery is None:
        return None
    started_at = timezone.now()
    outcome = send(delivery)
    record(delivery_id, outcome, started_at, max(now, timezone.now()))
    log.info(
        "webhook delivery %s (%s) attempt %s: %s in %s ms",
        delivery_id,
        delivery.event,
        delivery.attempts + 1,
        outcome.status_code or outcome.error,
        outcome.duration_ms,
    )
    return outcome


def deliver_due(
    *,
    now: datetime | None = None,
    batch: int = 50,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Send up to ``batch`` due deliveries; how many this worker sent. ``stop`` is asked
    before each one, so a worker told to stop finishes the send in progress only."""
    now = now or timezone.now()
    sent = 0
    for delivery_id in due(now, batch):
        if stop is not None and stop():
            break
        if deliver(delivery_id, now) is not None:
            sent += 1
    return sent
