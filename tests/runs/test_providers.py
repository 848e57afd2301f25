"""Both adapters against fake providers over loopback HTTP: what is sent (URL, headers,
body), what comes back, streamed and not, and every way a call fails."""

from __future__ import annotations

import time

import pytest

from prompts import services as prompts
from runs import services as runs
from runs.models import ModelPrice, Run
from tests.runs.conftest import ANTHROPIC_KEY, HEADER_SECRET, OPENAI_KEY
from tests.runs.fakes import ANSWER, INPUT_TOKENS, OUTPUT_TOKENS, PIECES

PROVIDERS = ["openai", "anthropic"]


@pytest.fixture
def chat_prompt(people):
    return prompts.create_prompt(
        people["ed"],
        people["support"],
        name="Reply drafter",
        slug="reply-drafter",
        messages=[
            {"role": "system", "content": "You answer for {{ product }}."},
            {"role": "user", "content": "Draft a reply to: {{ ticket_text }}"},
        ],
        variables=[{"name": "product", "default": "Acme"}],
        config={"model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 300},
    )


def run(people, prompt, connection, **options):
    return runs.run_prompt(
        people["ed"],
        prompt,
        connection=connection.name,
        variables={"ticket_text": "I was charged twice"},
        **options,
    )


# ------------------------------------------------------------------ what is sent


def test_openai_gets_a_chat_completions_request_with_the_bearer_key(
    people, chat_prompt, openai_fake, openai_connection
):
    result = run(people, chat_prompt, openai_connection)

    sent = openai_fake.requests[-1]
    assert sent.path == "/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sent.headers["openai-organization"] == HEADER_SECRET
    assert sent.headers["content-type"] == "application/json"
    assert sent.body == {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You answer for Acme."},
            {"role": "user", "content": "Draft a reply to: I was charged twice"},
        ],
        "temperature": 0.2,
        "max_tokens": 300,
    }
    assert result.output == ANSWER
    assert (result.input_tokens, result.output_tokens) == (INPUT_TOKENS, OUTPUT_TOKENS)
    assert result.finish_reason == "stop"
    assert result.model == "gpt-4o-mini"


def test_anthropic_gets_a_messages_request_with_the_system_prompt_apart(
    people, chat_prompt, anthropic_fake, anthropic_connection
):
    result = run(people, chat_prompt, anthropic_connection, model="claude-sonnet-4-5")

    sent = anthropic_fake.requests[-1]
    assert sent.path == "/v1/messages"
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert "authorization" not in sent.headers
    assert sent.body == {
        "model": "claude-sonnet-4-5",
        "system": "You answer for Acme.",
        "messages": [{"role": "user", "content": "Draft a reply to: I was charged twice"}],
        "temperature": 0.2,
        "max_tokens": 300,
    }
    assert result.output == ANSWER
    assert (result.input_tokens, result.output_tokens) == (INPUT_TOKENS, OUTPUT_TOKENS)
    assert result.finish_reason == "end_turn"


def test_a_text_prompt_is_one_user_message_and_anthropic_gets_a_default_max_tokens(
    people, prompt, anthropic_fake, anthropic_connection
):
    run(people, prompt, anthropic_connection)

    assert anthropic_fake.requests[-1].body == {
        "model": "claude-sonnet-4-5",  # the connection's first model: the version names none
        "messages": [{"role": "user", "content": "Classify: I was charged twice for Acme"}],
        "max_tokens": 1024,
    }


def test_the_run_overrides_the_versions_model_and_parameters(
    people, chat_prompt, openai_fake, openai_connection
):
    run(people, chat_prompt, openai_connection, model="gpt-4o", config={"temperature": 0.9})

    body = openai_fake.requests[-1].body
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("gpt-4o", 0.9, 300)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_streamed_answer_arrives_in_pieces_and_is_recorded_whole(
    people, chat_prompt, fakes, provider
):
    fake, connection = fakes[provider]
    pieces: list[str] = []

    result = run(
        people, chat_prompt, connection, model=connection.model_names[0], on_chunk=pieces.append
    )

    assert pieces == PIECES
    assert fake.requests[-1].body["stream"] is True
    assert fake.requests[-1].headers["accept"] == "text/event-stream"
    if provider == "openai":
        assert fake.requests[-1].body["stream_options"] == {"include_usage": True}
    stored = Run.objects.get(pk=result.pk)
    assert stored.output == ANSWER
    assert (stored.input_tokens, stored.output_tokens) == (INPUT_TOKENS, OUTPUT_TOKENS)
    assert stored.finish_reason in ("stop", "end_turn")
    assert stored.error_code == ""


def test_a_run_records_who_what_and_its_cost_from_the_price_table(
    people, chat_prompt, openai_connection
):
    ModelPrice.objects.create(
        model="gpt-4o-mini", input_per_million="0.15", output_per_million="0.60"
    )

    result = run(people, chat_prompt, openai_connection)

    stored = Run.objects.get(pk=result.pk)
    assert stored.created_by == people["ed"]
    assert stored.version == chat_prompt.latest_version
    assert stored.connection_name == "openai"
    assert stored.messages[1] == {
        "role": "user",
        "content": "Draft a reply to: I was charged twice",
    }
    assert stored.latency_ms >= 0
    # 12 tokens in at $0.15/M, 7 out at $0.60/M
    assert str(stored.cost) == "0.00000600"


def test_a_run_of_an_environment_uses_the_version_live_there(
    people, prompt, openai_fake, openai_connection
):
    prompts.add_version(people["ed"], prompt, template="Newer: {{ ticket_text }}")

    result = runs.run_prompt(
        people["ed"],
        prompt,
        connection="openai",
        variables={"ticket_text": "x"},
        environment="development",
    )

    assert result.version.number == 1 and result.environment == "development"
    assert openai_fake.requests[-1].body["messages"][0]["content"] == "Classify: x for Acme"


