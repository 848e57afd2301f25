"""Sample inputs: named sets of variable values kept per prompt, to try its versions with.

Editors and above write them, anyone who may see the prompt reads them. Every write
goes through ``save_sample`` / ``delete_sample``; readers use ``samples_for`` (the
editor's preview and the compare page render versions with one of them).
"""

from __future__ import annotations

import json
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.services import require
from prompts.models import Prompt, SampleInput
from prompts.templating import VARIABLE_NAME
from registry_site.errors import Conflict, Invalid, NotFound
from registry_site.middleware import json_is_storable

MAX_NAME = 100
MAX_VALUES_BYTES = 100_000


def samples_for(prompt: Prompt, actor: Any = None) -> QuerySet[SampleInput]:
    """The prompt's sample inputs, by name (one query). Given an actor, it must be
    allowed to see the prompt (NotFound otherwise, as for anything it may not see)."""
    if actor is not None:
        require(actor, "view", prompt, "No such prompt.")
    return SampleInput.objects.filter(prompt=prompt).select_related("author").order_by("name")


def get_sample(prompt: Prompt, name: Any) -> SampleInput | None:
    """One sample input of the prompt by name, or None."""
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        return None
    return SampleInput.objects.filter(prompt=prompt, name=name).first()


def check_name(name: Any) -> str:
    if not isinstance(name, str):
        raise Invalid("A sample's name must be text.", {"field": "name"})
    name = name.strip()
    if not name:
        raise Invalid("A sample needs a name.", {"field": "name"})
    if len(name) > MAX_NAME:
        raise Invalid(f"A sample's name is at most {MAX_NAME} characters.", {"field": "name"})
    if not json_is_storable(name):
        raise Invalid("A sample's name cannot contain NUL characters.", {"field": "name"})
    return name


def check_values(values: Any) -> dict[str, Any]:
    """An object mapping variable names to JSON values, at most ~100 kB as JSON."""
    if not isinstance(values, dict):
        raise Invalid(
            "Sample values must be an object mapping variable names to values.",
            {"field": "values"},
        )
    bad = [key for key in values if not isinstance(key, str) or not VARIABLE_NAME.match(key)]
    if bad:
        raise Invalid(
            f"{str(bad[0])[:60]!r} is not a variable name (letters A-Z, digits, '_').",
            {"field": "values", "name": str(bad[0])[:60]},
        )
    try:
        encoded = json.dumps(values, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        raise Invalid(
            "Sample values must be plain JSON (text, numbers, true/false, null, lists, objects).",
            {"field": "values"},
        ) from None
    size = len(encoded.encode("utf-8", errors="replace"))
    if size > MAX_VALUES_BYTES:
        raise Invalid(
            f"Sample values are {size} bytes as JSON; the limit is {MAX_VALUES_BYTES}.",
            {"field": "values", "limit": MAX_VALUES_BYTES},
        )
    if not json_is_storable(values):
        raise Invalid(
            "Sample values cannot contain NUL characters or lone surrogates.", {"field": "values"}
        )
    return json.loads(encoded)  # plain JSON types only (tuples become lists...)


def save_sample(actor: Any, prompt: Prompt, name: Any, values: Any) -> SampleInput:
    """Create the prompt's sample input ``name``, or replace its values."""
    require(actor, "edit", prompt, "Only editors keep sample inputs.")
    name = check_name(name)
    values = check_values(values)
    now = timezone.now()
    fields = {"values": values, "author": actor, "updated_at": now}
    for _attempt in range(2):
        try:
            with transaction.atomic():
                sample, _created = SampleInput.objects.update_or_create(
                    prompt=prompt,
                    name=name,
                    defaults=fields,
                    create_defaults={**fields, "created_at": now},
                )
                return sample
        except IntegrityError:
            continue  # a concurrent writer created it first: ours updates it
    raise Conflict("The sample changed at the same time; try again.", {"field": "name"})


def delete_sample(actor: Any, prompt: Prompt, name: Any) -> None:
    require(actor, "edit", prompt, "Only editors delete sample inputs.")
    deleted = 0
    if isinstance(name, str) and name:
        deleted, _ = SampleInput.objects.filter(prompt=prompt, name=name).delete()
    if not deleted:
        raise NotFound(f"{prompt.address} has no sample input {str(name)[:MAX_NAME]!r}.")
