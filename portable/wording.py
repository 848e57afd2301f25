"""How an import speaks of what it wrote, in change reasons and reports."""

from __future__ import annotations

from prompts.models import Version

# The change reason of everything an import writes (teams, environments, prompts,
# versions, deployments), so the history tells imported rows from edited ones.
REASON = "imported"


def span_of(versions: list[Version]) -> str:
    first, last = versions[0].number, versions[-1].number
    return str(first) if first == last else f"{first}-{last}"


def origin_of(authors: list[str | None]) -> str:
    """For the change reason: whom the files name as the versions' authors."""
    names = sorted({name for name in authors if name})
    if len(names) > 5:
        names = [*names[:5], "…"]
    return f", originally by {', '.join(names)}" if names else ""
