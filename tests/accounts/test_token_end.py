"""A token ends at once when its user is deleted, deactivated or it is revoked: from
the admin, the shell or anywhere, and also when that happens while a request holds
the token's cached entry and is about to write it back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client
from django.utils import timezone

from accounts import tokens
from accounts.models import ApiToken
from tests.conftest import client_with

P = "/api/v1/prompts/support/ticket-classifier"


class InterleavingCache(LocMemCache):
    """A cache that lets a test act right after a request has read a token's entry:
    what another server process would do at that instant."""

    after_token_read: Callable[[], None] | None = None

    def get(self, key, default=None, version=None):
        value = super().get(key, default, version)
        hook = type(self).after_token_read
        if key.startswith("tok:") and value is not None and hook is not None:
            type(self).after_token_read = None
            hook()
        return value


@pytest.fixture
def interleaving_cache(settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "tests.accounts.test_token_end.InterleavingCache",
            "LOCATION": "interleaving",
        },
    }
    yield InterleavingCache
    InterleavingCache.after_token_read = None
    cache.clear()


def _write(client):
    return client.post(f"{P}/versions", {"template": "v2 {{ x }}"}, format="json")


def test_deleting_a_user_in_the_admin_cuts_their_tokens_at_once(people, prompt):
    _, raw = tokens.issue(people["rita"])
    service = client_with(raw)
    assert service.get(P).status_code == 200  # cached now
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    admin = Client()
    admin.force_login(root)
    page = f"/admin/auth/user/{people['rita'].pk}/delete/"
    answer = admin.post(page, {"post": "yes"})
    assert answer.status_code == 302, answer.content.decode()[-3000:]
    assert not get_user_model().objects.filter(username="rita").exists()
    assert service.get(P).status_code == 401
    assert _write(service).status_code == 401


def test_deleting_a_user_from_the_shell_cuts_their_tokens_at_once(people, prompt):
    _, raw = tokens.issue(people["rita"])
    service = client_with(raw)
    assert service.get(P).status_code == 200
    get_user_model().objects.filter(username="rita").delete()
    assert _write(service).status_code == 401
    assert service.get(P).status_code == 401


def _deactivate(people):
    people["rita"].is_active = False
    people["rita"].save()


def _revoke(people):
    tokens.revoke(people["rita"], ApiToken.objects.get(user=people["rita"]).pk)


def _delete(people):
    people["rita"].delete()


@pytest.mark.parametrize("end", [_delete, _deactivate, _revoke], ids=lambda f: f.__name__[1:])
def test_writing_back_the_entry_after_touching_never_brings_the_token_back(
    interleaving_cache, people, prompt, end
):
    _, raw = tokens.issue(people["rita"])
    service = client_with(raw)
    assert service.get(P).status_code == 200
    # A minute and more later the next request writes down the use, and the entry again.
    key = f"tok:{raw.split('_')[1]}"
    identity = cache.get(key)
    identity.last_used_at = timezone.now() - timedelta(minutes=2)
    cache.set(key, identity)
    # Between that request's read of the entry and its write, the token ends elsewhere.
    interleaving_cache.after_token_read = lambda: end(people)
    assert service.get(P).status_code == 401
    assert cache.get(key) is None
    assert service.get(P).status_code == 401
    assert _write(service).status_code == 401


def test_a_token_in_steady_use_keeps_working_and_is_touched(people, prompt):
    token, raw = tokens.issue(people["rita"])
    service = client_with(raw)
    assert service.get(P).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=None)
    key = f"tok:{token.prefix}"
    identity = cache.get(key)
    identity.last_used_at = timezone.now() - timedelta(minutes=2)
    cache.set(key, identity)
    assert service.get(P).status_code == 200
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None
    assert cache.get(key) is not None
