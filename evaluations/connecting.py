"""Which connection and model an evaluation (or a judge) uses."""

from __future__ import annotations

from typing import Any

from prompts.models import Prompt
from registry_site.errors import Invalid
from runs.models import Connection

MODEL_CHARS = 200


def team_connection(prompt: Prompt, name: Any, field: str = "connection") -> Connection:
    found = (
        Connection.objects.filter(team_id=prompt.team_id, name=name).first()
        if isinstance(name, str)
        else None
    )
    if found is None:
        raise Invalid(f"{prompt.team.slug} has no connection {str(name)[:64]}.", {"field": field})
    return found


def pick_model(connection: Connection, model: Any, config: dict, field: str = "model") -> str:
    chosen = model if model not in (None, "") else config.get("model")
    if chosen in (None, "") and connection.model_names:
        chosen = connection.model_names[0]
    if not isinstance(chosen, str) or not chosen.strip() or len(chosen) > MODEL_CHARS:
        raise Invalid(
            "Say which model to run: here, in the version's config or the connection.",
            {"field": field},
        )
    if connection.model_names and chosen not in connection.model_names:
        raise Invalid(
            f"The connection {connection.name} does not offer {chosen}.",
            {"field": field, "allowed": connection.model_names},
        )
    return chosen
