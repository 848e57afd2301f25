"""The side-by-side page (a plain form post), and the "Run" panels of the editor, the
version page and the compare page that lead to the playground."""

from __future__ import annotations

import pytest

from prompts import samples
from prompts import services as prompts
from runs.models import Run
from tests.runs.test_pages import PLAYGROUND, signed_in

SIDE_BY_SIDE = f"{PLAYGROUND}compare/"


@pytest.fixture
def two_versions(people, prompt):
    prompts.add_version(people["ed"], prompt, template="Sort: {{ ticket_text }} for Acme")
    samples.save_sample(people["ed"], prompt, "double charge", {"ticket_text": "charged twice"})
    samples.save_sample(people["ed"], prompt, "locked out", {"ticket_text": "cannot log in"})
    return prompt


def both_sides(**extra) -> dict:
    return {
        "left_source": "v:1",
        "left_connection": "openai",
        "left_model": "",
        "right_source": "v:2",
        "right_connection": "openai",
        "right_model": "",
        "samples": ["double charge", "locked out"],
        **extra,
    }


def test_the_compare_page_leads_to_the_side_by_side_page_with_its_versions(
    people, two_versions, openai_connection
):
    client = signed_in(people["ed"])
    compare = client.get("/p/support/ticket-classifier/compare/?from=1&to=2").content.decode()
    assert f'action="{SIDE_BY_SIDE}"' in compare

    page = client.get(SIDE_BY_SIDE, {"from": "1", "to": "2"}).content.decode()

    assert '<option value="v:1" selected>' in page
    assert '<option value="v:2" selected>' in page
    assert page.count('type="checkbox" name="samples"') == 2
    assert page.count("checked") == 2


def test_two_versions_run_on_two_samples_and_show_side_by_side_with_a_word_diff(
    people, two_versions, openai_fake, openai_connection
):
    openai_fake.echo = True

    answer = signed_in(people["ed"]).post(SIDE_BY_SIDE, both_sides())

    assert answer.status_code == 200
    page = answer.content.decode()
    assert "You said: Classify: charged twice for Acme" in page
    assert "You said: Sort: cannot log in for Acme" in page
    assert "<del>Classify:</del>" in page and "<ins>Sort:</ins>" in page
    assert Run.objects.filter(created_by=people["ed"]).count() == 4


def test_a_refusal_shows_on_the_form_and_nothing_runs(
    people, two_versions, openai_fake, openai_connection
):
    answer = signed_in(people["ed"]).post(SIDE_BY_SIDE, both_sides(left_model="gpt-5"))

    assert answer.status_code == 400
    assert "does not offer gpt-5" in answer.content.decode()
    assert openai_fake.requests == []


@pytest.mark.parametrize(("user", "page", "run"), [("vic", 200, 403), ("oscar", 404, 404)])
def test_viewers_see_the_page_but_start_nothing_and_outsiders_see_nothing(
    people, two_versions, openai_fake, openai_connection, user, page, run
):
    client = signed_in(people[user])
    shown = client.get(SIDE_BY_SIDE)
    assert shown.status_code == page
    if page == 200:
        assert 'id="side-by-side-form"' not in shown.content.decode()
    assert client.post(SIDE_BY_SIDE, both_sides()).status_code == run
    assert openai_fake.requests == [] and not Run.objects.exists()


def test_the_version_page_runs_that_version_in_the_playground(
    people, two_versions, openai_connection
):
    client = signed_in(people["ed"])
    version = client.get("/p/support/ticket-classifier/v/1/").content.decode()
    assert f'action="{PLAYGROUND}"' in version and 'value="v:1"' in version

    page = client.get(PLAYGROUND, {"source": "v:1"}).content.decode()

    assert '<option value="v:1" selected>' in page


def test_the_editor_hands_the_unsaved_text_and_values_to_the_playground(
    people, prompt, openai_connection
):
    client = signed_in(people["ed"])
    editor = client.get("/p/support/ticket-classifier/versions/new/")
    assert f'formaction="{PLAYGROUND}draft/"' in editor.content.decode()

    page = client.post(
        f"{PLAYGROUND}draft/",
        {"kind": "text", "template": "Draft: {{ ticket_text }}\r\n", "value-ticket_text": "hi"},
    ).content.decode()

    assert '<option value="text:" selected>' in page
    assert "Draft: {{ ticket_text }}\n</textarea>" in page
    assert "&quot;ticket_text&quot;: &quot;hi&quot;" in page
    assert not Run.objects.exists()
