"""The client against the real registry, served by pytest-django's live_server."""

import pytest
from prompt_registry_client import MissingVariables, NotFound, RegistryClient, Unauthorized

from accounts.tokens import issue
from prompts import services
from tests.client.fakes import closed_port

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "support/ticket-classifier"


@pytest.fixture
def token(people):
    """A read-only token for vic, the support viewer: all a service needs."""
    _, raw = issue(people["vic"], scopes=["read"])
    return raw


def test_get_caches_then_revalidates_and_sees_a_new_deployment(live_server, prompt, token, people):
    client = RegistryClient(base_url=live_server.url, token=token, ttl=60)
    first = client.get(ADDRESS, environment="development")
    second = client.get(ADDRESS, environment="development")

    assert (first.source, second.source) == ("network", "cache")
    assert client.request_count == 1
    assert (first.team, first.slug, first.kind, first.version, first.environment) == (
        "support",
        "ticket-classifier",
        "text",
        1,
        "development",
    )
    assert first.template == "Classify: {{ ticket_text }} for {{ product }}"
    assert {v["name"]: v["required"] for v in first.variables} == {
        "product": False,
        "ticket_text": True,
    }
    assert first.content_hash
    assert first.render(ticket_text="printer on fire") == "Classify: printer on fire for Acme"

    eager = RegistryClient(base_url=live_server.url, token=token, ttl=0, stale_ttl=0)
    assert eager.get(ADDRESS, environment="development").source == "network"
    revalidated = eager.get(ADDRESS, environment="development")
    assert (revalidated.source, revalidated.version) == ("revalidated", 1)
    assert eager.request_count == 2

    services.add_version(
        people["ed"], prompt, template="v2 {{ ticket_text }}", deploy_to="development"
    )
    deployed = eager.get(ADDRESS, environment="development")
    assert (deployed.source, deployed.version, deployed.template) == (
        "network",
        2,
        "v2 {{ ticket_text }}",
    )
    assert deployed.content_hash != first.content_hash
    assert eager.get(ADDRESS, environment="development").source == "revalidated"


def test_selectors_and_errors(live_server, prompt, token):
    client = RegistryClient(base_url=live_server.url, token=token)
    assert client.get(ADDRESS, version=1).version == 1
    assert client.get(ADDRESS, label="latest").version == 1

    with pytest.raises(NotFound) as not_deployed:
        client.get(ADDRESS)  # the default environment, production, has nothing live
    assert (not_deployed.value.status, not_deployed.value.code) == (404, "not_deployed")
    with pytest.raises(NotFound) as not_found:
        client.get("support/no-such-prompt", environment="development")
    assert not_found.value.code == "not_found"
    with pytest.raises(Unauthorized):
        RegistryClient(base_url=live_server.url, token="preg_bad_token").get(
            ADDRESS, environment="development"
        )


def test_server_side_render(live_server, prompt, token):
    client = RegistryClient(base_url=live_server.url, token=token)

    answer = client.render(ADDRESS, {"ticket_text": "hi"}, environment="development")
    assert answer == {
        "rendered": "Classify: hi for Acme",
        "version": 1,
        "environment": "development",
    }

    with pytest.raises(MissingVariables) as missing:
        client.render(ADDRESS, {"product": "Zed"}, environment="development")
    assert missing.value.missing == ["ticket_text"] and missing.value.status == 400


def test_fallback_and_stale_copy_when_the_registry_is_down(live_server, prompt, token):
    down = f"http://127.0.0.1:{closed_port()}"
    cold = RegistryClient(
        base_url=down, token=token, fallbacks={ADDRESS: "Classify: {{ ticket_text }}"}
    )
    fallback = cold.get(ADDRESS, environment="development")
    assert fallback.is_fallback and fallback.source == "fallback"
    assert fallback.render(ticket_text="hi") == "Classify: hi"

    warm = RegistryClient(
        base_url=live_server.url,
        token=token,
        ttl=0,
        stale_ttl=0,
        fallbacks={ADDRESS: "Classify: {{ ticket_text }}"},
    )
    fetched = warm.get(ADDRESS, environment="development")
    warm.base_url = down
    stale = warm.get(ADDRESS, environment="development")
    assert (stale.source, stale.is_fallback) == ("stale", False)
    assert (stale.version, stale.content_hash) == (fetched.version, fetched.content_hash)
    assert stale.render(ticket_text="hi") == "Classify: hi for Acme"


def test_a_chat_prompt_renders_the_same_locally_and_on_the_server(live_server, people, token):
    services.create_prompt(
        people["ed"],
        people["support"],
        name="Reply",
        slug="reply",
        deploy_to="development",
        messages=[
            {"role": "system", "content": "You answer for {{ product }}."},
            {"role": "user", "content": "{{ question }}"},
        ],
        variables=[{"name": "product", "default": "Acme"}],
        config={"model": "small"},
    )
    client = RegistryClient(base_url=live_server.url, token=token)

    chat = client.get("support/reply", environment="development")
    served = client.render("support/reply", {"question": "Why?"}, environment="development")

    assert (chat.kind, chat.template, chat.config) == ("chat", "", {"model": "small"})
    assert (
        served["messages"]
        == chat.render(question="Why?")
        == [
            {"role": "system", "content": "You answer for Acme."},
            {"role": "user", "content": "Why?"},
        ]
    )


def test_get_answers_the_composed_prompt_and_what_it_is_made_of(live_server, people, token):
    services.create_prompt(
        people["ed"], people["support"], name="Tone", slug="tone", template="Be kind.",
        deploy_to="development",
    )  # fmt: skip
    services.create_prompt(
        people["ed"], people["support"], name="Reply", slug="reply",
        template='{% include "support/tone" %} Answer {{ question }}.', deploy_to="development",
    )  # fmt: skip
    client = RegistryClient(base_url=live_server.url, token=token, ttl=60)
    reply = client.get("support/reply", environment="development")
    assert reply.template == "Be kind. Answer {{ question }}."
    assert reply.dependencies == [
        {"address": "support/tone", "version": 1, "environment": "development"}
    ]
    assert reply.render(question="why") == "Be kind. Answer why."
