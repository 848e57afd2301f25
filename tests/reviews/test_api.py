"""The review endpoints: a version's review state, asking for a review, deprecating,
editing and resolving comments, the comment and version shapes, and "My reviews"."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from prompts import services
from reviews.models import Comment, Review, ReviewRequest
from reviews.services import add_comment, request_review

P = "/api/v1/prompts/support/ticket-classifier"
UNAUTHENTICATED = ["anonymous", "bad_token", "expired_token", "revoked_token"]
CALLERS = [
    *UNAUTHENTICATED,
    *["read_token", "viewer", "editor", "reviewer", "admin", "outsider", "grant"],
]


def error_of(response) -> tuple[int, str, dict]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return response.status_code, body["error"]["code"], body["error"]["details"]


@pytest.fixture
def thread(people, prompt):
    """ed's thread on line 1 of version 1, with a reply of rita's."""
    top = add_comment(people["ed"], prompt.latest_version, body="Is *this* clear?", line=1)
    add_comment(people["rita"], prompt.latest_version, body="Yes.", parent=top)
    return top


# ---------------------------------------------------------------------- who may do what

# gina ("grant") is an editor of this one prompt.
READS = dict.fromkeys(["read_token", "viewer", "editor", "reviewer", "admin", "grant"], 200)
WRITES = READS | {"read_token": 403, "viewer": 403}
C = f"{P}/versions/1/comments/{{thread}}"
# name: (method, path, body, {caller: status}); otherwise 401 for the unauthenticated,
# 404 for the outsider.
EXPECTED = {
    "review state": ("get", f"{P}/versions/1/review", None, READS),
    "ask for review": ("post", f"{P}/versions/1/review", {"reviewers": ["rita"]}, WRITES),
    "deprecate": ("post", f"{P}/versions/1/deprecate", None, WRITES),
    # ed's comment: only ed edits it
    "edit comment": (
        "patch",
        C,
        {"body": "Clearer?"},
        WRITES | dict.fromkeys(["reviewer", "admin", "grant"], 403),
    ),
    "resolve": ("post", f"{C}/resolve", {"resolved": True}, WRITES),
}


def cases() -> list:
    found = []
    for name, (method, path, body, statuses) in EXPECTED.items():
        for caller in CALLERS:
            status = 401 if caller in UNAUTHENTICATED else statuses.get(caller, 404)
            found.append(pytest.param(method, path, body, caller, status, id=f"{name}-{caller}"))
    return found


@pytest.mark.parametrize("method, path, body, caller, status", cases())
def test_each_caller_is_answered_as_the_roles_say(
    callers, thread, method, path, body, caller, status
):
    before = (Review.history.count(), Comment.history.count(), ReviewRequest.objects.count())
    response = getattr(callers[caller], method)(path.format(thread=thread.pk), body, format="json")
    assert response.status_code == status, response.content
    if status >= 400:
        error_of(response)
        if method != "get":
            after = (Review.history.count(), Comment.history.count(), ReviewRequest.objects.count())
            assert after == before


def test_only_the_author_edits_and_others_learn_why(as_user, thread):
    response = as_user("rita").patch(
        f"{P}/versions/1/comments/{thread.pk}", {"body": "mine now"}, format="json"
    )
    assert error_of(response) == (403, "forbidden", {"reason": "not_author"})
    response = as_user("vic").patch(
        f"{P}/versions/1/comments/{thread.pk}", {"body": "mine now"}, format="json"
    )
    assert error_of(response) == (403, "forbidden", {"reason": "role"})


# ---------------------------------------------------------------------- review state


def test_asking_for_a_review_answers_the_review_state(as_user, people, prompt):
    ed = as_user("ed")
    assert ed.get(f"{P}/versions/1/review").json() == {
        "status": "draft",
        "requested_by": None,
        "reviewers": [],
        "approvals": 0,
    }
    response = ed.post(
        f"{P}/versions/1/review", {"note": "please", "reviewers": ["rita", "alice"]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "in_review",
        "requested_by": "ed",
        "reviewers": [
            {"username": "alice", "verdict": None, "pending": True},
            {"username": "rita", "verdict": None, "pending": True},
        ],
        "approvals": 0,
    }
    rita = as_user("rita")
    assert (
        rita.post(
            f"{P}/versions/1/comments", {"body": "ok", "verdict": "approve"}, format="json"
        ).status_code
        == 201
    )
    state = as_user("vic").get(f"{P}/versions/1/review").json()
    assert (state["status"], state["approvals"]) == ("approved", 1)
    assert state["reviewers"][1] == {"username": "rita", "verdict": "approve", "pending": False}
    # Leaving reviewers out keeps them, and asks them again.
    again = ed.post(f"{P}/versions/1/review", {}, format="json").json()
    assert again["status"] == "in_review"
    assert [(r["username"], r["pending"]) for r in again["reviewers"]] == [
        ("alice", True),
        ("rita", True),
    ]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"reviewers": "rita"}, "reviewers"),
        ({"reviewers": [1]}, "reviewers"),
        ({"reviewers": ["vic"]}, "reviewers"),
        ({"reviewers": ["ed"]}, "reviewers"),
        ({"reviewers": ["nobody"]}, "reviewers"),
        ({"reviewers": [f"u{i}" for i in range(21)]}, "reviewers"),
        ({"note": 5}, "note"),
        ({"note": "x" * 2001}, "note"),
    ],
)
def test_bad_review_requests_are_400(as_user, prompt, body, field):
    response = as_user("ed").post(f"{P}/versions/1/review", body, format="json")
    status, code, details = error_of(response)
    assert (status, code) == (400, "invalid")
    assert field in str(details)
    assert not Review.objects.exists() and not ReviewRequest.objects.exists()


def test_deprecating_and_then_asking_is_a_conflict(as_user, prompt):
    ed = as_user("ed")
    response = ed.post(f"{P}/versions/1/deprecate")
    assert (response.status_code, response.json()["status"]) == (200, "deprecated")
    assert ed.post(f"{P}/versions/1/deprecate").status_code == 200  # nothing more to do
    response = ed.post(f"{P}/versions/1/review", {"reviewers": ["rita"]}, format="json")
    assert error_of(response)[:2] == (409, "conflict")
    assert ed.get(f"{P}/versions/1").json()["status"] == "deprecated"


@pytest.mark.parametrize(
    "path",
    [
        f"{P}/versions/9/review",
        f"{P}/versions/0/deprecate",
        "/api/v1/prompts/support/nope/versions/1/review",
    ],
)
def test_what_does_not_exist_is_404(as_user, prompt, path):
    assert as_user("ed").post(path, {}, format="json").status_code == 404


# ---------------------------------------------------------------------- comments


def test_comments_carry_lines_state_html_and_replies(as_user, thread):
    [found] = as_user("vic").get(f"{P}/versions/1/comments").json()
    assert found["line"] == 1
    assert (found["resolved"], found["resolved_at"], found["edited_at"]) == (False, None, None)
    assert found["body"] == "Is *this* clear?"
    assert found["body_html"] == "<p>Is <em>this</em> clear?</p>"
    assert [(r["author"], r["body"], r["parent"]) for r in found["replies"]] == [
        ("rita", "Yes.", thread.pk)
    ]


def test_a_comment_body_is_sanitized_in_body_html(as_user, prompt):
    body = "<script>alert(1)</script>**hi** <img src=x onerror=alert(1)> [x](javascript:alert(1))"
    made = as_user("ed").post(f"{P}/versions/1/comments", {"body": body}, format="json").json()
    assert made["body"] == body
    assert "<strong>hi</strong>" in made["body_html"]
    for bad in ("<script", "onerror", "javascript:", "<img"):
        assert bad not in made["body_html"]


def test_editing_a_comment(as_user, thread):
    ed = as_user("ed")
    response = ed.patch(
        f"{P}/versions/1/comments/{thread.pk}", {"body": "Is **this** clear?"}, format="json"
    )
    assert response.status_code == 200, response.content
    edited = response.json()
    assert (edited["id"], edited["body"], edited["line"]) == (thread.pk, "Is **this** clear?", 1)
    assert edited["edited_at"] is not None
    assert edited["body_html"] == "<p>Is <strong>this</strong> clear?</p>"
    assert [r["body"] for r in edited["replies"]] == ["Yes."]
    assert list(
        Comment.history.filter(id=thread.pk).order_by("history_id").values_list("body", flat=True)
    ) == ["Is *this* clear?", "Is **this** clear?"]


@pytest.mark.parametrize(
    "body", [{}, {"body": ""}, {"body": "   "}, {"body": 5}, {"body": "x" * 10_001}]
)
def test_a_bad_edit_is_400(as_user, thread, body):
    response = as_user("ed").patch(f"{P}/versions/1/comments/{thread.pk}", body, format="json")
    assert error_of(response)[:2] == (400, "invalid")
    thread.refresh_from_db()
    assert (thread.body, thread.edited_at) == ("Is *this* clear?", None)


def test_resolving_and_reopening_a_thread(as_user, thread):
    rita = as_user("rita")
    url = f"{P}/versions/1/comments/{thread.pk}/resolve"
    resolved = rita.post(url, {"resolved": True}, format="json").json()
    assert (resolved["resolved"], resolved["resolved_at"] is not None) == (True, True)
    assert len(resolved["replies"]) == 1
    reopened = rita.post(url, {"resolved": False}, format="json").json()
    assert (reopened["resolved"], reopened["resolved_at"]) == (False, None)


def test_bad_resolves_are_400(as_user, thread):
    ed = as_user("ed")
    url = f"{P}/versions/1/comments/{thread.pk}/resolve"
    for body in ({}, {"resolved": "maybe"}, {"resolved": None}):
        assert error_of(ed.post(url, body, format="json"))[:2] == (400, "invalid")
    reply = thread.replies.get()
    response = ed.post(
        f"{P}/versions/1/comments/{reply.pk}/resolve", {"resolved": True}, format="json"
    )
    assert error_of(response)[:2] == (400, "invalid")


def test_a_comment_is_only_found_on_its_own_version(as_user, people, prompt, thread):
    services.add_version(people["ed"], prompt, template="v2 {{ x }}")
    ed = as_user("ed")
    assert (
        ed.patch(f"{P}/versions/2/comments/{thread.pk}", {"body": "x"}, format="json").status_code
        == 404
    )
    assert (
        ed.post(
            f"{P}/versions/2/comments/{thread.pk}/resolve", {"resolved": True}, format="json"
        ).status_code
        == 404
    )
    assert (
        ed.patch(f"{P}/versions/1/comments/99999999", {"body": "x"}, format="json").status_code
        == 404
    )
    assert (
        ed.patch(f"{P}/versions/1/comments/{2**63}", {"body": "x"}, format="json").status_code
        == 404
    )


# ---------------------------------------------------------------------- versions


def test_versions_carry_their_approvals(as_user, people, prompt):
    services.add_version(people["ed"], prompt, template="v2 {{ x }}")
    add_comment(people["rita"], prompt.latest_version, body="ok", verdict="approve")
    add_comment(people["alice"], prompt.latest_version, body="ok", verdict="approve")
    vic = as_user("vic")
    listed = vic.get(f"{P}/versions").json()["results"]
    assert [(v["number"], v["approvals"]) for v in listed] == [(2, 2), (1, 0)]
    assert vic.get(f"{P}/versions/2").json()["approvals"] == 2
    made = as_user("ed").post(f"{P}/versions", {"template": "v3"}, format="json").json()
    assert (made["status"], made["approvals"]) == ("draft", 0)


def queries_of(call) -> int:
    call()  # warms the caches
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200, response.content
    return len(captured.captured_queries)


def grow(people, prompt, n: int) -> None:
    for i in range(n):
        version = services.add_version(people["ed"], prompt, template=f"v {i} {{{{ x }}}}")
        request_review(people["ed"], version, reviewers=["rita"])
        add_comment(people["rita"], version, body="ok", verdict="approve")
        add_comment(people["alice"], version, body="no", verdict="request_changes")


@pytest.mark.parametrize(
    "who, path",
    [
        ("vic", f"{P}/versions"),
        ("vic", f"{P}/versions/1/comments"),
        ("rita", "/api/v1/reviews"),
        ("ed", "/api/v1/reviews"),
    ],
)
def test_lists_cost_the_same_at_any_size(as_user, people, prompt, who, path):
    client = as_user(who)
    grow(people, prompt, 2)
    small = queries_of(lambda: client.get(path))
    grow(people, prompt, 6)
    assert queries_of(lambda: client.get(path)) == small


# ---------------------------------------------------------------------- my reviews


def test_my_reviews(as_user, people, prompt, billing_prompt):
    request_review(people["ed"], prompt.latest_version, reviewers=["rita"])
    add_comment(people["alice"], prompt.latest_version, body="hm")
    request_review(people["oscar"], billing_prompt.latest_version)
    rita = as_user("rita").get("/api/v1/reviews").json()
    assert [(v["team"], v["slug"], v["version"]) for v in rita["waiting_for_me"]] == [
        ("support", "ticket-classifier", 1)
    ]
    item = rita["waiting_for_me"][0]
    assert (item["status"], item["author"], item["requested_by"]) == ("in_review", "ed", "ed")
    assert (item["approvals"], item["open_threads"]) == (0, 1)
    assert rita["mine"] == []
    ed = as_user("ed").get("/api/v1/reviews").json()
    assert ed["waiting_for_me"] == [] and [v["version"] for v in ed["mine"]] == [1]
    oscar = as_user("oscar").get("/api/v1/reviews").json()
    assert [(v["team"], v["slug"]) for v in oscar["mine"]] == [("billing", "invoice-reminder")]
    assert as_user("vic").get("/api/v1/reviews").json() == {"waiting_for_me": [], "mine": []}
    # A token narrows the rights it acts with: a read token cannot review, so nothing waits
    # for it, while its user's own versions still show.
    read_only = as_user("ed", scopes=["read"]).get("/api/v1/reviews").json()
    assert [v["version"] for v in read_only["mine"]] == [1]
    assert as_user("rita", scopes=["read"]).get("/api/v1/reviews").json()["waiting_for_me"] == []
