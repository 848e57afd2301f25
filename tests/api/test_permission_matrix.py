"""Every endpoint x every kind of caller -> the status the contract promises."""

import pytest
from django.test import Client

from accounts import services as accounts
from accounts import tokens
from reviews.models import Comment
from tests.api.conftest import token_of_a_deleted_user
from tests.conftest import client_with

P = "/api/v1/prompts/support/ticket-classifier"
T = "/api/v1/teams/support"

UNAUTHENTICATED = ["anonymous", "bad_token", "expired_token", "revoked_token", "deleted_user"]
ROLES = ["viewer", "editor", "reviewer", "admin"]

# name: (method, path, body, least role, scope the token needs, success status, scoped)
# scoped: "prompt" (404 for outsiders, open to single-prompt grants), "team", "members"
# (a team's, but not for single-prompt grantees), or "list".
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
    "members": ("get", f"{T}/members", None, "viewer", "read", 200, "members"),
    "set role": ("put", f"{T}/members/vic", {"role": "editor"}, "admin", "write", 200, "team"),
    "remove member": ("delete", f"{T}/members/vic", None, "admin", "write", 204, "team"),
    "environments": ("get", f"{T}/environments", None, "viewer", "read", 200, "team"),
    "grants": ("get", f"{P}/grants", None, "admin", "write", 200, "prompt"),
    "grant": ("put", f"{P}/grants/vic", {"role": "editor"}, "admin", "write", 200, "prompt"),
    "revoke grant": ("delete", f"{P}/grants/gina", None, "admin", "write", 204, "prompt"),
}


def expected(caller: str, least: str, scope: str, success: int, scoped: str) -> int:
    if caller in UNAUTHENTICATED:
        return 401
    if caller == "outsider":
        return 200 if scoped == "list" else 404
    if caller == "grant":  # an editor's rights on the one prompt, nothing on the team
        if scoped == "list":
            return 200
        if scoped == "members":
            return 404
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


# ---------------------------------------------------------------- token management
#
# alice's tokens of support and of billing (where she is a viewer) are the targets;
# each caller lists, creates and revokes through /api/v1/tokens.

TOKEN_CALLERS = {
    # name: (token options, or "session" / None for no credentials)
    "anonymous": None,
    "session": "session",
    "default token": {},
    "read token": {"scopes": ["read"]},
    "manager": {"scopes": ["read", "write", "deploy", "tokens"]},
    "support manager": {"scopes": ["read", "tokens"], "team": "support"},
    "short-lived manager": {"scopes": ["read", "tokens"], "expires_days": 1},
    "deleted user": "deleted",
}
CREATE = {"scopes": ["read"], "team": "support"}
TOKEN_CASES = {
    # caller: (list, create, create outliving it, revoke billing's, revoke support's)
    "anonymous": (401, 401, 401, 401, 401),
    "session": (200, 201, 201, 204, 204),
    "default token": (403, 403, 403, 403, 403),
    "read token": (403, 403, 403, 403, 403),
    "manager": (200, 201, 201, 204, 204),
    "support manager": (200, 201, 201, 404, 204),
    "short-lived manager": (200, 201, 403, 204, 204),
    "deleted user": (401, 401, 401, 401, 401),
}
TOKEN_ACTIONS = ["list", "create", "create outliving it", "revoke billing's", "revoke support's"]


def _token_caller(people, name: str):
    options = TOKEN_CALLERS[name]
    if options is None:
        return client_with(None)
    if options == "session":
        client = Client()
        client.force_login(people["alice"])
        return client
    if options == "deleted":
        return token_of_a_deleted_user(people)
    options = dict(options)
    if "team" in options:
        options["team"] = people[options["team"]]
    return client_with(tokens.issue(people["alice"], **options)[1])


@pytest.mark.parametrize(
    "caller, action, status",
    [
        pytest.param(caller, action, status, id=f"{action}-{caller}")
        for caller, statuses in TOKEN_CASES.items()
        for action, status in zip(TOKEN_ACTIONS, statuses, strict=True)
    ],
)
def test_token_management_answers_each_caller_as_promised(people, caller, action, status):
    accounts.set_role(people["oscar"], people["billing"], "alice", "viewer")
    billing = tokens.issue(people["alice"], team=people["billing"], scopes=["read"])[0]
    support = tokens.issue(people["alice"], team=people["support"], scopes=["read"])[0]
    client = _token_caller(people, caller)
    json = {"content_type": "application/json"} if caller == "session" else {"format": "json"}
    if action == "list":
        response = client.get("/api/v1/tokens")
    elif action == "create":
        response = client.post("/api/v1/tokens", CREATE, **json)
    elif action == "create outliving it":
        response = client.post("/api/v1/tokens", {**CREATE, "expires_days": 30}, **json)
    else:
        target = billing if action == "revoke billing's" else support
        response = client.delete(f"/api/v1/tokens/{target.pk}")
    assert response.status_code == status, response.content
    if status >= 400:
        assert set(response.json()["error"]) == {"code", "message", "details"}
    if action == "list" and status == 200 and caller == "support manager":
        assert {t["team"] for t in response.json()} == {"support"}


# ---------------------------------------------------------------- the grants page

GRANTS_PAGE = "/p/support/ticket-classifier/grants/"
PAGE_ACTIONS = {
    "see": ("get", GRANTS_PAGE, None, 200),
    "grant": ("post", GRANTS_PAGE, {"username": "vic", "role": "editor"}, 302),
    "revoke": ("post", f"{GRANTS_PAGE}gina/revoke/", {}, 302),
}
PAGE_CALLERS = {
    "anonymous": None,
    "outsider": "oscar",
    "viewer": "vic",
    "editor": "ed",
    "reviewer": "rita",
    "grant": "gina",
    "admin": "alice",
}


def _page_status(caller: str, success: int) -> int:
    if caller == "anonymous":
        return 302  # to the sign-in page
    if caller == "outsider":
        return 404
    return success if caller == "admin" else 403


@pytest.mark.parametrize(
    "caller, action",
    [pytest.param(c, a, id=f"{a}-{c}") for a in PAGE_ACTIONS for c in PAGE_CALLERS],
)
def test_the_grants_page_answers_each_caller_as_promised(callers, people, caller, action):
    method, path, body, success = PAGE_ACTIONS[action]
    client = Client()
    if PAGE_CALLERS[caller]:
        client.force_login(people[PAGE_CALLERS[caller]])
    response = getattr(client, method)(path, body)
    status = _page_status(caller, success)
    assert response.status_code == status
    if caller == "anonymous":
        assert response["Location"].startswith("/accounts/login/")
