"""The breaking-change guard follows snippets: deploying a snippet's version that
adds a required variable names the live prompts taking it from there whose callers
never sent it; force deploys anyway."""

import pytest
from django.test import Client

from accounts import services as accounts
from composition.impact import impacts
from releases.models import Deployment
from releases.policy import BreakingChange
from tests.composition.conftest import add, deploy, make


@pytest.fixture
def tone(people):
    """support/tone v1 "Kind." live in development and staging; v2 needs {{ mood }}."""
    snippet = make(people["ed"], people["support"], "tone", "Kind.")
    deploy(people["ed"], snippet, "development", snippet.latest_version)
    deploy(people["ed"], snippet, "staging", snippet.latest_version)
    add(people["ed"], snippet, "Kind and {{ mood }}.")
    snippet.refresh_from_db()
    return snippet


def live(people, team, slug, template, *environments, **extra):
    prompt = make(people["ed"], people[team], slug, template, **extra)
    for environment in environments:
        deploy(people["ed"], prompt, environment, prompt.latest_version)
    return prompt


def deploy_unforced(people, prompt, environment, version, actor="ed"):
    from releases import services as releasing
    from releases.environments import find_environment

    env = find_environment(prompt.team, environment)
    return releasing.deploy(people[actor], prompt, env, version)


@pytest.fixture
def parents(people, tone):
    """welcome follows tone in development; pinned takes tone@1; later follows it in
    staging only; kind declares mood itself with a default; named takes
    tone@development and is live in staging."""
    live(people, "support", "welcome", 'Hi. {% include "support/tone" %}', "development")
    live(people, "support", "pinned", '{% include "support/tone@1" %}', "development")
    live(people, "support", "later", '{% include "support/tone" %}', "staging")
    live(
        people, "support", "kind", '{{ mood }} {% include "support/tone" %}', "development",
        variables=[{"name": "mood", "default": "calm"}],
    )  # fmt: skip
    live(people, "support", "named", '{% include "support/tone@development" %}', "staging")


def test_it_names_the_dependents_whose_callers_do_not_send_the_new_variable(people, tone, parents):
    with pytest.raises(BreakingChange) as refused:
        deploy_unforced(people, tone, "development", tone.latest_version)
    details = refused.value.details
    assert details["variables"] == ["mood"]  # tone's own callers, if any
    assert details["dependents"] == [
        {"address": "support/welcome", "environment": "development", "variables": ["mood"]},
        {"address": "support/named", "environment": "staging", "variables": ["mood"]},
    ] or details["dependents"] == [
        {"address": "support/named", "environment": "staging", "variables": ["mood"]},
        {"address": "support/welcome", "environment": "development", "variables": ["mood"]},
    ]
    assert "support/welcome in development (needs mood)" in refused.value.message
    assert not Deployment.objects.filter(prompt=tone, version=tone.latest_version).exists()


def test_force_deploys_anyway(people, tone, parents):
    deploy(people["ed"], tone, "development", tone.latest_version)
    assert Deployment.objects.filter(prompt=tone, version=tone.latest_version).exists()


def test_dependents_that_do_not_need_it_are_not_named(people, tone):
    live(people, "support", "pinned", '{% include "support/tone@1" %}', "development")
    live(people, "support", "later", '{% include "support/tone" %}', "staging")
    with pytest.raises(BreakingChange) as refused:  # tone's own callers only
        deploy_unforced(people, tone, "development", tone.latest_version)
    assert refused.value.details == {"reason": "breaking_change", "variables": ["mood"]}


def test_a_snippet_version_adding_nothing_required_deploys(people, tone, parents):
    add(people["ed"], tone, "Kind and {{ mood }}.", variables=[{"name": "mood", "default": "ok"}])
    tone.refresh_from_db()
    deploy_unforced(people, tone, "development", tone.latest_version)
    assert Deployment.objects.filter(prompt=tone, version=tone.latest_version).exists()


def test_a_dependent_through_another_snippet_is_named(people, tone):
    live(people, "support", "middle", 'M {% include "support/tone" %}', "development")
    live(people, "support", "outer", 'O {% include "support/middle" %}', "development")
    with pytest.raises(BreakingChange) as refused:
        deploy_unforced(people, tone, "development", tone.latest_version)
    assert {d["address"] for d in refused.value.details["dependents"]} == {
        "support/middle",
        "support/outer",
    }


def test_a_dependent_the_deployer_may_not_see_refuses_unnamed(people, tone):
    accounts.grant_on_prompt(people["alice"], tone, "oscar", "viewer")
    parent = make(
        people["oscar"], people["billing"], "invoice", '{% include "support/tone@staging" %}'
    )
    deploy(people["oscar"], parent, "development", parent.latest_version)
    with pytest.raises(BreakingChange) as refused:
        deploy_unforced(people, tone, "staging", tone.latest_version)
    assert refused.value.details["dependents"] == [{"hidden": True, "variables": ["mood"]}]
    assert "invoice" not in refused.value.message


def test_the_impacts_of_a_new_version_list_what_changes_where(people, tone, parents):
    found = {
        (i.address, i.environment): i.newly_required for i in impacts(tone, tone.latest_version)
    }
    assert found == {
        ("support/welcome", "development"): ["mood"],
        ("support/later", "staging"): ["mood"],
        ("support/kind", "development"): [],
        ("support/named", "staging"): ["mood"],
    }


def test_the_deploy_page_shows_the_dependents_and_offers_force(people, tone, parents):
    client = Client()
    client.force_login(people["ed"])
    url = "/p/support/tone/deploy/"
    answer = client.post(url, {"environment": "development", "version": tone.latest_version.number})
    html = answer.content.decode()
    assert "support/welcome in development (needs mood)" in html
    assert 'name="force"' in html
    answer = client.post(
        url, {"environment": "development", "version": tone.latest_version.number, "force": "on"}
    )
    assert answer.status_code == 302
    assert Deployment.objects.filter(prompt=tone, version=tone.latest_version).exists()


def test_the_api_answers_409_breaking_change_with_the_dependents(people, tone, parents, as_user):
    answer = as_user("ed").post(
        "/api/v1/prompts/support/tone/deployments",
        {"environment": "development", "version": 2},
        format="json",
    )
    assert answer.status_code == 409
    error = answer.json()["error"]
    assert error["code"] == "breaking_change"
    assert {d["address"] for d in error["details"]["dependents"]} == {
        "support/welcome",
        "support/named",
    }
