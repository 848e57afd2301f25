"""The client against a fake registry: caching, revalidation, outages and error mapping."""

import threading
import time

import pytest
from prompt_registry_client import (
    Forbidden,
    MissingVariables,
    NotFound,
    Prompt,
    RegistryClient,
    RegistryError,
    Throttled,
    Unauthorized,
    Unavailable,
    __version__,
)

from tests.client.fakes import closed_port, payload, wait_until

ADDRESS = "support/ticket-classifier"


def make_client(url, clock=None, **options):
    options.setdefault("ttl", 60)
    if clock is not None:
        options["clock"] = clock
    return RegistryClient(base_url=url, token="preg_abc_secret", **options)


def error_body(code, message="nope", **details):
    return {"error": {"code": code, "message": message, "details": details}}


# ------------------------------------------------------------------ caching


def test_first_get_hits_the_network_then_a_fresh_hit_makes_no_request(registry, clock):
    client = make_client(registry.url, clock)

    first = client.get(ADDRESS, environment="production")
    clock.advance(59)
    second = client.get(ADDRESS, environment="production")

    assert first.source == "network" and second.source == "cache"
    assert (second.version, second.template, second.content_hash) == (
        1,
        "Classify: {{ ticket_text }} for {{ product }}",
        "hash1",
    )
    assert second.config == {"model": "small", "temperature": 0}
    assert len(registry.requests) == 1 and client.request_count == 1
    sent = registry.requests[0]
    assert sent["path"] == (
        "/api/v1/prompts/support/ticket-classifier/resolve?environment=production"
    )
    assert sent["headers"]["Authorization"] == "Bearer preg_abc_secret"
    assert sent["headers"]["User-Agent"] == f"prompt-registry-client/{__version__}"
    assert "If-None-Match" not in sent["headers"]


def test_each_selector_is_cached_on_its_own(registry, clock):
    client = make_client(registry.url, clock)
    client.get(ADDRESS, environment="production")
    client.get(ADDRESS, version=1)
    client.get(ADDRESS, label="latest")
    client.get(ADDRESS)
    client.get(ADDRESS, version=1)

    assert [r["path"].partition("?")[2] for r in registry.requests] == [
        "environment=production",
        "version=1",
        "label=latest",
        "",
    ]


def test_after_ttl_it_revalidates_with_if_none_match_and_reuses_on_304(registry, clock):
    client = make_client(registry.url, clock, ttl=10, stale_ttl=0)
    client.get(ADDRESS, environment="production")

    clock.advance(11)
    revalidated = client.get(ADDRESS, environment="production")
    again = client.get(ADDRESS, environment="production")

    assert revalidated.source == "revalidated" and revalidated.version == 1
    assert registry.requests[1]["headers"]["If-None-Match"] == '"hash1"'
    assert again.source == "cache", "a 304 makes the copy fresh again"
    assert len(registry.requests) == 2

    registry.prompt = payload(version=2, template="v2 {{ ticket_text }}")
    clock.advance(11)
    changed = client.get(ADDRESS, environment="production")
    assert (changed.source, changed.version, changed.template) == (
        "network",
        2,
        "v2 {{ ticket_text }}",
    )


def test_stale_while_revalidate_answers_at_once_and_refreshes_in_the_background(registry, clock):
    client = make_client(registry.url, clock, ttl=10, stale_ttl=600)
    client.get(ADDRESS, environment="production")
    registry.prompt = payload(version=2)
    registry.delay = 0.5  # a slow registry must not slow the caller down
    clock.advance(11)

    started = time.monotonic()
    answers = []
    callers = [
        threading.Thread(
            target=lambda: answers.append(client.get(ADDRESS, environment="production"))
        )
        for _ in range(10)
    ]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join()

    assert time.monotonic() - started < 0.4
    assert {(p.source, p.version) for p in answers} == {("stale", 1)}
    wait_until(lambda: client.get(ADDRESS, environment="production").version == 2)
    assert client.get(ADDRESS, environment="production").source == "cache"
    assert len(registry.requests) == 2, "at most one refresh per key at a time"
    assert registry.requests[1]["headers"]["If-None-Match"] == '"hash1"'


