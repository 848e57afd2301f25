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
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

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
    """How long a claim holds: longer than any send can take (the timeout applies to
    connecting and to each read, and we read little)."""
    return timedelta(seconds=4 * settings.WEBHOOK_TIMEOUT + 30)


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


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a place to send the body (and its signature) to."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _text(raw: bytes) -> str:
    # PostgreSQL text cannot hold NUL characters.
    return raw.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def request_for(delivery: Delivery, timestamp: int) -> urllib.request.Request:
    url = delivery.webhook.url
    # Checked on save already; checked again because urllib would also open file: URLs.
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise ValueError("only http and https URLs are sent to")
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Registry-Event": delivery.event,
        "X-Registry-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature_header(delivery.webhook.secret, timestamp, body),
    }
    return urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310


def send(delivery: Delivery) -> Outcome:
    """POST the delivery once, signed now. Never raises: every failure is an outcome."""
    started = time.monotonic()
    outcome = Outcome()
    try:
        request = request_for(delivery, int(time.time()))
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT) as response:  # noqa: S310
            outcome.status_code = response.status
            outcome.response = _text(response.read(EXCERPT_BYTES))
    except urllib.error.HTTPError as exc:
        outcome.status_code = exc.code
        try:
            outcome.response = _text(exc.read(EXCERPT_BYTES))
        except Exception:  # an unreadable error body is no new failure
            outcome.response = ""
        finally:
            exc.close()
    except urllib.error.URLError as exc:
        outcome.error = _text(str(exc.reason).encode())[:ERROR_CHARS]
    except Exception as exc:  # whatever the network does, log it and go on
        outcome.error = _text(f"{type(exc).__name__}: {exc}".encode())[:ERROR_CHARS]
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
        "webhook delivery %s (%s) attempt %s: %s",
        delivery_id,
        delivery.event,
        delivery.attempts + 1,
        outcome.status_code or outcome.error,
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
