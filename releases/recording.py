"""What a deployment records of the prompts its version includes, and what its
announcement says about the prompts including it.

Releases sits below the app that composes prompts, so it asks through two
registries filled at start-up (``composition`` registers into both):

* a graph reader, ``reader(deployment) -> (graph, dependencies) | None``: the snippet
  versions the deployment's version takes in its environment now (``graph``:
  {"<snippet prompt id>": version id}; ``dependencies``: a list of dicts for people),
  or None when it cannot say (the version does not compose there);
* announcement data, ``data(deployment) -> dict``: fields added to the ``data`` of the
  deployment's webhook event.

A deployment live now records its graph when it is written; a planned one when the
worker announces it (``activate_due``). Until then its ``graph`` is None, as it is for
deployments made before graphs were kept: the release log says "not recorded", the
board does not judge it, and a rollback to it follows the snippets again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from releases.models import Deployment

GraphReader = Callable[[Deployment], "tuple[dict, list] | None"]
AnnouncementData = Callable[[Deployment], dict]
GRAPH_READERS: list[GraphReader] = []
ANNOUNCEMENT_DATA: list[AnnouncementData] = []


def register_graph_reader(reader: GraphReader) -> None:
    if reader not in GRAPH_READERS:
        GRAPH_READERS.append(reader)


def register_announcement_data(data: AnnouncementData) -> None:
    if data not in ANNOUNCEMENT_DATA:
        ANNOUNCEMENT_DATA.append(data)


def record_graph(deployment: Deployment) -> None:
    """Set (not save) ``deployment.graph`` and ``dependencies`` to what its version takes
    now; an exact deployment keeps the graph it was given."""
    if deployment.exact and deployment.graph is not None:
        return
    for reader in GRAPH_READERS:
        found = reader(deployment)
        if found is not None:
            deployment.graph, deployment.dependencies = found
            return
    if not GRAPH_READERS:  # nothing composes: a version is its own text
        deployment.graph, deployment.dependencies = {}, []


def announcement_data(deployment: Deployment) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for extra in ANNOUNCEMENT_DATA:
        data.update(extra(deployment))
    return data
