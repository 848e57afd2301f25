"""The worker facing a misbehaving provider: retries, errors of one row, timeouts."""

from __future__ import annotations

import time

from evaluations import services
from evaluations.models import Evaluation, RowResult
from tests.evaluations.conftest import work


def run(people, prompt) -> Evaluation:
    evaluation = services.start_evaluation(
        people["ed"], prompt, dataset="golden", connection="local"
    )
    work()
    evaluation.refresh_from_db()
    return evaluation


def test_a_429_then_200_is_retried_after_retry_after_and_counted_once(
    people, prompt, golden, connection, fake
):
    fake.faults["refund please"] = ["rate_limited"]
    started = time.monotonic()
    evaluation = run(people, prompt)

    assert time.monotonic() - started >= 1  # Retry-After: 1 was honoured
    assert fake.calls["refund please"] == 2
    row = RowResult.objects.get(evaluation=evaluation, index=0)
    assert row.passed and row.attempts == 2 and row.error == ""
    assert (evaluation.state, evaluation.passed, evaluation.total) == ("succeeded", 4, 4)
    assert RowResult.objects.filter(evaluation=evaluation).count() == 4


def test_a_500_for_one_row_makes_that_row_an_error_and_the_rest_run(
    people, prompt, golden, connection, fake, settings
):
    settings.EVALUATION_RETRIES = 1
    fake.faults["login broken"] = ["server_error", "server_error"]
    evaluation = run(people, prompt)

    assert evaluation.state == "succeeded"
    assert (evaluation.passed, evaluation.failed, evaluation.errors) == (3, 0, 1)
    assert evaluation.pass_rate == 0.75
    row = RowResult.objects.get(evaluation=evaluation, index=2)
    assert row.error.startswith("provider_error") and row.checks == []
    assert fake.calls["login broken"] == 2


def test_a_hanging_row_times_out_and_the_others_finish(people, prompt, golden, connection, fake):
    fake.faults["app crashes"] = ["hang", "hang", "hang"]
    started = time.monotonic()
    evaluation = run(people, prompt)

    assert time.monotonic() - started < 15
    row = RowResult.objects.get(evaluation=evaluation, index=3)
    assert row.error.startswith("provider_timeout")
    assert (evaluation.passed, evaluation.errors) == (3, 1)


def test_rows_run_at_most_the_configured_number_at_once(people, prompt, connection, fake, settings):
    from evaluations import datasets

    settings.EVALUATION_ROWS_AT_ONCE = 3
    fake.delay = 0.1
    rows = [{"variables": {"ticket_text": f"refund {n}"}, "expected": "billing"} for n in range(12)]
    datasets.create_dataset(
        people["ed"], prompt, name="golden", rows=rows, checks=[{"type": "equals"}]
    )
    evaluation = run(people, prompt)

    assert evaluation.passed == 12
    assert fake.most_at_once == 3


def test_a_stale_running_evaluation_is_taken_over_and_done_rows_are_not_run_again(
    people, prompt, golden, connection, fake, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from evaluations.runner import execute

    evaluation = services.start_evaluation(
        people["ed"], prompt, dataset="golden", connection="local"
    )
    # A worker took it, recorded the first row, then died.
    long_ago = timezone.now() - timedelta(hours=1)
    Evaluation.objects.filter(pk=evaluation.pk).update(state="running", heartbeat_at=long_ago)
    RowResult.objects.create(evaluation=evaluation, index=0, output="billing", passed=True)
    Evaluation.objects.filter(pk=evaluation.pk).update(passed=1)

    assert execute(evaluation.pk) == "succeeded"
    assert "refund please" not in fake.calls
    assert RowResult.objects.filter(evaluation=evaluation).count() == 4
    assert execute(evaluation.pk) == "skipped"  # finished: nobody runs it again
