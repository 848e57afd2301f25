"""Usernames made in a shell may hold anything Django stores: "/", "@", ".", "+", "-",
spaces, "%", "?", "#". No page or endpoint about members fails on them."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client

from accounts import services as accounts
from accounts.models import Membership
from tests.conftest import client_with, make_user

ODD = ["dev/ops", "a.b+c@d-e", "with space", "50% off?#", "x/role"]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def in_url(username: str) -> str:
    return quote(username, safe="/@+")


@pytest.fixture
def odd(people, request):
    make_user(request.param)
    accounts.set_role(people["alice"], people["support"], request.param, "viewer")
    return request.param


@pytest.mark.parametrize("odd", ODD, indirect=True)
def test_the_team_page_shows_and_links_every_member(people, odd):
    assert signed_in(people["vic"]).get("/teams/support/").status_code == 200
    role_url = f"/teams/support/members/{in_url(odd)}/role/"
    admin_page = signed_in(people["alice"]).get("/teams/support/").content.replace(b"&amp;", b"&")
    assert role_url.encode() in admin_page


@pytest.mark.parametrize("odd", ODD, indirect=True)
def test_changing_and_removing_such_a_member_works_from_the_page(people, odd):
    alice = signed_in(people["alice"])
    url = f"/teams/support/members/{in_url(odd)}"
    assert alice.post(f"{url}/role/", {"role": "editor"}).status_code == 302
    assert Membership.objects.get(user__username=odd).role == "editor"
    assert alice.post(f"{url}/remove/").status_code == 302
    assert not Membership.objects.filter(user__username=odd).exists()


@pytest.mark.parametrize("odd", ODD, indirect=True)
def test_the_members_api_answers_for_such_a_member(people, odd, as_user):
    alice = as_user("alice")
    assert odd in [m["username"] for m in alice.get("/api/v1/teams/support/members").json()]
    url = f"/api/v1/teams/support/members/{in_url(odd)}"
    changed = alice.put(url, {"role": "reviewer"}, format="json")
    assert changed.status_code == 200 and changed.json() == {"username": odd, "role": "reviewer"}
    assert alice.delete(url).status_code == 204
    assert client_with(None).delete(url).status_code == 401
