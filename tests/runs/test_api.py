"""The connection and run endpoints: who may do what, what the answers hold, and the
error contract for every failure."""

from __future__ import annotations

import pytest

from runs import connections
from runs.models import Connection, Run
from tests.runs.conftest import OPENAI_KEY
from tests.runs.fakes import ANSWER

C = "/api/v1/teams/support/connections"
RUN = "/api/v1/prompts/support/ticket-classifier/run"
RUNS = "/api/v1/prompts/support/ticket-classifier/runs"


def new_connection(base_url: str, **extra) -> dict:
    return {
        "name": "main",
        "provider": "openai",
        "base_url": base_url,
        "api_key": OPENAI_KEY,
        "models": ["gpt-4o-mini"],
        **extra,
    }


# ------------------------------------------------------------------ connections


def test_an_admin_adds_a_connection_and_the_key_is_never_shown(as_user, openai_fake):
    answer = as_user("alice").post(C, new_connection(openai_fake.base_url), format="json")

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["name"] == "main" and body["provider"] == "openai"
    assert body["base_url"] == openai_fake.base_url
    assert body["models"] == ["gpt-4o-mini"]
    assert body["key_hint"] == "sk-…9f2c"
    assert "api_key" not in body
    assert OPENAI_KEY not in answer.content.decode()
    stored = Connection.objects.get(name="main")
    assert OPENAI_KEY not in stored.api_key_encrypted


