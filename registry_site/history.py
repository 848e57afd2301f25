"""Who changed what and why, for django-simple-history.

Services set the actor explicitly instead of relying on the request middleware:
API requests authenticate inside the view (after the middleware ran), and commands
have no request at all.
"""

from typing import Any

from django.db.models import Model


def attribute(obj: Model, actor: Any, reason: str) -> Model:
    """Mark the next save of ``obj`` as done by ``actor`` for ``reason``."""
    obj._history_user = actor if getattr(actor, "is_authenticated", False) else None
    obj._change_reason = reason
    return obj
