"""Fixtures for the client tests.

The client package lives in registry_client/ and is not installed into the project's
virtualenv, so its folder is put on sys.path here (``pip install ./registry_client``
works too).
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "registry_client"))

from tests.client.fakes import Clock, FakeRegistry  # noqa: E402
from tests.evaluations.conftest import connection, fake, golden  # noqa: E402, F401


@pytest.fixture
def registry():
    started = FakeRegistry()
    yield started
    started.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()
