"""Every error code the API answers is in one list, which the schema enumerates and
the README documents; the code raises no code that list lacks."""

import re
from pathlib import Path

import pytest
from django.test import Client

from registry_site import api
from registry_site.errors import ERROR_CODE_NAMES, ERROR_CODES, FORBIDDEN_REASONS

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ["accounts", "prompts", "webhooks", "registry_site", "reviews", "releases",
           "composition", "serving", "portable", "audit", "runs", "models"]  # fmt: skip
RAISED = re.compile(r"""(?:\bcode\s*=\s*|\berror\(\d+,\s*|_json\(\d+,\s*)"([a-z_]+)\"""")
REASON = re.compile(r"""\breason="([a-z_]+)\"""")  # the keyword, not a variable


def source_files():
    for folder in SOURCES:
        for path in (ROOT / folder).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


@pytest.fixture(scope="module")
def document(django_db_blocker):
    with django_db_blocker.unblock():
        return Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()


def test_codes_are_unique_and_name_a_status():
    assert len(ERROR_CODE_NAMES) == len(set(ERROR_CODE_NAMES))
    assert all(400 <= status < 600 for _, status, _ in ERROR_CODES)


def test_every_code_raised_in_the_code_is_listed():
    raised = {m for path in source_files() for m in RAISED.findall(path.read_text())}
    raised |= set(api._CODES.values())
    assert raised, "the pattern finds the codes"
    assert sorted(raised - set(ERROR_CODE_NAMES)) == []


def test_every_403_reason_raised_in_the_code_is_listed():
    raised = {m for path in source_files() for m in REASON.findall(path.read_text())}
    assert "self_review" in raised
    assert sorted(raised - {reason for reason, _ in FORBIDDEN_REASONS}) == []


def test_this_rounds_codes_are_listed():
    for code in ["render_error", "provider_error", "provider_timeout", "not_configured"]:
        assert code in ERROR_CODE_NAMES
    assert "evaluation_required" in {reason for reason, _ in FORBIDDEN_REASONS}


def test_the_readme_lists_every_code_and_403_reason():
    readme = (ROOT / "README.md").read_text()
    missing = [code for code in ERROR_CODE_NAMES if f"`{code}`" not in readme]
    missing += [reason for reason, _ in FORBIDDEN_REASONS if f"`{reason}`" not in readme]
    assert missing == []


def test_the_schema_enumerates_the_codes_in_its_error_body(document):
    body = document["components"]["schemas"]["ErrorBody"]
    error = body["properties"]["error"]
    assert error["properties"]["code"]["enum"] == ERROR_CODE_NAMES
    assert set(error["required"]) == {"code", "message", "details"}
    assert "evaluation_required" in error["properties"]["details"]["description"]


def test_every_error_response_in_the_schema_has_a_body(document):
    bare = []
    attached = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                if status[0] in "45":
                    if "content" not in response:
                        bare.append((method, path, status))
                    elif "ErrorBody" in str(response["content"]):
                        attached += 1
    assert bare == []
    assert attached > 50


def test_an_answered_error_matches_the_list(as_user, prompt):
    response = as_user("ed").post(
        "/api/v1/prompts/support/ticket-classifier/render",
        {"variables": {"ticket_text": "x", "product": "y"}, "version": 99},
        format="json",
    )
    assert response.status_code == 404  # there is no version 99
    assert response.json()["error"]["code"] == "not_found"
    assert "not_found" in ERROR_CODE_NAMES
