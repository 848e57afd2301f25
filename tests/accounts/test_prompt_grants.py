"""Single-prompt grants: team admins give and take a role on one prompt, on a page and
through the API; the grantee sees that prompt and acts on it, not the team's members."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.permissions import can
from prompts.models import Prompt
from tests.conftest import client_with, make_user

P = "/api/v1/prompts/support/ticket-classifier"
PAGE = "/p/support/ticket-classifier/grants/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def grants(client) -> dict[str, str]:
    return {g["username"]: g["role"] for g in client.get(f"{P}/grants").json()}


def test_a_team_admin_grants_and_revokes_a_role_through_the_api(people, prompt, as_user):
    alice, gina = as_user("alice"), as_user("gina")
    assert gina.get(P).status_code == 404
    given = alice.put(f"{P}/grants/gina", {"role": "editor"}, format="json")
    assert given.status_code == 200 and given.json() == {"username": "gina", "role": "editor"}
    assert grants(alice) == {"gina": "editor"}
    assert gina.get(P).status_code == 200
    assert gina.post(f"{P}/versions", {"template": "v2"}, format="json").status_code == 201
    assert alice.put(f"{P}/grants/gina", {"role": "viewer"}, format="json").status_code == 200
    assert grants(alice) == {"gina": "viewer"}
    assert gina.post(f"{P}/versions", {"template": "v3"}, format="json").status_code == 403
    assert alice.delete(f"{P}/grants/gina").status_code == 204
    assert grants(alice) == {}
    assert gina.get(P).status_code == 404
    assert alice.delete(f"{P}/grants/gina").status_code == 404


@pytest.mark.parametrize(
    "username, body, status",
    [("nobody", {"role": "viewer"}, 404), ("gina", {"role": "owner"}, 400), ("gina", {}, 400)],
)
def test_bad_grants_are_refused_in_the_error_body(people, prompt, as_user, username, body, status):
    answer = as_user("alice").put(f"{P}/grants/{username}", body, format="json")
    assert answer.status_code == status
    assert set(answer.json()["error"]) == {"code", "message", "details"}


def test_every_grant_and_revocation_is_in_the_prompts_history(people, prompt, as_user):
    alice = as_user("alice")
    alice.put(f"{P}/grants/gina", {"role": "reviewer"}, format="json")
    alice.delete(f"{P}/grants/gina")
    records = list(Prompt.objects.get(pk=prompt.pk).history.order_by("-history_id")[:2])
    assert [r.history_change_reason for r in records] == [
        "revoked the grant of gina on this prompt",
        "granted reviewer on this prompt to gina",
    ]
    assert {r.history_user.username for r in records} == {"alice"}
    trail = signed_in(people["alice"]).get("/p/support/ticket-classifier/audit/")
    assert b"granted reviewer on this prompt to gina" in trail.content


def test_a_grantee_sees_the_prompt_but_not_the_teams_members(people, prompt, as_user):
    as_user("alice").put(f"{P}/grants/gina", {"role": "admin"}, format="json")
    gina = as_user("gina")
    assert gina.get(P).status_code == 200
    assert gina.get("/api/v1/teams/support/members").status_code == 404
    page = signed_in(people["gina"])
    assert page.get("/p/support/ticket-classifier/").status_code == 200
    assert page.get("/teams/support/").status_code == 404
    assert page.post("/teams/support/members/", {"username": "x"}).status_code == 404
    # and granting is for team admins, not for an admin of the one prompt
    assert gina.put(f"{P}/grants/vic", {"role": "admin"}, format="json").status_code == 403
    # members of the team still see them
    assert as_user("vic").get("/api/v1/teams/support/members").status_code == 200
    assert signed_in(people["vic"]).get("/teams/support/").status_code == 200


def test_the_page_lists_grants_and_grants_and_revokes(people, prompt):
    alice = signed_in(people["alice"])
    assert b"Nobody holds a role" in alice.get(PAGE).content
    answer = alice.post(PAGE, {"username": "gina", "role": "reviewer"})
    assert answer.status_code == 302
    assert can(people["gina"], "review", prompt)
    page = alice.get(PAGE)
    assert b"gina" in page.content and b"role-reviewer" in page.content
    assert alice.post(f"{PAGE}gina/revoke/").status_code == 302
    assert not can(people["gina"], "view", prompt)
    assert alice.post(f"{PAGE}gina/revoke/").status_code == 404


def test_the_page_shows_refusals_on_its_form(people, prompt):
    answer = signed_in(people["alice"]).post(PAGE, {"username": "nobody", "role": "viewer"})
    assert answer.status_code == 400 and b"No user named" in answer.content


def test_the_prompt_page_links_the_access_page_for_team_admins_only(people, prompt):
    detail = "/p/support/ticket-classifier/"
    assert PAGE.encode() in signed_in(people["alice"]).get(detail).content
    assert PAGE.encode() not in signed_in(people["ed"]).get(detail).content


@pytest.mark.parametrize("username", ["dev/ops", "a.b+c@d-e", "with space", "50% off?#"])
def test_a_grant_to_any_username_the_shell_allows_works_on_the_page(people, prompt, username):
    from urllib.parse import quote

    make_user(username)
    alice = signed_in(people["alice"])
    assert alice.post(PAGE, {"username": username, "role": "viewer"}).status_code == 302
    page = alice.get(PAGE)
    assert page.status_code == 200
    revoke = f"{PAGE}{quote(username, safe='/@+')}/revoke/"
    assert revoke.encode() in page.content.replace(b"&amp;", b"&")
    assert alice.post(revoke).status_code == 302
    api = f"{P}/grants/{quote(username, safe='/@+')}"
    staff = client_with(None)
    staff.force_authenticate(people["alice"])
    assert staff.put(api, {"role": "editor"}, format="json").status_code == 200
    assert staff.delete(api).status_code == 204
