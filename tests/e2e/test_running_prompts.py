"""An author runs a prompt against a model in a real browser: the unsaved text from the
editor, streamed into the playground, then two versions side by side on two samples.

The model is a fake OpenAI-compatible server on loopback (let through by
OUTBOUND_ALLOWED_NETWORKS, as a self-hosted model on an internal network would be);
the live server runs in this process, so the settings below apply to it."""

import re

import pytest
from playwright.sync_api import expect

from prompts import samples
from prompts import services as prompts
from runs import connections
from tests.runs.conftest import OPENAI_KEY, TEST_KEY
from tests.runs.fakes import FakeProvider

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def model(settings, people, prompt):
    settings.ENCRYPTION_KEYS = [TEST_KEY]
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    # Each piece of a streamed answer comes a moment after the last, so the page can
    # be seen filling in; answers repeat what was sent, so two versions' outputs differ.
    fake = FakeProvider("openai", echo=True, chunk_delay=0.3).start()
    connections.create_connection(
        people["alice"],
        people["support"],
        name="local-model",
        provider="openai",
        base_url=fake.base_url,
        api_key=OPENAI_KEY,
        models=["llama-3.1-8b"],
    )
    prompts.add_version(people["ed"], prompt, template="Sort: {{ ticket_text }} for Acme")
    samples.save_sample(people["ed"], prompt, "double charge", {"ticket_text": "charged twice"})
    samples.save_sample(people["ed"], prompt, "locked out", {"ticket_text": "cannot log in"})
    yield fake
    fake.stop()


def test_an_author_runs_unsaved_text_then_compares_two_versions_side_by_side(model, page, sign_in):
    sign_in("ed")
    page.goto("/p/support/ticket-classifier/versions/new/")
    template = page.get_by_label("Template")
    template.fill("Answer briefly: {{ ticket_text }}")
    template.press("End")  # a keystroke, so the preview offers the value inputs
    page.locator("#value-ticket_text").fill("charged twice")
    page.get_by_role("button", name="Run the unsaved text").click()

    page.wait_for_url(re.compile(r"/playground/draft/$"))
    expect(page.get_by_label("Unsaved text")).to_have_value("Answer briefly: {{ ticket_text }}")
    page.get_by_role("button", name="Run", exact=True).click()
    output = page.locator("#run-output")
    # Part of the answer is on the page before the rest has arrived.
    expect(output).to_have_text(re.compile(r"^You said: (?!.*twice)\S"))
    page.shot("streaming")
    expect(output).to_have_text("You said: Answer briefly: charged twice")
    expect(page.locator("#run-facts")).to_contain_text("llama-3.1-8b")
    assert model.requests[0].body["stream"] is True

    page.goto("/p/support/ticket-classifier/compare/?from=1&to=2")
    page.get_by_role("button", name="Run v1 and v2 side by side").click()
    page.wait_for_url(re.compile(r"/playground/compare/\?from=1&to=2$"))
    expect(page.get_by_label("double charge")).to_be_checked()
    expect(page.get_by_label("locked out")).to_be_checked()
    page.get_by_role("button", name="Run both").click()

    pairs = page.locator("article.pair")
    expect(pairs).to_have_count(2)
    first = pairs.nth(0)
    expect(first.get_by_role("heading", level=3)).to_have_text("Sample double charge")
    expect(first.locator("[data-side=left] .run-output")).to_have_text(
        "You said: Classify: charged twice for Acme"
    )
    expect(first.locator("[data-side=right] .run-output")).to_have_text(
        "You said: Sort: charged twice for Acme"
    )
    expect(first.locator("del", has_text="Classify:")).to_be_visible()
    expect(first.locator("ins", has_text="Sort:")).to_be_visible()
    expect(pairs.nth(1).locator("[data-side=right] .run-output")).to_have_text(
        "You said: Sort: cannot log in for Acme"
    )
    page.shot("side-by-side")
