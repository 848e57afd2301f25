"""Dropping cached answers at the right moments."""

from collections.abc import Callable

from django.db import transaction


def now_and_after_commit(forget: Callable[[], None]) -> None:
    """Run ``forget`` now and again once the transaction commits.

    The second run is the one that matters: a reader racing the writer may cache the
    old state between the first run and the commit. The first run makes the change
    visible at once to code that runs inside the same transaction (and in tests, which
    never commit).
    """
    forget()
    transaction.on_commit(forget)
