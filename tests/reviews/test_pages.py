"""The review forms of the version page, end to end with the test client; comment
threads beside their lines on the version and compare pages; comments as sanitized
Markdown; and the "My reviews" page, with query counts that do not grow with the data."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from prompts import services
from reviews.models import Comment, Review, ReviewRequest
from reviews.services import (
    add_comment,
    deprecate,
    edit_comment,
    request_review,
    set_thread_resolved,
)

P = "/p/support/ticket-classifier"
V1 = f"{P}/v/1/"


def signed_in(user, **options) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client


def written():
    return (
        Comment.objects.count(),
        Comment.history.count(),
        Review.history.count(),
        ReviewRequest.objects.count(),
    )


def html_of(response) -> str:
    return response.content.decode()


def line_div(html: str, number: int) -> str:
    """The listing's row of a line, from its opening to the end of its notes."""
    return html.split(f'id="L{number}"', 1)[1].split("</div>", 1)[0]


def article(html: str, thread_id: int) -> str:
    return html.split(f'id="thread-{thread_id}"', 1)[1].split("</article>", 1)[0]


@pytest.fixture
def v2(people, prompt):
    """Version 2 by ed, three lines."""
    return services.add_version(people["ed"], prompt, template="one\ntwo {{ x }}\nthree")


# ---------------------------------------------------------------------- asking for a review


def test_an_editor_asks_named_reviewers(people, prompt):
    ed = signed_in(people["ed"])
    page = html_of(ed.get(V1))
    assert 'id="review-request"' in page
    # The author is never offered; those who may review are.
    assert 'name="reviewers" value="rita"' in page and 'name="reviewers" value="alice"' in page
    assert 'value="ed"' not in page and 'value="vic"' not in page
    response = ed.post(f"{V1}review/", {"reviewers": ["rita"], "note": "before Friday"})
    assert (response.status_code, response["Location"]) == (302, f"{V1}#review")
    page = html_of(ed.get(V1))
    assert "Review requested." in page
    assert '<span class="badge status-in_review">In review</span>' in page
    reviewers = page.split('id="reviewers"', 1)[1].split("</ul>", 1)[0]
    assert 'data-reviewer="rita"' in reviewers and "waiting" in reviewers
    assert 'value="rita" checked' in page  # asking again starts from those named


def test_naming_someone_who_may_not_review_is_a_form_error_and_keeps_the_note(people, prompt):
    before = written()
    response = signed_in(people["ed"]).post(
        f"{V1}review/", {"reviewers": ["rita", "vic"], "note": "keep me"}
    )
    assert response.status_code == 400
    page = html_of(response)
    assert "vic cannot review this version." in page
    assert ">keep me</textarea>" in page
    assert 'value="rita" checked' in page
    assert written() == before


def test_a_deprecated_version_refuses_a_review_request_on_the_page(people, prompt):
    deprecate(people["ed"], prompt.latest_version)
    ed = signed_in(people["ed"])
    page = html_of(ed.get(V1))
    assert 'id="review-request"' not in page and 'id="deprecate"' not in page
    response = ed.post(f"{V1}review/", {"note": "again?"})
    assert response.status_code == 409
    assert "Version 1 is deprecated." in html_of(response)


def test_deprecating_a_version(people, prompt):
    ed = signed_in(people["ed"])
    response = ed.post(f"{V1}deprecate/")
    assert (response.status_code, response["Location"]) == (302, f"{V1}#review")
    page = html_of(ed.get(V1))
    assert "Version 1 is deprecated." in page and "status-deprecated" in page
    assert Review.objects.get(version=prompt.latest_version).status == "deprecated"


# ---------------------------------------------------------------------- threads and verdicts


