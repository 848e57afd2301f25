"""Counting fetches cheaply: in memory per process, written in batches.

A resolve adds to a counter in this process; every few seconds (or every few
thousand fetches) the next fetch writes the sums with one statement per bucket.
The cost on the fetch path is a dictionary update.
"""

from __future__ import annotations

import atexit
import logging
import time
from collections import Counter
from datetime import timedelta
from threading import Lock
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Max, QuerySet, Sum
from django.utils import timezone

from serving.models import Usage

log = logging.getLogger(__name__)

# (prompt id, version id, environment, kind, caller, token id, user id) -> count
_pending: Counter = Counter()
_seen: dict[tuple, Any] = {}
_lock = Lock()
_last_flush = time.monotonic()


def count(user: Any, resolved: Any, kind: str) -> None:
    prompt_id, version_id = resolved.prompt_id, resolved.version_id
    token = getattr(user, "registry_token", None)
    caller = f"token:{token.id}" if token is not None else f"user:{user.pk}"
    key = (
        prompt_id,
        version_id,
        resolved.environment or "",
        kind,
        caller,
        token.id if token is not None else None,
        user.pk,
    )
    with _lock:
        _pending[key] += 1
        _seen[key] = timezone.now()
        due = (
            len(_pending) >= settings.REGISTRY_USAGE_BATCH
            or time.monotonic() - _last_flush >= settings.REGISTRY_USAGE_SECONDS
        )
    if due:
        flush()


def flush() -> int:
    """Write what was counted; returns the number of buckets written."""
    global _last_flush
    with _lock:
        batch = dict(_pending)
        seen = dict(_seen)
        _pending.clear()
        _seen.clear()
        _last_flush = time.monotonic()
    for key, n in batch.items():
        try:
            _add(key, n, seen[key])
        except DatabaseError:
            # A prompt deleted meanwhile, or a database hiccup: usage is best effort.
            log.warning("usage bucket %s not written", key, exc_info=True)
    return len(batch)


def discard() -> None:
    """Forget what was counted and not yet written (tests start clean with it)."""
    global _last_flush
    with _lock:
        _pending.clear()
        _seen.clear()
        _last_flush = time.monotonic()


def _add(key: tuple, n: int, when: Any) -> None:
    prompt_id, version_id, environment, kind, caller, token_id, user_id = key
    bucket = {
        "prompt_id": prompt_id,
        "version_id": version_id,
        "environment": environment,
        "kind": kind,
        "caller": caller,
        "day": when.date(),
    }
    with transaction.atomic():
        if Usage.objects.filter(**bucket).update(count=F("count") + n, last_seen=when):
            return
        try:
            with transaction.atomic():
                Usage.objects.create(
                    **bucket, token_id=token_id, user_id=user_id, count=n, last_seen=when
                )
        except IntegrityError:  # another process created the bucket first
            Usage.objects.filter(**bucket).update(count=F("count") + n, last_seen=when)


def report(prompt: Any) -> list[dict]:
    """Who fetches the prompt: per caller, version and environment, with totals."""
    rows = (
        Usage.objects.filter(prompt=prompt)
        .values(
            "caller",
            "token__name",
            "token__prefix",
            "user__username",
            "environment",
            "version__number",
            "kind",
        )
        .annotate(total=Sum("count"), last=Max("last_seen"))
        .order_by("-last")
    )
    return [
        {
            "caller": r["caller"],
            "token": r["token__name"] or r["token__prefix"],
            "user": r["user__username"],
            "environment": r["environment"] or None,
            "version": r["version__number"],
            "kind": r["kind"],
            "count": r["total"],
            "last_seen": r["last"].isoformat().replace("+00:00", "Z"),
        }
        for r in rows
    ]


atexit.register(lambda: _pending and flush())


def fetched_within(days: int | None) -> QuerySet | None:
    """A subquery of the ids of prompts fetched in the last ``days`` days (None: no filter):
    what lists leave out to find prompts nobody uses."""
    if days is None:
        return None
    since = timezone.now().date() - timedelta(days=days)
    return Usage.objects.filter(day__gte=since).values("prompt_id")