def test_past_stale_ttl_the_caller_waits_for_revalidation(registry, clock):
    client = make_client(registry.url, clock, ttl=10, stale_ttl=100)
    client.get(ADDRESS)
    clock.advance(111)
    assert client.get(ADDRESS).source == "revalidated"


# ------------------------------------------------------------------ outages


@pytest.mark.parametrize("outage", ["stopped", "503", "timeout"])
def test_an_unreachable_registry_serves_the_cached_copy(registry, clock, outage):
    client = make_client(registry.url, clock, ttl=10, stale_ttl=0, timeout=0.3)
    client.get(ADDRESS, environment="production")
    if outage == "stopped":
        registry.stop()
    elif outage == "503":
        registry.reply = (503, error_body("unavailable"), {})
    else:
        registry.delay = 2
    clock.advance(3600)

    stale = client.get(ADDRESS, environment="production")

    assert (stale.source, stale.version, stale.is_fallback) == ("stale", 1, False)
    assert stale.render(ticket_text="hi") == "Classify: hi for Acme"


def test_unreachable_without_a_cached_copy_uses_the_fallback(clock):
    client = make_client(
        f"http://127.0.0.1:{closed_port()}",
        clock,
        fallbacks={ADDRESS: "Classify: {{ ticket_text }} ({{ lang }})"},
    )

    prompt = client.get(ADDRESS, environment="production")

    assert prompt.is_fallback and prompt.source == "fallback"
    assert (prompt.version, prompt.environment) == (None, "production")
    assert prompt.render(ticket_text="hi", lang="en") == "Classify: hi (en)"
    with pytest.raises(MissingVariables) as missing:
        prompt.render()
    assert missing.value.missing == ["ticket_text", "lang"]
    assert missing.value.status is None, "rendered locally, no HTTP involved"


def test_a_fallback_can_declare_defaults_and_config(clock):
    client = make_client(
        f"http://127.0.0.1:{closed_port()}",
        clock,
        fallbacks={
            ADDRESS: {
                "template": "{{ greeting }}, {{ name }}! {{ tone }}",
                "variables": [
                    {"name": "greeting", "default": "Hello"},
                    {"name": "tone", "required": False},
                ],
                "config": {"model": "small"},
            }
        },
    )

    prompt = client.get(ADDRESS)

    assert prompt.config == {"model": "small"}
    assert prompt.render(name="Vic") == "Hello, Vic! "
    with pytest.raises(MissingVariables) as missing:
        prompt.render({"greeting": "Hi"})
    assert missing.value.missing == ["name"]


def test_unreachable_without_cache_or_fallback_raises_unavailable(clock):
    client = make_client(
        f"http://127.0.0.1:{closed_port()}", clock, fallbacks={"support/other": "x"}
    )
    with pytest.raises(Unavailable) as raised:
        client.get(ADDRESS)
    assert raised.value.code == "unavailable" and raised.value.status is None
    assert isinstance(raised.value, RegistryError)


def test_after_a_failure_it_waits_backoff_seconds_before_asking_again(registry, clock):
    client = make_client(registry.url, clock, backoff=5, fallbacks={ADDRESS: "fb"})
    registry.reply = (500, error_body("error"), {})

    assert client.get(ADDRESS).is_fallback
    assert client.get(ADDRESS).is_fallback
    assert len(registry.requests) == 1, "an outage must not cost a timeout per call"

    registry.reply = None
    clock.advance(6)
    assert client.get(ADDRESS).source == "network"


