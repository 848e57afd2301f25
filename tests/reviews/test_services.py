"""Review services: who may comment and judge, threads, verdicts and the status they give,
and one history record per write."""

import pytest

from prompts import services
from registry_site.errors import Conflict, Forbidden, Invalid, NotFound
from reviews.models import Comment, Review
from reviews.services import (
    add_comment,
    approvals_of,
    deprecate,
    latest_verdicts,
    request_review,
    set_thread_resolved,
    threads,
)


@pytest.fixture
def version(prompt):
    """Version 1, authored by ed."""
    return prompt.latest_version


@pytest.fixture
def ritas(people, prompt):
    """Version 2, authored by rita (a reviewer), three lines long."""
    return services.add_version(people["rita"], prompt, template="one\ntwo {{ x }}\nthree\n")


def written():
    """What review writes leave behind, to show a refusal wrote nothing."""
    return (
        Comment.objects.count(),
        Review.objects.count(),
        Comment.history.count(),
        Review.history.count(),
    )


def status(version):
    return Review.objects.get(version=version).status


# ---------------------------------------------------------------------- permissions


@pytest.mark.parametrize(
    "who, error",
    [
        ("ed", None),
        ("rita", None),
        ("alice", None),
        ("vic", Forbidden),
        ("oscar", NotFound),
        ("gina", NotFound),
    ],
)
def test_who_may_comment(people, version, who, error):
    before = written()
    if error is None:
        comment = add_comment(people[who], version, body="  Looks fine.  ")
        assert (comment.author, comment.body, comment.verdict) == (people[who], "Looks fine.", "")
        return
    with pytest.raises(error) as caught:
        add_comment(people[who], version, body="hello")
    if error is Forbidden:
        assert caught.value.details["reason"] == "role"
    assert written() == before


def test_an_editor_cannot_give_a_verdict(people, ritas):
    before = written()
    with pytest.raises(Forbidden) as caught:
        add_comment(people["ed"], ritas, body="ship it", verdict="approve")
    assert caught.value.details["reason"] == "role"
    assert written() == before


def test_nobody_approves_their_own_version(people, ritas):
    before = written()
    with pytest.raises(Forbidden) as caught:
        add_comment(people["rita"], ritas, body="mine is great", verdict="approve")
    assert caught.value.details["reason"] == "self_review"
    assert written() == before
    assert ritas.status == "draft"


# ---------------------------------------------------------------------- input checks


@pytest.mark.parametrize("body", ["", "   \n", "a\x00b", "x" * 10_001, None, 42])
def test_a_bad_body_is_refused(people, version, body):
    before = written()
    with pytest.raises(Invalid) as caught:
        add_comment(people["ed"], version, body=body)
    assert caught.value.details["field"] == "body"
    assert written() == before


def test_a_body_of_ten_thousand_characters_after_strip_is_fine(people, version):
    comment = add_comment(people["ed"], version, body="\n" + "x" * 10_000 + "  ")
    assert len(comment.body) == 10_000


@pytest.mark.parametrize("verdict", ["lgtm", "APPROVE", 1, ["approve"]])
def test_an_unknown_verdict_is_refused(people, version, verdict):
    before = written()
    with pytest.raises(Invalid) as caught:
        add_comment(people["rita"], version, body="hm", verdict=verdict)
    assert caught.value.details["field"] == "verdict"
    assert written() == before


def test_a_parent_from_another_version_is_refused(people, version, ritas):
    elsewhere = add_comment(people["ed"], version, body="on version 1")
    before = written()
    for parent in (elsewhere, elsewhere.pk, 10_000, "1", True, Comment()):
        with pytest.raises(Invalid) as caught:
            add_comment(people["ed"], ritas, body="reply", parent=parent)
        assert caught.value.details["field"] == "parent"
    assert written() == before


def test_a_reply_to_a_reply_joins_the_thread(people, version):
    top = add_comment(people["ed"], version, body="Why this wording?")
    reply = add_comment(people["rita"], version, body="Shorter.", parent=top.pk)
    deeper = add_comment(people["ed"], version, body="Fair.", parent=reply)
    assert (reply.parent_id, deeper.parent_id) == (top.pk, top.pk)


@pytest.mark.parametrize("line", [0, 4, -1, "2", 2.0, True])
def test_a_line_outside_the_text_is_refused(people, ritas, line):
    before = written()
    with pytest.raises(Invalid) as caught:
        add_comment(people["ed"], ritas, body="here", line=line)
    assert caught.value.details["field"] == "line"
    assert written() == before


def test_lines_count_the_text_form_of_a_version(people, prompt, ritas):
    assert add_comment(people["ed"], ritas, body="last line", line=3).line == 3
    chat = services.add_version(
        people["ed"],
        prompt,
        messages=[{"role": "system", "content": "a\nb"}, {"role": "user", "content": "{{ q }}"}],
    )
    assert add_comment(people["rita"], chat, body="the user line", line=5).line == 5
    with pytest.raises(Invalid):
        add_comment(people["rita"], chat, body="past the end", line=6)


# ---------------------------------------------------------------------- status


def test_verdicts_move_the_status(people, version):
    review = request_review(people["ed"], version, note="please look")
    assert (review.status, review.requested_by, version.status) == (
        "in_review",
        people["ed"],
        "in_review",
    )

    add_comment(people["rita"], version, body="Good.", verdict="approve")
    assert status(version) == "approved"
    assert version.status == "approved"

    add_comment(people["alice"], version, body="Wait, tone.", verdict="request_changes")
    assert status(version) == "changes_requested"
    add_comment(people["rita"], version, body="Still fine by me.", verdict="approve")
    assert status(version) == "changes_requested"  # alice's latest still asks for changes

    add_comment(people["alice"], version, body="OK now.", verdict="approve")
    assert status(version) == "approved"


