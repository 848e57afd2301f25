"""Releasing in a browser: deploy from the prompt page (a breaking change needs "Deploy
anyway"), plan a release and cancel it, roll back, and read the board and the log."""

import re
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from prompts import services

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/p/support/ticket-classifier/"


def test_an_editor_releases_plans_cancels_and_rolls_back(page, sign_in, people, prompt):
    services.add_version(people["ed"], prompt, template="{{ ticket_text }} for {{ customer }}")
    sign_in("ed")
    page.goto(PAGE)
    form = page.locator("form.deploy-form")
    form.get_by_label("Environment").select_option("development")
    form.get_by_label("Version").fill("2")
    form.get_by_label("Note").fill("adds the customer")
    form.get_by_role("button", name="Deploy").click()

    # Refused as a breaking change, naming the variable; what was typed is still there.
    refusal = page.locator('.deploy-refusal[data-reason="breaking_change"]')
    assert "requires customer" in refusal.inner_text()
    assert page.get_by_label("Note").input_value() == "adds the customer"
    page.get_by_label("Deploy anyway").check()
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_url(re.compile(r"/p/support/ticket-classifier/#live$"))
    assert "Deployed v2 to Development" in page.locator(".messages").inner_text()

    # Plan v1 for staging an hour from now, then cancel it.
    when = (timezone.now() + timedelta(hours=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M")
    form = page.locator("form.deploy-form")
    form.get_by_label("Environment").select_option("staging")
    form.get_by_label("Version").fill("1")
    form.get_by_label("Planned time (UTC)").fill(when)
    form.get_by_role("button", name="Deploy").click()
    page.wait_for_url(re.compile("#live$"))
    assert "v1 planned" in page.locator("#live").locator("..").inner_text()
    page.get_by_role("button", name="Cancel the planned release of v1 to Staging").click()
    page.wait_for_url(re.compile("#live$"))
    assert "Cancelled the planned release" in page.locator(".messages").inner_text()

    # Roll development back to v1.
    page.get_by_role("button", name="Roll back to v1 in Development").click()
    page.wait_for_url(re.compile("#live$"))
    assert "v1 is live again" in page.locator(".messages").inner_text()

    # The board: staging and production are behind development's v1 (nothing there).
    page.goto("/teams/support/board/")
    row = page.locator("tr.board-row", has_text="ticket-classifier")
    assert row.locator("td.drift-missing").count() == 2
    page.shot("board")
    page.goto(f"{PAGE}releases/?environment=development")
    assert page.locator("table.release-log tbody tr").count() == 3
    page.shot("log")
