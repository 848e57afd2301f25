"""A provider key (and a secret extra header) never leaves the registry: after runs that
succeed, stream and fail (with a provider that echoes the key back), neither appears in
any API answer, page, log record, export, history row or stored run."""

from __future__ import annotations

import io
import logging
import tarfile

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.test import Client

from runs import services as runs
from runs.models import Connection, Run
from tests.runs.conftest import ANTHROPIC_KEY, HEADER_SECRET, OPENAI_KEY

SECRETS = [OPENAI_KEY, ANTHROPIC_KEY, HEADER_SECRET]
P = "/api/v1/prompts/support/ticket-classifier"


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


@pytest.fixture
def root(people):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw")


def test_keys_never_leave(caplog, people, root, prompt, fakes, as_user):
    caplog.set_level(logging.DEBUG)
    openai_fake, _ = fakes["openai"]
    anthropic_fake, _ = fakes["anthropic"]
    openai_fake.script = ["ok", "unauthorized", "unauthorized"]
    anthropic_fake.script = ["ok", "unauthorized"]
    seen: list[str] = []

    def api(client, method: str, path: str, body=None) -> None:
        answer = getattr(client, method)(path, body, format="json")
        seen.append(answer.content.decode())

    ed, alice = as_user("ed"), as_user("alice")
    body = {"variables": {"ticket_text": "x"}}
    # runs: plain, failed (the provider echoes the key), streamed through the page
    api(ed, "post", f"{P}/run", {**body, "connection": "openai"})
    api(ed, "post", f"{P}/run", {**body, "connection": "openai"})
    api(ed, "post", f"{P}/run", {**body, "connection": "claude"})
    api(ed, "post", f"{P}/run", {**body, "connection": "claude"})
    page_client = Client()
    page_client.force_login(people["ed"])
    streamed = page_client.post(
        "/prompts/support/ticket-classifier/playground/stream/",
        {"source": "", "connection": "openai", "variables": '{"ticket_text": "x"}'},
    )
    seen.append(b"".join(streamed.streaming_content).decode())
    # every endpoint that shows connections or runs
    api(ed, "get", f"{P}/runs")
    api(alice, "get", "/api/v1/teams/support/connections")
    api(alice, "get", "/api/v1/teams/support/connections/openai")
    api(alice, "patch", "/api/v1/teams/support/connections/openai", {"models": ["gpt-4o"]})
    api(
        alice,
        "post",
        "/api/v1/teams/support/connections",
        {
            "name": "spare",
            "provider": "openai",
            "base_url": openai_fake.base_url,
            "api_key": OPENAI_KEY,
        },
    )
    # pages, the admin and its history pages
    admin = Client()
    admin.force_login(root)
    alice_pages = Client()
    alice_pages.force_login(people["alice"])
    connection = Connection.objects.get(name="openai")
    for client, path in [
        (alice_pages, "/teams/support/connections/"),
        (alice_pages, "/teams/support/connections/openai/"),
        (page_client, "/prompts/support/ticket-classifier/playground/"),
        (admin, "/admin/runs/connection/"),
        (admin, f"/admin/runs/connection/{connection.pk}/change/"),
        (admin, f"/admin/runs/connection/{connection.pk}/history/"),
        (admin, "/admin/runs/run/"),
        (admin, f"/admin/runs/run/{Run.objects.first().pk}/change/"),
    ]:
        answer = client.get(path)
        assert answer.status_code == 200, path
        seen.append(answer.content.decode())
    # the team's export
    export = alice.get("/api/v1/teams/support/export")
    with tarfile.open(fileobj=io.BytesIO(export.content), mode="r:gz") as archive:
        for member in archive.getmembers():
            if member.isfile():
                seen.append(archive.extractfile(member).read().decode())
    dump = io.StringIO()
    call_command("dumpdata", "runs", "prompts", "accounts", stdout=dump)
    seen.append(dump.getvalue())

    assert Run.objects.filter(error_code="provider_error").count() == 3  # the key was echoed
    assert [leaks(text) for text in seen if leaks(text)] == []
    records = [f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records]
    assert [leaks(text) for text in records if leaks(text)] == []
    rows = [str(model_to_dict(row)) for row in Connection.history.all()]
    rows += [str(model_to_dict(row)) for row in Run.objects.all()]
    assert len(rows) > 5
    assert [leaks(text) for text in rows if leaks(text)] == []
    history_fields = {f.name for f in Connection.history.model._meta.fields}
    assert not history_fields & {"api_key_encrypted", "headers_encrypted"}


def test_the_key_reaches_the_provider_and_nowhere_else(people, prompt, fakes):
    openai_fake, _ = fakes["openai"]
    runs.run_prompt(people["ed"], prompt, connection="openai", variables={"ticket_text": "x"})
    assert openai_fake.requests[-1].headers["authorization"] == f"Bearer {OPENAI_KEY}"
