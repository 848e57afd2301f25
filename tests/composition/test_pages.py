"""The editor's preview and a version's page show the composed text."""

import pytest
from django.test import Client

from tests.composition.conftest import make
from tests.prompts.test_editor_pages import version_data


@pytest.fixture
def ed(people):
    client = Client()
    client.force_login(people["ed"])
    return client


def preview(client, **data):
    return client.post("/preview/", {"kind": "text", **data}, HTTP_HX_REQUEST="true")


def test_the_preview_renders_the_latest_snippet_in_place(ed, safety):
    answer = preview(ed, template='Hi. {% include "support/safety" %}', **{"value-name": "Ann"})
    assert answer.status_code == 200
    assert '<pre class="preview-text">Hi. Be very safe, Ann!</pre>' in answer.content.decode()


def test_the_preview_offers_the_snippets_variables_with_their_defaults(ed, safety):
    html = preview(ed, template='{{ a }} {% include "support/safety@1" %}').content.decode()
    assert 'name="value-a"' in html and 'name="value-name"' in html
    # safety v1 declares name with a default: only a is missing.
    missing = html.split("Missing values.")[1].split("</ul>")[0]
    assert "<code>a</code>" in missing and "<code>name</code>" not in missing


def test_the_preview_names_a_reference_the_user_may_not_see_as_missing(ed, legal):
    html = preview(ed, template='{% include "billing/legal" %}').content.decode()
    assert "there is no prompt billing/legal to include" in html
    assert "Legal:" not in html


def test_the_preview_names_any_other_form_of_include(ed):
    html = preview(ed, template="{% include name %}").content.decode()
    assert "Not allowed in a prompt" in html and "cannot include other templates" in html


def test_saving_a_bad_reference_in_the_editor_shows_it_and_saves_nothing(ed, people, safety):
    url = "/p/support/safety/versions/new/"
    answer = ed.post(url, version_data(template='{% include "support/missing" %}', variables=[]))
    assert answer.status_code == 200
    assert "there is no prompt support/missing to include" in answer.content.decode()
    assert safety.versions.count() == 2


def test_saving_a_reference_in_the_editor_works(ed, people, safety):
    url = "/p/support/safety/versions/new/"
    make(people["ed"], people["support"], "tone", "Kind {{ topic }}.")
    answer = ed.post(
        url, version_data(template='Hello {% include "support/tone@1" %}', variables=[])
    )
    assert answer.status_code == 302
    assert safety.versions.count() == 3


def test_the_version_page_renders_the_composed_text_and_lists_what_it_includes(ed, people, safety):
    make(people["ed"], people["support"], "parent", 'Top {{ x }}. {% include "support/safety" %}')
    html = ed.get("/p/support/parent/v/1/?var_x=X&var_name=Ann").content.decode()
    assert '<pre class="rendered">Top X. Be very safe, Ann!</pre>' in html
    assert '<a href="/p/support/safety/v/2/">support/safety v2</a>' in html
    # The snippet's variable gets an input beside the parent's own.
    assert 'name="var_name"' in html and 'name="var_x"' in html
    # The listing shows the version's own text, as written.
    assert "{% include &quot;support/safety&quot; %}" in html


def test_the_version_page_says_why_it_cannot_compose(ed, people, safety):
    from prompts import services

    make(people["ed"], people["support"], "parent", '{% include "support/safety" %}')
    services.archive_prompt(people["alice"], safety)
    html = ed.get("/p/support/parent/v/1/").content.decode()
    assert "Could not render:" in html and "is archived" in html


def test_compare_renders_both_versions_composed_with_the_snippets_inputs(ed, people, safety):
    from tests.composition.conftest import add

    parent = make(people["ed"], people["support"], "parent", "Top {{ x }}.")
    add(people["ed"], parent, 'Top {{ x }}. {% include "support/safety@1" %}')
    html = ed.get("/p/support/parent/compare/?from=1&to=2&var_x=X&var_name=Ann").content.decode()
    assert 'name="var_name"' in html
    assert "Be safe, Ann." in html
