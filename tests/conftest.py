"""Shared fixtures: two teams and a person for every role.

alice is admin of "support", rita its reviewer, ed its editor, vic its viewer;
oscar is an outsider (admin of "billing", which holds data support must never see);
gina is granted one support prompt only.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache as django_cache
from django.core.cache import caches
from rest_framework.test import APIClient

from accounts import permissions, tokens
from accounts import services as accounts
from prompts import cache as prompt_cache
from prompts import services
from registry_site import throttling
from serving import usage


@pytest.fixture(autouse=True)
def _fast_and_clean(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Sign-in throttling is tested on its own (tests/accounts/test_login_throttling.py);
    # elsewhere tests sign in as often as they like.
    settings.AXES_ENABLED = False
    django_cache.clear()
    caches["throttle"].clear()
    throttling.windows.clear()
    prompt_cache.payloads.clear()
    prompt_cache.pointers.clear()
    permissions._held.clear()
    tokens._owners.clear()
    usage.discard()
    yield
    prompt_cache.payloads.clear()
    usage.discard()


def make_user(username: str, **extra):
    return get_user_model().objects.create_user(
        username=username, password="pw-" + username, email=f"{username}@example.com", **extra
    )


@pytest.fixture
def staff(db):
    return make_user("stella", is_staff=True)


@pytest.fixture
def people(db, staff):
    """Every persona, with two teams and their default environments."""
    alice = make_user("alice")
    oscar = make_user("oscar")
    support = accounts.create_team(staff, "support", "Support")
    billing = accounts.create_team(staff, "billing", "Billing")
    accounts.set_role(staff, support, "alice", "admin")
    accounts.set_role(staff, billing, "oscar", "admin")
    accounts.remove_member(alice, support, "stella")
    accounts.remove_member(oscar, billing, "stella")
    for name, role in [("rita", "reviewer"), ("ed", "editor"), ("vic", "viewer")]:
        make_user(name)
        accounts.set_role(alice, support, name, role)
    make_user("gina")
    users = {u.username: u for u in get_user_model().objects.all()}
    return {**users, "support": support, "billing": billing}


@pytest.fixture
def prompt(people):
    """support/ticket-classifier, version 1, live in development."""
    return services.create_prompt(
        people["ed"],
        people["support"],
        name="Ticket classifier",
        slug="ticket-classifier",
        description="Sorts tickets",
        tags=["triage"],
        template="Classify: {{ ticket_text }} for {{ product }}",
        variables=[{"name": "product", "default": "Acme"}],
        change_note="first",
        deploy_to="development",
    )


@pytest.fixture
def billing_prompt(people):
    return services.create_prompt(
        people["oscar"],
        people["billing"],
        name="Invoice reminder",
        slug="invoice-reminder",
        template="Dear {{ customer }}, secret billing text",
        change_note="first",
    )


def client_with(raw: str | None) -> APIClient:
    client = APIClient()
    if raw is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def token_of(people):
    def make(username: str, **options) -> str:
        return tokens.issue(people[username], **options)[1]

    return make


@pytest.fixture
def as_user(token_of):
    """as_user("ed") -> an API client acting with a full token of ed."""
    return lambda username, **options: client_with(token_of(username, **options))
