"""Connections may only point where the outbound policy allows: loopback, private,
link-local and IPv6 loopback addresses (and names that resolve to them) are refused
when saved and again when called; redirects are never followed (test_providers)."""

from __future__ import annotations

import pytest

from runs import services as runs
from runs.models import Connection
from tests.runs.conftest import OPENAI_KEY

C = "/api/v1/teams/support/connections"


@pytest.fixture
def closed(settings):
    """The policy as shipped: no network let through."""
    settings.OUTBOUND_ALLOWED_NETWORKS = []


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8000/v1",  # loopback
        "http://localhost:11434/v1",  # a name that resolves to loopback
        "http://10.1.2.3/v1",  # private
        "http://192.168.0.10:8000/v1",
        "http://172.16.5.4/v1",
        "http://169.254.169.254/latest",  # link-local: cloud metadata
        "http://[::1]:8000/v1",  # IPv6 loopback
        "http://[fe80::1]/v1",  # IPv6 link-local
        "http://[::ffff:127.0.0.1]/v1",  # IPv4-mapped loopback
        "http://0.0.0.0:8000/v1",  # unspecified
        "http://224.0.0.1/v1",  # multicast
    ],
)
def test_internal_addresses_are_refused_when_saved(closed, as_user, base_url):
    answer = as_user("alice").post(
        C,
        {"name": "local", "provider": "openai", "base_url": base_url, "api_key": OPENAI_KEY},
        format="json",
    )

    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"] == "invalid"
    assert answer.json()["error"]["details"] == {"field": "base_url"}
    assert not Connection.objects.exists()


def test_a_patch_to_an_internal_address_is_refused(as_user, openai_connection, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    answer = as_user("alice").patch(
        f"{C}/openai", {"base_url": "http://169.254.169.254/"}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["details"] == {"field": "base_url"}


def test_an_allowed_network_lets_a_self_hosted_model_through(as_user, openai_fake, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    answer = as_user("alice").post(
        C,
        {
            "name": "local",
            "provider": "openai",
            "base_url": openai_fake.base_url,
            "api_key": OPENAI_KEY,
        },
        format="json",
    )
    assert answer.status_code == 201


def test_the_address_is_checked_again_when_a_run_calls_it(
    settings, people, prompt, openai_fake, openai_connection
):
    settings.OUTBOUND_ALLOWED_NETWORKS = []  # the allowance was withdrawn after saving

    with pytest.raises(runs.ProviderFailed) as failed:
        runs.run_prompt(people["ed"], prompt, connection="openai", variables={"ticket_text": "x"})

    assert "refused" in failed.value.details["message"]
    assert openai_fake.requests == []
