"""Every kind of caller of the permission matrix."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import services as accounts
from accounts import tokens
from accounts.models import ApiToken
from tests.conftest import client_with, make_user


@pytest.fixture
def callers(people, prompt, token_of):
    """Every kind of caller of the permission matrix."""
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "editor")
    expired = token_of("alice")
    ApiToken.objects.filter(prefix=expired.split("_")[1]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    revoked = token_of("alice")
    tokens.revoke(people["alice"], ApiToken.objects.get(prefix=revoked.split("_")[1]).pk)
    return {
        "deleted_user": token_of_a_deleted_user(people),
        "anonymous": client_with(None),
        "bad_token": client_with("preg_000000000000_notarealsecret"),
        "expired_token": client_with(expired),
        "revoked_token": client_with(revoked),
        "read_token": client_with(token_of("alice", scopes=["read"])),
        "viewer": client_with(token_of("vic")),
        "editor": client_with(token_of("ed")),
        "reviewer": client_with(token_of("rita")),
        "admin": client_with(token_of("alice")),
        "outsider": client_with(token_of("oscar")),
        "grant": client_with(token_of("gina")),
    }


def token_of_a_deleted_user(people):
    """A client with the token of an editor of support who was deleted after using it."""
    dora = make_user("dora")
    accounts.set_role(people["alice"], people["support"], "dora", "editor")
    client = client_with(tokens.issue(dora)[1])
    assert client.get("/api/v1/teams").status_code == 200  # its entry is cached now
    dora.delete()
    return client
