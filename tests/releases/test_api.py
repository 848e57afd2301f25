"""Environments through the API: team admins add, change and delete them."""

from __future__ import annotations

import pytest

from accounts import services as accounts
from releases.models import Environment

URL = "/api/v1/teams/support/environments"


def defaults(team) -> list[str]:
    return list(
        Environment.objects.filter(team=team, is_default=True).values_list("slug", flat=True)
    )


def test_an_admin_adds_changes_and_deletes_an_environment(people, as_user):
    alice = as_user("alice")
    made = alice.post(URL, {"slug": "canary", "name": "Canary", "protected": True}, format="json")
    assert made.status_code == 201, made.content
    assert made.json() == {
        "slug": "canary",
        "name": "Canary",
        "order": 3,
        "protected": True,
        "required_approvals": 0,
        "is_default": False,
        "requires_previous": False,
        "required_evaluation": None,
    }
    changed = alice.patch(
        f"{URL}/canary", {"required_approvals": 2, "requires_previous": True}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["required_approvals"], changed.json()["requires_previous"]) == (2, True)
    listed = alice.get(URL).json()
    assert [e["slug"] for e in listed] == ["development", "staging", "production", "canary"]
    assert alice.delete(f"{URL}/canary").status_code == 204
    assert alice.get(f"{URL}").json()[-1]["slug"] == "production"


def test_patching_is_default_moves_the_default(people, as_user):
    response = as_user("alice").patch(f"{URL}/staging", {"is_default": True}, format="json")
    assert (response.status_code, response.json()["is_default"]) == (200, True)
    assert defaults(people["support"]) == ["staging"]
    unmark = as_user("alice").patch(f"{URL}/staging", {"is_default": False}, format="json")
    assert unmark.status_code == 409
    assert unmark.json()["error"]["details"]["reason"] == "default_required"


@pytest.mark.parametrize("username", ["rita", "ed", "vic"])
def test_members_who_are_not_admins_are_refused_with_the_reason(people, as_user, username):
    client = as_user(username)
    for response in (
        client.post(URL, {"slug": "canary"}, format="json"),
        client.patch(f"{URL}/staging", {"protected": True}, format="json"),
        client.delete(f"{URL}/staging"),
    ):
        assert response.status_code == 403, (username, response.content)
        assert response.json()["error"]["details"]["reason"] == "role"
    assert Environment.objects.filter(team=people["support"]).count() == 3


@pytest.mark.parametrize("username", ["oscar", "gina"])
def test_outsiders_get_404_for_the_team_and_its_environments(people, prompt, as_user, username):
    # gina administers one prompt of the team, not the team.
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "admin")
    outsider = as_user(username)
    assert outsider.post(URL, {"slug": "canary"}, format="json").status_code == 404
    assert outsider.patch(f"{URL}/staging", {"protected": True}, format="json").status_code == 404
    assert outsider.delete(f"{URL}/staging").status_code == 404
    assert as_user("alice").patch(f"{URL}/nowhere", {}, format="json").status_code == 404


def test_a_read_only_token_cannot_manage_environments(people, as_user):
    response = as_user("alice", scopes=["read"]).patch(
        f"{URL}/staging", {"protected": True}, format="json"
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "body",
    [
        {"required_approvals": -1},
        {"required_approvals": 21},
        {"required_approvals": "many"},
        {"order": -1},
        {"protected": "yes"},
        {"is_default": 1},
        {"colour": "red"},
        {"slug": "renamed"},
        {"name": ""},
    ],
)
def test_bad_input_is_a_400_and_changes_nothing(people, as_user, body):
    response = as_user("alice").patch(f"{URL}/staging", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    staging = Environment.objects.get(team=people["support"], slug="staging")
    assert (staging.required_approvals, staging.protected, staging.order) == (0, False, 1)


def test_bad_new_environments_are_refused(people, as_user):
    alice = as_user("alice")
    assert alice.post(URL, {"name": "No slug"}, format="json").status_code == 400
    assert alice.post(URL, {"slug": "Bad Slug"}, format="json").status_code == 400
    assert alice.post(URL, {"slug": "x", "surprise": 1}, format="json").status_code == 400
    taken = alice.post(URL, {"slug": "staging"}, format="json")
    assert (taken.status_code, taken.json()["error"]["details"]) == (409, {"field": "slug"})


def test_an_environment_with_deployments_is_kept(people, prompt, as_user):
    response = as_user("alice").delete(f"{URL}/development")
    assert response.status_code == 409
    assert response.json()["error"]["details"]["reason"] == "in_use"
