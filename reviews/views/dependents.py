"""The compare page's part for a snippet: the prompts that include it, and the
composed diff of one of them (its live composed text now, and with the compared
version taken for the snippet). Listing is a fixed number of queries; the chosen
dependent is composed twice, so any number of dependents costs the same."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.http import urlencode

from composition.dependents import dependents_of
from composition.impact import Impact, impact_on
from composition.services import Composed
from prompts import diffing
from prompts.diff_markup import diff_view
from prompts.models import Prompt, Version


def composed_text(composed: Composed | None) -> str:
    if composed is None:
        return ""
    if composed.kind == Version.Kind.CHAT:
        return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in composed.messages)
    return composed.template


def dependents_part(
    request: HttpRequest, prompt: Prompt, old: Version, new: Version, layout: str
) -> dict[str, Any] | None:
    """None when no prompt the viewer may see includes ``prompt``; else the live
    dependents with a link each, and the chosen one's composed diff."""
    dependents = dependents_of(request.user, prompt)
    if not dependents:
        return None
    base = {"from": old.number, "to": new.number, "layout": layout}
    choices = [
        {
            "address": d.address,
            "environment": env,
            "url": "?" + urlencode({**base, "dependent": d.address, "in": env}) + "#dependents",
        }
        for d in dependents
        for env in d.live_in
    ]
    address, env = request.GET.get("dependent", ""), request.GET.get("in", "")
    chosen: Impact | None = None
    diff = None
    offered = {(c["address"], c["environment"]) for c in choices}
    if (address, env) in offered:
        chosen = impact_on(request.user, prompt, new, address, env)
        if chosen is not None and chosen.before is not None and chosen.after is not None:
            lines = diffing.diff_lines(composed_text(chosen.before), composed_text(chosen.after))
            diff = diff_view(lines, layout)
    return {
        "dependents": dependents,
        "choices": choices,
        "chosen": chosen,
        "address": address,
        "environment": env,
        "diff": diff,
        "after_title": f"With v{new.number} of {prompt.address}",
    }
