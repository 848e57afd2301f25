"""What the export, import and scan commands share: who acts, progress, summaries."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def acting_user(username: str | None) -> Any:
    """The user a command acts as: ``--as USERNAME``, else the first superuser. Rights
    are checked as for that user, and history records them."""
    users = get_user_model().objects.filter(is_active=True)
    if username:
        user = users.filter(username=username).first()
        if user is None:
            raise CommandError(f"No active user named {username!r}.")
        return user
    user = users.filter(is_superuser=True).order_by("pk").first()
    if user is None:
        raise CommandError("No superuser to act as; name a team admin with --as USERNAME.")
    return user


@contextmanager
def progress(total: int, description: str) -> Iterator[Callable[[], None]]:
    """A progress bar on stderr while a terminal watches; silent otherwise (cron, CI)."""
    from tqdm import tqdm

    bar = tqdm(
        total=total,
        desc=description,
        unit="prompt",
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
    )
    try:
        yield lambda: bar.update(1)
    finally:
        bar.close()


def table(rows: list[list[str]], header: list[str]) -> str:
    """Columns padded to their widest cell."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True))
        for row in [header, *rows]
    ]
    return "\n".join(line.rstrip() for line in lines)
