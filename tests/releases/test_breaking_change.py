"""The breaking change guard: a version that needs a variable the live one did not is
refused (409 breaking_change, naming the variables) unless confirmed; rollback is exempt.

The fixture's version 1, live in development, requires ticket_text; product has a default.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from prompts import services
from prompts.models import Version
from releases import services as deployments
from releases.live import live_deployment
from releases.models import Deployment, Environment
from releases.policy import BreakingChange

P = "/api/v1/prompts/support/ticket-classifier"


def env(prompt, slug: str) -> Environment:
    return Environment.objects.get(team=prompt.team, slug=slug)


def add(people, prompt, template: str, variables: list | None = None) -> Version:
    return services.add_version(people["ed"], prompt, template=template, variables=variables)


def live_number(prompt, slug: str) -> int | None:
    live = live_deployment(prompt, env(prompt, slug))
    return live.version.number if live else None


@pytest.mark.parametrize(
    ("template", "variables", "breaking"),
    [
        ("{{ ticket_text }} for {{ customer }}", None, ["customer"]),
        ("{{ ticket_text }} {{ product }}", [], ["product"]),  # its default is gone
        ("{{ a }} {{ b }}", None, ["a", "b"]),
        ("{{ ticket_text }} {{ tone }}", [{"name": "tone", "default": "kind"}], []),
        ("{{ ticket_text }} {{ tone }}", [{"name": "tone", "required": False}], []),
        ("Just text", None, []),
    ],
)
def test_a_version_needing_more_than_the_live_one_is_refused(
    people, prompt, template, variables, breaking
):
    version = add(people, prompt, template, variables)
    dev = env(prompt, "development")
    if not breaking:
        deployments.deploy(people["ed"], prompt, dev, version)
        assert live_number(prompt, "development") == 2
        return
    with pytest.raises(BreakingChange) as refused:
        deployments.deploy(people["ed"], prompt, dev, version)
    error = refused.value
    assert (error.status, error.code) == (409, "breaking_change")
    assert error.details == {"reason": "breaking_change", "variables": breaking}
    assert all(name in error.message for name in breaking)
    assert live_number(prompt, "development") == 1
    deployments.deploy(people["ed"], prompt, dev, version, force=True)
    assert live_number(prompt, "development") == 2


def test_where_nothing_is_live_nothing_can_break(people, prompt):
    version = add(people, prompt, "{{ brand_new }}")
    deployments.deploy(people["ed"], prompt, env(prompt, "staging"), version)
    assert live_number(prompt, "staging") == 2


def test_a_rollback_is_never_held_back(people, prompt):
    dev = env(prompt, "development")
    v2 = add(people, prompt, "No input at all")
    deployments.deploy(people["ed"], prompt, dev, v2)
    back = deployments.rollback(people["ed"], prompt, dev)  # v1 needs ticket_text again
    assert (back.kind, back.version.number) == ("rollback", 1)


def test_a_plan_is_compared_with_what_will_be_live_before_it(people, prompt):
    dev = env(prompt, "development")
    v2 = add(people, prompt, "{{ ticket_text }} {{ a }}")
    v3 = add(people, prompt, "{{ ticket_text }} {{ a }} {{ b }}")
    first = timezone.now() + timedelta(hours=1)
    deployments.deploy(people["ed"], prompt, dev, v2, when=first, force=True)
    with pytest.raises(BreakingChange) as refused:
        deployments.deploy(people["ed"], prompt, dev, v3, when=first + timedelta(hours=1))
    assert refused.value.variables == ["b"]


def test_saving_and_deploying_a_breaking_version_writes_nothing_unless_confirmed(people, prompt):
    with pytest.raises(BreakingChange):
        services.add_version(
            people["ed"], prompt, template="{{ ticket_text }} {{ c }}", deploy_to="development"
        )
    assert prompt.versions.count() == 1
    services.add_version(
        people["ed"],
        prompt,
        template="{{ ticket_text }} {{ c }}",
        deploy_to="development",
        force=True,
    )
    assert live_number(prompt, "development") == 2


# ---------------------------------------------------------------- API


def test_the_api_names_the_variables_and_takes_force(people, prompt, as_user):
    add(people, prompt, "{{ ticket_text }} for {{ customer }}")
    ed = as_user("ed")
    body = {"environment": "development", "version": 2}
    refused = ed.post(f"{P}/deployments", body, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"] == {
        "code": "breaking_change",
        "message": refused.json()["error"]["message"],
        "details": {"reason": "breaking_change", "variables": ["customer"]},
    }
    assert Deployment.objects.filter(prompt=prompt).count() == 1
    done = ed.post(f"{P}/deployments", {**body, "force": True}, format="json")
    assert (done.status_code, done.json()["version"]) == (201, 2)


def test_the_api_guards_deploy_to_as_well(people, prompt, as_user):
    ed = as_user("ed")
    body = {"template": "{{ ticket_text }} {{ c }}", "deploy_to": "development"}
    refused = ed.post(f"{P}/versions", body, format="json")
    assert (refused.status_code, refused.json()["error"]["details"]["variables"]) == (409, ["c"])
    assert prompt.versions.count() == 1
    assert ed.post(f"{P}/versions", {**body, "force": True}, format="json").status_code == 201
    assert live_number(prompt, "development") == 2


def test_rollback_through_the_api_is_exempt(people, prompt, as_user):
    deployments.deploy(
        people["ed"], prompt, env(prompt, "development"), add(people, prompt, "No input")
    )
    response = as_user("ed").post(
        f"{P}/deployments/rollback", {"environment": "development"}, format="json"
    )
    assert (response.status_code, response.json()["version"]) == (201, 1)


# ---------------------------------------------------------------- the deploy form


def test_the_page_names_the_variables_and_offers_to_deploy_anyway(people, prompt):
    add(people, prompt, "{{ ticket_text }} for {{ customer }} and {{ order_id }}")
    client = Client()
    client.force_login(people["ed"])
    url = "/p/support/ticket-classifier/deploy/"
    form = {"environment": "development", "version": "2", "note": "new fields"}
    first = client.post(url, form)
    html = first.content.decode()
    assert first.status_code == 200
    assert 'data-reason="breaking_change"' in html
    assert "<code>customer</code>, <code>order_id</code>" in html
    assert 'name="force"' in html and "Deploy anyway" in html
    assert "new fields" in html
    assert live_number(prompt, "development") == 1
    confirmed = client.post(url, {**form, "force": "on"})
    assert confirmed.status_code == 302
    assert live_number(prompt, "development") == 2


def test_the_deploy_form_offers_no_force_box_until_it_is_needed(people, prompt):
    client = Client()
    client.force_login(people["ed"])
    html = client.get("/p/support/ticket-classifier/").content.decode()
    assert 'action="/p/support/ticket-classifier/deploy/"' in html
    assert 'name="force"' not in html


def test_a_planned_time_already_past_is_compared_with_what_is_live_now(people, prompt):
    dev = env(prompt, "development")
    earlier = timezone.now() - timedelta(minutes=5)
    deployments.deploy(people["ed"], prompt, dev, add(people, prompt, "No input"))
    # Five minutes ago nothing was live (so nothing could break); now v2, which needs no
    # variable, is live: v3 goes live now, so it is compared with v2, and breaks.
    v3 = add(people, prompt, "{{ ticket_text }}")
    with pytest.raises(BreakingChange) as refused:
        deployments.deploy(people["ed"], prompt, dev, v3, when=earlier)
    assert refused.value.variables == ["ticket_text"]
