"""Archiving a snippet that live prompts include would break them at once (their
composed text names an archived prompt): refused with their names, unless forced."""

from __future__ import annotations

from typing import Any

from accounts.permissions import can
from composition.dependents import live_dependents
from composition.errors import SnippetInUse
from prompts.models import Prompt


def refuse_archiving_included(actor: Any, prompt: Prompt, force: bool) -> None:
    """The archive check registered with prompts: raise SnippetInUse (409) naming the
    live dependents ``actor`` may see (and saying others exist) unless ``force``."""
    if force:
        return
    dependents = live_dependents(prompt)
    if not dependents:
        return
    shown = [d for d in dependents if can(actor, "view", d.prompt)]
    named = [{"address": d.address, "environments": d.live_in} for d in shown]
    parts = [f"{d['address']} (live in {', '.join(d['environments'])})" for d in named]
    hidden = len(shown) < len(dependents)
    if hidden:
        parts.append("prompts you cannot see")
    raise SnippetInUse(
        f"{prompt.address} is included by live prompts: {'; '.join(parts)}. Archiving it "
        "would break them; archive anyway with force.",
        named,
        hidden,
    )
