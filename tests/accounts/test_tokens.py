"""Tokens: hashed, scoped, limited to a team, expiring, revocable, issued from the shell."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import tokens
from accounts.models import ApiToken
from registry_site.errors import Forbidden, Invalid

P = "/api/v1/prompts/support/ticket-classifier"


def client(raw: str) -> APIClient:
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return c


def test_only_a_prefix_and_a_digest_are_stored(people):
    token, raw = tokens.issue(people["ed"])
    row = ApiToken.objects.get(pk=token.pk)
    assert raw.startswith(f"preg_{row.prefix}_")
    assert raw not in (row.digest, row.prefix) and len(row.digest) == 64
    assert raw.split("_", 2)[2] not in str(ApiToken.objects.values().get(pk=token.pk))


def test_every_issued_token_authenticates_whatever_its_characters(people):
    # Secrets are URL-safe base64 and often hold "_" or "-".
    for _ in range(40):
        _, raw = tokens.issue(people["ed"])
        assert tokens.authenticate(raw).pk == people["ed"].pk


def test_a_wrong_secret_with_a_real_prefix_is_refused(people):
    _, raw = tokens.issue(people["ed"])
    assert tokens.authenticate(raw[:-3] + ("aaa" if raw[-3:] != "aaa" else "bbb")) is None


def test_revoking_takes_effect_at_once_even_when_cached(people, prompt):
    token, raw = tokens.issue(people["vic"])
    assert client(raw).get(P).status_code == 200
    tokens.revoke(people["vic"], token.pk)
    assert client(raw).get(P).status_code == 401


def test_nobody_revokes_someone_elses_token(people):
    from registry_site.errors import NotFound

    token, _ = tokens.issue(people["vic"])
    with pytest.raises(NotFound):
        tokens.revoke(people["ed"], token.pk)


def test_an_expired_token_is_refused(people, prompt):
    token, raw = tokens.issue(people["vic"], expires_days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client(raw).get(P).status_code == 401


def test_a_deactivated_user_loses_their_tokens(people, prompt):
    _, raw = tokens.issue(people["vic"])
    assert client(raw).get(P).status_code == 200
    people["vic"].is_active = False
    people["vic"].save()
    assert client(raw).get(P).status_code == 401


def test_a_team_token_sees_only_its_team(people, prompt, billing_prompt):
    from accounts import services as accounts

    accounts.set_role(people["oscar"], people["billing"], "ed", "viewer")
    _, raw = tokens.issue(people["ed"], team=people["support"])
    listed = client(raw).get("/api/v1/prompts").json()["results"]
    assert {p["team"] for p in listed} == {"support"}
    assert client(raw).get("/api/v1/prompts/billing/invoice-reminder").status_code == 404
    _, wide = tokens.issue(people["ed"])
    assert client(wide).get("/api/v1/prompts/billing/invoice-reminder").status_code == 200


def test_a_token_never_has_more_rights_than_its_user(people, prompt):
    _, raw = tokens.issue(people["vic"])  # all scopes, but vic is a viewer
    response = client(raw).post(f"{P}/versions", {"template": "x"}, format="json")
    assert response.status_code == 403


def test_a_read_token_cannot_write_or_mint_wider_tokens(people, prompt):
    _, raw = tokens.issue(people["alice"], scopes=["read"])
    assert client(raw).patch(P, {"description": "x"}, format="json").status_code == 403
    assert client(raw).post("/api/v1/tokens", {}, format="json").status_code == 403
    with pytest.raises(Forbidden):
        tokens.issue(tokens.authenticate(raw), scopes=["write"])


def test_a_token_mints_only_tokens_within_its_scopes(people):
    _, raw = tokens.issue(people["alice"], scopes=["read", "write", "tokens"])
    wider = {"scopes": ["read", "write", "deploy"]}
    assert client(raw).post("/api/v1/tokens", wider, format="json").status_code == 403
    made = client(raw).post("/api/v1/tokens", {}, format="json").json()
    assert made["scopes"] == ["read", "write"]


@pytest.mark.parametrize(
    "options",
    [
        {"scopes": ["admin"]},
        {"scopes": "read"},
        {"expires_days": 0},
        {"expires_days": "x"},
        {"name": "x" * 101},
    ],
)
def test_bad_token_options_are_refused(people, options):
    with pytest.raises(Invalid):
        tokens.issue(people["ed"], **options)


def test_the_tokens_endpoint_shows_the_raw_value_once(as_user, people):
    alice = as_user("alice", scopes=["read", "write", "deploy", "tokens"])
    made = alice.post(
        "/api/v1/tokens",
        {"name": "ci", "scopes": ["read"], "team": "support", "expires_days": 30},
        format="json",
    )
    assert made.status_code == 201
    body = made.json()
    assert body["token"].startswith("preg_") and body["team"] == "support"
    listed = alice.get("/api/v1/tokens").json()
    assert all("token" not in t for t in listed)
    assert alice.delete(f"/api/v1/tokens/{body['id']}").status_code == 204
    assert client(body["token"]).get("/api/v1/prompts").status_code == 401


def test_issue_token_prints_the_raw_token_on_its_last_line(people, prompt):
    out = StringIO()
    call_command(
        "issue_token",
        "vic",
        "--team",
        "support",
        "--scope",
        "read",
        "--expires-days",
        "7",
        stdout=out,
    )
    raw = out.getvalue().strip().splitlines()[-1]
    assert client(raw).get(P).status_code == 200
    token = ApiToken.objects.get(prefix=raw.split("_")[1])
    assert (token.scopes, token.team.slug) == (["read"], "support")
    assert client(raw).patch(P, {"description": "x"}, format="json").status_code == 403


def test_issue_token_defaults_to_every_scope(people):
    out = StringIO()
    call_command("issue_token", "ed", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    assert ApiToken.objects.get(prefix=raw.split("_")[1]).scopes == ["read", "write", "deploy"]


@pytest.mark.parametrize(
    "args", [["nobody"], ["ed", "--team", "nope"], ["ed", "--expires-days", "0"]]
)
def test_issue_token_fails_clearly(people, args):
    with pytest.raises(CommandError):
        call_command("issue_token", *args, stdout=StringIO())


def test_last_used_is_written_at_most_once_a_minute(people, prompt):
    token, raw = tokens.issue(people["vic"])
    client(raw).get(P)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    client(raw).get(P)
    assert first is not None and ApiToken.objects.get(pk=token.pk).last_used_at == first
