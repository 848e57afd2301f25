"""Review to release in a browser: the author asks for a review, the reviewer requests
changes on a line, the author saves a new version and asks again, the reviewer approves
it, deploys it to production and rolls production back; the board follows each step.

Production already runs v1 when the story starts (alice approved it, rita released it),
so the rollback has a version to go back to. Everything after that setup is done
through the pages, signing out and in to switch people.
"""

import re

import pytest
from playwright.sync_api import expect

from prompts import services
from releases import environments
from releases import services as deployments
from reviews import services as review

pytestmark = pytest.mark.django_db(transaction=True)

PAGE = "/p/support/ticket-classifier/"
BOARD = "/teams/support/board/"
V1_TEMPLATE = "Classify: {{ ticket_text }} for {{ product }}"
V2_TEMPLATE = "Classify this support ticket about {{ product }} by topic: {{ ticket_text }}"


def test_a_version_is_reviewed_changed_approved_released_and_rolled_back(page, people, prompt):
    v1 = services.find_version(prompt, 1)
    review.add_comment(people["alice"], v1, body="Good enough to start with.", verdict="approve")
    production = environments.find_environment(people["support"], "production")
    deployments.deploy(people["rita"], prompt, production, v1, note="first release")

    def go(path: str) -> None:
        page.goto(path)

    def click(target) -> None:
        """Click something that loads another page."""
        target.click()

    def log_in(username: str) -> None:
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(f"pw-{username}")
        page.get_by_role("button", name=re.compile("sign in", re.I)).click()
        page.wait_for_url(re.compile(r"/$"))

    def switch_to(username: str) -> None:
        page.locator("details.account summary").click()
        click(page.get_by_role("button", name="Sign out"))
        page.wait_for_url(re.compile(r"/accounts/login/"))
        log_in(username)

    def ask_rita(number: int, note: str) -> None:
        asking = page.locator("#review-request")
        asking.locator('input[name="reviewers"][value="rita"]').check()
        asking.locator('textarea[name="note"]').fill(note)
        click(asking.get_by_role("button", name="Ask for review"))
        page.wait_for_url(re.compile(rf"/v/{number}/#review$"))
        expect(page.locator(".messages")).to_contain_text("Review requested.")

    status = page.locator(".facts div", has=page.locator("dt", has_text="Review status"))
    status = status.locator(".badge")
    rita = page.locator('#reviewers li[data-reviewer="rita"]')

    def check_board(live: dict[str, str], drift: dict[str, str], label: str) -> None:
        """``live``: environment -> "v1", "v2" or "" (nothing); ``drift``: environment ->
        its drift class (the others do not drift)."""
        go(BOARD)
        row = page.locator("tr.board-row", has_text="ticket-classifier")
        for environment, shown in live.items():
            cell = row.locator(f'td.board-cell[data-environment="{environment}"]')
            if shown:
                expect(cell.locator("a.board-live")).to_have_text(shown)
            else:
                expect(cell.locator("a.board-live")).to_have_count(0)
            if environment in drift:
                expect(cell).to_have_class(re.compile(rf"\bdrift {drift[environment]}\b"))
            else:
                expect(cell).not_to_have_class(re.compile(r"\bdrift\b"))
        page.shot(label)

    # 1. ed asks rita to review v1: it is in review, and nothing moves on the board.
    go("/accounts/login/")
    log_in("ed")
    go(f"{PAGE}v/1/")
    ask_rita(1, "Is the instruction clear enough?")
    expect(status).to_have_text("In review")
    expect(rita).to_contain_text("waiting")
    page.shot("1-review-asked")
    check_board(
        {"development": "v1", "staging": "", "production": "v1"},
        {"staging": "drift-missing"},
        "1-board",
    )

    # 2. rita finds v1 in "My reviews" and requests changes on its line 1.
    switch_to("rita")
    go("/reviews/")
    waiting = page.locator('#waiting tr[data-version="support/ticket-classifier/v1"]')
    expect(waiting).to_contain_text("In review")
    page.shot("2-my-reviews")
    click(waiting.get_by_role("link", name="Ticket classifier v1"))
    page.wait_for_url(re.compile(r"/v/1/$"))
    expect(status).to_have_text("In review")
    click(page.locator("#L1 a.line-comment"))
    page.wait_for_url(re.compile(r"/v/1/\?line=1#new-comment$"))
    comment = page.locator("#new-comment")
    expect(comment.locator("#id_line")).to_have_value("1")
    comment.locator("#id_body").fill(
        "**Too vague:** say that these are support tickets.\n\n<script>window.__xss = 1</script>"
    )
    comment.get_by_label("Request changes").check()
    page.shot("2-comment-written")
    click(comment.get_by_role("button", name="Comment", exact=True))
    page.wait_for_url(re.compile(r"/v/1/#comment-\d+$"))
    expect(page.locator(".messages")).to_contain_text("You requested changes to version 1.")
    expect(status).to_have_text("Changes requested")
    expect(rita).to_contain_text("changes requested")
    note = page.locator("#L1 a.line-note")
    expect(note).to_be_visible()
    thread_id = re.fullmatch(r"#comment-(\d+)", note.get_attribute("href")).group(1)
    thread = page.locator(f"article#thread-{thread_id}")
    expect(thread).to_contain_text("on line 1")
    expect(thread).to_contain_text("Changes requested")
    expect(thread.locator(".post-body strong")).to_have_text("Too vague:")
    expect(thread.locator("script")).to_have_count(0)
    expect(thread.locator(".post-body")).not_to_contain_text("__xss")
    assert page.evaluate("window.__xss") is None
    page.shot("2-changes-requested")

    # 3. ed sees the note, writes v2 in the editor with the same variables, saves it to
    # development and asks rita again; production is now behind development.
    switch_to("ed")
    go(f"{PAGE}v/1/")
    expect(page.locator("#L1 a.line-note")).to_be_visible()
    go(PAGE)
    click(page.get_by_role("link", name="New version"))
    page.wait_for_url(re.compile(r"/versions/new/$"))
    template = page.get_by_label("Template")
    expect(template).to_have_value(V1_TEMPLATE)
    template.fill(V2_TEMPLATE)
    page.get_by_label("Change note").fill("Says what is classified, as rita asked")
    page.shot("3-editor")
    click(page.get_by_role("button", name="Save and deploy to development"))
    page.wait_for_url(re.compile(r"/p/support/ticket-classifier/$"))
    expect(page.locator(".messages")).to_contain_text(
        "Saved version 2 of support/ticket-classifier and deployed it to development."
    )
    go(f"{PAGE}v/2/")
    expect(page.locator("#L1 .text")).to_have_text(V2_TEMPLATE)
    ask_rita(2, "Reworded line 1.")
    expect(status).to_have_text("In review")
    page.shot("3-review-asked")
    check_board(
        {"development": "v2", "staging": "", "production": "v1"},
        {"staging": "drift-missing", "production": "drift-behind"},
        "3-board",
    )

    # 4. rita approves v2.
    switch_to("rita")
    go("/reviews/")
    waiting = page.locator('#waiting tr[data-version^="support/ticket-classifier/"]')
    expect(waiting).to_have_count(1)  # v1 was answered
    expect(waiting).to_have_attribute("data-version", "support/ticket-classifier/v2")
    click(waiting.get_by_role("link", name="Ticket classifier v2"))
    page.wait_for_url(re.compile(r"/v/2/$"))
    comment = page.locator("#new-comment")
    comment.locator("#id_body").fill("Clear now. Ship it.")
    comment.get_by_label("Approve").check()
    click(comment.get_by_role("button", name="Comment", exact=True))
    page.wait_for_url(re.compile(r"/v/2/#comment-\d+$"))
    expect(page.locator(".messages")).to_contain_text("You approved version 2.")
    expect(page.locator("#approvals")).to_have_text("1")
    expect(status).to_have_text("Approved")
    expect(rita).to_contain_text("approved")
    page.shot("4-approved")

    # 5. ed may not release to production, even an approved version; rita may.
    switch_to("ed")
    go(PAGE)
    form = page.locator("form.deploy-form")
    form.get_by_label("Environment").select_option("production")
    form.get_by_label("Version").fill("2")
    click(form.get_by_role("button", name="Deploy"))
    refusal = page.locator('.deploy-refusal[data-reason="protected_environment"]')
    expect(refusal).to_contain_text("protected")
    page.shot("5-refused")

    switch_to("rita")
    go(PAGE)
    form = page.locator("form.deploy-form")
    form.get_by_label("Environment").select_option("production")
    form.get_by_label("Version").fill("2")
    form.get_by_label("Note").fill("approved by rita")
    click(form.get_by_role("button", name="Deploy"))
    page.wait_for_url(re.compile(r"/p/support/ticket-classifier/#live$"))
    expect(page.locator(".messages")).to_contain_text("Deployed v2 to Production: it is live now.")
    page.shot("5-deployed")
    check_board(
        {"development": "v2", "staging": "", "production": "v2"},
        {"staging": "drift-missing"},
        "5-board",
    )

    # 6. rita rolls production back to v1: the board shows it behind development again.
    go(PAGE)
    click(page.get_by_role("button", name="Roll back to v1 in Production"))
    page.wait_for_url(re.compile(r"/p/support/ticket-classifier/#live$"))
    expect(page.locator(".messages")).to_contain_text("Rolled back Production: v1 is live again.")
    page.shot("6-rolled-back")
    check_board(
        {"development": "v2", "staging": "", "production": "v1"},
        {"staging": "drift-missing", "production": "drift-behind"},
        "6-board",
    )
    cell = page.locator('tr.board-row td.board-cell[data-environment="production"]')
    expect(cell.locator(".drift-note")).to_have_text("behind v2")
