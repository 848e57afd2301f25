"""The registry's background jobs besides the task queue, one round at a time:
planned deployments whose time came, webhook deliveries due, and evaluations whose
worker stopped (requeued, so another worker finishes their rows)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from evaluations.claims import stale_evaluations, take_stale
from evaluations.services import enqueue
from releases.services import activate_due
from webhooks.delivery import deliver_due

log = logging.getLogger(__name__)


def requeue_stale() -> int:
    """Queue a new job for each evaluation whose workers went silent past the lease
    (evaluations/claims.py): whoever runs it takes over the rows whose lease ended. The
    heartbeat moves on as it is queued, so it is queued again only if that job, too,
    is not started within another lease (a duplicate job finds nothing left to do)."""
    requeued = 0
    for pk in stale_evaluations():
        if take_stale(pk):
            _end_silent_jobs(pk)
            enqueue(pk)
            requeued += 1
    return requeued


class WorkerWentSilent(Exception):
    """What the task table says of a job whose worker stopped renewing its leases."""


def _end_silent_jobs(evaluation_id: int) -> None:
    """The database backend's row of a job whose worker died says "running" forever;
    it failed, and its evaluation goes on in the job queued now."""
    if not settings.TASKS["default"]["BACKEND"].startswith("django_tasks_db."):
        return
    from django_tasks_db.models import DBTaskResult

    from evaluations.tasks import run_evaluation

    silent = DBTaskResult.objects.running().filter(
        task_path=run_evaluation.module_path, args_kwargs__args=[evaluation_id]
    )
    for job in silent:
        job.set_failed(WorkerWentSilent(f"Evaluation {evaluation_id}: its worker went silent."))


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
