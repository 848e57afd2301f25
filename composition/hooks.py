"""Composition's answers to what prompts asks through its registries."""

from __future__ import annotations

from composition import parsing
from composition import releases as release_graphs
from composition.archiving import refuse_archiving_included
from composition.checks import check_version
from composition.errors import MAX_LEVELS
from composition.impact import breaking_dependents
from composition.models import Reference
from prompts import cache, writing
from releases import recording
from releases.policy import register_breaking_check


def dependent_teams(prompt_id: int) -> set[str]:
    """Slugs of the teams owning a prompt that includes ``prompt_id``, directly or
    through others, by any of their versions: one query per level."""
    teams: set[str] = set()
    seen = {prompt_id}
    wanted = [prompt_id]
    for _ in range(MAX_LEVELS):
        rows = set(
            Reference.objects.filter(target_id__in=wanted).values_list(
                "version__prompt_id", "version__prompt__team__slug"
            )
        )
        teams |= {team for _, team in rows}
        wanted = [pk for pk, _ in rows if pk not in seen]
        seen |= set(wanted)
        if not wanted:
            break
    return teams


def register() -> None:
    writing.register_source_reader(parsing.checkable)
    writing.register_version_check(check_version)
    writing.register_archive_check(refuse_archiving_included)
    register_breaking_check(breaking_dependents)
    cache.register_dependent_teams(dependent_teams)
    recording.register_graph_reader(release_graphs.graph_of)
    recording.register_announcement_data(release_graphs.changed_dependents)
