"""An author's day in a real browser: write, preview, save, revise, compare, search."""

import re

import pytest
from playwright.sync_api import expect

from prompts import services

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_author_writes_previews_saves_revises_compares_and_finds_a_prompt(people, page, sign_in):
    sign_in("ed")
    page.goto("/prompts/new/")
    page.get_by_label("Name", exact=True).fill("Refund helper")
    template = page.get_by_label("Template")
    template.fill("Refund {{ amount }} for {{ customer }}.")
    template.press("End")  # a keystroke, so the live preview runs
    missing = page.locator(".preview-missing")
    expect(missing).to_contain_text("amount")
    expect(missing).to_contain_text("customer")
    page.shot("missing-variables")

    page.locator("#value-amount").fill("20 EUR")
    page.locator("#value-customer").fill("Ada")
    page.locator("#value-customer").press("End")
    expect(page.locator(".preview-text")).to_have_text("Refund 20 EUR for Ada.")
    page.get_by_label("Change note").fill("First draft")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/p/support/refund-helper/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Refund helper")

    page.get_by_role("link", name="New version").click()
    page.get_by_label("Template").fill("Refund {{ amount }} to {{ customer }} today.")
    page.get_by_label("Change note").fill("Say to whom")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(re.compile(r"/p/support/refund-helper/$"))

    page.goto("/p/support/refund-helper/compare/?from=1&to=2")
    expect(page.locator("del").filter(has_text="for").first).to_be_visible()
    expect(page.locator("ins").filter(has_text="to").first).to_be_visible()

    search = page.get_by_label("Search prompts")
    search.fill("refund")
    search.press("Enter")
    page.wait_for_url(re.compile(r"/prompts/\?q=refund"))
    expect(page.get_by_role("link", name="Refund helper").first).to_be_visible()


def test_an_editor_cannot_manage_the_team(people, page, sign_in):
    sign_in("ed")
    page.goto("/teams/support/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text("Add a member")).to_have_count(0)
    response = page.goto("/admin/")
    assert "/admin/login/" in page.url or response.status in (302, 403)


def test_markup_in_a_template_or_description_shows_as_text(people, page, sign_in):
    attack = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">'
    services.create_prompt(
        people["ed"],
        people["support"],
        name="Careful",
        description=attack,
        template="Hello <b>{{ name }}</b> " + attack,
    )
    sign_in("vic")
    for path in ["/p/support/careful/", "/p/support/careful/v/1/", "/prompts/?q=careful"]:
        page.goto(path)
        assert page.evaluate("window.__xss") is None
    page.goto("/p/support/careful/v/1/")
    expect(page.get_by_text("<script>window.__xss = 1</script>").first).to_be_visible()
