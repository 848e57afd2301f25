"""Archiving a snippet that live prompts include is refused with their names, unless
forced: on the service, the API (409 snippet_in_use) and the settings page."""

import pytest
from django.test import Client

from accounts import services as accounts
from composition.errors import SnippetInUse
from prompts import services
from prompts.models import Prompt
from tests.composition.conftest import add, deploy, make


@pytest.fixture
def welcome(people, safety):
    """support/welcome v1 follows safety, live in development and staging."""
    parent = make(people["ed"], people["support"], "welcome", '{% include "support/safety" %}')
    deploy(people["ed"], parent, "development", parent.latest_version)
    deploy(people["ed"], parent, "staging", parent.latest_version)
    return parent


def archived(prompt) -> bool:
    return Prompt.objects.get(pk=prompt.pk).archived_at is not None


def test_archiving_a_snippet_live_prompts_include_is_refused_naming_them(people, safety, welcome):
    with pytest.raises(SnippetInUse) as refused:
        services.archive_prompt(people["alice"], safety)
    assert refused.value.details == {
        "dependents": [{"address": "support/welcome", "environments": ["development", "staging"]}],
        "hidden": False,
    }
    assert "support/welcome (live in development, staging)" in refused.value.message
    assert not archived(safety)


def test_force_archives_anyway(people, safety, welcome):
    services.archive_prompt(people["alice"], safety, force=True)
    assert archived(safety)


def test_a_snippet_included_only_by_versions_not_live_archives(people, safety, welcome):
    add(people["ed"], welcome, "No snippet any more.")
    make(people["ed"], people["support"], "draft", '{% include "support/safety" %}')
    deploy(people["ed"], welcome, "development", welcome.versions.get(number=2))
    deploy(people["ed"], welcome, "staging", welcome.versions.get(number=2))
    services.archive_prompt(people["alice"], safety)
    assert archived(safety)


def test_dependents_the_admin_cannot_see_refuse_without_being_named(people, safety):
    accounts.grant_on_prompt(people["alice"], safety, "oscar", "viewer")
    parent = make(people["oscar"], people["billing"], "invoice", '{% include "support/safety@1" %}')
    deploy(people["oscar"], parent, "staging", parent.latest_version)
    with pytest.raises(SnippetInUse) as refused:
        services.archive_prompt(people["alice"], safety)
    assert refused.value.details == {"dependents": [], "hidden": True}
    assert "invoice" not in refused.value.message
    assert not archived(safety)


def test_the_api_refuses_with_the_error_body_and_force_archives(people, safety, welcome, as_user):
    api = as_user("alice")
    answer = api.delete("/api/v1/prompts/support/safety")
    assert answer.status_code == 409
    body = answer.json()["error"]
    assert body["code"] == "snippet_in_use"
    assert body["details"]["dependents"] == [
        {"address": "support/welcome", "environments": ["development", "staging"]}
    ]
    assert not archived(safety)
    assert (
        api.delete("/api/v1/prompts/support/safety", {"force": "maybe"}, format="json").status_code
        == 400
    )
    assert (
        api.delete("/api/v1/prompts/support/safety", {"force": True}, format="json").status_code
        == 204
    )
    assert archived(safety)


def test_the_api_takes_force_as_a_query_parameter_too(people, safety, welcome, as_user):
    answer = as_user("alice").delete("/api/v1/prompts/support/safety?force=true")
    assert answer.status_code == 204
    assert archived(safety)


def test_the_settings_page_shows_the_refusal_and_offers_force(people, safety, welcome):
    client = Client()
    client.force_login(people["alice"])
    url = "/p/support/safety/settings/"
    answer = client.post(url, {"action": "archive", "confirm": "on"})
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "support/welcome (live in development, staging)" in html
    assert 'name="force"' in html
    assert not archived(safety)
    answer = client.post(url, {"action": "archive", "confirm": "on", "force": "on"})
    assert answer.status_code == 302
    assert archived(safety)
