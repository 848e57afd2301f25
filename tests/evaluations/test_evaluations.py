"""Evaluations over the API, run by the worker against the fake model on loopback."""

from __future__ import annotations

import json

from evaluations.models import Evaluation, RowResult
from tests.evaluations.conftest import work
from webhooks import services as webhooks
from webhooks.models import Delivery

E = "/api/v1/prompts/support/ticket-classifier/evaluations"


def start(client, **extra):
    return client.post(E, {"dataset": "golden", "connection": "local", **extra}, format="json")


def test_an_editor_starts_an_evaluation_and_the_worker_runs_every_row(
    as_user, golden, connection, fake
):
    queued = start(as_user("ed"), version=1)

    assert queued.status_code == 202, queued.content
    assert queued.json()["state"] == "queued"
    assert queued.json()["dataset_revision"] == 1
    work()

    body = as_user("vic").get(f"{E}/{queued.json()['id']}").json()
    assert body["state"] == "succeeded"
    assert (body["passed"], body["failed"], body["errors"]) == (4, 0, 0)
    assert body["pass_rate"] == 1.0
    assert body["input_tokens"] == 40 and body["output_tokens"] == 8
    first = body["rows"][0]
    assert first["output"] == "billing"
    assert first["checks"] == [
        {"type": "equals", "passed": True, "reason": "equal"},
        {"type": "max_chars", "passed": True, "reason": "7 of at most 20 characters"},
    ]
    assert first["latency_ms"] >= 0 and first["error"] is None


def test_failing_rows_lower_the_pass_rate(as_user, golden, connection, fake):
    fake.answers["login broken"] = "billing"
    evaluation_id = start(as_user("ed")).json()["id"]
    work()

    body = as_user("ed").get(f"{E}/{evaluation_id}").json()
    assert (body["passed"], body["failed"]) == (3, 1)
    assert body["pass_rate"] == 0.75
    failed = [r for r in body["rows"] if not r["passed"]]
    assert failed[0]["variables"] == {"ticket_text": "login broken"}
    assert failed[0]["checks"][0] == {
        "type": "equals",
        "passed": False,
        "reason": "differs from 'other'",
    }


def test_viewers_see_evaluations_but_do_not_run_them_and_outsiders_see_nothing(
    as_user, golden, connection, fake
):
    evaluation_id = start(as_user("ed")).json()["id"]

    refused = start(as_user("vic"))
    assert refused.status_code == 403
    assert as_user("vic").get(E).status_code == 200
    assert as_user("oscar").get(E).status_code == 404
    assert as_user("oscar").get(f"{E}/{evaluation_id}").status_code == 404
    assert start(as_user("oscar")).status_code == 404


def test_the_list_is_newest_first_and_filters_by_version(
    as_user, people, prompt, golden, connection
):
    from prompts import services as prompts

    prompts.add_version(
        people["ed"], prompt, template="Classify: {{ ticket_text }} for {{ product }}!"
    )
    first = start(as_user("ed"), version=1).json()["id"]
    second = start(as_user("ed"), version=2).json()["id"]

    assert [e["id"] for e in as_user("vic").get(E).json()] == [second, first]
    assert [e["id"] for e in as_user("vic").get(f"{E}?version=1").json()] == [first]


def test_bad_requests_are_400_before_anything_is_queued(as_user, golden, connection):
    assert start(as_user("ed"), dataset="nope").status_code == 400
    assert start(as_user("ed"), connection="nope").status_code == 400
    assert start(as_user("ed"), model="not-offered").status_code == 400
    assert start(as_user("ed"), version=1, environment="development").status_code == 400
    assert start(as_user("ed"), environment="production").json()["error"]["code"] == "not_deployed"
    assert not Evaluation.objects.exists()


def test_an_evaluation_of_what_is_live_in_an_environment(as_user, golden, connection, fake):
    body = start(as_user("ed"), environment="development").json()
    assert body["version"] == 1 and body["environment"] == "development"


def test_evaluation_completed_is_announced(as_user, people, golden, connection, fake):
    webhooks.create_webhook(
        people["alice"],
        people["support"],
        url="https://hooks.example.com/x",
        events=["evaluation.completed"],
    )
    evaluation_id = start(as_user("ed")).json()["id"]
    work()

    body = json.loads(Delivery.objects.get(event="evaluation.completed").body)
    assert body["data"]["evaluation"] == evaluation_id
    assert body["data"]["pass_rate"] == 1.0
    assert body["version"]["number"] == 1


def test_a_queued_evaluation_is_cancelled_and_never_runs(as_user, golden, connection, fake):
    evaluation_id = start(as_user("ed")).json()["id"]
    cancelled = as_user("ed").post(f"{E}/{evaluation_id}/cancel")
    assert cancelled.json()["state"] == "cancelled"
    work()

    assert fake.calls == {}
    assert not RowResult.objects.exists()
    assert as_user("ed").post(f"{E}/{evaluation_id}/cancel").status_code == 409