def test_throttled_with_a_cached_copy_serves_it_and_honours_retry_after(registry, clock):
    client = make_client(registry.url, clock, ttl=10, stale_ttl=0, backoff=1)
    client.get(ADDRESS)
    registry.reply = (429, error_body("throttled"), {"Retry-After": "30"})
    clock.advance(11)

    assert client.get(ADDRESS).source == "stale"
    clock.advance(20)
    assert client.get(ADDRESS).source == "stale"
    assert len(registry.requests) == 2, "no request before Retry-After has passed"


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "code"),
    [
        (404, error_body("not_deployed"), {}, NotFound, "not_deployed"),
        (404, error_body("not_found"), {}, NotFound, "not_found"),
        (401, error_body("unauthenticated"), {}, Unauthorized, "unauthenticated"),
        (403, error_body("forbidden", reason="scope"), {}, Forbidden, "forbidden"),
        (429, error_body("throttled"), {"Retry-After": "7"}, Throttled, "throttled"),
        (400, error_body("invalid", field="label"), {}, RegistryError, "invalid"),
        (404, None, {}, NotFound, "not_found"),  # a proxy's empty answer
    ],
)
def test_error_answers_map_to_exceptions(registry, status, body, headers, kind, code):
    registry.reply = (status, body, headers)
    client = make_client(registry.url, fallbacks={ADDRESS: "never used for errors"})

    with pytest.raises(kind) as raised:
        client.get(ADDRESS, environment="production")

    error = raised.value
    assert type(error) is kind
    assert (error.status, error.code) == (status, code)
    if body is not None:
        assert error.message == "nope" and error.details == body["error"]["details"]
    if status == 429:
        assert error.retry_after == 7.0


def test_a_definitive_error_drops_the_cached_copy(registry, clock):
    client = make_client(registry.url, clock, ttl=10, stale_ttl=0)
    client.get(ADDRESS)
    registry.reply = (404, error_body("not_deployed"), {})
    clock.advance(11)
    with pytest.raises(NotFound):
        client.get(ADDRESS)
    registry.stop()
    with pytest.raises(Unavailable):
        client.get(ADDRESS)


def test_server_side_render_sends_the_values_and_maps_missing_variables(registry):
    client = make_client(registry.url)

    answer = client.render(ADDRESS, {"ticket_text": "hi"}, environment="production")
    assert answer == {"rendered": "rendered!", "version": 1, "environment": "production"}
    sent = registry.requests[0]
    assert sent["method"] == "POST"
    assert sent["path"] == "/api/v1/prompts/support/ticket-classifier/render"
    assert sent["body"] == {"variables": {"ticket_text": "hi"}, "environment": "production"}
    assert sent["headers"]["Content-Type"] == "application/json"

    with pytest.raises(MissingVariables) as missing:
        client.render(ADDRESS, {}, version=1)
    assert missing.value.missing == ["ticket_text"] and missing.value.status == 400


# ------------------------------------------------------------------ local rendering and input


def test_local_render_of_a_chat_prompt():
    prompt = Prompt.fallback(
        ADDRESS,
        [
            {"role": "system", "content": "You sort tickets for {{ product }}."},
            {"role": "user", "content": "{{ticket_text}}"},
        ],
    )
    assert prompt.kind == "chat"
    assert prompt.render(product="Acme", ticket_text="hi") == [
        {"role": "system", "content": "You sort tickets for Acme."},
        {"role": "user", "content": "hi"},
    ]
    with pytest.raises(MissingVariables) as missing:
        prompt.render()
    assert missing.value.missing == ["product", "ticket_text"]


def test_local_render_refuses_jinja_it_cannot_do():
    prompt = Prompt.from_json(payload(template="{% if vip %}VIP {% endif %}{{ ticket_text }}"))
    with pytest.raises(ValueError, match="RegistryClient.render"):
        prompt.render(ticket_text="hi")


def test_bad_input_is_refused_early():
    with pytest.raises(ValueError):
        RegistryClient(base_url="file:///etc/passwd", token="t")
    client = RegistryClient(base_url="http://127.0.0.1:1", token="t")
    with pytest.raises(ValueError):
        client.get("no-slash")
    with pytest.raises(ValueError):
        client.get(ADDRESS, environment="production", version=2)
    assert client.request_count == 0
