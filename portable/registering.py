"""Registering prompts found in code (``portable.scanning``): one prompt per finding,
created once. Running it again finds the prompt by its slug and leaves it alone, so
the scan can be repeated while the code is being moved over."""

from __future__ import annotations

from typing import Any

from accounts.models import Team
from portable.scanning import Finding
from prompts import services, writing
from prompts.models import PromptAddress

SCANNED_TAG = "scanned"


def register(actor: Any, team: Team, finding: Finding) -> str:
    """``created``, ``unchanged`` (same content) or ``exists`` (the slug holds other
    content: it was edited in the registry since, which is what should happen)."""
    content = _content(finding)
    address = PromptAddress.objects.filter(team=team, slug=finding.slug).select_related(
        "prompt__latest_version"
    )
    found = address.first()
    if found is not None:
        latest = found.prompt.latest_version
        stored = writing.version_content(
            content.get("template"), content.get("messages"), None, None
        )
        return "unchanged" if latest and latest.content_hash == stored["content_hash"] else "exists"
    services.create_prompt(
        actor,
        team,
        name=finding.name or finding.slug,
        slug=finding.slug,
        description=f"Moved from {source_of(finding)} by scan_prompts.",
        tags=[SCANNED_TAG],
        change_note=f"found in {source_of(finding)} ({finding.kind})",
        **content,
    )
    return "created"


def source_of(finding: Finding) -> str:
    return f"{finding.path}:{finding.line}"


def _content(finding: Finding) -> dict:
    if finding.is_chat:
        return {"messages": [{"role": r, "content": c} for r, c in finding.messages]}
    return {"template": finding.template}


def client_call(team: Team, finding: Finding) -> str:
    """The line of Python that replaces the inline prompt (see the README's client)."""
    address = f"{team.slug}/{finding.slug}"
    values = ", ".join(f"{v}={v}" for v in finding.variables)
    if finding.is_chat:
        given = ", ".join(f'"{v}": {v}' for v in finding.variables)
        return f'registry.render("{address}", {{{given}}})["messages"]'
    return f'registry.get("{address}").render({values})'
