"""A body nested thousands of levels deep is refused in the error body, never a 500."""

import pytest
from django.test import Client

from prompts.models import Version

P = "/api/v1/prompts/support/ticket-classifier"


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def deep_object(depth: int) -> str:
    return '{"k": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    "body",
    [
        nested(100_000),
        deep_object(50_000),
        '{"template": "x", "config": {"deep": ' + nested(5_000) + "}}",
        # Parses, but too deep for anything after the parser to walk safely.
        '{"template": "x", "config": {"deep": ' + nested(900) + "}}",
        '{"template": "x", "config": {"deep": ' + nested(400) + "}}",
    ],
    ids=["list-100000", "object-50000", "config-5000", "config-900", "config-400"],
)
def test_a_deeply_nested_body_is_a_400_in_the_error_body(as_user, prompt, body):
    before = Version.objects.count()
    response = as_user("ed").generic("POST", f"{P}/versions", body, content_type="application/json")
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "nested" in error["message"]
    assert Version.objects.count() == before


def test_moderate_nesting_is_still_accepted(as_user, prompt):
    body = '{"template": "x {{ a }}", "config": {"deep": ' + nested(20) + "}}"
    response = as_user("ed").generic("POST", f"{P}/versions", body, content_type="application/json")
    assert response.status_code == 201, response.content


def editor_post(config: str) -> dict:
    """A new version from the editor's form: a text template and this config."""
    data = {
        "kind": "text",
        "template": "Classify: {{ ticket_text }} for {{ product }}",
        "config": config,
        "change_note": "deeper config",
        "action": "save",
    }
    for prefix in ("messages", "variables"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
        data |= {f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "200"}
    return data


@pytest.mark.parametrize("depth", [400, 100_000])
def test_a_deeply_nested_config_in_the_editor_is_a_form_error(people, prompt, depth):
    client = Client()
    client.force_login(people["ed"])
    data = editor_post('{"deep": ' + nested(depth) + "}")
    response = client.post("/p/support/ticket-classifier/versions/new/", data)
    assert response.status_code == 200
    assert b"nested too deeply" in response.content
    assert Version.objects.filter(prompt=prompt).count() == 1
