"""An editor evaluates a prompt in a real browser: a dataset made from the sample inputs,
an evaluation started on it and watched while it runs (the progress bar moves by
htmx polling), then a failed row opened to read its output and verdicts.

The model is the evaluations' fake OpenAI-compatible server on loopback; it answers
"billing" for money tickets and "other" otherwise, slowly, so progress can be seen.
The worker's job runs in a thread of this process (the live server's database is this
process's), exactly as ``manage.py worker --batch`` runs it.
"""

import re
import threading

import pytest
from playwright.sync_api import expect

from evaluations.models import Evaluation
from prompts import samples
from runs import connections
from tests.evaluations.conftest import work
from tests.evaluations.fakes import ModelFake
from tests.runs.conftest import TEST_KEY

pytestmark = pytest.mark.django_db(transaction=True)

TICKETS = {
    "double charge": "refund my charge",
    "locked out": "cannot log in",
    "crash": "app crashes",
}


@pytest.fixture
def model(settings, people, prompt):
    settings.ENCRYPTION_KEYS = [TEST_KEY]
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.EVALUATION_ROWS_AT_ONCE = 1  # one row after the other: progress shows
    settings.EVALUATION_ROW_TIMEOUT_SECONDS = 10
    fake = ModelFake(delay=1.5).start()
    connections.create_connection(
        people["alice"],
        people["support"],
        name="local-model",
        provider="openai",
        base_url=fake.base_url,
        api_key="sk-local-0123456789abcdef",
        models=["fake-1"],
    )
    for name, ticket in TICKETS.items():
        samples.save_sample(people["ed"], prompt, name, {"ticket_text": ticket})
    yield fake
    fake.stop()


def test_an_editor_evaluates_sample_inputs_and_reads_a_failed_row(model, page, sign_in):
    refused = []  # what the strict CSP blocked, as the browser reports it
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in("ed")
    page.goto("/p/support/ticket-classifier/")
    page.get_by_role("link", name="Datasets").click()
    page.get_by_role("button", name="Fill rows from sample inputs").click()
    expect(page.get_by_label("Rows:", exact=True)).to_have_value(re.compile("refund my charge"))
    page.get_by_label("Name:", exact=True).fill("triage")
    # Short answers only: "billing" is seven characters, so the refund row fails.
    page.get_by_label("Checks:", exact=True).fill('[{"type": "max_chars", "value": 5}]')
    page.get_by_role("button", name="Create dataset").click()

    page.wait_for_url(re.compile(r"/datasets/triage/$"))
    expect(page.get_by_role("heading", name=re.compile("Dataset triage"))).to_be_visible()
    page.get_by_label("Evaluate").select_option(label="Version 1")
    page.get_by_role("button", name="Start evaluation").click()

    page.wait_for_url(re.compile(r"/evaluations/\d+/$"))
    expect(page.locator("#evaluation-bar")).to_be_visible()
    evaluation = Evaluation.objects.get()
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    # The bar moves while the rows run, without reloading the page.
    expect(page.locator("#evaluation-bar")).to_have_attribute("value", re.compile("[12]"))
    page.shot("running")
    worker.join(timeout=30)
    evaluation.refresh_from_db()
    assert evaluation.state == Evaluation.State.SUCCEEDED
    # Once finished, the page loads again with every row and no bar.
    expect(page.locator("#evaluation-progress")).to_contain_text("2 passed, 1 failed")
    expect(page.locator("#evaluation-bar")).to_have_count(0)
    expect(page.locator("details.evaluation-row")).to_have_count(3)

    page.get_by_role("link", name="Failed only").click()
    failed = page.locator("details.evaluation-row")
    expect(failed).to_have_count(1)
    failed.locator("summary").click()
    expect(failed.locator("pre.run-output").first).to_have_text("billing")
    expect(failed.locator(".check-verdicts")).to_contain_text("max_chars")
    page.shot("failed-row")
    assert refused == []
