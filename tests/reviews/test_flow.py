"""The review flow: asking named reviewers, approvals per version, a new version's own
review, asking again after changes were requested, editing comments with their history,
and comment bodies as sanitized Markdown."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as accounts
from audit import trail as audit
from prompts import services
from prompts.markup import render_markdown
from registry_site.errors import Conflict, Forbidden, Invalid, NotFound
from reviews import services as review
from reviews.models import Comment, Review, ReviewRequest
from reviews.services import (
    add_comment,
    approvals_of,
    deprecate,
    earlier_texts,
    edit_comment,
    request_review,
    review_state,
    reviewer_candidates,
    set_thread_resolved,
)


@pytest.fixture
def version(prompt):
    """Version 1, authored by ed."""
    return prompt.latest_version


def written():
    return (
        Comment.objects.count(),
        Comment.history.count(),
        Review.objects.count(),
        Review.history.count(),
        ReviewRequest.objects.count(),
    )


def named(version):
    return [(r.user.username, r.verdict, r.pending) for r in review_state(version).reviewers]


# ---------------------------------------------------------------------- named reviewers


def test_asking_named_reviewers(people, version):
    review_row = request_review(people["ed"], version, note="by Friday", reviewers=["rita"])
    assert review_row.status == "in_review"
    assert named(version) == [("rita", None, True)]
    state = review_state(version)
    assert (state.status, state.requested_by, state.approvals) == ("in_review", people["ed"], 0)
    record = Review.history.filter(version_id=version.pk).latest("history_id")
    assert record.history_change_reason == "review requested from rita: by Friday"
    assert record.history_user == people["ed"]


def test_users_are_accepted_as_well_as_usernames(people, version):
    request_review(people["ed"], version, reviewers=[people["alice"], "rita", "rita"])
    assert named(version) == [("alice", None, True), ("rita", None, True)]


@pytest.mark.parametrize(
    "reviewers, invalid",
    [
        (["vic"], ["vic"]),  # a viewer may not review
        (["ed"], ["ed"]),  # the author never reviews their own version
        (["oscar"], ["oscar"]),  # not in the team
        (["nobody"], ["nobody"]),  # does not exist: told like anyone else who may not
        (["rita", "vic", "gina"], ["vic", "gina"]),
        (["nul\x00", "x" * 200], ["nul\x00", "x" * 200]),
    ],
)
def test_named_reviewers_must_be_able_to_review(people, version, reviewers, invalid):
    before = written()
    with pytest.raises(Invalid) as caught:
        request_review(people["ed"], version, reviewers=reviewers)
    assert caught.value.details["field"] == "reviewers"
    assert caught.value.details["invalid"] == invalid
    assert written() == before
    assert version.status == "draft"


def test_naming_the_author_is_refused_as_self_review(people, version):
    with pytest.raises(Invalid) as caught:
        request_review(people["alice"], version, reviewers=["rita", "ed"])
    assert caught.value.details["reason"] == "self_review"


@pytest.mark.parametrize(
    "reviewers", ["rita", [1], [None], {"rita": 1}, [f"user{i}" for i in range(21)]]
)
def test_reviewers_must_be_a_short_list_of_names(people, version, reviewers):
    with pytest.raises(Invalid) as caught:
        request_review(people["ed"], version, reviewers=reviewers)
    assert caught.value.details["field"] == "reviewers"


def test_someone_granted_the_prompt_may_be_named(people, prompt, version):
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "reviewer")
    request_review(people["ed"], version, reviewers=["gina"])
    assert named(version) == [("gina", None, True)]


def test_the_candidates_are_who_may_review_but_the_author(people, prompt, version):
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "reviewer")
    assert [u.username for u in reviewer_candidates(version)] == ["alice", "gina", "rita"]
    ritas = services.add_version(people["rita"], prompt, template="rita's {{ x }}")
    assert [u.username for u in reviewer_candidates(ritas)] == ["alice", "gina"]


def test_asking_again_replaces_the_named_set_or_renews_it(people, version):
    request_review(people["ed"], version, reviewers=["rita"])
    request_review(people["ed"], version, reviewers=["alice"])
    assert named(version) == [("alice", None, True)]
    first = ReviewRequest.objects.get(version=version).requested_at
    request_review(people["alice"], version)  # None: the same people, asked again
    again = ReviewRequest.objects.get(version=version)
    assert again.requested_at > first and again.requested_by == people["alice"]
    request_review(people["ed"], version, reviewers=[])
    assert named(version) == []


def test_the_request_event_names_who_was_asked(people, version, monkeypatch):
    sent = []
    monkeypatch.setattr(review.events, "emit", lambda kind, **kw: sent.append((kind, kw["data"])))
    request_review(people["ed"], version, note="hi", reviewers=["rita", "alice"])
    request_review(people["ed"], version)
    assert sent == [
        ("review.requested", {"note": "hi", "reviewers": ["rita", "alice"]}),
        ("review.requested", {"note": "", "reviewers": ["alice", "rita"]}),
    ]


# ---------------------------------------------------------------------- verdicts and approvals


def test_nobody_approves_their_own_version_even_when_asked_by_someone_else(people, prompt):
    ritas = services.add_version(people["rita"], prompt, template="rita's {{ x }}")
    request_review(people["alice"], ritas)
    before = written()
    with pytest.raises(Forbidden) as caught:
        add_comment(people["rita"], ritas, body="lgtm", verdict="approve")
    assert caught.value.details["reason"] == "self_review"
    assert written() == before


def test_a_viewer_cannot_comment_edit_or_resolve(people, version):
    thread = add_comment(people["ed"], version, body="a question")
    for write in (
        lambda: add_comment(people["vic"], version, body="me too"),
        lambda: edit_comment(people["vic"], thread, "changed"),
        lambda: set_thread_resolved(people["vic"], thread, True),
    ):
        before = written()
        with pytest.raises(Forbidden) as caught:
            write()
        assert caught.value.details["reason"] == "role"
        assert written() == before


def test_approvals_count_each_reviewers_latest_verdict(people, prompt, version):
    request_review(people["ed"], version, reviewers=["rita", "alice"])
    add_comment(people["rita"], version, body="ok", verdict="approve")
    add_comment(people["rita"], version, body="still ok", verdict="approve")
    assert review_state(version).approvals == 1
    add_comment(people["alice"], version, body="no", verdict="request_changes")
    assert review_state(version).approvals == 1
    add_comment(people["alice"], version, body="fine", verdict="approve")
    state = review_state(version)
    assert (state.status, state.approvals) == ("approved", 2)
    assert named(version) == [("alice", "approve", False), ("rita", "approve", False)]
    add_comment(people["rita"], version, body="wait", verdict="request_changes")
    assert review_state(version).approvals == 1
    # Written directly (the service refuses it): the author's own verdict never counts.
    Comment.objects.create(version=version, author=people["ed"], body="me", verdict="approve")
    assert review_state(version).approvals == 1
    v2 = services.add_version(people["ed"], prompt, template="v2 {{ x }}")
    add_comment(people["alice"], v2, body="ok", verdict="approve")
    assert approvals_of([version, v2]) == {version.pk: 1, v2.pk: 1}
    assert approvals_of([]) == {}


def test_a_new_version_starts_its_own_review(people, prompt, version):
    request_review(people["ed"], version, reviewers=["rita"])
    add_comment(people["rita"], version, body="ok", verdict="approve")
    v2 = services.add_version(people["ed"], prompt, template="v2 {{ ticket_text }}")
    assert v2.status == "draft"
    state = review_state(v2)
    assert (state.status, state.requested_by, state.reviewers, state.approvals) == (
        "draft",
        None,
        [],
        0,
    )
    assert review_state(version).approvals == 1


def test_asking_again_after_changes_were_requested(people, version):
    request_review(people["ed"], version, reviewers=["rita"])
    add_comment(people["rita"], version, body="tone", verdict="request_changes")
    assert (version.status, named(version)) == (
        "changes_requested",
        [("rita", "request_changes", False)],
    )
    request_review(people["ed"], version, note="answered in the thread")
    assert Review.objects.get(version=version).status == "in_review"
    assert named(version) == [("rita", "request_changes", True)]  # asked again
    add_comment(people["rita"], version, body="fine now", verdict="approve")
    assert Review.objects.get(version=version).status == "approved"
    assert named(version) == [("rita", "approve", False)]


def test_a_deprecated_version_cannot_be_asked_for_review(people, version):
    request_review(people["ed"], version, reviewers=["rita"])
    deprecate(people["ed"], version)
    before = written()
    with pytest.raises(Conflict):
        request_review(people["ed"], version, reviewers=["alice"])
    assert written() == before
    assert named(version) == [("rita", None, True)]


# ---------------------------------------------------------------------- editing comments


def test_an_edit_keeps_the_earlier_text_in_history(people, version):
    comment = add_comment(people["rita"], version, body="Tpyo here", line=1)
    assert comment.edited_at is None
    edited = edit_comment(people["rita"], comment, "  Typo here  ")
    assert (edited.body, edited.edited_at is not None) == ("Typo here", True)
    comment.refresh_from_db()
    assert (comment.body, comment.line) == ("Typo here", 1)
    edit_comment(people["rita"], comment, "Typo here, line 1")
    records = Comment.history.filter(id=comment.pk).order_by("history_id")
    assert [(r.body, r.history_user, r.history_change_reason) for r in records] == [
        ("Tpyo here", people["rita"], "commented"),
        ("Typo here", people["rita"], "edited"),
        ("Typo here, line 1", people["rita"], "edited"),
    ]
    comment.refresh_from_db()
    texts = earlier_texts([comment])[comment.pk]
    assert [t.body for t in texts] == ["Typo here", "Tpyo here"]  # newest first


def test_the_same_text_again_writes_nothing(people, version):
    comment = add_comment(people["rita"], version, body="Same")
    before = written()
    assert edit_comment(people["rita"], comment, "Same\n").edited_at is None
    assert written() == before
    assert earlier_texts([comment]) == {}


@pytest.mark.parametrize("who, error, reason", [
    ("ed", Forbidden, "not_author"),  # an editor, but not its author
    ("alice", Forbidden, "not_author"),  # even a team admin
    ("vic", Forbidden, "role"),
    ("oscar", NotFound, None),
])  # fmt: skip
def test_only_its_author_edits_a_comment(people, version, who, error, reason):
    comment = add_comment(people["rita"], version, body="Mine")
    before = written()
    with pytest.raises(error) as caught:
        edit_comment(people[who], comment, "Theirs")
    if reason:
        assert caught.value.details["reason"] == reason
    assert written() == before
    comment.refresh_from_db()
    assert comment.body == "Mine"


@pytest.mark.parametrize("body", ["", "  ", None, 5, "a\x00b", "x" * 10_001])
def test_an_edit_is_checked_like_a_comment(people, version, body):
    comment = add_comment(people["rita"], version, body="Mine")
    before = written()
    with pytest.raises(Invalid) as caught:
        edit_comment(people["rita"], comment, body)
    assert caught.value.details["field"] == "body"
    assert written() == before


def test_resolving_after_an_edit_records_the_edited_text(people, version):
    thread = add_comment(people["rita"], version, body="first text")
    stale = Comment.objects.get(pk=thread.pk)  # read before the edit
    edit_comment(people["rita"], thread, "second text")
    set_thread_resolved(people["ed"], stale, True)
    latest = Comment.history.filter(id=thread.pk).latest("history_id")
    assert (latest.body, latest.resolved_at is not None) == ("second text", True)
    assert stale.body == "second text"


def test_the_audit_trail_tells_an_edit(people, prompt, version):
    comment = add_comment(people["rita"], version, body="Tpyo", line=1)
    edit_comment(people["rita"], comment, "Typo")
    set_thread_resolved(people["ed"], comment, True)
    page = audit.prompt_trail(prompt, audit.Filters(kind="review"), 1)
    actions = [entry.action for entry in page.entries]
    assert "edited a comment on line 1 of version 1" in actions
    assert "resolved a thread on version 1" in actions


def test_a_verdict_comment_may_be_edited_without_changing_the_verdict(people, version):
    approval = add_comment(people["rita"], version, body="lgtm", verdict="approve")
    edit_comment(people["rita"], approval, "Looks good to me.")
    approval.refresh_from_db()
    assert approval.verdict == "approve"
    assert review_state(version).approvals == 1


def test_find_comment_only_finds_comments_of_the_version(people, prompt, version):
    comment = add_comment(people["rita"], version, body="here")
    v2 = services.add_version(people["ed"], prompt, template="v2 {{ x }}")
    assert review.find_comment(version, comment.pk) == comment
    for wrong in (comment.pk + 1000, 0, -1, 2**63, "1", True, None):
        with pytest.raises(NotFound):
            review.find_comment(version, wrong)
    with pytest.raises(NotFound):
        review.find_comment(v2, comment.pk)


# ---------------------------------------------------------------------- markdown


@pytest.mark.parametrize(
    "text, kept, gone",
    [
        ("<script>alert(1)</script>after", ["<p>after</p>"], ["<script", "alert(1)"]),
        ('<img src="x" onerror="alert(1)">', [], ["<img", "onerror", "alert"]),
        ("![pic](https://example.com/x.png)", [], ["<img"]),
        ("[click](javascript:alert(1))", [">click</a>"], ["javascript:", "href"]),
        (
            '<a href="javascript:alert(1)" onclick="x()">a</a>',
            [">a</a>"],
            ["javascript", "onclick"],
        ),
        ('<p onmouseover="alert(1)">hover</p>', ["<p>hover</p>"], ["onmouseover"]),
        (
            "<iframe src='https://evil.example'></iframe><style>*{}</style>",
            [],
            ["<iframe", "<style", "*{}"],
        ),
        (
            "[home](https://example.com)",
            ['<a href="https://example.com" rel="nofollow noopener">home</a>'],
            [],
        ),
        ("[mail](mailto:a@example.com)", ['href="mailto:a@example.com"'], []),
        ("[rel](/admin/)", [">rel</a>"], ['href="/admin/"']),
        (
            "```\n<b>{{ name }}</b>\n```",
            ["<pre><code>&lt;b&gt;{{ name }}&lt;/b&gt;\n</code></pre>"],
            ["<b>"],
        ),
        ("use `<i>` here", ["<code>&lt;i&gt;</code>"], ["<i>"]),
        ("**bold** _em_\nnext", ["<strong>bold</strong>", "<em>em</em>", "<br>"], []),
        (
            "> quoted\n\n- one\n- two\n\n1. first",
            ["<blockquote>", "<ul>", "<li>one</li>", "<ol>"],
            [],
        ),
    ],
)
def test_markdown_is_sanitized(text, kept, gone):
    html = render_markdown(text)
    for piece in kept:
        assert piece in html
    for piece in gone:
        assert piece not in html


# ---------------------------------------------------------------------- state reads


def test_review_state_reads_in_three_queries(people, version, django_assert_num_queries):
    request_review(people["ed"], version, reviewers=["rita", "alice"])
    add_comment(people["rita"], version, body="ok", verdict="approve")
    with django_assert_num_queries(3):
        state = review_state(version)
        names = [r.user.username for r in state.reviewers], state.requested_by.username
    assert names == (["alice", "rita"], "ed")


def test_a_verdict_before_the_request_does_not_answer_it(people, version):
    add_comment(people["rita"], version, body="early look", verdict="approve")
    later = timezone.now() + timedelta(seconds=1)
    request_review(people["ed"], version, reviewers=["rita"])
    ReviewRequest.objects.filter(version=version).update(requested_at=later)
    assert named(version) == [("rita", "approve", True)]