def test_a_reviewer_approves_in_a_new_thread(people, prompt):
    request_review(people["ed"], prompt.latest_version, reviewers=["rita"])
    rita = signed_in(people["rita"])
    page = html_of(rita.get(V1))
    assert 'id="new-comment"' in page and 'name="verdict" value="approve"' in page
    response = rita.post(
        f"{V1}comments/", {"body": "Ship **it**", "verdict": "approve", "line": "1"}
    )
    comment = Comment.objects.get()
    assert (comment.body, comment.verdict, comment.line) == ("Ship **it**", "approve", 1)
    assert (response.status_code, response["Location"]) == (302, f"{V1}#comment-{comment.pk}")
    page = html_of(rita.get(V1))
    assert "You approved version 1." in page
    assert '<span class="approvals" id="approvals">1</span>' in page
    assert "<p>Ship <strong>it</strong></p>" in page
    reviewers = page.split('id="reviewers"', 1)[1].split("</ul>", 1)[0]
    assert "approved" in reviewers and "waiting" not in reviewers


def test_the_author_is_offered_no_verdict_and_a_forged_one_is_refused(people, prompt):
    services.add_version(people["rita"], prompt, template="rita's {{ x }}")
    rita = signed_in(people["rita"])
    page = html_of(rita.get(f"{P}/v/2/"))
    assert 'id="new-comment"' in page and 'name="verdict"' not in page
    before = written()
    response = rita.post(f"{P}/v/2/comments/", {"body": "My own is great", "verdict": "approve"})
    assert response.status_code == 403
    page = html_of(response)
    assert "Nobody reviews their own version." in page.split('id="new-comment"', 1)[1]
    assert ">My own is great</textarea>" in page  # nothing typed is lost
    assert written() == before


def test_an_editor_is_offered_no_verdict_and_a_forged_one_is_refused(people, prompt, v2):
    ed = signed_in(people["ed"])
    assert 'name="verdict"' not in html_of(ed.get(V1))
    response = ed.post(f"{V1}comments/", {"body": "Fine", "verdict": "approve"})
    assert response.status_code == 403
    assert "Only reviewers approve or request changes." in html_of(response)
    assert not Comment.objects.exists()


def test_an_empty_comment_is_a_form_error_that_keeps_the_line(people, prompt, v2):
    response = signed_in(people["rita"]).post(
        f"{P}/v/2/comments/", {"body": "  ", "line": "2", "verdict": "request_changes"}
    )
    assert response.status_code == 400
    page = html_of(response)
    assert "A comment cannot be empty." in page
    new = page.split('id="new-comment"', 1)[1]
    assert 'name="line" min="1" max="3" value="2"' in new
    assert 'value="request_changes" checked' in new
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"body": "x", "line": "9"}, "A line is a number from 1 to 3."),
        ({"body": "x", "line": "abc"}, "A line is a number."),
        ({"body": "x", "verdict": "lgtm"}, "Select a valid choice."),
        ({"body": "x", "parent": "999999"}, "The parent must be a comment on the same version."),
        ({"body": "x" * 10_001}, "A comment is at most 10000 characters."),
    ],
)
def test_bad_comments_are_form_errors(people, prompt, v2, data, message):
    response = signed_in(people["rita"]).post(f"{P}/v/2/comments/", data)
    assert response.status_code == 400
    assert message in html_of(response)
    assert not Comment.objects.exists()


def test_replies_and_their_errors_stay_in_their_thread(people, prompt):
    first = add_comment(people["ed"], prompt.latest_version, body="First question")
    second = add_comment(people["ed"], prompt.latest_version, body="Second question")
    rita = signed_in(people["rita"])
    response = rita.post(f"{V1}comments/", {"body": "An answer", "parent": str(second.pk)})
    reply = Comment.objects.get(body="An answer")
    assert reply.parent_id == second.pk
    assert response["Location"] == f"{V1}#comment-{reply.pk}"
    assert "An answer" in article(html_of(rita.get(V1)), second.pk)
    response = rita.post(
        f"{V1}comments/", {"body": "", "parent": str(first.pk), "verdict": "approve"}
    )
    assert response.status_code == 400
    page = html_of(response)
    assert "Write a comment." in article(page, first.pk)
    assert "Write a comment." not in page.split('id="new-comment"', 1)[1]
    assert 'value="approve" checked' in article(page, first.pk)


