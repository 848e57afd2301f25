"""Run fixtures: fake providers on loopback (let through by the outbound policy, as a
self-hosted model on an internal network would be), and a connection to each."""

from __future__ import annotations

import pytest

from runs import connections
from runs import services as runs
from tests.api.conftest import callers  # noqa: F401 (every kind of caller)
from tests.runs.fakes import FakeProvider

OPENAI_KEY = "sk-test-openai-0123456789abcdef9f2c"
ANTHROPIC_KEY = "sk-ant-test-0123456789abcdefab12"
HEADER_SECRET = "org-secret-header-value-77"
# Tests run with DEBUG off (Django's test runner), so no development key is derived.
TEST_KEY = "6e8d2ZxGQ4lJm0cXn3o0o9nKQq3bqf4yQy9yq8kqz0k="


@pytest.fixture(autouse=True)
def _runs_settings(settings):
    settings.ENCRYPTION_KEYS = [TEST_KEY]
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.PROVIDER_TIMEOUT_SECONDS = 1
    settings.RUN_DEADLINE_SECONDS = 10
    runs._slots.clear()


def _started(kind: str):
    fake = FakeProvider(kind).start()
    yield fake
    fake.stop()


@pytest.fixture
def openai_fake():
    yield from _started("openai")


@pytest.fixture
def anthropic_fake():
    yield from _started("anthropic")


@pytest.fixture
def openai_connection(people, openai_fake):
    return connections.create_connection(
        people["alice"],
        people["support"],
        name="openai",
        provider="openai",
        base_url=openai_fake.base_url,
        api_key=OPENAI_KEY,
        models=["gpt-4o-mini", "gpt-4o"],
        headers={"OpenAI-Organization": HEADER_SECRET},
    )


@pytest.fixture
def anthropic_connection(people, anthropic_fake):
    return connections.create_connection(
        people["alice"],
        people["support"],
        name="claude",
        provider="anthropic",
        base_url=anthropic_fake.base_url,
        api_key=ANTHROPIC_KEY,
        models=["claude-sonnet-4-5"],
    )


@pytest.fixture
def fakes(openai_fake, anthropic_fake, openai_connection, anthropic_connection):
    """provider -> (fake, connection)"""
    return {
        "openai": (openai_fake, openai_connection),
        "anthropic": (anthropic_fake, anthropic_connection),
    }
