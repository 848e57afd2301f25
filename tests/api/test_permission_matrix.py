"""Every endpoint x every kind of caller -> the status the contract promises."""

import pytest

from reviews.models import Comment

P = "/api/v1/prompts/support/ticket-classifier"
T = "/api/v1/teams/support"

UNAUTHENTICATED = ["anonymous", "bad_token", "expired_token", "revoked_token"]
ROLES = ["viewer", "editor", "reviewer", "admin"]

# name: (method, path, body, least role, scope the token needs, success status, scoped)
# scoped: "prompt" (404 for outsiders, open to single-prompt grants), "team", or "list".
ENDPOINTS = {
    "list prompts": ("get", "/api/v1/prompts", None, "viewer", "read", 200, "list"),
    "create prompt": (
        "post",
        "/api/v1/prompts",
        {"team": "support", "name": "New", "template": "Hi {{ x }}"},
        "editor",
        "write",
        201,
        "team",
    ),
    "get prompt": ("get", P, None, "viewer", "read", 200, "prompt"),
    "patch prompt": ("patch", P, {"description": "new"}, "editor", "write", 200, "prompt"),
    "archive prompt": ("delete", P, None, "admin", "write", 204, "prompt"),
    "list versions": ("get", f"{P}/versions", None, "viewer", "read", 200, "prompt"),
    "add version": (
        "post",
        f"{P}/versions",
        {"template": "v2 {{ x }}"},
        "editor",
        "write",
        201,
        "prompt",
    ),
    "get version": ("get", f"{P}/versions/1", None, "viewer", "read", 200, "prompt"),
    "change version": (
        "put",
        f"{P}/versions/1",
        {"template": "x"},
        "viewer",
        "read",
        405,
        "prompt",
    ),
    "delete version": ("delete", f"{P}/versions/1", None, "viewer", "read", 405, "prompt"),
    "resolve": (
        "get",
        f"{P}/resolve?environment=development",
        None,
        "viewer",
        "read",
        200,
        "prompt",
    ),
    "render": (
        "post",
        f"{P}/render",
        {"variables": {"ticket_text": "t"}, "environment": "development"},
        "viewer",
        "read",
        200,
        "prompt",
    ),
    "deployments": ("get", f"{P}/deployments", None, "viewer", "read", 200, "prompt"),
    "deploy unprotected": (
        "post",
        f"{P}/deployments",
        {"environment": "staging", "version": 1},
        "editor",
        "deploy",
        201,
        "prompt",
    ),
    "deploy protected": (
        "post",
        f"{P}/deployments",
        {"environment": "production", "version": 1},
        "reviewer",
        "deploy",
        201,
        "prompt",
    ),
    "comments": ("get", f"{P}/versions/1/comments", None, "viewer", "read", 200, "prompt"),
    "comment": (
        "post",
        f"{P}/versions/1/comments",
        {"body": "Looks good"},
        "editor",
        "write",
        201,
        "prompt",
    ),
    "compare": ("get", f"{P}/compare?from=1&to=1", None, "viewer", "read", 200, "prompt"),
    "usage": ("get", f"{P}/usage", None, "viewer", "read", 200, "prompt"),
    "teams": ("get", "/api/v1/teams", None, "viewer", "read", 200, "list"),
    "members": ("get", f"{T}/members", None, "viewer", "read", 200, "team"),
    "set role": ("put", f"{T}/members/vic", {"role": "editor"}, "admin", "write", 200, "team"),
    "remove member": ("delete", f"{T}/members/vic", None, "admin", "write", 204, "team"),
    "environments": ("get", f"{T}/environments", None, "viewer", "read", 200, "team"),
    # Token management needs the tokens scope, which no caller here holds: its rules are
    # tried caller by caller in tests/accounts/test_token_management.py.
}


def expected(caller: str, least: str, scope: str, success: int, scoped: str) -> int:
    if caller in UNAUTHENTICATED:
        return 401
    if caller == "outsider":
        return 200 if scoped == "list" else 404
    if caller == "grant":  # an editor's rights on the one prompt, nothing on the team
        if scoped == "list":
            return 200
        if scoped == "team":  # the team is visible to them, acting on it is not
            return 200 if least == "viewer" else 404
        return success if least in ("viewer", "editor") else 403
    if caller == "read_token":  # alice, the admin, through a read-only token
        return success if scope == "read" else 403
    return success if ROLES.index(caller) >= ROLES.index(least) else 403


def cases() -> list:
    found = []
    for name, (method, path, body, least, scope, success, scoped) in ENDPOINTS.items():
        for caller in [*UNAUTHENTICATED, "read_token", *ROLES, "outsider", "grant"]:
            status = expected(caller, least, scope, success, scoped)
            found.append(pytest.param(method, path, body, caller, status, id=f"{name}-{caller}"))
    return found


@pytest.mark.parametrize("method, path, body, caller, status", cases())
def test_endpoint_answers_each_caller_as_promised(
    callers, people, prompt, method, path, body, caller, status
):
    # production needs one approval from someone other than the author (ed)
    Comment.objects.create(
        version=prompt.latest_version, author=people["rita"], body="ok", verdict="approve"
    )
    response = getattr(callers[caller], method)(path, body, format="json")
    assert response.status_code == status, response.content
    if status >= 400:
        assert set(response.json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize(
    "caller, team, other",
    [
        ("viewer", "support", "billing"),
        ("grant", "support", "billing"),
        ("outsider", "billing", "support"),
    ],
)
def test_lists_never_hold_another_teams_data(callers, billing_prompt, caller, team, other):
    prompts = callers[caller].get("/api/v1/prompts").json()["results"]
    assert prompts and {p["team"] for p in prompts} == {team}
    assert other not in [t["slug"] for t in callers[caller].get("/api/v1/teams").json()]
    assert callers[caller].get(f"/api/v1/prompts?team={other}").json()["count"] == 0