def test_resolving_and_reopening_a_thread(people, prompt):
    thread = add_comment(people["ed"], prompt.latest_version, body="Typo?")
    rita = signed_in(people["rita"])
    assert "Resolve thread" in article(html_of(rita.get(V1)), thread.pk)
    response = rita.post(f"{V1}comments/{thread.pk}/resolve/", {"resolved": "true"})
    assert response["Location"] == f"{V1}#comment-{thread.pk}"
    page = html_of(rita.get(V1))
    assert "Thread resolved." in page and "Reopen thread" in article(page, thread.pk)
    rita.post(f"{V1}comments/{thread.pk}/resolve/", {"resolved": "false"})
    thread.refresh_from_db()
    assert thread.resolved_at is None
    response = rita.post(f"{V1}comments/{thread.pk}/resolve/", {"resolved": "maybe"})
    assert response.status_code == 400 and 'id="review-errors"' in html_of(response)


def test_editing_ones_own_comment_keeps_the_earlier_text(people, prompt):
    comment = add_comment(people["rita"], prompt.latest_version, body="Tpyo on line one")
    rita = signed_in(people["rita"])
    assert f'action="{V1}comments/{comment.pk}/edit/"' in html_of(rita.get(V1))
    response = rita.post(f"{V1}comments/{comment.pk}/edit/", {"body": "Typo on *line one*"})
    assert response["Location"] == f"{V1}#comment-{comment.pk}"
    page = html_of(rita.get(V1))
    post = page.split(f'id="comment-{comment.pk}"', 1)[1]
    assert "Comment edited." in page
    assert "<p>Typo on <em>line one</em></p>" in post and ">edited</span>" in post
    earlier = post.split('class="earlier"', 1)[1].split("</details>", 1)[0]
    assert "Tpyo on line one" in earlier


def test_nobody_edits_anothers_comment(people, prompt):
    comment = add_comment(people["rita"], prompt.latest_version, body="Mine")
    ed = signed_in(people["ed"])
    assert f"comments/{comment.pk}/edit/" not in html_of(ed.get(V1))
    before = written()
    response = ed.post(f"{V1}comments/{comment.pk}/edit/", {"body": "Yours"})
    assert response.status_code == 403
    assert "Only its author edits a comment." in html_of(response).split('id="review-errors"')[1]
    assert written() == before


def test_an_empty_edit_keeps_the_form_open_with_its_error(people, prompt):
    comment = add_comment(people["rita"], prompt.latest_version, body="Mine")
    response = signed_in(people["rita"]).post(f"{V1}comments/{comment.pk}/edit/", {"body": ""})
    assert response.status_code == 400
    post = html_of(response).split(f'id="comment-{comment.pk}"', 1)[1]
    assert '<details class="edit-comment" open>' in post and "Write a comment." in post


# ---------------------------------------------------------------------- who may post


def test_a_viewer_sees_no_forms_and_is_refused(people, prompt):
    thread = add_comment(people["ed"], prompt.latest_version, body="Hello", line=1)
    vic = signed_in(people["vic"])
    page = html_of(vic.get(V1))
    for form in ('id="new-comment"', 'class="reply-form"', "resolve/", 'id="review-request"'):
        assert form not in page
    assert 'class="line-comment"' not in page
    before = written()
    for url, data in [
        (f"{V1}comments/", {"body": "me too"}),
        (f"{V1}comments/{thread.pk}/resolve/", {"resolved": "true"}),
        (f"{V1}review/", {"note": "x"}),
        (f"{V1}deprecate/", {}),
    ]:
        response = vic.post(url, data)
        assert response.status_code == 403, url
        assert 'id="review-errors"' in html_of(response)
    assert written() == before


