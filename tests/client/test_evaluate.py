"""The client starts an evaluation and waits for it, against the real registry (served by
pytest-django's live_server) with the worker's jobs run in a thread of this process and
the evaluations' fake model on loopback; the command line exits non-zero under the
threshold, as a CI step needs."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from prompt_registry_client import RegistryClient
from prompt_registry_client.errors import RegistryError

from accounts.tokens import issue
from tests.evaluations.conftest import work
from tests.runs.conftest import TEST_KEY

pytestmark = pytest.mark.django_db(transaction=True)

ADDRESS = "support/ticket-classifier"
CLIENT_DIR = Path(__file__).resolve().parents[2] / "registry_client"


@pytest.fixture(autouse=True)
def _evaluation_settings(settings):
    settings.ENCRYPTION_KEYS = [TEST_KEY]
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.EVALUATION_ROW_TIMEOUT_SECONDS = 5


@pytest.fixture
def token(people):
    _, raw = issue(people["ed"], scopes=["read", "write"])
    return raw


@pytest.fixture
def worker():
    """``manage.py worker`` in a thread: every job due, again and again, until the test ends."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            work()
            stop.wait(0.1)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(timeout=10)


def cli(live_server, token: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": str(CLIENT_DIR),
        "PROMPT_REGISTRY_URL": live_server.url,
        "PROMPT_REGISTRY_TOKEN": token,
    }
    command = [sys.executable, "-m", "prompt_registry_client", "evaluate", ADDRESS, *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_evaluate_waits_for_the_finished_evaluation(live_server, token, golden, connection, worker):
    client = RegistryClient(live_server.url, token, timeout=10)
    seen = []
    final = client.evaluate(
        ADDRESS, dataset="golden", connection="local", version=1, poll=0.2, on_progress=seen.append
    )
    assert (final["state"], final["passed"], final["total"], final["pass_rate"]) == (
        "succeeded",
        4,
        4,
        1.0,
    )
    assert seen and seen[0]["state"] == "queued"


def test_a_refused_start_is_an_error_at_once(live_server, token, golden, connection):
    client = RegistryClient(live_server.url, token, timeout=10)
    with pytest.raises(RegistryError) as refused:
        client.evaluate(ADDRESS, dataset="nowhere", connection="local")
    assert (refused.value.status, refused.value.details.get("field")) == (400, "dataset")


def test_the_command_passes_at_or_above_the_rate(live_server, token, golden, connection, worker):
    done = cli(
        live_server, token, "--dataset", "golden", "--connection", "local",
        "--version", "1", "--min-pass-rate", "0.9", "--poll", "0.2",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pass rate 100.00% (needed 90.00%)" in done.stdout


def test_the_command_fails_under_the_rate(live_server, token, golden, connection, fake, worker):
    fake.answers["login broken"] = "billing"  # one of four rows now wrong: 75%
    done = cli(
        live_server, token, "--dataset", "golden", "--connection", "local",
        "--environment", "development", "--min-pass-rate", "0.9", "--poll", "0.2",
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "3 passed, 1 failed" in done.stdout
    assert "pass rate 75.00%" in done.stdout


def test_the_command_cannot_run_without_a_token(live_server, golden):
    done = cli(live_server, "", "--dataset", "golden", "--connection", "local",
               "--min-pass-rate", "0.9")  # fmt: skip
    assert done.returncode == 2
    assert "PROMPT_REGISTRY_TOKEN" in done.stdout


def test_the_command_refuses_a_rate_above_one(live_server, token):
    done = cli(live_server, token, "--dataset", "golden", "--connection", "local",
               "--min-pass-rate", "90")  # fmt: skip
    assert done.returncode == 2
    assert "a number from 0 to 1" in done.stderr
