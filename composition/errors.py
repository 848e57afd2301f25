"""The two refusals of composition: a reference that cannot be saved (400
``bad_reference``) and a composed text that cannot be built now (409
``composition_failed``). Both name the reference in ``details.reference`` and say why
in ``details.why``: ``not_found``, ``no_version``, ``no_environment``,
``chat``, ``cycle``, ``too_deep``, ``too_large``, ``not_live``, ``archived``."""

from __future__ import annotations

from registry_site.errors import Conflict, Invalid

MAX_DEPTH = 5  # includes nested in includes, counted from the prompt itself
MAX_LEVELS = 10  # dependents walked up: past the depth a save allows (older versions)


class BadReference(Invalid):
    code = "bad_reference"

    def __init__(self, message: str, written: str, why: str, where: dict, **more) -> None:
        super().__init__(message, {**where, "reference": written, "why": why, **more})


class CompositionFailed(Conflict):
    code = "composition_failed"

    def __init__(self, message: str, written: str, why: str, **more) -> None:
        super().__init__(message, {"reference": written, "why": why, **more})


class SnippetInUse(Conflict):
    """Archiving a prompt that live prompts include: it would break them."""

    code = "snippet_in_use"

    def __init__(self, message: str, dependents: list[dict], hidden: bool) -> None:
        super().__init__(message, {"dependents": dependents, "hidden": hidden})
        self.dependents = dependents
