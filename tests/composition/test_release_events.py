"""A snippet's deployment.activated (and rolled_back) lists the dependents it changed:
the prompts whose live composed text now differs, with the environments where."""

from __future__ import annotations

import json

import pytest

from accounts import services as accounts
from releases import services as releasing
from releases.environments import find_environment
from tests.composition.conftest import add, deploy, make
from webhooks import services as webhooks
from webhooks.models import Delivery


def queued(event: str) -> list[dict]:
    return [json.loads(d.body) for d in Delivery.objects.filter(event=event).order_by("pk")]


@pytest.fixture
def world(people):
    """support/snippet live in development and staging, and the prompts including it."""
    ed, oscar = people["ed"], people["oscar"]
    support, billing = people["support"], people["billing"]
    snippet = make(ed, support, "snippet", "Be brief.", deploy_to="development")
    deploy(ed, snippet, "staging", snippet.latest_version)

    def parent(slug, template, *where, team=support, author=ed):
        made = make(author, team, slug, template)
        for env in where:
            deploy(author, made, env, made.latest_version)
        return made

    parent("follows", '{% include "support/snippet" %}', "development", "staging")
    parent("named", '{% include "support/snippet@staging" %}', "development")
    parent("pinned", '{% include "support/snippet@1" %}', "development")
    parent("outer", 'Outer {% include "support/follows" %}', "development")
    parent("through-pinned", '{% include "support/follows@1" %}', "development")
    parent("unreleased", '{% include "support/snippet" %}')
    exact = parent("exact", 'A {% include "support/snippet" %}', "development")
    deploy(ed, exact, "development", add(ed, exact, 'B {% include "support/snippet" %}'))
    releasing.rollback(ed, exact, find_environment(support, "development"))  # exact now
    accounts.grant_on_prompt(people["alice"], snippet, "oscar", "viewer")
    parent("cross", '{% include "support/snippet" %}', "development", team=billing, author=oscar)
    webhooks.create_webhook(
        people["alice"],
        support,
        url="https://hooks.example.com/in",
        events=["deployment.activated", "deployment.rolled_back"],
    )
    return snippet


def test_a_snippet_deployment_lists_the_dependents_it_changed(people, world):
    ed = people["ed"]
    v2 = add(ed, world, "Be very brief.")
    deploy(ed, world, "development", v2)
    [body] = queued("deployment.activated")
    assert body["prompt"]["address"] == "support/snippet"
    assert body["data"]["dependents"] == [
        {"prompt": "billing/cross", "environments": ["development"]},
        {"prompt": "support/follows", "environments": ["development"]},
        {"prompt": "support/outer", "environments": ["development"]},
        {"prompt": "support/through-pinned", "environments": ["development"]},
    ]

    deploy(ed, world, "staging", v2)
    assert queued("deployment.activated")[1]["data"]["dependents"] == [
        {"prompt": "support/follows", "environments": ["staging"]},
        {"prompt": "support/named", "environments": ["development"]},
    ]


def test_deploying_the_version_already_live_changes_nobody(people, world):
    deploy(people["ed"], world, "development", world.latest_version)
    [body] = queued("deployment.activated")
    assert body["data"]["dependents"] == []


def test_a_prompt_nobody_includes_lists_no_dependents(people, world):
    follows = world.included_by.first().version.prompt
    deploy(people["ed"], follows, "development", add(people["ed"], follows, "Alone."))
    [body] = queued("deployment.activated")
    assert body["prompt"]["address"] == "support/follows"
    # support/outer includes follows: its development text changed; through-pinned
    # includes follows@1, which did not change.
    assert body["data"]["dependents"] == [
        {"prompt": "support/outer", "environments": ["development"]}
    ]


def test_a_snippet_rollback_lists_the_dependents_it_changed(people, world):
    ed = people["ed"]
    deploy(ed, world, "staging", add(ed, world, "Be very brief."))
    releasing.rollback(ed, world, find_environment(world.team, "staging"))
    [body] = queued("deployment.rolled_back")
    assert body["data"]["dependents"] == [
        {"prompt": "support/follows", "environments": ["staging"]},
        {"prompt": "support/named", "environments": ["development"]},
    ]


def test_a_team_without_webhooks_pays_nothing_for_dependents(people, world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    Delivery.objects.all().delete()
    for hook in people["support"].webhooks.all():
        hook.delete()
    with CaptureQueriesContext(connection) as captured:
        deploy(people["ed"], world, "development", add(people["ed"], world, "Be terse."))
    # The dependents' walk reads how each reference takes its target; nothing else does.
    walk = '"composition_reference"."pinned_id"'
    assert not [q for q in captured.captured_queries if walk in q["sql"]]
