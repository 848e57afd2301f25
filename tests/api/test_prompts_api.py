"""The prompt endpoints behave as the contract says."""

from datetime import timedelta

import pytest
from django.utils import timezone

from prompts import services
from prompts.models import Prompt

P = "/api/v1/prompts/support/ticket-classifier"


@pytest.fixture
def ed(as_user):
    return as_user("ed")


def error_code(response):
    return response.json()["error"]["code"]


def test_creating_a_prompt_answers_201_with_the_prompt(ed, people):
    response = ed.post(
        "/api/v1/prompts",
        {
            "team": "support",
            "name": "Refund answer",
            "tags": ["billing"],
            "template": "Refund {{ amount }}",
            "config": {"model": "m"},
            "deploy_to": "development",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["team"], body["slug"], body["latest_version"], body["deployments"]) == (
        "support",
        "refund-answer",
        1,
        {"development": 1},
    )
    assert set(body) >= {
        "team",
        "slug",
        "name",
        "description",
        "tags",
        "latest_version",
        "deployments",
        "created_at",
        "updated_at",
    }


def test_a_taken_slug_is_409(ed, prompt):
    response = ed.post(
        "/api/v1/prompts",
        {"team": "support", "name": "x", "slug": "ticket-classifier", "template": "x"},
        format="json",
    )
    assert (response.status_code, error_code(response)) == (409, "conflict")


def test_a_renamed_prompt_keeps_answering_at_its_old_address(ed, prompt):
    assert ed.patch(P, {"slug": "classifier"}, format="json").json()["slug"] == "classifier"
    assert ed.get(P).json()["slug"] == "classifier"
    again = ed.post(
        "/api/v1/prompts",
        {"team": "support", "name": "x", "slug": "ticket-classifier", "template": "x"},
        format="json",
    )
    assert again.status_code == 409


def test_archive_and_restore(as_user, prompt):
    alice = as_user("alice")
    assert alice.delete(P).status_code == 204
    assert as_user("vic").get(P).status_code == 404
    assert alice.get(P).json()["archived"] is True  # admins find it, to restore it
    assert alice.get("/api/v1/prompts").json()["count"] == 0
    assert alice.post(f"{P}/restore").json()["archived"] is False
    assert alice.get(P).status_code == 200


def test_versions_are_listed_newest_first_and_never_change(ed, prompt):
    ed.post(f"{P}/versions", {"template": "two {{ a }}", "change_note": "n"}, format="json")
    numbers = [v["number"] for v in ed.get(f"{P}/versions").json()["results"]]
    assert numbers == [2, 1]
    for method in ("put", "patch", "delete"):
        response = getattr(ed, method)(f"{P}/versions/1", {"template": "x"}, format="json")
        assert (response.status_code, error_code(response)) == (405, "immutable")


def test_a_new_version_is_deployed_only_when_asked(ed, prompt):
    ed.post(f"{P}/versions", {"template": "two {{ a }}"}, format="json")
    assert ed.get(P).json()["deployments"] == {"development": 1}
    ed.post(f"{P}/versions", {"template": "three {{ a }}", "deploy_to": "staging"}, format="json")
    assert ed.get(P).json()["deployments"] == {"development": 1, "staging": 3}


@pytest.mark.parametrize(
    "template, code",
    [
        ("{% if %}", "template_syntax"),
        ("{{ ''.__class__ }}", "template_unsafe"),
        ("{% include 'x' %}", "template_unsafe"),
    ],
)
def test_bad_templates_are_refused_with_their_code(ed, prompt, template, code):
    response = ed.post(f"{P}/versions", {"template": template}, format="json")
    assert (response.status_code, error_code(response)) == (400, code)
    assert prompt.versions.count() == 1


def test_resolve_answers_with_an_etag_and_304(ed, prompt):
    first = ed.get(f"{P}/resolve?environment=development")
    assert first.status_code == 200
    body = first.json()
    assert (body["version"], body["environment"], body["team"], body["slug"]) == (
        1,
        "development",
        "support",
        "ticket-classifier",
    )
    assert first["ETag"] == f'"{body["content_hash"]}"'
    second = ed.get(f"{P}/resolve?environment=development", HTTP_IF_NONE_MATCH=first["ETag"])
    assert (second.status_code, second.content) == (304, b"")


def test_resolve_says_not_deployed(ed, prompt):
    response = ed.get(f"{P}/resolve?environment=staging")
    assert (response.status_code, error_code(response)) == (404, "not_deployed")


def test_render_lists_every_missing_variable(ed, prompt):
    ed.post(f"{P}/versions", {"template": "{{ a }} {{ b }} {{ c }}"}, format="json")
    response = ed.post(f"{P}/render", {"variables": {"b": "x"}, "version": 2}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["missing"] == ["a", "c"]
    ok = ed.post(
        f"{P}/render",
        {"variables": {"ticket_text": "hi"}, "environment": "development"},
        format="json",
    )
    assert ok.json() == {
        "rendered": "Classify: hi for Acme",
        "version": 1,
        "environment": "development",
    }


def test_a_planned_deployment_is_planned(ed, prompt):
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    response = ed.post(
        f"{P}/deployments",
        {"environment": "staging", "version": 1, "scheduled_for": later},
        format="json",
    )
    assert response.status_code == 201
    assert (response.json()["state"], response.json()["activated_at"]) == ("planned", None)
    assert ed.get(f"{P}/resolve?environment=staging").status_code == 404


def test_rollback_and_the_release_log(ed, prompt):
    ed.post(
        f"{P}/versions",
        {"template": "two {{ ticket_text }}", "deploy_to": "development"},
        format="json",
    )
    response = ed.post(f"{P}/deployments/rollback", {"environment": "development"}, format="json")
    assert (response.status_code, response.json()["version"]) == (201, 1)
    log = ed.get(f"{P}/deployments?environment=development").json()["results"]
    assert [(d["version"], d["state"], d["actor"]) for d in log] == [
        (1, "active", "ed"),
        (2, "superseded", "ed"),
        (1, "superseded", "ed"),
    ]


def test_an_editor_is_told_which_rule_refuses_production(ed, prompt):
    response = ed.post(
        f"{P}/deployments", {"environment": "production", "version": 1}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["error"]["details"]["reason"] == "protected_environment"


def test_search_and_tags(ed, prompt, people):
    services.create_prompt(
        people["ed"],
        people["support"],
        name="Refunds",
        tags=["billing"],
        template="Refund policy for {{ plan }}",
    )
    assert [p["slug"] for p in ed.get("/api/v1/prompts?q=policy").json()["results"]] == ["refunds"]
    assert [p["slug"] for p in ed.get("/api/v1/prompts?q=classify").json()["results"]] == [
        "ticket-classifier"
    ]
    both = ed.get("/api/v1/prompts?tag=billing&tag=triage").json()["results"]
    assert len(both) == 2
    assert ed.get("/api/v1/prompts?tag=nothing").json()["count"] == 0


def test_writes_with_a_token_record_their_user(ed, prompt, people):
    ed.patch(P, {"description": "via token"}, format="json")
    record = Prompt.history.filter(id=prompt.pk).latest("history_id")
    assert record.history_user == people["ed"]
    ed.post(f"{P}/deployments", {"environment": "staging", "version": 1}, format="json")
    from releases.models import Deployment

    assert Deployment.history.latest("history_id").history_user == people["ed"]


def test_usage_counts_who_fetches(ed, as_user, prompt):
    from serving import usage

    service = as_user("vic", scopes=["read"], name="checkout-service")
    for _ in range(3):
        service.get(f"{P}/resolve?environment=development")
    usage.flush()
    [row] = ed.get(f"{P}/usage").json()
    assert (row["token"], row["user"], row["version"], row["environment"], row["count"]) == (
        "checkout-service",
        "vic",
        1,
        "development",
        3,
    )


def test_unused_prompts_are_found(ed, as_user, prompt, people):
    from serving import usage

    services.create_prompt(people["ed"], people["support"], name="Forgotten", template="x")
    as_user("vic").get(f"{P}/resolve?environment=development")
    usage.flush()
    unused = ed.get("/api/v1/prompts?unused_days=30").json()["results"]
    assert [p["slug"] for p in unused] == ["forgotten"]
    assert ed.get("/api/v1/prompts?unused_days=abc").status_code == 400
