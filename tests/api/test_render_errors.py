"""A template that fails while rendering, for a reason other than a limit or a missing
value, is a 400 `render_error` from the render endpoint, never a 500."""

import json

import pytest

from prompts import services, templating
from registry_site.errors import DomainError

P = "/api/v1/prompts/support/ticket-classifier"


@pytest.fixture
def ed(as_user):
    return as_user("ed")


def render(client, number: int, variables: dict):
    # Encoded here, \\u escapes and all: a lone surrogate is valid JSON, not valid UTF-8.
    body = json.dumps({"version": number, "variables": variables})
    return client.post(f"{P}/render", body, content_type="application/json")


@pytest.mark.parametrize(
    ("template", "variables", "says"),
    [
        ("first line\n{{ 1 / n }}", {"n": 0}, "division by zero"),
        ("first line\n{{ customer.plan }}", {"customer": {"name": "Ada"}}, "no attribute 'plan'"),
        ("first line\n{{ items[3] }}", {"items": [1, 2]}, "no element 3"),
        ("first line\n{{ count + 1 }}", {"count": "three"}, "concatenate"),
    ],
)
def test_a_template_failing_while_rendering_is_a_400_render_error(
    people, prompt, ed, template, variables, says
):
    number = services.add_version(people["ed"], prompt, template=template).number
    response = render(ed, number, variables)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "render_error"
    assert says in error["message"]
    assert error["details"]["line"] == 2


def test_a_failing_chat_message_is_named(people, prompt, ed):
    messages = [
        {"role": "system", "content": "You help."},
        {"role": "user", "content": "{{ 1 / n }}"},
    ]
    number = services.add_version(people["ed"], prompt, messages=messages).number
    response = render(ed, number, {"n": 0})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "render_error"
    assert error["details"]["message_index"] == 1


def test_rendered_text_that_is_not_valid_unicode_is_a_400_render_error(people, prompt, ed):
    number = services.add_version(people["ed"], prompt, template="{{ '\\ud800' }}").number
    response = render(ed, number, {})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "render_error"
    assert "U+D800" in error["message"]


def test_a_value_that_is_not_valid_unicode_fails_the_render_not_the_answer():
    # A saved sample or the editor's typed JSON can hold one; the API's parser refuses it.
    with pytest.raises(DomainError) as caught:
        templating.render_text("Hello {{ name }}", {"name": "Ada \ud800"})
    assert caught.value.code == "render_error"
    assert "character 11" in caught.value.message
