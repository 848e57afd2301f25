"""End to end with a real `manage.py worker` process: a dataset of 20 rows and four kinds
of check, an evaluation that passes and lets the version through a gated environment,
a new version that fails three rows and is refused there, a fixed one that passes and
is deployed; and a worker killed with rows in flight, whose rows another worker
finishes. The fake model answers over loopback HTTP from this process."""

from __future__ import annotations

import time

import pytest
from django_tasks_db.models import DBTaskResult

from evaluations import datasets, services
from evaluations.models import Evaluation, RowClaim, RowResult
from prompts import services as prompts
from tests.evaluations.processes import WORKER_ENV, Worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

LEASE = int(WORKER_ENV["EVALUATION_LEASE_SECONDS"])
P = "/api/v1/prompts/support/ticket-classifier"
BILLING = [
    "refund please",
    "invoice wrong",
    "double charge",
    "refund for order 7",
    "invoice missing",
    "charge not recognised",
    "refund still pending",
]
OTHER = [
    "login broken",
    "app crashes",
    "password reset",
    "dark mode please",
    "slow search",
    "export fails",
    "typo on page",
    "cannot upload",
    "profile photo",
    "two factor",
    "email change",
    "delete account",
    "language",
]
TICKETS = BILLING + OTHER  # fmt: skip
CHECKS = [
    {"type": "equals"},
    {"type": "not_contains", "value": "sorry"},
    {"type": "regex", "value": "^[a-z]+$"},
    {"type": "max_chars", "value": 12},
]
# What the model answers version 2 for three tickets; each breaks other checks.
V2 = "Classify briefly: {{ ticket_text }}"
V2_WRONG = {
    "Classify briefly: login broken": "billing",  # equals
    "Classify briefly: slow search": "Other",  # equals, regex
    "Classify briefly: refund please": "sorry, I cannot say",  # all four
}


def evaluate(client, version: int, workers: list[Worker]) -> dict:
    queued = client.post(
        f"{P}/evaluations",
        {"dataset": "golden", "connection": "local", "version": version},
        format="json",
    )
    assert queued.status_code == 202, queued.content
    pk = queued.json()["id"]
    wait_for(lambda: Evaluation.objects.get(pk=pk).finished, workers)
    return client.get(f"{P}/evaluations/{pk}").json()


def deploy(client, version: int):
    return client.post(
        f"{P}/deployments", {"environment": "staging", "version": version}, format="json"
    )


def test_an_evaluation_run_by_a_worker_process_gates_the_release(
    as_user, people, prompt, connection, fake
):
    assert len(TICKETS) == 20
    ed, rita, alice = as_user("ed"), as_user("rita"), as_user("alice")
    rows = [
        {"variables": {"ticket_text": t}, "expected": "billing" if t in BILLING else "other"}
        for t in TICKETS
    ]
    created = ed.post(
        f"{P}/datasets", {"name": "golden", "rows": rows, "checks": CHECKS}, format="json"
    )
    assert created.status_code == 201, created.content
    rule = {"required_evaluation": {"dataset": "golden", "min_pass_rate": 0.9}}
    gated = alice.patch("/api/v1/teams/support/environments/staging", rule, format="json")
    assert gated.status_code == 200, gated.content
    fake.answers.update(V2_WRONG)

    worker = Worker()
    try:
        first = evaluate(ed, 1, [worker])
        assert (first["state"], first["passed"], first["failed"], first["errors"]) == (
            "succeeded", 20, 0, 0)  # fmt: skip
        assert fake.calls == dict.fromkeys(TICKETS, 1)
        assert deploy(rita, 1).status_code == 201

        prompts.add_version(people["ed"], prompt, template=V2, change_note="shorter")
        second = evaluate(ed, 2, [worker])
        assert (second["state"], second["passed"], second["failed"]) == ("succeeded", 17, 3)
        assert second["pass_rate"] == 0.85
        failing = {
            r["variables"]["ticket_text"]: [c["type"] for c in r["checks"] if not c["passed"]]
            for r in second["rows"]
            if not r["passed"]
        }
        assert failing == {
            "refund please": ["equals", "not_contains", "regex", "max_chars"],
            "login broken": ["equals"],
            "slow search": ["equals", "regex"],
        }
        refused = deploy(rita, 2)
        assert refused.status_code == 403
        details = refused.json()["error"]["details"]
        assert details["reason"] == "evaluation_required"
        assert (details["missing"], details["pass_rate"]) == ("pass_rate", 0.85)

        prompts.add_version(
            people["ed"],
            prompt,
            template="Classify: {{ ticket_text }} for {{ product }}.",
            variables=[{"name": "product", "default": "Acme"}],
        )
        third = evaluate(ed, 3, [worker])
        assert (third["state"], third["passed"], third["pass_rate"]) == ("succeeded", 20, 1.0)
        assert deploy(rita, 3).status_code == 201
        live = ed.get(f"{P}/resolve?environment=staging").json()
        assert live["version"] == 3
    finally:
        worker.stop()
    # Every row was claimed by the worker process and recorded once.
    assert RowResult.objects.count() == RowClaim.objects.filter(recorded=True).count() == 60
    assert RowClaim.objects.values("worker").distinct().count() == 3  # one per job it ran


