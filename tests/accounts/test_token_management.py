"""Managing tokens through a token: only with the tokens scope, within the calling
token's team, never outranking or outliving it. Sessions manage all their own."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from accounts import tokens
from accounts.models import ApiToken
from tests.conftest import client_with

T = "/api/v1/tokens"


@pytest.fixture
def alices(people):
    """alice's tokens: one per team (support, billing) and one for every team."""
    from accounts import services as accounts

    accounts.set_role(people["oscar"], people["billing"], "alice", "viewer")
    alice = people["alice"]
    return {
        "support": tokens.issue(alice, team=people["support"], scopes=["read"])[0],
        "billing": tokens.issue(alice, team=people["billing"], scopes=["read"])[0],
        "any": tokens.issue(alice, scopes=["read", "write", "deploy"])[0],
    }


def as_token(people, **options):
    return client_with(tokens.issue(people["alice"], **options)[1])


def reason(response) -> str:
    return response.json()["error"]["details"]["reason"]


def test_the_tokens_scope_is_never_a_default(people):
    token, _ = tokens.issue(people["alice"])
    assert token.scopes == ["read", "write", "deploy"]
    out = StringIO()
    call_command("issue_token", "alice", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert "tokens" not in ApiToken.objects.get(prefix=raw.split("_")[1]).scopes


def test_issue_token_gives_the_tokens_scope_when_named(people):
    out = StringIO()
    call_command("issue_token", "alice", "--scope", "read", "--scope", "tokens", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert ApiToken.objects.get(prefix=raw.split("_")[1]).scopes == ["read", "tokens"]


@pytest.mark.parametrize("scopes", [["read"], ["read", "write", "deploy"]])
def test_a_token_without_the_tokens_scope_manages_no_tokens(people, alices, scopes):
    caller = as_token(people, scopes=scopes)
    for response in [
        caller.get(T),
        caller.post(T, {"scopes": ["read"]}, format="json"),
        caller.delete(f"{T}/{alices['billing'].pk}"),
    ]:
        assert response.status_code == 403
        assert reason(response) == "tokens_scope"
    assert ApiToken.objects.get(pk=alices["billing"].pk).revoked_at is None


def test_a_team_token_lists_and_revokes_only_its_teams_tokens(people, alices):
    caller = as_token(people, team=people["support"], scopes=["read", "tokens"])
    listed = caller.get(T).json()
    assert {t["team"] for t in listed} == {"support"}
    assert alices["billing"].pk not in [t["id"] for t in listed]
    assert caller.delete(f"{T}/{alices['billing'].pk}").status_code == 404
    assert caller.delete(f"{T}/{alices['any'].pk}").status_code == 404
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 0
    assert caller.delete(f"{T}/{alices['support'].pk}").status_code == 204


def test_a_token_without_a_team_manages_all_its_owners_tokens_with_the_scope(people, alices):
    caller = as_token(people, scopes=["read", "write", "deploy", "tokens"])
    listed = {t["id"] for t in caller.get(T).json()}
    assert {t.pk for t in alices.values()} <= listed
    assert caller.delete(f"{T}/{alices['billing'].pk}").status_code == 204


def test_a_token_never_revokes_a_token_with_more_scopes(people, alices):
    caller = as_token(people, scopes=["read", "tokens"])
    refused = caller.delete(f"{T}/{alices['any'].pk}")
    assert refused.status_code == 403 and reason(refused) == "token_scopes"
    assert ApiToken.objects.get(pk=alices["any"].pk).revoked_at is None


def test_nobody_reaches_someone_elses_token_through_a_token(people):
    vics, _ = tokens.issue(people["vic"], scopes=["read"])
    caller = as_token(people, scopes=["read", "write", "deploy", "tokens"])
    assert vics.pk not in [t["id"] for t in caller.get(T).json()]
    assert caller.delete(f"{T}/{vics.pk}").status_code == 404


@pytest.mark.parametrize(
    "body, status, why",
    [
        ({"scopes": ["read", "write"], "team": "support"}, 403, "token_scopes"),
        ({"scopes": ["read", "tokens", "deploy"], "team": "support"}, 403, "token_scopes"),
        ({"scopes": ["read"]}, 403, "token_team"),  # a team token makes no token for every team
        ({"scopes": ["read"], "team": "support", "expires_days": 30}, 403, "token_expiry"),
        # another team is out of its sight altogether, though alice belongs to it
        ({"scopes": ["read"], "team": "billing"}, 404, None),
    ],
)
def test_a_token_never_creates_a_token_that_outranks_or_outlives_it(
    people, alices, body, status, why
):
    caller = as_token(people, team=people["support"], scopes=["read", "tokens"], expires_days=1)
    before = ApiToken.objects.count()
    refused = caller.post(T, body, format="json")
    assert refused.status_code == status, refused.content
    assert why is None or reason(refused) == why
    assert ApiToken.objects.count() == before


def test_a_token_that_expires_tomorrow_creates_tokens_that_expire_with_it(people):
    creator, raw = tokens.issue(people["alice"], scopes=["read", "tokens"], expires_days=1)
    made = client_with(raw).post(T, {"name": "child"}, format="json")
    assert made.status_code == 201, made.content
    child = ApiToken.objects.get(pk=made.json()["id"])
    assert child.scopes == ["read"]  # the defaults it holds; tokens only when named
    assert child.expires_at is not None and child.expires_at <= creator.expires_at
    never = client_with(raw).post(T, {"scopes": ["read"], "expires_days": 3650}, format="json")
    assert never.status_code == 403 and reason(never) == "token_expiry"


def test_a_token_creates_a_narrower_token_within_its_team(people):
    _, raw = tokens.issue(
        people["alice"], team=people["support"], scopes=["read", "write", "tokens"]
    )
    made = client_with(raw).post(
        T, {"scopes": ["read"], "team": "support", "expires_days": 7}, format="json"
    )
    assert made.status_code == 201
    assert (made.json()["team"], made.json()["scopes"]) == ("support", ["read"])


def test_a_session_still_manages_all_its_own_tokens(people, alices):
    session = Client()
    session.force_login(people["alice"])
    listed = {t["id"] for t in session.get(T).json()}
    assert {t.pk for t in alices.values()} <= listed
    assert session.delete(f"{T}/{alices['any'].pk}").status_code == 204
    made = session.post(T, {"scopes": ["read", "tokens"]}, content_type="application/json")
    assert made.status_code == 201 and made.json()["expires_at"] is None