def test_members_list_connections_and_editors_may_not_add_one(
    as_user, openai_fake, openai_connection
):
    listed = as_user("vic").get(C)
    assert listed.status_code == 200
    assert [c["name"] for c in listed.json()] == ["openai"]
    assert listed.json()[0]["header_names"] == ["OpenAI-Organization"]

    refused = as_user("ed").post(C, new_connection(openai_fake.base_url), format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"


def test_an_outsider_sees_no_connections_of_another_team(as_user, openai_connection):
    assert as_user("oscar").get(C).status_code == 404
    assert as_user("oscar").delete(f"{C}/openai").status_code == 404
    assert as_user("oscar").patch(f"{C}/openai", {"models": []}, format="json").status_code == 404


def test_an_admin_rotates_the_key_and_renames(as_user, openai_connection):
    answer = as_user("alice").patch(
        f"{C}/openai", {"api_key": "sk-new-key-000000000000aaaa", "name": "primary"}, format="json"
    )

    assert answer.status_code == 200
    assert answer.json()["key_hint"] == "sk-…aaaa"
    assert answer.json()["name"] == "primary"
    assert as_user("alice").get(f"{C}/openai").status_code == 404


def test_an_admin_deletes_a_connection(as_user, openai_connection):
    assert as_user("ed").delete(f"{C}/openai").status_code == 403
    assert as_user("alice").delete(f"{C}/openai").status_code == 204
    assert not Connection.objects.exists()


def test_a_taken_name_is_a_conflict(as_user, openai_fake, openai_connection):
    answer = as_user("alice").post(
        C, new_connection(openai_fake.base_url, name="openai"), format="json"
    )
    assert answer.status_code == 409
    assert answer.json()["error"]["details"] == {"field": "name"}


@pytest.mark.parametrize(
    "body",
    [
        {"provider": "gemini"},
        {"base_url": "ftp://127.0.0.1/v1"},
        {"base_url": "http://user:pw@127.0.0.1/v1"},
        {"api_key": ""},
        {"api_key": 12345},
        {"models": "gpt-4o"},
        {"headers": {"Bad Header": "x"}},
        {"headers": {"X-Ok": "line\r\nbreak"}},
        {"headers": {"Host": "evil.example.com"}},
    ],
)
def test_bad_connections_are_refused_with_a_400(as_user, openai_fake, body):
    answer = as_user("alice").post(C, new_connection(openai_fake.base_url) | body, format="json")
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"] == "invalid"


def test_without_encryption_keys_in_production_connections_answer_not_configured(
    settings, as_user, openai_fake, openai_connection, prompt
):
    settings.ENCRYPTION_KEYS = []
    settings.DEBUG = False

    for answer in [
        as_user("alice").get(C),
        as_user("alice").post(C, new_connection(openai_fake.base_url), format="json"),
        as_user("alice").patch(f"{C}/openai", {"models": []}, format="json"),
        as_user("alice").delete(f"{C}/openai"),
        as_user("ed").post(
            RUN, {"connection": "openai", "variables": {"ticket_text": "x"}}, format="json"
        ),
    ]:
        assert answer.status_code == 409, answer.content
        assert answer.json()["error"]["code"] == "not_configured"
        assert "ENCRYPTION_KEYS" in answer.json()["error"]["message"]
    # nothing else stops
    assert as_user("vic").get("/api/v1/prompts/support/ticket-classifier").status_code == 200
    assert as_user("vic").get(RUNS).status_code == 200


# ------------------------------------------------------------------ runs


def run_body(**extra) -> dict:
    return {"connection": "openai", "variables": {"ticket_text": "I was charged twice"}, **extra}


def test_an_editor_runs_a_prompt(as_user, prompt, openai_fake, openai_connection):
    answer = as_user("ed").post(RUN, run_body(), format="json")

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["output"] == ANSWER
    assert body["model"] == "gpt-4o-mini"
    assert body["version"] == 1
    assert body["messages"] == [
        {"role": "user", "content": "Classify: I was charged twice for Acme"}
    ]
    assert body["usage"] == {"input_tokens": 12, "output_tokens": 7}
    assert body["finish_reason"] == "stop"
    assert body["error"] is None
    assert body["created_by"] == "ed"
    assert {"id", "latency_ms", "created_at"} <= set(body)


@pytest.mark.parametrize(
    ("caller", "status"),
    [
        ("viewer", 403),
        ("read_token", 403),
        ("outsider", 404),
        ("anonymous", 401),
        ("editor", 200),
        ("reviewer", 200),
        ("admin", 200),
        ("grant", 200),
    ],
)
def test_who_may_run(callers, caller, status, openai_fake, openai_connection):
    answer = callers[caller].post(RUN, run_body(), format="json")

    assert answer.status_code == status, answer.content
    if status != 200:
        assert openai_fake.requests == []


@pytest.mark.parametrize(
    ("caller", "status"),
    [("viewer", 200), ("read_token", 200), ("outsider", 404), ("editor", 200)],
)
def test_who_sees_runs(callers, caller, status, openai_connection):
    assert callers[caller].get(RUNS).status_code == status


def test_missing_variables_are_a_400_and_nothing_is_sent(
    as_user, prompt, openai_fake, openai_connection
):
    answer = as_user("ed").post(RUN, run_body(variables={}), format="json")

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "missing_variables"
    assert answer.json()["error"]["details"]["missing"] == ["ticket_text"]
    assert openai_fake.requests == []


def test_an_unknown_connection_is_a_400(as_user, prompt, openai_connection):
    answer = as_user("ed").post(RUN, run_body(connection="nope"), format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["details"] == {"field": "connection"}


def test_another_teams_connection_cannot_be_used(
    as_user, people, prompt, billing_prompt, openai_fake
):

    connections.create_connection(
        people["oscar"],
        people["billing"],
        name="billing-only",
        provider="openai",
        base_url=openai_fake.base_url,
        api_key=OPENAI_KEY,
    )
    answer = as_user("ed").post(RUN, run_body(connection="billing-only"), format="json")
    assert answer.status_code == 400
    assert openai_fake.requests == []


@pytest.mark.parametrize(
    ("behaviour", "status", "provider_status"),
    [
        ("unauthorized", 502, 401),
        ("unknown_model", 502, 404),
        ("rate_limited", 502, 429),
        ("server_error", 502, 500),
        ("hang", 504, None),
        ("malformed", 502, 200),
    ],
)
def test_provider_failures_follow_the_error_contract(
    as_user, prompt, openai_fake, openai_connection, behaviour, status, provider_status
):
    openai_fake.script = [behaviour]

    answer = as_user("ed").post(RUN, run_body(), format="json")

    assert answer.status_code == status
    error = answer.json()["error"]
    assert error["code"] == ("provider_timeout" if status == 504 else "provider_error")
    if status == 502:
        assert error["details"]["status"] == provider_status
        assert error["details"]["message"]
    run = Run.objects.get(pk=error["details"]["run"])
    assert run.error_code == error["code"]


def test_runs_are_listed_newest_first_and_by_version(
    as_user, people, prompt, openai_fake, openai_connection
):
    from prompts import services as prompts

    as_user("ed").post(RUN, run_body(), format="json")
    prompts.add_version(people["ed"], prompt, template="v2 {{ ticket_text }}")
    openai_fake.script = ["server_error"]
    as_user("ed").post(RUN, run_body(), format="json")

    listed = as_user("vic").get(RUNS).json()
    assert listed["count"] == 2
    assert [r["version"] for r in listed["results"]] == [2, 1]
    assert listed["results"][0]["error"]["code"] == "provider_error"
    only_one = as_user("vic").get(RUNS, {"version": 1}).json()
    assert [r["version"] for r in only_one["results"]] == [1]
    assert as_user("vic").get(RUNS, {"version": 9}).status_code == 404


def test_runs_are_throttled_per_user(settings, as_user, prompt, openai_fake, openai_connection):
    settings.RUNS_PER_USER = "2/min"

    statuses = [as_user("ed").post(RUN, run_body(), format="json").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert len(openai_fake.requests) == 2


def test_runs_are_throttled_per_connection(
    settings, as_user, prompt, openai_fake, openai_connection
):
    settings.RUNS_PER_CONNECTION = "1/min"

    assert as_user("ed").post(RUN, run_body(), format="json").status_code == 200
    refused = as_user("rita").post(RUN, run_body(), format="json")
    assert refused.status_code == 429
    assert refused.json()["error"]["details"]["scope"] == "connection"


def test_the_schema_describes_connections_and_runs(client):
    paths = client.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/teams/{team}/connections"])
    assert {"patch", "delete"} <= set(paths["/api/v1/teams/{team}/connections/{name}"])
    run = paths["/api/v1/prompts/{team}/{slug}/run"]["post"]
    assert {"502", "504", "409"} <= set(run["responses"])
    assert "get" in paths["/api/v1/prompts/{team}/{slug}/runs"]
