"""Real `manage.py worker` processes on the test database, for tests that need the worker
as it runs in production: its own process, its own connections, killed if need be.

The test must see what the process writes and the other way round, so such tests are
transactional (``django_db(transaction=True)``); the settings a test would change with
the ``settings`` fixture reach the process through its environment instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

from tests.api.test_two_processes import ROOT, database_url
from tests.runs.conftest import TEST_KEY

# Short enough for a test: a killed worker's rows are taken over within seconds.
WORKER_ENV = {
    "ENCRYPTION_KEYS": TEST_KEY,
    "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
    "EVALUATION_ROWS_AT_ONCE": "4",
    "EVALUATION_ROW_TIMEOUT_SECONDS": "5",
    "EVALUATION_RETRIES": "1",
    "EVALUATION_MAX_RETRY_WAIT_SECONDS": "1",
    "EVALUATION_LEASE_SECONDS": "3",
}


class Worker:
    """One `manage.py worker` process; what it printed is kept for a failure's message."""

    def __init__(self, name: str = "", **env: str):
        self.name = name
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        named = ["--worker-id", name] if name else []
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--interval", "0.1", *named],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url(), **WORKER_ENV, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when a machine goes away."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


def wait_for(what: Callable[[], object], workers: list[Worker], seconds: float = 60) -> object:
    """Poll until ``what()`` is true; fail at once if a worker died, with its output."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        for worker in workers:
            if not worker.alive() and worker.process.returncode != -9:
                raise AssertionError(f"the worker stopped:\n{worker.output()}")
        time.sleep(0.05)
    outputs = "\n".join(w.output() for w in workers)
    raise AssertionError(f"gave up waiting after {seconds} s; the workers said:\n{outputs}")