@pytest.mark.parametrize(
    "url",
    [
        f"{V1}comments/",
        f"{V1}review/",
        f"{V1}deprecate/",
        f"{V1}comments/1/edit/",
        f"{V1}comments/1/resolve/",
    ],
)
def test_outsiders_get_404_and_anonymous_visitors_sign_in(people, prompt, url):
    add_comment(people["ed"], prompt.latest_version, body="Hello")
    url = url.replace("/1/", f"/{Comment.objects.get().pk}/")
    for who in ("oscar", "gina"):
        assert signed_in(people[who]).post(url, {"body": "x"}).status_code == 404
    response = Client().post(url, {"body": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert signed_in(people["ed"]).get(url).status_code == 405


def test_what_does_not_exist_is_404(people, prompt, v2):
    thread = add_comment(people["ed"], version_of(prompt, 1), body="on v1")
    ed = signed_in(people["ed"])
    assert ed.post(f"{P}/v/9/comments/", {"body": "x"}).status_code == 404
    assert ed.post(f"{P}/v/2/comments/{thread.pk}/edit/", {"body": "x"}).status_code == 404
    assert ed.post(f"{P}/v/1/comments/999999/resolve/", {"resolved": "true"}).status_code == 404
    assert ed.post(f"{P}/v/99999999999/comments/", {"body": "x"}).status_code == 404


def test_an_archived_prompt_is_read_only(people, prompt):
    add_comment(people["ed"], prompt.latest_version, body="Hello")
    services.archive_prompt(people["alice"], prompt)
    alice = signed_in(people["alice"])
    page = html_of(alice.get(V1))
    assert "Hello" in page and 'id="new-comment"' not in page
    assert alice.post(f"{V1}comments/", {"body": "x"}).status_code == 404


def csrf_token_of(html: str) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_the_forms_need_a_csrf_token(people, prompt):
    ed = signed_in(people["ed"], enforce_csrf_checks=True)
    assert ed.post(f"{V1}comments/", {"body": "no token"}).status_code == 403
    assert ed.post(f"{V1}review/", {"note": "no token"}).status_code == 403
    assert not Comment.objects.exists() and not Review.objects.exists()
    token = csrf_token_of(html_of(ed.get(V1)))
    response = ed.post(f"{V1}comments/", {"body": "with token", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Comment.objects.get().body == "with token"


# ---------------------------------------------------------------------- lines and markdown


def test_threads_show_beside_their_line_on_the_version_page(people, prompt, v2):
    on_two = add_comment(people["rita"], v2, body="Why two?", line=2)
    add_comment(people["ed"], v2, body="Because.", parent=on_two)
    resolved = add_comment(people["alice"], v2, body="And three?", line=3)
    set_thread_resolved(people["alice"], resolved, True)
    add_comment(people["alice"], v2, body="No line")
    page = html_of(signed_in(people["vic"]).get(f"{P}/v/2/"))
    assert "comment-" not in line_div(page, 1)
    two = line_div(page, 2)
    assert f'href="#comment-{on_two.pk}"' in two and "&#128172; 2" in two
    assert 'title="rita: Why two?"' in two
    three = line_div(page, 3)
    assert f'class="line-note resolved" href="#comment-{resolved.pk}"' in three


def test_each_line_offers_a_comment_link_that_prefills_the_form(people, prompt, v2):
    ed = signed_in(people["ed"])
    page = html_of(ed.get(f"{P}/v/2/"))
    assert 'href="?line=2#new-comment"' in line_div(page, 2)
    new = html_of(ed.get(f"{P}/v/2/?line=2")).split('id="new-comment"', 1)[1]
    assert 'name="line" min="1" max="3" value="2"' in new
    for odd in ("9", "0", "x", "-1", "9" * 30):
        new = html_of(ed.get(f"{P}/v/2/?line={odd}")).split('id="new-comment"', 1)[1]
        assert 'max="3" value=""' in new


@pytest.mark.parametrize("layout", ["split", "unified"])
def test_threads_show_beside_their_line_on_the_compare_page(people, prompt, v2, layout):
    old = add_comment(people["rita"], version_of(prompt, 1), body="old side", line=1)
    new = add_comment(people["rita"], v2, body="new side", line=3)
    page = html_of(signed_in(people["vic"]).get(f"{P}/compare/?from=1&to=2&layout={layout}"))
    template = page.split('id="template"', 1)[1].split('id="variables"', 1)[0]
    rows = template.split('role="row"')
    old_link = f'href="{P}/v/1/#comment-{old.pk}"'
    new_link = f'href="{P}/v/2/#comment-{new.pk}"'
    [with_old] = [row for row in rows if old_link in row]
    [with_new] = [row for row in rows if new_link in row]
    assert "Classify:" in with_old  # v1's only line
    assert "three" in with_new and "Classify" not in with_new
    if layout == "split":
        assert with_old.index("Classify:") < with_old.index(old_link)
    rendered = page.split('id="render"', 1)[1]
    assert "line-note" not in rendered  # the output diff carries no threads


def test_comments_are_markdown_with_anything_unsafe_stripped(people, prompt):
    add_comment(
        people["ed"],
        prompt.latest_version,
        body="**bold** <script>alert(1)</script> [x](javascript:alert(1)) "
        "<img src=x onerror=alert(1)> `<b>`\n\n```\n<i>kept</i>\n```",
    )
    page = html_of(signed_in(people["vic"]).get(V1))
    body = page.split('class="post-body markdown">', 1)[1].split("</div>", 1)[0]
    assert "<strong>bold</strong>" in body
    assert "<code>&lt;b&gt;</code>" in body
    assert "<pre><code>&lt;i&gt;kept&lt;/i&gt;" in body
    comments = page.split('id="comments"', 1)[1]
    for unsafe in ("<script", "alert(1)</script>", "javascript:", "onerror", "<img"):
        assert unsafe not in comments


# ---------------------------------------------------------------------- my reviews


def version_of(prompt, number):
    return services.find_version(prompt, number)


@pytest.fixture
def world(people, prompt, billing_prompt):
    """Versions in every review situation (see each line)."""
    ed, rita, alice, oscar = people["ed"], people["rita"], people["alice"], people["oscar"]
    ticket = prompt
    # ticket v1: rita named, no verdict yet; an open and a resolved thread
    request_review(ed, version_of(ticket, 1), reviewers=["rita"])
    add_comment(alice, version_of(ticket, 1), body="open")
    done = add_comment(alice, version_of(ticket, 1), body="done")
    set_thread_resolved(alice, done, True)
    # ticket v2: rita named, then deprecated
    services.add_version(ed, ticket, template="v2 {{ x }}")
    request_review(ed, version_of(ticket, 2), reviewers=["rita"])
    deprecate(ed, version_of(ticket, 2))
    # ticket v3: a draft
    services.add_version(ed, ticket, template="v3 {{ x }}")
    make = services.create_prompt
    greeting = make(ed, people["support"], name="Greeting", slug="greeting", template="Hi")
    # greeting v1: in review, nobody named
    request_review(ed, version_of(greeting, 1))
    # greeting v2: rita named and already approved since
    services.add_version(ed, greeting, template="Hello")
    request_review(ed, version_of(greeting, 2), reviewers=["rita"])
    add_comment(rita, version_of(greeting, 2), body="ok", verdict="approve")
    # greeting v3: changes requested by alice after rita approved
    services.add_version(ed, greeting, template="Hey")
    request_review(ed, version_of(greeting, 3))
    add_comment(rita, version_of(greeting, 3), body="ok", verdict="approve")
    add_comment(alice, version_of(greeting, 3), body="tone", verdict="request_changes")
    # summary v1: rita's own, in review, nobody named
    summary = make(rita, people["support"], name="Summary", slug="summary", template="Sum")
    request_review(rita, version_of(summary, 1))
    # old v1: in review, nobody named, then the prompt was archived
    old = make(ed, people["support"], name="Old", slug="old", template="Old")
    request_review(ed, version_of(old, 1))
    services.archive_prompt(alice, old)
    # billing: in review, nobody named; support never sees it
    request_review(oscar, billing_prompt.latest_version)


def listed(people, who: str) -> tuple[list[str], list[str]]:
    page = html_of(signed_in(people[who]).get("/reviews/"))
    waiting = page.split('id="waiting"', 1)[1].split('id="mine"', 1)[0]
    mine = page.split('id="mine"', 1)[1]

    def versions(section: str) -> list[str]:
        return sorted(re.findall(r'data-version="([^"]+)"', section))

    return versions(waiting), versions(mine)


@pytest.mark.parametrize(
    "who, waiting, mine",
    [
        (
            "rita",
            ["support/greeting/v1", "support/ticket-classifier/v1"],
            ["support/summary/v1"],
        ),
        ("alice", ["support/greeting/v1", "support/summary/v1"], []),
        (
            "ed",
            [],
            ["support/greeting/v1", "support/greeting/v3", "support/ticket-classifier/v1"],
        ),
        ("vic", [], []),
        ("oscar", [], ["billing/invoice-reminder/v1"]),
        ("gina", [], []),
    ],
)
def test_my_reviews_lists_exactly_what_waits(people, world, who, waiting, mine):
    assert listed(people, who) == (waiting, mine)


def test_my_reviews_shows_approvals_and_open_threads(people, world):
    page = html_of(signed_in(people["ed"]).get("/reviews/"))
    row = page.split('data-version="support/ticket-classifier/v1"', 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    assert cells[3:5] == ["0", f'<a href="{V1}#comments">1</a>']  # approvals, open threads
    row = page.split('data-version="support/greeting/v3"', 1)[1].split("</tr>", 1)[0]
    assert "Changes requested" in row and re.findall(r"<td>(.*?)</td>", row, re.S)[3] == "1"


def test_the_top_navigation_counts_what_waits(people, world):
    nav = html_of(signed_in(people["rita"]).get("/")).split("</nav>", 1)[0]
    assert 'href="/reviews/">My reviews <span class="badge count"' in nav
    assert 'aria-label="2 waiting for you">2</span>' in nav
    nav = html_of(signed_in(people["vic"]).get("/")).split("</nav>", 1)[0]
    assert 'href="/reviews/">My reviews</a>' in nav


def test_an_answer_takes_a_version_off_the_list_and_a_new_request_puts_it_back(people, world):
    ticket = services.find_prompt(people["rita"], "support", "ticket-classifier")
    v1 = version_of(ticket, 1)
    add_comment(people["rita"], v1, body="no", verdict="request_changes")
    assert "support/ticket-classifier/v1" not in listed(people, "rita")[0]
    request_review(people["ed"], v1)
    assert "support/ticket-classifier/v1" in listed(people, "rita")[0]


# ---------------------------------------------------------------------- query counts


def queries_of(client: Client, url: str) -> int:
    client.get(url)  # warms the cached rights
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def grow(people, n: int, start: int) -> None:
    """n more prompts in every situation the pages show, with threads, edits and lines."""
    ed, rita, alice = people["ed"], people["rita"], people["alice"]
    for i in range(start, start + n):
        prompt = services.create_prompt(
            ed, people["support"], name=f"P{i}", slug=f"p{i}", template="a\nb\nc"
        )
        first = prompt.latest_version
        request_review(ed, first, reviewers=["rita", "alice"])
        thread = add_comment(alice, first, body=f"t{i}", line=2)
        add_comment(ed, first, body="r", parent=thread)
        edit_comment(alice, thread, f"t{i} edited")
        second = services.add_version(ed, prompt, template="a\nb\nc\nd")
        request_review(ed, second)
        add_comment(rita, second, body="no", verdict="request_changes", line=4)
        mine = services.create_prompt(
            rita, people["support"], name=f"R{i}", slug=f"r{i}", template="x"
        )
        request_review(rita, mine.latest_version)
        # the shared version gets more of everything too
        shared = services.find_version(services.find_prompt(ed, "support", "ticket-classifier"), 1)
        note = add_comment(rita, shared, body=f"s{i}", line=1)
        edit_comment(rita, note, f"s{i} edited")
        add_comment(alice, shared, body="a", parent=note, verdict="approve")


@pytest.mark.parametrize(
    "who, url",
    [
        ("rita", "/reviews/"),
        ("ed", "/reviews/"),
        ("alice", "/"),
        ("rita", V1),
        ("ed", V1),
        ("vic", V1),
        ("rita", f"{P}/compare/?from=1&to=1"),
    ],
)
def test_query_counts_do_not_grow_with_the_data(people, prompt, who, url):
    request_review(people["ed"], prompt.latest_version, reviewers=["rita"])
    client = signed_in(people[who])
    grow(people, 2, 0)
    small = queries_of(client, url)
    grow(people, 5, 2)
    assert queries_of(client, url) == small
