"""Under the strict Content-Security-Policy the pages, htmx and the API docs still work,
the browser reports no violation, and nothing is loaded from another origin."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = [
    "/",
    "/prompts/",
    "/p/support/ticket-classifier/",
    "/p/support/ticket-classifier/v/1/",
    "/p/support/ticket-classifier/compare/?from=1&to=1",
    "/p/support/ticket-classifier/releases/",
    "/p/support/ticket-classifier/samples/",
    "/p/support/ticket-classifier/settings/",
    "/reviews/",
    "/p/support/ticket-classifier/datasets/",
    "/teams/support/",
    "/teams/support/board/",
    "/teams/support/environments/",
    "/teams/support/tokens/",
    "/accounts/password_change/",
]

# Collects what the browser itself reports: no page script can hide a violation from it.
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def watched(page, live_server):
    """The page, with every CSP report, console error and foreign request recorded."""
    page.context.add_init_script(WATCH)
    seen = {"console": [], "foreign": [], "violations": []}
    page.on(
        "console",
        lambda message: (
            seen["console"].append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text
            else None
        ),
    )
    page.on(
        "request",
        lambda request: (
            seen["foreign"].append(request.url)
            if not request.url.startswith((live_server.url, "data:"))
            else None
        ),
    )

    def check(where: str) -> None:
        seen["violations"] += page.evaluate("window.__violations || []")
        csp = [text for text in seen["console"] if "Content Security Policy" in text]
        assert csp == [], f"{where}: {csp}"
        assert seen["violations"] == [], f"{where}: {seen['violations']}"
        assert seen["foreign"] == [], f"{where}: {seen['foreign']}"

    page.check_csp = check
    return page


def test_every_main_page_loads_without_a_violation(watched, sign_in, people, prompt):
    watched.goto("/accounts/login/")
    watched.check_csp("/accounts/login/")
    sign_in("alice")
    for path in PAGES:
        response = watched.goto(path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        watched.check_csp(path)


def test_htmx_preview_and_filters_work_under_the_policy(watched, sign_in, people, prompt):
    sign_in("ed")
    watched.goto("/prompts/new/")
    template = watched.get_by_label("Template")
    template.fill("Hello {{ customer }}.")
    template.press("End")  # a keystroke: htmx posts to the preview
    expect(watched.locator(".preview-missing")).to_contain_text("customer")
    watched.locator("#value-customer").fill("Ada")
    watched.locator("#value-customer").press("End")
    expect(watched.locator(".preview-text")).to_have_text("Hello Ada.")

    watched.goto("/prompts/")
    with watched.expect_response(re.compile(r"/prompts/\?.*q=nothing-matches")) as answer:
        watched.locator("#filter-q").fill("nothing-matches")
    assert answer.value.request.headers.get("hx-request") == "true"
    expect(watched.get_by_role("link", name="Ticket classifier")).to_have_count(0)
    watched.check_csp("htmx")


def test_the_api_docs_render_from_our_own_files(watched, sign_in, people):
    sign_in("vic")
    watched.goto("/api/docs/")
    expect(watched.locator(".swagger-ui .info .title")).to_contain_text("Prompt registry API")
    expect(watched.locator(".opblock").first).to_be_visible()
    watched.locator(".opblock-summary").first.click()  # Swagger UI's own scripts run
    expect(watched.locator(".opblock-body").first).to_be_visible()
    watched.check_csp("/api/docs/")


def test_the_admin_works_under_the_policy(watched, people, staff):
    watched.goto("/admin/login/")
    watched.get_by_label("Username").fill("stella")
    watched.get_by_label("Password").fill("pw-stella")
    watched.get_by_role("button", name=re.compile("log in", re.I)).click()
    watched.wait_for_url(re.compile(r"/admin/$"))
    watched.goto("/admin/accounts/team/")
    watched.goto("/admin/prompts/prompt/")
    watched.check_csp("/admin/")
