"""Events other systems hear about, queued in the writer's transaction (an outbox).

Services call ``emit`` inside the transaction that makes the change, so an event exists
exactly when its change committed; ``manage.py deliver_webhooks`` sends it later.
"""

from __future__ import annotations

from typing import Any

VERSION_CREATED = "version.created"
REVIEW_REQUESTED = "review.requested"
REVIEW_VERDICT = "review.verdict"
DEPLOYMENT_ACTIVATED = "deployment.activated"
DEPLOYMENT_ROLLED_BACK = "deployment.rolled_back"
PROMPT_ARCHIVED = "prompt.archived"
EVENTS = (
    VERSION_CREATED,
    REVIEW_REQUESTED,
    REVIEW_VERDICT,
    DEPLOYMENT_ACTIVATED,
    DEPLOYMENT_ROLLED_BACK,
    PROMPT_ARCHIVED,
)


def emit(
    kind: str,
    *,
    team: Any,
    actor: Any,
    prompt: Any = None,
    version: Any = None,
    environment: Any = None,
    data: dict | None = None,
) -> None:
    """Queue ``kind`` for every active webhook of ``team`` that listens to it.
    Call inside the transaction of the change it reports."""
    # Filled in by the webhooks workstream: writes one Delivery per matching webhook.
    return None
