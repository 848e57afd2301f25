"""A team's release board: its prompts × its environments, and where they drift apart.

Environments are in release order, so a version normally reaches them left to right.
A cell drifts when an earlier environment is ahead of it: it runs an older version
than one to its left ("behind"), or nothing while one to its left runs something
("missing"). Planned releases are shown where they will happen. Two queries build
the board of a page of prompts, whatever the length of their release logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from prompts.models import Prompt
from releases.live import live_versions
from releases.models import Deployment, Environment


@dataclass(frozen=True)
class Planned:
    number: int
    at: datetime


@dataclass
class Cell:
    environment: Environment
    live: int | None = None
    planned: list[Planned] = field(default_factory=list)
    drift: str = ""  # "", "behind" or "missing"
    ahead: int | None = None  # the newest version live to the left, when drifting


@dataclass
class Row:
    prompt: Prompt
    cells: list[Cell]

    @property
    def drifting(self) -> bool:
        return any(cell.drift for cell in self.cells)


def _planned(prompts: list[Prompt], at: datetime) -> dict[tuple[int, int], list[Planned]]:
    rows = (
        Deployment.objects.filter(
            prompt_id__in=[p.pk for p in prompts], cancelled_at__isnull=True, effective_at__gt=at
        )
        .order_by("effective_at", "id")
        .values_list("prompt_id", "environment_id", "version__number", "effective_at")
    )
    planned: dict[tuple[int, int], list[Planned]] = {}
    for prompt_id, environment_id, number, when in rows:
        planned.setdefault((prompt_id, environment_id), []).append(Planned(number, when))
    return planned


def _mark_drift(cells: list[Cell]) -> None:
    ahead: int | None = None
    for cell in cells:
        if ahead is not None and (cell.live is None or cell.live < ahead):
            cell.drift = "missing" if cell.live is None else "behind"
            cell.ahead = ahead
        if cell.live is not None:
            ahead = cell.live if ahead is None else max(ahead, cell.live)


def board(
    prompts: list[Prompt], environments: list[Environment], at: datetime | None = None
) -> list[Row]:
    """One row per prompt, one cell per environment (in the order given)."""
    at = at or timezone.now()
    live = live_versions(prompts, at)
    planned = _planned(prompts, at)
    rows = []
    for prompt in prompts:
        cells = [
            Cell(
                environment=env,
                live=live[prompt.pk].get(env.slug),
                planned=planned.get((prompt.pk, env.pk), []),
            )
            for env in environments
        ]
        _mark_drift(cells)
        rows.append(Row(prompt, cells))
    return rows
