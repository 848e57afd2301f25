"""Rows claimed under a lease: a row another worker holds is left to it while its lease
lasts and taken over once it ended; a result from a worker that lost its row is not
written; an evaluation nobody moves on is queued again, once per lease."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection as db
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from evaluations import claims, services
from evaluations.jobs import requeue_stale
from evaluations.models import Evaluation, RowClaim, RowResult
from evaluations.runner import Row, RowDone, execute, record_row


@pytest.fixture(autouse=True)
def _short_lease(settings):
    settings.EVALUATION_LEASE_SECONDS = 2


def queued(people, prompt) -> Evaluation:
    return services.start_evaluation(people["ed"], prompt, dataset="golden", connection="local")


def test_a_row_held_by_a_live_worker_is_left_to_it_until_its_lease_ends(
    people, prompt, golden, connection, fake
):
    evaluation = queued(people, prompt)
    ends = timezone.now() + timedelta(seconds=1)
    RowClaim.objects.create(evaluation=evaluation, index=0, worker="other", lease_until=ends)
    started = time.monotonic()

    assert execute(evaluation.pk) == "succeeded"
    assert time.monotonic() - started >= 0.9  # it waited for the lease to end
    claim = RowClaim.objects.get(evaluation=evaluation, index=0)
    assert claim.worker != "other" and claim.recorded
    assert fake.calls["refund please"] == 1
    assert RowResult.objects.filter(evaluation=evaluation).count() == 4


@pytest.mark.django_db(transaction=True)  # the other worker writes from its own thread
def test_a_row_recorded_by_another_worker_meanwhile_is_not_run(
    people, prompt, golden, connection, fake
):
    evaluation = queued(people, prompt)
    ends = timezone.now() + timedelta(seconds=5)
    RowClaim.objects.create(evaluation=evaluation, index=0, worker="other", lease_until=ends)

    def other_worker_records_it() -> None:
        time.sleep(0.3)
        row = Row(0, {"ticket_text": "refund please"}, "billing")
        record_row(evaluation, row, RowDone(0, output="billing"), None, "other")
        db.close()

    other = threading.Thread(target=other_worker_records_it)
    other.start()
    assert execute(evaluation.pk) == "succeeded"
    other.join()

    assert "refund please" not in fake.calls
    assert RowResult.objects.get(evaluation=evaluation, index=0).output == "billing"
    assert Evaluation.objects.get(pk=evaluation.pk).total == 4


def test_a_worker_whose_row_was_taken_over_does_not_write_its_result(
    people, prompt, golden, connection
):
    evaluation = queued(people, prompt)
    assert claims.claim_row(evaluation.pk, 0, "slow")
    RowClaim.objects.filter(evaluation=evaluation).update(lease_until=timezone.now())
    assert claims.claim_row(evaluation.pk, 0, "fresh")  # the lease ended: taken over
    assert not claims.claim_row(evaluation.pk, 0, "third")  # now held by "fresh"
    row = Row(0, {"ticket_text": "refund please"}, "billing")

    record_row(evaluation, row, RowDone(0, output="late"), None, "slow")
    assert not RowResult.objects.filter(evaluation=evaluation).exists()
    record_row(evaluation, row, RowDone(0, output="billing"), None, "fresh")
    assert RowResult.objects.get(evaluation=evaluation).output == "billing"
    assert Evaluation.objects.get(pk=evaluation.pk).passed == 1
    assert not claims.claim_row(evaluation.pk, 0, "third")  # recorded: never again


def test_a_running_evaluation_nobody_moves_on_is_queued_again_once_per_lease(
    people, prompt, golden, connection
):
    evaluation = queued(people, prompt)
    jobs = DBTaskResult.objects.filter(args_kwargs__args=[evaluation.pk])
    assert jobs.count() == 1
    assert claims.join(evaluation.pk)
    assert requeue_stale() == 0  # its worker is moving it on

    long_ago = timezone.now() - timedelta(seconds=3)
    Evaluation.objects.filter(pk=evaluation.pk).update(heartbeat_at=long_ago)
    assert requeue_stale() == 1
    assert requeue_stale() == 0  # not again before another lease
    assert jobs.count() == 2


@pytest.mark.django_db(transaction=True)  # two workers claim from their own threads
def test_two_workers_claiming_the_same_rows_at_once_take_each_row_once(
    people, prompt, golden, connection
):
    evaluation = queued(people, prompt)
    indexes = list(range(40))
    taken: dict[str, list[int]] = {}
    start = threading.Barrier(2)

    def claim_all(worker: str) -> None:
        start.wait()
        mine = []
        for first in range(0, len(indexes), 4):
            mine += claims.claim_rows(evaluation.pk, indexes[first : first + 4], worker)
        taken[worker] = mine
        db.close()

    threads = [threading.Thread(target=claim_all, args=(w,)) for w in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(taken["a"] + taken["b"]) == indexes
    assert RowClaim.objects.filter(evaluation=evaluation).count() == 40


@pytest.mark.django_db(transaction=True)  # the worker runs in a thread of its own
def test_a_cancel_stops_a_running_evaluation_after_the_rows_in_flight(
    people, prompt, golden, connection, fake, settings
):
    settings.EVALUATION_ROWS_AT_ONCE = 1
    settings.EVALUATION_ROW_TIMEOUT_SECONDS = 10  # longer than the row is held
    fake.hold_after = 1  # the first row is answered, the second held
    evaluation = queued(people, prompt)
    ended = []

    def worker() -> None:
        ended.append(execute(evaluation.pk))
        db.close()

    thread = threading.Thread(target=worker)
    thread.start()
    deadline = time.monotonic() + 10
    while fake.held < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    services.cancel_evaluation(people["ed"], Evaluation.objects.get(pk=evaluation.pk))
    time.sleep(claims.tick() + 1)  # the worker sees the cancel at its next renewal
    fake.released.set()
    thread.join(timeout=10)

    assert ended == ["cancelled"]
    assert sum(fake.calls.values()) == 2  # the two rows not started never ran
    assert list(
        RowResult.objects.filter(evaluation=evaluation).values_list("error", flat=True)
    ) == ["", ""]
    assert not RowClaim.objects.filter(evaluation=evaluation, recorded=False).exists()
    evaluation.refresh_from_db()
    assert (evaluation.state, evaluation.passed, evaluation.total) == ("cancelled", 2, 4)


def test_a_cancelled_evaluation_whose_worker_was_gone_is_ended_without_running_a_row(
    people, prompt, golden, connection, fake
):
    evaluation = queued(people, prompt)
    assert claims.join(evaluation.pk)  # a worker took it, then went away
    services.cancel_evaluation(people["ed"], Evaluation.objects.get(pk=evaluation.pk))

    assert execute(evaluation.pk) == "cancelled"
    assert fake.calls == {}
    assert not RowClaim.objects.filter(evaluation=evaluation).exists()