def test_unsaved_text_runs_without_a_version(people, prompt, openai_fake, openai_connection):
    result = runs.run_prompt(
        people["ed"],
        prompt,
        connection="openai",
        text="Try: {{ idea }}",
        variables={"idea": "refunds"},
    )

    assert result.version is None
    assert openai_fake.requests[-1].body["messages"] == [
        {"role": "user", "content": "Try: refunds"}
    ]


def test_missing_variables_are_refused_before_any_call(
    people, prompt, openai_fake, openai_connection
):
    with pytest.raises(runs.DomainError) as refused:
        runs.run_prompt(people["ed"], prompt, connection="openai", variables={})

    assert refused.value.code == "missing_variables"
    assert refused.value.details["missing"] == ["ticket_text"]
    assert openai_fake.requests == []
    assert not Run.objects.exists()


def test_a_model_the_connection_does_not_offer_is_refused(
    people, prompt, openai_fake, openai_connection
):
    with pytest.raises(runs.DomainError) as refused:
        run(people, prompt, openai_connection, model="gpt-5-secret")

    assert refused.value.details == {"field": "model", "allowed": ["gpt-4o-mini", "gpt-4o"]}
    assert openai_fake.requests == []


# ------------------------------------------------------------------ failures

ERRORS = [
    ("unauthorized", 401),
    ("unknown_model", 404),
    ("rate_limited", 429),
    ("server_error", 500),
]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(("behaviour", "status"), ERRORS)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_the_providers_own_error_is_a_provider_error_with_its_status(
    people, prompt, fakes, provider, behaviour, status, stream
):
    fake, connection = fakes[provider]
    fake.script = [behaviour]

    with pytest.raises(runs.ProviderFailed) as failed:
        run(people, prompt, connection, on_chunk=(lambda _: None) if stream else None)

    assert failed.value.status == 502
    assert failed.value.details["status"] == status
    assert failed.value.details["message"]
    if behaviour == "unknown_model":
        assert connection.model_names[0] in failed.value.details["message"]
    if behaviour == "rate_limited":
        assert failed.value.details["retry_after"] == 7
    stored = Run.objects.get(pk=failed.value.details["run"])
    assert stored.error_code == "provider_error"
    assert stored.error_details["status"] == status


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_no_answer_within_the_timeout_is_a_provider_timeout(
    people, prompt, fakes, provider, stream
):
    fake, connection = fakes[provider]
    fake.script = ["hang"]
    started = time.monotonic()

    with pytest.raises(runs.ProviderTimedOut) as timed_out:
        run(people, prompt, connection, on_chunk=(lambda _: None) if stream else None)

    assert time.monotonic() - started < 5  # the timeout is 1 s
    assert timed_out.value.status == 504
    assert Run.objects.get(pk=timed_out.value.details["run"]).error_code == "provider_timeout"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stream_silent_between_two_chunks_times_out_keeping_what_arrived(
    people, prompt, fakes, provider
):
    fake, connection = fakes[provider]
    fake.script = ["stall"]

    with pytest.raises(runs.ProviderTimedOut) as timed_out:
        run(people, prompt, connection, on_chunk=lambda _: None)

    stored = Run.objects.get(pk=timed_out.value.details["run"])
    assert stored.output == PIECES[0]
    assert timed_out.value.details["output"] == PIECES[0]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("behaviour", ["cut_off", "malformed_stream", "stream_error"])
def test_a_broken_stream_is_an_error_with_what_arrived_kept(
    people, prompt, fakes, provider, behaviour
):
    fake, connection = fakes[provider]
    fake.script = [behaviour]
    pieces: list[str] = []

    with pytest.raises(runs.ProviderFailed) as failed:
        run(people, prompt, connection, on_chunk=pieces.append)

    assert pieces == [PIECES[0]]
    stored = Run.objects.get(pk=failed.value.details["run"])
    assert stored.output == PIECES[0]
    assert stored.error_code == "provider_error"
    if behaviour == "stream_error":
        assert stored.error_details["status"] == (200 if provider == "openai" else 529)
    else:
        assert stored.error_details["incomplete"] is True


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_malformed_answer_is_a_provider_error(people, prompt, fakes, provider):
    fake, connection = fakes[provider]
    fake.script = ["malformed"]

    with pytest.raises(runs.ProviderFailed) as failed:
        run(people, prompt, connection)

    assert "not valid JSON" in failed.value.details["message"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_redirect_is_not_followed(people, prompt, fakes, provider):
    fake, connection = fakes[provider]
    fake.script = ["redirect"]

    with pytest.raises(runs.ProviderFailed) as failed:
        run(people, prompt, connection)

    assert failed.value.details["status"] == 307
    assert [r.path for r in fake.requests] == [fake.requests[0].path]  # /elsewhere never asked


def test_a_provider_that_is_down_is_a_provider_error(
    people, prompt, openai_fake, openai_connection
):
    openai_fake.stop()

    with pytest.raises(runs.ProviderFailed) as failed:
        run(people, prompt, openai_connection)

    assert failed.value.details["status"] is None


def test_the_whole_answer_has_a_deadline(settings, people, prompt, openai_fake, openai_connection):
    settings.PROVIDER_TIMEOUT_SECONDS = 5
    settings.RUN_DEADLINE_SECONDS = 1
    openai_fake.script = ["slow"]
    openai_fake.delay = 3

    with pytest.raises(runs.ProviderTimedOut):
        run(people, prompt, openai_connection)
