"""Two server processes share one truth: after a deploy or a rename through one, the
other answers with the new version or address at once (no stale cache in any process)."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from prompts import services

ROOT = Path(__file__).resolve().parents[2]
P = "/api/v1/prompts/support/ticket-classifier"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host = db.get("HOST") or "127.0.0.1"
    return f"postgres://{db.get('USER') or 'postgres'}@{host}:{db.get('PORT') or 5432}/{db['NAME']}"


def start_server(port: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DEBUG": "false",
        "HTTPS": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": os.environ["SECRET_KEY"],
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "registry_site.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def call(
    port: int, path: str, token: str, body: dict | None = None, method: str | None = None
) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_until_up(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(process.stderr.read().decode())
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


@pytest.mark.django_db(transaction=True)
def test_a_deploy_through_one_process_is_seen_by_the_other_at_once(people, prompt, token_of):
    services.add_version(people["ed"], prompt, template="two {{ ticket_text }}")
    ed = token_of("ed")
    ports = [free_port(), free_port()]
    servers = [start_server(port) for port in ports]
    try:
        for port, server in zip(ports, servers, strict=True):
            wait_until_up(port, server)
        first, second = ports
        resolve = f"{P}/resolve?environment=development"
        for _ in range(3):  # warm both processes and the shared cache
            assert call(first, resolve, ed)["version"] == 1
            assert call(second, resolve, ed)["version"] == 1
        call(first, f"{P}/deployments", ed, {"environment": "development", "version": 2})
        assert call(second, resolve, ed)["version"] == 2
        call(second, f"{P}/deployments/rollback", ed, {"environment": "development"})
        assert call(first, resolve, ed)["version"] == 1
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_a_rename_through_one_process_is_seen_by_the_other_at_once(people, prompt, token_of):
    ed = token_of("ed")
    ports = [free_port(), free_port()]
    servers = [start_server(port) for port in ports]
    try:
        for port, server in zip(ports, servers, strict=True):
            wait_until_up(port, server)
        first, second = ports
        old = "/api/v1/prompts/support/ticket-classifier/resolve?environment=development"
        new = "/api/v1/prompts/support/classifier/resolve?environment=development"
        for _ in range(3):  # both processes hold the version's answer
            assert call(first, old, ed)["slug"] == "ticket-classifier"
            assert call(second, old, ed)["slug"] == "ticket-classifier"
        call(first, P, ed, {"slug": "classifier", "name": "Classifier"}, method="PATCH")
        # The first process answers first, so the second finds its fresh pointers.
        for port in (first, second):
            for url in (new, old):
                body = call(port, url, ed)
                assert (body["slug"], body["name"]) == ("classifier", "Classifier"), (port, url)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
