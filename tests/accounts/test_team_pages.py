"""Team pages: overview, member management (admins only) and one's own API tokens."""

from __future__ import annotations

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, path, reverse

from accounts import services as accounts
from accounts import tokens
from accounts.models import ApiToken, Membership
from registry_site import urls as site_urls
from tests.conftest import make_user

# The site's URLs. base.html links to the prompt list, which other pages provide; until
# they do, a stand-in answers that name so these pages can render on their own.
urlpatterns = list(site_urls.urlpatterns)
try:
    reverse("prompt-list", urlconf=site_urls)
except NoReverseMatch:
    urlpatterns.append(
        path("prompts/", lambda request: HttpResponse("prompt list"), name="prompt-list")
    )
handler404 = site_urls.handler404
handler403 = site_urls.handler403

pytestmark = pytest.mark.urls(__name__)

PERSONAS = ["alice", "rita", "ed", "vic"]


def signed_in(people, username: str) -> Client:
    client = Client()
    client.force_login(people[username])
    return client


def roles(team) -> dict[str, str]:
    return dict(Membership.objects.filter(team=team).values_list("user__username", "role"))


def team_url(name: str, *args) -> str:
    return reverse(name, args=["support", *args])


# ---------------------------------------------------------------- overview


def test_anonymous_is_sent_to_sign_in(people):
    for url in [team_url("team"), team_url("team-tokens")]:
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("username", PERSONAS)
def test_every_member_sees_the_team_page(people, username):
    response = signed_in(people, username).get("/teams/support/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "<h1>Support</h1>" in body
    for member in PERSONAS:
        assert member in body
    assert "oscar" not in body and "gina" not in body
    # environments in order with their rules
    assert body.index("Development") < body.index("Staging") < body.index("Production")
    assert 'class="badge protected"' in body
    assert "default</span>" in body
    # links to the audit trail, the team's prompts and one's tokens
    assert 'href="/teams/support/audit/"' in body
    assert 'href="/prompts/?team=support"' in body
    assert f'href="{team_url("team-tokens")}"' in body


def test_environment_badges_follow_the_environments(people):
    from releases.models import Environment

    body = signed_in(people, "vic").get("/teams/support/").content.decode()
    for env in Environment.objects.filter(team=people["support"]):
        assert env.name in body
        if env.required_approvals:
            assert f"{env.required_approvals} approval" in body


@pytest.mark.parametrize("username", ["oscar", "gina"])
def test_someone_outside_the_team_gets_404(people, username):
    client = signed_in(people, username)
    assert client.get("/teams/support/").status_code == 404
    assert client.get(team_url("team-tokens")).status_code == 404
    assert (
        client.post(team_url("team-tokens"), {"name": "x", "scopes": ["read"]}).status_code == 404
    )
    assert client.post(team_url("team-members"), {"username": "gina"}).status_code == 404
    assert not ApiToken.objects.filter(team=people["support"]).exists()


def test_an_unknown_team_is_404(people):
    assert signed_in(people, "alice").get("/teams/nope/").status_code == 404


@pytest.mark.parametrize("username", PERSONAS)
def test_member_management_is_shown_to_admins_only(people, username):
    body = signed_in(people, username).get("/teams/support/").content.decode()
    controls = [
        f'action="{team_url("team-members")}"',
        f'action="{team_url("team-member-role", "vic")}"',
        f'action="{team_url("team-member-remove", "vic")}"',
        "Add a member",
    ]
    for control in controls:
        assert (control in body) is (username == "alice"), control


def test_a_team_name_is_escaped(people, staff):
    team = accounts.create_team(staff, "xss", '<script>alert("team")</script>')
    accounts.set_role(staff, team, "vic", "viewer")
    client = signed_in(people, "vic")
    for url in ["/teams/xss/", reverse("team-tokens", args=["xss"])]:
        body = client.get(url).content.decode()
        assert '<script>alert("team")' not in body
        assert "&lt;script&gt;alert(&quot;team&quot;)&lt;/script&gt;" in body


def test_the_team_page_makes_the_same_queries_whatever_its_size(people):
    client = signed_in(people, "alice")
    client.get("/teams/support/")  # warm the permission cache

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/teams/support/").status_code == 200
        return len(queries)

    small = count()
    for i in range(12):
        make_user(f"member{i}")
        accounts.set_role(people["alice"], people["support"], f"member{i}", "viewer")
    large = count()
    assert large == small, (small, large)
    assert "member11" in client.get("/teams/support/").content.decode()


# ---------------------------------------------------------------- members


def test_an_admin_adds_a_member(people):
    client = signed_in(people, "alice")
    response = client.post(team_url("team-members"), {"username": "gina", "role": "editor"})
    assert response.status_code == 302 and response["Location"] == "/teams/support/"
    assert roles(people["support"])["gina"] == "editor"
    body = client.get(response["Location"]).content.decode()
    assert "gina joined Support as editor." in body
    # the new member sees the team at once
    assert signed_in(people, "gina").get("/teams/support/").status_code == 200


def test_an_admin_changes_a_role(people):
    client = signed_in(people, "alice")
    response = client.post(team_url("team-member-role", "vic"), {"role": "reviewer"}, follow=True)
    assert response.status_code == 200
    assert roles(people["support"])["vic"] == "reviewer"
    assert "vic is now reviewer." in response.content.decode()


def test_an_admin_removes_a_member(people):
    client = signed_in(people, "alice")
    response = client.post(team_url("team-member-remove", "ed"), follow=True)
    assert response.status_code == 200
    assert "ed" not in roles(people["support"])
    assert "ed was removed from Support." in response.content.decode()
    assert signed_in(people, "ed").get("/teams/support/").status_code == 404


@pytest.mark.parametrize("username", ["ed", "vic", "rita"])
def test_a_non_admin_cannot_manage_members(people, username):
    before = roles(people["support"])
    client = signed_in(people, username)
    posts = [
        (team_url("team-members"), {"username": "gina", "role": "admin"}),
        (team_url("team-member-role", username), {"role": "admin"}),
        (team_url("team-member-role", "alice"), {"role": "viewer"}),
        (team_url("team-member-remove", "alice"), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert roles(people["support"]) == before


def test_the_last_admin_cannot_be_demoted_or_removed(people):
    before = roles(people["support"])
    client = signed_in(people, "alice")
    response = client.post(team_url("team-member-role", "alice"), {"role": "editor"}, follow=True)
    assert "A team keeps at least one admin." in response.content.decode()
    assert 'class="message error"' in response.content.decode()
    response = client.post(team_url("team-member-remove", "alice"), follow=True)
    assert "A team keeps at least one admin." in response.content.decode()
    assert roles(people["support"]) == before


def test_an_admin_may_step_down_when_another_admin_remains(people):
    client = signed_in(people, "alice")
    client.post(team_url("team-member-role", "rita"), {"role": "admin"})
    response = client.post(team_url("team-member-role", "alice"), {"role": "viewer"}, follow=True)
    assert roles(people["support"])["alice"] == "viewer"
    body = response.content.decode()
    assert response.status_code == 200 and "Add a member" not in body


def test_an_unknown_username_is_a_form_error(people):
    before = roles(people["support"])
    response = signed_in(people, "alice").post(
        team_url("team-members"), {"username": "nobody", "role": "viewer"}
    )
    assert response.status_code == 200
    assert response.context["add_form"].errors == {"username": ["No user named 'nobody'."]}
    assert "No user named &#x27;nobody&#x27;." in response.content.decode()
    assert roles(people["support"]) == before


def test_adding_an_existing_member_is_a_form_error_and_keeps_their_role(people):
    response = signed_in(people, "alice").post(
        team_url("team-members"), {"username": "rita", "role": "viewer"}
    )
    assert response.status_code == 200
    assert "already a member" in response.context["add_form"].errors["username"][0]
    assert roles(people["support"])["rita"] == "reviewer"


def test_bad_member_input_changes_nothing(people):
    before = roles(people["support"])
    client = signed_in(people, "alice")
    response = client.post(team_url("team-members"), {"username": "gina", "role": "owner"})
    assert response.status_code == 200 and "role" in response.context["add_form"].errors
    response = client.post(team_url("team-member-role", "vic"), {"role": "owner"}, follow=True)
    assert "Choose one of the roles" in response.content.decode()
    assert client.post(team_url("team-member-role", "gina"), {"role": "editor"}).status_code == 404
    assert client.post(team_url("team-member-remove", "oscar")).status_code == 404
    assert client.post(team_url("team-member-remove", "ghost")).status_code == 404
    assert roles(people["support"]) == before


def test_member_changes_need_post_and_a_csrf_token(people):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["alice"])
    assert client.get(team_url("team-members")).status_code == 405
    assert client.get(team_url("team-member-remove", "vic")).status_code == 405
    assert client.post(team_url("team-member-remove", "vic")).status_code == 403
    assert (
        client.post(team_url("team-tokens"), {"name": "x", "scopes": ["read"]}).status_code == 403
    )
    assert "vic" in roles(people["support"])
    assert not ApiToken.objects.exists()


# ---------------------------------------------------------------- tokens


def create_token(client: Client, **data):
    form = {"name": "ci", "scopes": ["read"], "expires_days": "30", **data}
    return client.post(team_url("team-tokens"), form)


def test_a_new_token_is_shown_once(people):
    client = signed_in(people, "ed")
    response = create_token(client, name="ticket-bot", scopes=["read", "deploy"])
    assert response.status_code == 200
    raw = response.context["raw"]
    body = response.content.decode()
    assert raw in body and "shown only this once" in body
    assert "no-store" in response["Cache-Control"]
    user = tokens.authenticate(raw)
    assert user is not None and user.pk == people["ed"].pk
    token = ApiToken.objects.get(user=people["ed"])
    assert token.team == people["support"] and token.name == "ticket-bot"
    assert token.scopes == ["read", "deploy"] and token.expires_at is not None
    # never again: not on the list, not in the session
    listing = client.get(team_url("team-tokens")).content.decode()
    assert raw not in listing
    assert token.prefix in listing and "ticket-bot" in listing
    assert raw.split("_", 2)[2] not in str(dict(client.session.items()))


def test_the_list_shows_only_ones_own_tokens_for_the_team(people):
    mine, _ = tokens.issue(people["ed"], name="mine", team=people["support"])
    elsewhere, _ = tokens.issue(people["ed"], name="everywhere")
    theirs, _ = tokens.issue(people["rita"], name="ritas", team=people["support"])
    body = signed_in(people, "ed").get(team_url("team-tokens")).content.decode()
    assert mine.prefix in body
    assert elsewhere.prefix not in body and theirs.prefix not in body


def test_a_token_without_expiry_never_expires(people):
    response = create_token(signed_in(people, "vic"), expires_days="")
    assert response.status_code == 200 and response.context["raw"]
    assert ApiToken.objects.get(user=people["vic"]).expires_at is None


@pytest.mark.parametrize(
    "data, field",
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["admin"]}, "scopes"),
        ({"expires_days": "0"}, "expires_days"),
        ({"expires_days": "99999"}, "expires_days"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
    ],
)
def test_bad_token_input_is_a_form_error(people, data, field):
    response = create_token(signed_in(people, "ed"), **data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert response.context["raw"] is None
    assert not ApiToken.objects.exists()


def test_revoking_ones_own_token(people):
    client = signed_in(people, "ed")
    raw = create_token(client).context["raw"]
    token = ApiToken.objects.get(user=people["ed"])
    response = client.post(team_url("team-token-revoke", token.pk))
    assert response.status_code == 302 and response["Location"] == team_url("team-tokens")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert tokens.authenticate(raw) is None
    body = client.get(response["Location"]).content.decode()
    assert "is revoked." in body and "revoked " in body


def test_nobody_revokes_someone_elses_token(people):
    theirs, raw = tokens.issue(people["rita"], name="ritas", team=people["support"])
    client = signed_in(people, "ed")
    assert client.post(team_url("team-token-revoke", theirs.pk)).status_code == 404
    assert client.post(team_url("team-token-revoke", 999999)).status_code == 404
    # nor one's own token through the page of a team it is not for
    own, _ = tokens.issue(people["ed"], name="everywhere")
    assert client.post(team_url("team-token-revoke", own.pk)).status_code == 404
    theirs.refresh_from_db()
    own.refresh_from_db()
    assert theirs.revoked_at is None and own.revoked_at is None
    assert tokens.authenticate(raw).pk == people["rita"].pk
