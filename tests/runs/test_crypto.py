"""Keys at rest: encrypted with the first of ENCRYPTION_KEYS, readable with any, and
rotated by a command; a malformed key stops the server at start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from runs import crypto
from runs import services as runs
from runs.models import Connection
from tests.runs.conftest import OPENAI_KEY, TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
NEW_KEY = Fernet.generate_key().decode()


def run_once(people, prompt) -> None:
    runs.run_prompt(people["ed"], prompt, connection="openai", variables={"ticket_text": "x"})


def test_the_key_is_stored_encrypted_and_opens_with_the_first_key(openai_connection):
    stored = Connection.objects.get(pk=openai_connection.pk).api_key_encrypted
    assert OPENAI_KEY not in stored
    assert Fernet(TEST_KEY).decrypt(stored.encode()).decode() == OPENAI_KEY


def test_keys_rotate_without_downtime(
    settings, capsys, people, prompt, openai_fake, openai_connection
):
    old = Connection.objects.get(pk=openai_connection.pk)

    # 1. the new key goes first; what the old key encrypted still opens
    settings.ENCRYPTION_KEYS = [NEW_KEY, TEST_KEY]
    run_once(people, prompt)
    assert openai_fake.requests[-1].headers["authorization"] == f"Bearer {OPENAI_KEY}"

    # 2. the command re-encrypts every secret with the new key
    call_command("rotate_encryption_keys")
    assert "1 connection" in capsys.readouterr().out
    rotated = Connection.objects.get(pk=openai_connection.pk)
    assert rotated.api_key_encrypted != old.api_key_encrypted
    assert Fernet(NEW_KEY).decrypt(rotated.api_key_encrypted.encode()).decode() == OPENAI_KEY
    assert Fernet(NEW_KEY).decrypt(rotated.headers_encrypted.encode())
    assert rotated.history.count() == old.history.count()  # not a change anyone made

    # 3. the old key is dropped; everything still works
    settings.ENCRYPTION_KEYS = [NEW_KEY]
    run_once(people, prompt)
    assert openai_fake.requests[-1].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert openai_fake.requests[-1].headers["openai-organization"]


def test_a_key_dropped_too_early_is_a_clear_conflict_not_a_crash(
    settings, as_user, prompt, openai_connection
):
    settings.ENCRYPTION_KEYS = [NEW_KEY]

    answer = as_user("ed").post(
        "/api/v1/prompts/support/ticket-classifier/run",
        {"connection": "openai", "variables": {"ticket_text": "x"}},
        format="json",
    )

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "not_configured"


def test_debug_derives_a_development_key_from_the_secret_key(settings):
    settings.ENCRYPTION_KEYS = []
    settings.DEBUG = True
    assert crypto.decrypt(crypto.encrypt("sk-dev")) == "sk-dev"
    settings.DEBUG = False
    assert not crypto.is_configured()


@pytest.mark.parametrize("keys", ["not-a-key", f"{TEST_KEY},short"])
def test_a_malformed_key_stops_the_server_at_start(keys):
    env = {**os.environ, "ENCRYPTION_KEYS": keys, "DEBUG": "true"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    # manage.py reports a configuration error in one line, without a traceback.
    assert "Configuration error: ENCRYPTION_KEYS holds a value that is not a Fernet key" in (
        result.stderr
    )
