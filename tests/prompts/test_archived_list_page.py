"""The prompt list's "Archived" filter: team admins find archived prompts and restore them."""

import pytest

from prompts import services
from prompts.models import Prompt
from tests.prompts.test_browse_pages import XSS, XSS_ESCAPED, other_pages  # noqa: F401 (fixture)

TOGGLE = 'name="archived"'


@pytest.fixture
def archived(people, prompt):
    services.create_prompt(
        people["ed"], people["support"], name="Still here", template="Hi {{ x }}"
    )
    evil = services.create_prompt(
        people["ed"], people["support"], name=f"Old {XSS}", slug="old", template="Hi {{ x }}"
    )
    for p in (prompt, evil):
        services.archive_prompt(people["alice"], p)
    return prompt


def listing(client, people, username: str, query: str = "") -> str:
    client.force_login(people[username])
    response = client.get(f"/prompts/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_team_admins_are_offered_the_archived_filter(client, people, archived):
    assert TOGGLE in listing(client, people, "alice")
    assert TOGGLE not in listing(client, people, "ed")


def test_the_archived_filter_lists_archived_prompts_with_a_restore_button(client, people, archived):
    html = listing(client, people, "alice", "?archived=1")
    assert "Ticket classifier" in html and "Still here" not in html
    assert 'action="/p/support/ticket-classifier/settings/"' in html
    assert 'name="action" value="restore"' in html and "csrfmiddlewaretoken" in html
    assert f"Old {XSS_ESCAPED}" in html and XSS not in html
    assert 'href="/p/support/ticket-classifier/"' not in html  # that page is gone
    assert "Ticket classifier" not in listing(client, people, "alice")


@pytest.mark.parametrize("username", ["vic", "ed", "rita", "oscar"])
def test_others_find_no_archived_prompt(client, people, archived, username):
    html = listing(client, people, username, "?archived=1")
    assert "Ticket classifier" not in html and "Old " not in html


def test_the_restore_button_brings_the_prompt_back(client, people, archived):
    listing(client, people, "alice", "?archived=1")
    response = client.post(
        "/p/support/ticket-classifier/settings/", {"action": "restore"}, follow=True
    )
    assert response.status_code == 200
    assert not Prompt.objects.get(pk=archived.pk).is_archived
    assert "Ticket classifier" in listing(client, people, "alice")
    assert "Ticket classifier" not in listing(client, people, "alice", "?archived=1")


def test_the_archived_filter_answers_htmx_with_its_rows(client, people, archived):
    client.force_login(people["alice"])
    response = client.get(
        "/prompts/?archived=1", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="prompt-results"
    )
    html = response.content.decode()
    assert html.startswith('<div id="prompt-results"') and "Ticket classifier" in html
