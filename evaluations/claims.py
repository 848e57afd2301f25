"""Who runs what: an evaluation is joined by any worker given its job, and each of its
rows is claimed by one worker at a time under a lease (evaluations.models.RowClaim).

A worker renews the leases of the rows it is running, and the evaluation's heartbeat,
every EVALUATION_LEASE_SECONDS / 4 whether or not a row finished, so a slow row is
never taken from a live worker. When a worker stops (killed, machine gone), its
heartbeat and leases run out; ``requeue_stale`` (each worker's rounds) queues the
evaluation again, and whoever runs that job takes over the rows whose lease ended.
A row's result is written only by the worker that holds its claim, in the same
transaction that marks the claim recorded, so a row is recorded once.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from evaluations.models import Evaluation, RowClaim


def lease() -> timedelta:
    return timedelta(seconds=settings.EVALUATION_LEASE_SECONDS)


def tick() -> float:
    """How often a worker renews its leases (and looks for a cancel)."""
    return min(1.0, settings.EVALUATION_LEASE_SECONDS / 4)


def join(evaluation_id: int) -> bool:
    """Mark the evaluation running for this worker; False when it is finished (or was
    cancelled before it started), so there is nothing to do."""
    now = timezone.now()
    return bool(
        Evaluation.objects.filter(
            pk=evaluation_id, state__in=(Evaluation.State.QUEUED, Evaluation.State.RUNNING)
        ).update(
            state=Evaluation.State.RUNNING,
            heartbeat_at=now,
            started_at=Coalesce("started_at", Value(now)),
        )
    )


def claim_row(evaluation_id: int, index: int, worker: str) -> bool:
    """Take the row for ``worker``: a row nobody claimed, or one whose lease ran out
    before it was recorded."""
    return index in claim_rows(evaluation_id, [index], worker)


def claim_rows(evaluation_id: int, indexes: list[int], worker: str) -> list[int]:
    """Of these rows, those taken for ``worker`` (in their order): the ones nobody
    claimed, in one transaction, and the ones whose lease ran out unrecorded."""
    now = timezone.now()
    until = now + lease()
    try:
        with transaction.atomic():
            claimed = set(
                RowClaim.objects.filter(evaluation_id=evaluation_id, index__in=indexes).values_list(
                    "index", flat=True
                )
            )
            RowClaim.objects.bulk_create(
                RowClaim(evaluation_id=evaluation_id, index=i, worker=worker, lease_until=until)
                for i in indexes
                if i not in claimed
            )
    except IntegrityError:  # another worker claimed one of them meanwhile: one by one
        if len(indexes) > 1:
            return [i for i in indexes if claim_row(evaluation_id, i, worker)]
        claimed = set(indexes)
    taken = [i for i in indexes if i not in claimed]
    for index in sorted(claimed & set(indexes)):
        if RowClaim.objects.filter(
            evaluation_id=evaluation_id, index=index, recorded=False, lease_until__lt=now
        ).update(worker=worker, lease_until=until):
            taken.append(index)
    return sorted(taken, key=indexes.index)


def renew(evaluation_id: int, worker: str) -> bool:
    """Move the heartbeat and this worker's leases on; whether a cancel was asked for."""
    now = timezone.now()
    RowClaim.objects.filter(evaluation_id=evaluation_id, worker=worker, recorded=False).update(
        lease_until=now + lease()
    )
    Evaluation.objects.filter(pk=evaluation_id, state=Evaluation.State.RUNNING).update(
        heartbeat_at=now
    )
    return Evaluation.objects.filter(pk=evaluation_id, cancel_requested=True).exists()


def mark_recorded(evaluation_id: int, index: int, worker: str) -> bool:
    """Inside the transaction that writes the row: whether this worker still holds it
    (False: another worker took it over after the lease; its result is not written)."""
    return bool(
        RowClaim.objects.filter(
            evaluation_id=evaluation_id, index=index, worker=worker, recorded=False
        ).update(recorded=True)
    )


def held_elsewhere(evaluation_id: int, indexes: Iterable[int]) -> set[int]:
    """Of these rows, those another worker holds under a live lease."""
    return set(
        RowClaim.objects.filter(
            evaluation_id=evaluation_id,
            index__in=list(indexes),
            recorded=False,
            lease_until__gte=timezone.now(),
        ).values_list("index", flat=True)
    )


def anyone_running(evaluation_id: int) -> bool:
    return RowClaim.objects.filter(
        evaluation_id=evaluation_id, recorded=False, lease_until__gte=timezone.now()
    ).exists()


def stale_evaluations() -> list[int]:
    """Running evaluations whose heartbeat is older than the lease: no worker runs them."""
    stale = timezone.now() - lease()
    return list(
        Evaluation.objects.filter(
            state=Evaluation.State.RUNNING, heartbeat_at__lt=stale
        ).values_list("pk", flat=True)[:50]
    )


def take_stale(evaluation_id: int) -> bool:
    """Whether this round may queue the stale evaluation again: its heartbeat is moved
    to now, so no other round queues it again before another lease has passed."""
    now = timezone.now()
    return bool(
        Evaluation.objects.filter(
            Q(heartbeat_at__lt=now - lease()) | Q(heartbeat_at__isnull=True),
            pk=evaluation_id,
            state=Evaluation.State.RUNNING,
        ).update(heartbeat_at=now)
    )


def release(evaluation_id: int, worker: str) -> None:
    """Give back the rows this worker claimed but did not record (a cancel stopped them,
    or it is stopping), so nobody waits for their lease."""
    RowClaim.objects.filter(evaluation_id=evaluation_id, worker=worker, recorded=False).delete()
