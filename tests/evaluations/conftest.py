"""Evaluation fixtures: the fake model on loopback, a connection to it, a dataset."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from evaluations import datasets
from runs import connections
from tests.api.conftest import callers  # noqa: F401 (every kind of caller)
from tests.evaluations.fakes import ModelFake
from tests.runs.conftest import TEST_KEY

TICKETS = ["refund please", "invoice wrong", "login broken", "app crashes"]


@pytest.fixture(autouse=True)
def _evaluation_settings(settings):
    settings.ENCRYPTION_KEYS = [TEST_KEY]
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.EVALUATION_ROW_TIMEOUT_SECONDS = 1
    settings.EVALUATION_RETRIES = 2
    settings.EVALUATION_MAX_RETRY_WAIT_SECONDS = 2
    settings.EVALUATION_ROWS_AT_ONCE = 4


@pytest.fixture
def fake():
    started = ModelFake().start()
    yield started
    started.stop()


@pytest.fixture
def connection(people, fake):
    return connections.create_connection(
        people["alice"],
        people["support"],
        name="local",
        provider="openai",
        base_url=fake.base_url,
        api_key="sk-local-0123456789abcdef",
        models=["fake-1"],
    )


def golden_rows() -> list[dict]:
    return [
        {"variables": {"ticket_text": t}, "expected": "billing" if i < 2 else "other"}
        for i, t in enumerate(TICKETS)
    ]


@pytest.fixture
def golden(people, prompt):
    return datasets.create_dataset(
        people["ed"],
        prompt,
        name="golden",
        rows=golden_rows(),
        checks=[{"type": "equals"}, {"type": "max_chars", "value": 20}],
    )


def work() -> None:
    """What `manage.py worker --batch` does: every job due, then stop."""
    call_command("worker", "--batch", "--interval", "0.01", verbosity=0)
