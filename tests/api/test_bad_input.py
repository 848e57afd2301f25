"""Nothing a client sends causes a 500; every refusal is a 4xx in the error body."""

import json

import pytest

from prompts.models import Prompt, Version

P = "/api/v1/prompts/support/ticket-classifier"


@pytest.fixture
def ed(as_user):
    return as_user("ed")


def assert_error(response, status):
    assert response.status_code == status, response.content
    assert set(response.json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize(
    "body",
    [
        '{"team": "support", "name": "x", "template": "nul \\u0000 here"}',
        '{"team": "support", "name": "x", "template": "lone \\ud800 surrogate"}',
        '{"team": "support", "name": "x", "template": "ok", "config": {"k": "\\u0000"}}',
        '{"team": "support", "name": "x", "template": "ok", "variables": [{"name": "\\udfff"}]}',
        '{"team": "support", "name": 42, "template": "x"}',
        '{"team": "support", "name": "x", "template": ["not", "text"]}',
        '{"team": "support", "name": "x", "template": "x", "tags": "notalist"}',
        '{"team": "support", "name": "x", "template": "x", "config": [1, 2]}',
        '{"team": "support", "name": "x", "template": "x", "variables": "x"}',
        '{"team": "support", "name": "x", "messages": [{"role": "wizard", "content": "x"}]}',
        '{"team": "support", "name": "x", "messages": "x"}',
        '{"team": "Support!", "name": "x", "template": "x"}',
        '{"team": "support", "name": "x", "template": "x", "deploy_to": "nowhere"}',
        "[1, 2, 3]",
        '"just a string"',
        '{"team": "support", "name": "x", "template": "x"',
        "not json at all",
    ],
)
def test_bad_bodies_are_refused_and_write_nothing(ed, prompt, body):
    before = (Prompt.objects.count(), Version.objects.count())
    response = ed.generic("POST", "/api/v1/prompts", body, content_type="application/json")
    # Only the environment to deploy to is something that could exist; the rest is malformed.
    assert_error(response, 404 if '"deploy_to": "nowhere"' in body else 400)
    assert (Prompt.objects.count(), Version.objects.count()) == before


def test_a_body_over_the_limit_is_413(ed, prompt):
    huge = json.dumps({"template": "x" * 1_100_000})
    assert_error(ed.generic("POST", f"{P}/versions", huge, content_type="application/json"), 413)


def test_a_form_body_is_415(ed, prompt):
    assert_error(ed.post(f"{P}/versions", {"template": "x"}), 415)


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("?q=%00", 400, "invalid"),
        ("?tag=%00", 400, "invalid"),
        ("?team=%00", 400, "invalid"),
        ("?page=0", 400, "invalid"),
        ("?page=abc", 400, "invalid"),
        ("?page=99999", 404, "not_found"),  # past the last page
        ("?nonsense=1", 400, "invalid"),
    ],
)
def test_bad_query_strings_are_refused(ed, prompt, query, status, code):
    response = ed.get(f"/api/v1/prompts{query}")
    assert_error(response, status)
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize("query", ["?q=%ED%A0%80", "?page_size=-1", "?q=" + "x" * 5000])
def test_odd_but_harmless_query_strings_are_answered(ed, prompt, query):
    # Invalid UTF-8 arrives as U+FFFD, a bad page size falls back to the default.
    assert ed.get(f"/api/v1/prompts{query}").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "?environment=%00",
        "?version=-1",
        "?version=abc",
        "?version=99999999999999999999",
        "?label=stable",
        "?environment=development&version=1",
        "?unknown=1",
        "?environment=" + "x" * 300,
    ],
)
def test_bad_resolve_queries_are_400(ed, prompt, query):
    response = ed.get(f"{P}/resolve{query}")
    assert_error(response, 400)
    assert response.json()["error"]["code"] == "invalid"


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_AUTHORIZATION": "Bearer"},
        {"HTTP_AUTHORIZATION": "Bearer    "},
        {"HTTP_AUTHORIZATION": "Bearer preg_x"},
        {"HTTP_AUTHORIZATION": "Bearer préféré"},
        {"HTTP_AUTHORIZATION": "Bearer " + "a" * 5000},
        {"HTTP_X_API_KEY": "preg_1_2_3_4"},
        {"HTTP_X_API_KEY": ""},
    ],
)
def test_malformed_credentials_are_401(prompt, header):
    from rest_framework.test import APIClient

    response = APIClient().get(P, **header)
    assert_error(response, 401)


def test_the_x_api_key_header_works(token_of, prompt):
    from rest_framework.test import APIClient

    response = APIClient().get(P, HTTP_X_API_KEY=token_of("vic"))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/v1/prompts/support/nope", 404),
        ("/api/v1/prompts/nope/ticket-classifier", 404),
        (f"{P}/versions/0", 404),
        (f"{P}/versions/999", 404),
        ("/api/v1/nothing-here", 404),
        (f"{P}/compare?from=1&to=x", 400),  # not a version number
        (f"{P}/compare", 400),  # no versions named
    ],
)
def test_unknown_things_are_404_and_malformed_ones_400(ed, prompt, path, status):
    response = ed.get(path)
    assert_error(response, status)
    assert response.json()["error"]["code"] == ("not_found" if status == 404 else "invalid")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"variables": "x"}, 400, "invalid"),
        ({"version": "abc"}, 400, "invalid"),
        ({"environment": 5}, 404, "environment_not_found"),  # read as the name "5"
        ({"variables": {"ticket_text": "t"}, "version": 0}, 400, "invalid"),
    ],
)
def test_bad_render_bodies_are_refused(ed, prompt, body, status, code):
    response = ed.post(f"{P}/render", body, format="json")
    assert_error(response, status)
    assert response.json()["error"]["code"] == code


def test_a_value_that_is_json_but_not_text_is_rendered(ed, prompt):
    body = {"variables": {"ticket_text": {"deep": [1, 2]}}, "version": 1}
    response = ed.post(f"{P}/render", body, format="json")
    assert response.status_code == 200, response.content
    assert "deep" in json.dumps(response.json())


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"environment": "staging", "version": "one"}, 400, "invalid"),
        ({"environment": "staging", "version": 1, "scheduled_for": "tomorrow"}, 400, "invalid"),
        ({"environment": "staging"}, 400, "invalid"),
        ({"environment": "nowhere", "version": 1}, 404, "environment_not_found"),
        ({"environment": "staging", "version": 99}, 404, "not_found"),
    ],
)
def test_bad_deploy_bodies_are_refused(ed, prompt, body, status, code):
    response = ed.post(f"{P}/deployments", body, format="json")
    assert_error(response, status)
    assert response.json()["error"]["code"] == code