def test_a_killed_workers_rows_are_finished_by_another_and_none_runs_twice(
    people, prompt, connection, fake
):
    tickets = [f"refund {n}" for n in range(5)] + [f"question {n}" for n in range(5)]
    rows = [{"variables": {"ticket_text": t}, "expected": "other"} for t in tickets[5:]]
    rows = [{"variables": {"ticket_text": t}, "expected": "billing"} for t in tickets[:5]] + rows
    datasets.create_dataset(
        people["ed"], prompt, name="golden", rows=rows, checks=[{"type": "equals"}]
    )
    fake.hold_after = 4  # four rows answered, then the model holds its answers
    workers = [Worker(name, EVALUATION_ROWS_AT_ONCE="2") for name in ("one", "two")]
    try:
        evaluation = services.start_evaluation(
            people["ed"], prompt, dataset="golden", connection="local"
        )
        recorded = RowResult.objects.filter(evaluation=evaluation)
        wait_for(lambda: fake.held == 2 and recorded.count() == 4, workers)
        held = {t for t, n in fake.calls.items() if n == 1} - set(fake.delivered)
        job = DBTaskResult.objects.get(args_kwargs__args=[evaluation.pk])
        running = next(w for w in workers if w.name == job.worker_ids[-1])
        other = next(w for w in workers if w is not running)

        # For longer than a lease, the other worker leaves the rows alone: the one
        # running them renews their leases while they wait on the model.
        time.sleep(LEASE + 0.5)
        assert (fake.held, sum(fake.calls.values())) == (2, 6)

        running.kill()  # with two rows in flight at the model
        fake.released.set()
        wait_for(lambda: sum(fake.abandoned.values()) == 2, [other])
        wait_for(lambda: Evaluation.objects.get(pk=evaluation.pk).finished, [other])
    finally:
        for worker in workers:
            worker.stop()

    evaluation.refresh_from_db()
    assert (evaluation.state, evaluation.passed, evaluation.total) == ("succeeded", 10, 10)
    assert sorted(recorded.values_list("index", flat=True)) == list(range(10))
    # Each row answered to a live worker once: none was run twice to completion.
    assert fake.delivered == dict.fromkeys(tickets, 1)
    assert fake.abandoned == dict.fromkeys(held, 1)
    assert {t: fake.calls[t] for t in held} == dict.fromkeys(held, 2)
    # The killed worker's rows (the two in flight, and those it never started) were
    # claimed and recorded by the other worker.
    by_worker = {}
    for claim in RowClaim.objects.filter(evaluation=evaluation, recorded=True):
        by_worker.setdefault(claim.worker, set()).add(tickets[claim.index])
    assert sorted(len(done) for done in by_worker.values()) == [4, 6]
    assert held <= max(by_worker.values(), key=len)
    # The killed worker's job is not left "running" in the task table.
    jobs = DBTaskResult.objects.filter(args_kwargs__args=[evaluation.pk])
    assert {j.pk: j.status for j in jobs} == {
        job.pk: "FAILED",
        **{j.pk: "SUCCESSFUL" for j in jobs if j.pk != job.pk},
    }