def test_a_plain_comment_leaves_the_status_alone(people, version):
    request_review(people["ed"], version)
    add_comment(people["rita"], version, body="Thinking about it.")
    assert status(version) == "in_review"


def test_a_verdict_on_a_draft_creates_its_review(people, version):
    assert not Review.objects.filter(version=version).exists()
    add_comment(people["rita"], version, body="No.", verdict="request_changes")
    assert status(version) == "changes_requested"


def test_the_authors_own_verdicts_never_count(people, version):
    request_review(people["ed"], version)
    # Written directly: the service refuses it, but old data or the admin might hold one.
    Comment.objects.create(version=version, author=people["ed"], body="self", verdict="approve")
    assert latest_verdicts(version) == {}
    assert approvals_of([version]) == {version.pk: 0}


def test_a_deprecated_version_stays_deprecated(people, version):
    review = deprecate(people["ed"], version)
    assert review.status == "deprecated"
    add_comment(people["rita"], version, body="Fine.", verdict="approve")
    assert status(version) == "deprecated"
    with pytest.raises(Conflict):
        request_review(people["ed"], version)
    assert status(version) == "deprecated"


@pytest.mark.parametrize("who, error", [("vic", Forbidden), ("oscar", NotFound)])
def test_only_editors_request_reviews_and_deprecate(people, version, who, error):
    before = written()
    for write in (request_review, deprecate):
        with pytest.raises(error):
            write(people[who], version)
    assert written() == before


# ---------------------------------------------------------------------- threads


def test_threads_come_oldest_first_in_two_queries(people, version, django_assert_num_queries):
    first = add_comment(people["ed"], version, body="first", line=1)
    second = add_comment(people["rita"], version, body="second")
    r1 = add_comment(people["rita"], version, body="r1", parent=first)
    r2 = add_comment(people["alice"], version, body="r2", parent=second)
    r3 = add_comment(people["ed"], version, body="r3", parent=r1)
    with django_assert_num_queries(2):
        found = threads(version)
        shape = [
            (c.body, c.author.username, [(r.body, r.author.username) for r in c.replies_list])
            for c in found
        ]
    assert [c.pk for c in found] == [first.pk, second.pk]
    assert [[r.pk for r in c.replies_list] for c in found] == [[r1.pk, r3.pk], [r2.pk]]
    assert shape == [
        ("first", "ed", [("r1", "rita"), ("r3", "ed")]),
        ("second", "rita", [("r2", "alice")]),
    ]


def test_resolving_a_thread(people, version):
    top = add_comment(people["ed"], version, body="typo on line 1", line=1)
    reply = add_comment(people["rita"], version, body="fixed in v2", parent=top)
    with pytest.raises(Invalid):
        set_thread_resolved(people["ed"], reply, True)
    with pytest.raises(Forbidden):
        set_thread_resolved(people["vic"], top, True)
    with pytest.raises(NotFound):
        set_thread_resolved(people["oscar"], top, True)
    assert set_thread_resolved(people["rita"], top, True).resolved_at is not None
    top.refresh_from_db()
    assert top.resolved_at is not None
    assert set_thread_resolved(people["ed"], top, False).resolved_at is None


# ---------------------------------------------------------------------- history


def records(model, **filters):
    return [
        (r.history_user, r.history_change_reason)
        for r in model.history.filter(**filters).order_by("history_id")
    ]


def test_each_write_leaves_one_record_with_user_and_reason(people, version):
    ed, rita, alice = people["ed"], people["rita"], people["alice"]

    top = add_comment(ed, version, body="A question.")
    assert records(Comment, id=top.pk) == [(ed, "commented")]
    reply = add_comment(rita, version, body="An answer.", parent=top)
    assert records(Comment, id=reply.pk) == [(rita, "replied")]

    request_review(ed, version)
    assert records(Review, version_id=version.pk) == [(ed, "review requested")]

    approval = add_comment(rita, version, body="Good.", verdict="approve")
    assert records(Comment, id=approval.pk) == [(rita, "approved version 1")]
    objection = add_comment(alice, version, body="No.", verdict="request_changes")
    assert records(Comment, id=objection.pk) == [(alice, "changes requested on version 1")]

    set_thread_resolved(ed, top, True)
    set_thread_resolved(ed, top, True)  # already resolved: nothing to write
    set_thread_resolved(rita, top, False)
    assert records(Comment, id=top.pk) == [
        (ed, "commented"),
        (ed, "thread resolved"),
        (rita, "thread reopened"),
    ]

    deprecate(ed, version)
    deprecate(ed, version)  # already deprecated: nothing to write
    assert records(Review, version_id=version.pk) == [
        (ed, "review requested"),
        (rita, "approved version 1"),
        (alice, "changes requested on version 1"),
        (ed, "deprecated version 1"),
    ]
    statuses = Review.history.filter(version_id=version.pk).order_by("history_id")
    assert [r.status for r in statuses] == [
        "in_review",
        "approved",
        "changes_requested",
        "deprecated",
    ]


def test_a_review_request_note_is_its_reason(people, version):
    request_review(people["ed"], version, note="  before Friday ")
    assert records(Review, version_id=version.pk) == [
        (people["ed"], "review requested: before Friday")
    ]
    with pytest.raises(Invalid):
        request_review(people["ed"], version, note="x" * 2_001)
