"""The registry's background jobs besides the task queue, one round at a time:
planned deployments whose time came, webhook deliveries due, and evaluations whose
worker stopped (requeued, so another worker finishes their rows)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from evaluations.models import Evaluation
from evaluations.runner import stale_evaluations
from evaluations.services import enqueue
from releases.services import activate_due
from webhooks.delivery import deliver_due

log = logging.getLogger(__name__)
# A requeued evaluation is not requeued again for this long (its new job is waiting).
REQUEUE_GRACE = timedelta(seconds=60)


def requeue_stale() -> int:
    """Queue a new job for each evaluation whose worker went silent past the lease. Its
    heartbeat is set just at the lease's edge: the new job may claim it at once, and
    the next rounds leave it alone for REQUEUE_GRACE."""
    requeued = 0
    for pk in stale_evaluations(grace=REQUEUE_GRACE):
        edge = timezone.now() - timedelta(seconds=settings.EVALUATION_LEASE_SECONDS)
        moved = Evaluation.objects.filter(
            pk=pk, state=Evaluation.State.RUNNING, heartbeat_at__lt=edge - REQUEUE_GRACE
        ).update(heartbeat_at=edge)
        if moved:
            enqueue(pk)
            requeued += 1
    return requeued


def one_round(batch: int, stop: Callable[[], bool]) -> int:
    """Deliveries sent this round (a full batch means more is waiting)."""
    if not connection.in_atomic_block:
        close_old_connections()
    try:
        activate_due()
        requeue_stale()
        return deliver_due(batch=batch, stop=stop)
    except DatabaseError:
        # The database may be restarting; the queues are safe in it, try again later.
        log.exception("worker: database unavailable")
        return 0
