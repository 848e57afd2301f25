"""A team's release board: its prompts × its environments, and where they drift apart.

Environments are in release order, so a version normally reaches them left to right.
A cell drifts when an earlier environment is ahead of it: it runs an older version
than one to its left ("behind"), or nothing while one to its left runs something
("missing"). Planned releases are shown where they will happen.

A cell is also marked when its live composed text changed since it was deployed: a
snippet its deployment took from an environment (its recorded graph) has another
version live there now. An exact deployment (a rollback) composes with its recorded
graph and never is; one whose graph was not recorded is not judged.

Three queries at most build the board of a page of prompts, whatever the length of
their release logs and however many snippets they include.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from prompts.models import Prompt
from releases.live import live_rows
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
    # Snippets moved on since the live deployment: [{"address", "was", "now"}] (version
    # numbers; now None: nothing of it is live there any more).
    snippets_changed: list[dict] = field(default_factory=list)


@dataclass
class Row:
    prompt: Prompt
    cells: list[Cell]

    @property
    def drifting(self) -> bool:
        return any(cell.drift for cell in self.cells)

    @property
    def snippets_changed(self) -> bool:
        return any(cell.snippets_changed for cell in self.cells)


def _followed(deployment: tuple) -> list[dict]:
    """The parts of a live deployment's recorded graph taken from an environment."""
    exact, graph, dependencies = deployment[3:]
    if exact or not graph:
        return []
    return [
        part
        for part in dependencies
        if part.get("environment") and str(part.get("prompt_id")) in graph
    ]


def _snippets_changed(rows: list[tuple]) -> dict[tuple[int, str], list[dict]]:
    """{(prompt id, environment slug): snippets moved on}, in one query for them all."""
    followed = {(row[0], row[1]): _followed(row) for row in rows}
    snippet_ids = list({part["prompt_id"] for parts in followed.values() for part in parts})
    if not snippet_ids:
        return {}
    now: dict[tuple[int, str], tuple[int, int]] = {
        (prompt_id, slug): (version_id, number)
        for prompt_id, slug, version_id, number in live_rows(snippet_ids).values_list(
            "prompt_id", "environment__slug", "version_id", "version__number"
        )
    }
    changed: dict[tuple[int, str], list[dict]] = {}
    for key, parts in followed.items():
        for part in parts:
            live = now.get((part["prompt_id"], part["environment"]))
            if live is None or live[0] != part["version_id"]:
                changed.setdefault(key, []).append(
                    {
                        "address": part["address"],
                        "was": part["version"],
                        "now": live[1] if live else None,
                        "environment": part["environment"],
                    }
                )
    return changed


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
    rows = list(
        live_rows([p.pk for p in prompts], at).values_list(
            "prompt_id", "environment__slug", "version__number", "exact", "graph", "dependencies"
        )
    )
    live: dict[int, dict[str, int]] = {}
    for row in rows:
        live.setdefault(row[0], {})[row[1]] = row[2]
    moved = _snippets_changed(rows)
    planned = _planned(prompts, at)
    rows = []
    for prompt in prompts:
        cells = [
            Cell(
                environment=env,
                live=live.get(prompt.pk, {}).get(env.slug),
                planned=planned.get((prompt.pk, env.pk), []),
                snippets_changed=moved.get((prompt.pk, env.slug), []),
            )
            for env in environments
        ]
        _mark_drift(cells)
        rows.append(Row(prompt, cells))
    return rows
