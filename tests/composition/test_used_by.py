"""A snippet's page lists the prompts that include it, by version and environment,
as far as the viewer may see them."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import services as accounts
from composition.dependents import dependents_of, live_dependents
from tests.composition.conftest import add, deploy, make


@pytest.fixture
def welcome(people, safety):
    """support/welcome: v1 follows safety, live in development and staging; v2 pins
    safety@1 and adds tone, live nowhere."""
    ed = people["ed"]
    parent = make(ed, people["support"], "welcome", 'Hi. {% include "support/safety" %}')
    deploy(ed, parent, "development", parent.latest_version)
    deploy(ed, parent, "staging", parent.latest_version)
    make(ed, people["support"], "tone", "Kind.")
    add(ed, parent, 'Hi. {% include "support/safety@1" %} {% include "support/tone" %}')
    return parent


@pytest.fixture
def invoice(people, safety):
    """billing/invoice includes support/safety@development; oscar was granted safety."""
    accounts.grant_on_prompt(people["alice"], safety, "oscar", "viewer")
    template = 'Pay. {% include "support/safety@development" %}'
    parent = make(people["oscar"], people["billing"], "invoice", template)
    deploy(people["oscar"], parent, "staging", parent.latest_version)
    return parent


def test_it_lists_each_including_version_with_where_it_is_live(people, safety, welcome):
    [dependent] = dependents_of(people["ed"], safety)
    assert dependent.address == "support/welcome"
    assert [(v.number, v.written, v.live_in) for v in dependent.versions] == [
        (2, ["support/safety@1"], []),
        (1, ["support/safety"], ["development", "staging"]),
    ]
    assert dependent.live_in == ["development", "staging"]


def test_it_lists_nothing_the_viewer_may_not_see(people, safety, welcome, invoice):
    assert [d.address for d in dependents_of(people["ed"], safety)] == ["support/welcome"]
    assert [d.address for d in dependents_of(people["oscar"], safety)] == ["billing/invoice"]
    assert [d.address for d in dependents_of(people["alice"], safety)] == ["support/welcome"]
    assert dependents_of(people["gina"], safety) == []


def test_live_dependents_are_everyone_s_and_only_live_versions(people, safety, welcome, invoice):
    found = {
        d.address: [(v.number, v.live_in) for v in d.versions] for d in live_dependents(safety)
    }
    assert found == {
        "billing/invoice": [(1, ["staging"])],
        "support/welcome": [(1, ["development", "staging"])],
    }


def test_archived_dependents_are_left_out(people, safety, welcome):
    from prompts import services

    services.archive_prompt(people["alice"], welcome)
    assert dependents_of(people["alice"], safety) == []
    assert live_dependents(safety) == []


def test_the_snippet_page_shows_used_by(people, safety, welcome, invoice):
    client = Client()
    client.force_login(people["ed"])
    html = client.get("/p/support/safety/").content.decode()
    used_by = html.split('id="used-by"')[1].split("</section>")[0]
    assert "support/welcome" in used_by and "<code>support/safety@1</code>" in used_by
    assert '<span class="badge">staging</span>' in used_by
    assert "billing/invoice" not in used_by and "invoice" not in html


def test_a_prompt_nobody_includes_says_so(people, safety):
    client = Client()
    client.force_login(people["ed"])
    html = client.get("/p/support/safety/").content.decode()
    assert "No prompt you can see includes this one." in html


def test_reading_dependents_costs_the_same_queries_for_more_of_them(people, safety, welcome):
    ed = people["ed"]
    dependents_of(ed, safety)  # rights cached
    with CaptureQueriesContext(connection) as few:
        dependents_of(ed, safety)
    for i in range(4):
        parent = make(ed, people["support"], f"more-{i}", '{% include "support/safety" %}')
        deploy(ed, parent, "development", parent.latest_version)
        add(ed, parent, 'x {% include "support/safety@2" %}')
    dependents_of(ed, safety)
    with CaptureQueriesContext(connection) as many:
        found = dependents_of(ed, safety)
    assert len(found) == 5
    assert len(many.captured_queries) == len(few.captured_queries)
