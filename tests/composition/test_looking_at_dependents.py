"""A change to a snippet asks its author to look at the prompts that include it: the
editor names them after saving, and compare shows each one's composed diff."""

import pytest
from django.test import Client

from tests.composition.conftest import deploy, make
from tests.prompts.test_editor_pages import version_data


@pytest.fixture
def tone(people):
    """support/tone v1 "Kind." live in development."""
    snippet = make(people["ed"], people["support"], "tone", "Kind.")
    deploy(people["ed"], snippet, "development", snippet.latest_version)
    return snippet


@pytest.fixture
def welcome(people, tone):
    parent = make(people["ed"], people["support"], "welcome", 'Hi.\n{% include "support/tone" %}')
    deploy(people["ed"], parent, "development", parent.latest_version)
    return parent


@pytest.fixture
def ed(people):
    client = Client()
    client.force_login(people["ed"])
    return client


def test_saving_a_snippet_names_the_live_dependents_it_changes(ed, people, tone, welcome):
    make(people["ed"], people["support"], "pinned", '{% include "support/tone@1" %}')
    answer = ed.post(
        "/p/support/tone/versions/new/",
        version_data(template="Kind and {{ mood }}.", variables=[{"name": "mood"}]),
        follow=True,
    )
    html = answer.content.decode()
    assert (
        "Prompts that include support/tone change with it once it is what they take: "
        "support/welcome in development (its callers would need mood)." in html
    )
    assert '<a href="/p/support/tone/compare/?from=1&amp;to=2#dependents">Look at them</a>' in html
    assert "support/pinned" not in html.split("Prompts that include")[1].split("</li>")[0]


def test_saving_a_prompt_nobody_includes_says_nothing_more(ed, people, tone):
    answer = ed.post(
        "/p/support/tone/versions/new/", version_data(template="Kinder.", variables=[]), follow=True
    )
    assert "Prompts that include" not in answer.content.decode()


def test_compare_lists_the_dependents_and_shows_one_composed_diff(ed, people, tone, welcome):
    from tests.composition.conftest import add

    add(people["ed"], tone, "Kind and warm.")
    html = ed.get("/p/support/tone/compare/?from=1&to=2").content.decode()
    part = html.split('id="dependents"')[1].split("</section>")[0]
    link = "?from=1&amp;to=2&amp;layout=split&amp;dependent=support%2Fwelcome&amp;in=development"
    assert f'<a href="{link}#dependents"' in part
    html = ed.get(
        "/p/support/tone/compare/?from=1&to=2&layout=unified&dependent=support/welcome&in=development"
    ).content.decode()
    part = html.split('id="dependents"')[1].split("</section>")[0]
    assert "support/welcome in development (v1)" in part
    assert "Kind." in part and "warm" in part
    assert "Its composed text does not change." not in part


def test_compare_shows_nothing_for_a_dependent_the_viewer_may_not_see(people, tone):
    from accounts import services as accounts

    accounts.grant_on_prompt(people["alice"], tone, "oscar", "viewer")
    parent = make(people["oscar"], people["billing"], "invoice", '{% include "support/tone" %}')
    deploy(people["oscar"], parent, "development", parent.latest_version)
    client = Client()
    client.force_login(people["vic"])
    html = client.get(
        "/p/support/tone/compare/?from=1&to=1&dependent=billing/invoice&in=development"
    ).content.decode()
    assert 'id="dependents"' not in html and "invoice" not in html
