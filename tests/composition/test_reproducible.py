"""Reproducible releases: a deployment records the snippet versions it took, a rollback
brings back exactly the composed text it restores, a planned one records at its
announcement, and the migration keeps every older deployment (no graph, not exact)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from composition.releases import graph_of, pinned_for
from composition.services import compose
from releases import services as releasing
from releases.environments import find_environment
from releases.live import live_deployment
from releases.models import Deployment
from tests.composition.conftest import add, deploy, make


def live_text(prompt, slug):
    """What composing ``prompt`` per its live deployment in ``slug`` gives."""
    env = find_environment(prompt.team, slug)
    deployment = live_deployment(prompt, env)
    return compose(deployment.version, slug, pinned=pinned_for(deployment)).template


@pytest.fixture
def snippet(people):
    """support/snippet: v1 "Be brief." live in development."""
    return make(people["ed"], people["support"], "snippet", "Be brief.", deploy_to="development")


@pytest.fixture
def parent(people, snippet):
    """support/parent v1 following support/snippet, live in development."""
    return make(
        people["ed"],
        people["support"],
        "parent",
        'Answer. {% include "support/snippet" %}',
        deploy_to="development",
    )


def test_a_deployment_records_the_snippet_versions_it_takes(people, snippet, parent):
    made = live_deployment(parent, find_environment(parent.team, "development"))
    v1 = snippet.versions.get(number=1)
    assert made.graph == {str(snippet.pk): v1.pk}
    assert made.dependencies == [
        {
            "prompt_id": snippet.pk,
            "version_id": v1.pk,
            "address": "support/snippet",
            "version": 1,
            "environment": "development",
        }
    ]
    assert made.exact is False
    assert pinned_for(made) is None


def test_a_deployment_without_includes_records_an_empty_graph(people, snippet):
    made = live_deployment(snippet, find_environment(snippet.team, "development"))
    assert (made.graph, made.dependencies, made.exact) == ({}, [], False)


def test_a_pinned_reference_is_listed_but_not_in_the_graph(people, snippet):
    parent = make(
        people["ed"],
        people["support"],
        "pinned",
        '{% include "support/snippet@1" %}',
        deploy_to="development",
    )
    made = live_deployment(parent, find_environment(parent.team, "development"))
    assert made.graph == {}
    assert [(d["address"], d["version"], d["environment"]) for d in made.dependencies] == [
        ("support/snippet", 1, None)
    ]


def test_a_deployment_that_does_not_compose_there_records_no_graph(people, snippet):
    parent = make(people["ed"], people["support"], "p", '{% include "support/snippet" %}')
    made = deploy(people["ed"], parent, "staging", parent.latest_version)  # snippet not there
    assert made.graph is None and made.exact is False


def test_a_rollback_brings_back_the_exact_composed_text(people, snippet, parent):
    ed = people["ed"]
    text_a = live_text(parent, "development")
    assert text_a == "Answer. Be brief."
    s2 = add(ed, snippet, "Be very brief.")
    deploy(ed, snippet, "development", s2)
    text_b = live_text(parent, "development")
    assert text_b == "Answer. Be very brief."
    p2 = add(ed, parent, 'Reply. {% include "support/snippet" %}')
    deploy(ed, parent, "development", p2)
    assert live_text(parent, "development") == "Reply. Be very brief."

    back = releasing.rollback(ed, parent, find_environment(parent.team, "development"))
    assert back.version.number == 1 and back.exact is True
    assert pinned_for(back) == {snippet.pk: snippet.versions.get(number=1).pk}
    assert live_text(parent, "development") == text_a
    # The snippet moving on again does not move an exact deployment.
    deploy(ed, snippet, "development", add(ed, snippet, "Be terse."))
    assert live_text(parent, "development") == text_a

    # A later normal deployment follows the snippets again.
    again = deploy(ed, parent, "development", p2)
    assert again.exact is False and pinned_for(again) is None
    assert live_text(parent, "development") == "Reply. Be terse."


def test_a_rollback_to_a_deployment_without_a_recorded_graph_follows(people, snippet, parent):
    ed = people["ed"]
    env = find_environment(parent.team, "development")
    Deployment.objects.filter(prompt=parent).update(graph=None, dependencies=[])  # as migrated
    deploy(ed, parent, "development", add(ed, parent, 'v2 {% include "support/snippet" %}'))
    deploy(ed, snippet, "development", add(ed, snippet, "Be very brief."))
    back = releasing.rollback(ed, parent, env)
    assert back.exact is False
    assert back.graph == {str(snippet.pk): snippet.versions.get(number=2).pk}
    assert live_text(parent, "development") == "Answer. Be very brief."


def test_a_planned_deployment_records_its_graph_when_announced(people, snippet, parent):
    ed = people["ed"]
    env = find_environment(parent.team, "development")
    p2 = add(ed, parent, 'Later. {% include "support/snippet" %}')
    when = timezone.now() + timedelta(minutes=5)
    planned = releasing.deploy(ed, parent, env, p2, when=when, force=True)
    assert planned.graph is None  # not live yet: nothing to record
    deploy(ed, snippet, "development", add(ed, snippet, "Be very brief."))

    # Went live before the worker announced it: not recorded, and nothing pins it.
    planned.refresh_from_db()
    assert planned.graph is None and pinned_for(planned) is None

    activated = releasing.activate_due(now=when + timedelta(seconds=1))
    assert [d.pk for d in activated] == [planned.pk]
    planned.refresh_from_db()
    assert planned.graph == {str(snippet.pk): snippet.versions.get(number=2).pk}
    assert planned.exact is False
    assert planned.history.first().graph == planned.graph


def test_graph_of_an_exact_deployment_is_its_own(people, snippet, parent):
    ed = people["ed"]
    env = find_environment(parent.team, "development")
    deploy(ed, parent, "development", add(ed, parent, 'v2 {% include "support/snippet" %}'))
    deploy(ed, snippet, "development", add(ed, snippet, "Be very brief."))
    back = releasing.rollback(ed, parent, env)
    graph, _ = graph_of(back)
    assert graph == {str(snippet.pk): snippet.versions.get(number=1).pk}
