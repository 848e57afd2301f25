"""The judge check end to end: the worker sends the rubric with each output to the fake
model, whose pass or fail and reason land on the row; an answer that is neither makes
that row an error with the judge's words, and the other rows go on."""

from __future__ import annotations

import pytest

from evaluations import datasets, services
from evaluations.models import Evaluation, RowResult
from tests.evaluations.conftest import golden_rows, work

RUBRIC = "The answer sends money questions to the billing team."


@pytest.fixture
def judged(people, prompt, connection):
    return datasets.create_dataset(
        people["ed"],
        prompt,
        name="judged",
        rows=golden_rows(),
        checks=[{"type": "max_chars", "value": 20}, {"type": "judge", "rubric": RUBRIC}],
    )


def run(people, prompt) -> Evaluation:
    evaluation = services.start_evaluation(
        people["ed"], prompt, dataset="judged", connection="local"
    )
    work()
    evaluation.refresh_from_db()
    return evaluation


def judge_verdict(row: RowResult) -> dict:
    (verdict,) = [c for c in row.checks if c["type"] == "judge"]
    return verdict


def test_the_judge_gets_the_rubric_with_the_output_and_its_verdict_lands_on_the_row(
    people, prompt, judged, fake
):
    evaluation = run(people, prompt)

    assert fake.judged == 4
    question = next(q for q in fake.questions if "invoice wrong" in q)
    assert question.startswith(f"Rubric:\n{RUBRIC}\n")
    assert '{"ticket_text": "invoice wrong"}' in question
    assert "Expected output:\nbilling" in question
    assert question.endswith("Output to grade:\nbilling")
    rows = list(RowResult.objects.filter(evaluation=evaluation).order_by("index"))
    assert [judge_verdict(r) for r in rows] == [
        {"type": "judge", "passed": True, "reason": "said billing"},
        {"type": "judge", "passed": True, "reason": "said billing"},
        {"type": "judge", "passed": False, "reason": "said other"},
        {"type": "judge", "passed": False, "reason": "said other"},
    ]
    assert (evaluation.state, evaluation.passed, evaluation.failed) == ("succeeded", 2, 2)
    assert evaluation.errors == 0


def test_a_judge_answering_neither_pass_nor_fail_makes_that_row_an_error(
    as_user, people, prompt, judged, fake
):
    fake.answers["app crashes"] = "unsure"
    fake.verdicts["unsure"] = "Hard to say, it depends on the customer."
    evaluation = run(people, prompt)

    assert (evaluation.state, evaluation.passed, evaluation.failed) == ("succeeded", 2, 1)
    assert evaluation.errors == 1
    row = RowResult.objects.get(evaluation=evaluation, index=3)
    said = "The judge answered neither pass nor fail: 'Hard to say, it depends on the customer.'"
    assert row.error == f"judge_error: {said}"
    assert not row.passed and row.output == "unsure"
    assert judge_verdict(row) == {"type": "judge", "passed": False, "reason": said}
    body = (
        as_user("vic")
        .get(f"/api/v1/prompts/support/ticket-classifier/evaluations/{evaluation.pk}")
        .json()
    )
    assert body["rows"][3]["error"] == f"judge_error: {said}"


def test_a_judge_answering_in_words_is_understood(people, prompt, judged, fake):
    fake.verdicts["other"] = "FAIL: it should say other team"
    evaluation = run(people, prompt)

    row = RowResult.objects.get(evaluation=evaluation, index=2)
    reason = "it should say other team"
    assert judge_verdict(row) == {"type": "judge", "passed": False, "reason": reason}
    assert row.error == ""


def test_a_judge_that_cannot_answer_makes_that_row_an_error(people, prompt, judged, fake, settings):
    settings.EVALUATION_RETRIES = 1
    fake.answers["app crashes"] = "unsure"
    fake.judge_faults["unsure"] = ["server_error", "server_error"]
    evaluation = run(people, prompt)

    assert (evaluation.passed, evaluation.failed, evaluation.errors) == (2, 1, 1)
    row = RowResult.objects.get(evaluation=evaluation, index=3)
    assert row.error.startswith("judge_error: The judge could not answer: ")
    assert "Boom." in row.error
    assert judge_verdict(row)["passed"] is False
    assert fake.judge_faults["unsure"] == []  # asked again once, as any call
