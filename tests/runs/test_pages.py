"""The team's connection pages (admins) and a prompt's playground (plain form post and
server-sent events through the same services)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from prompts import samples
from runs.models import Connection, Run
from tests.runs.conftest import OPENAI_KEY
from tests.runs.fakes import ANSWER, PIECES

CONNECTIONS = "/teams/support/connections/"
PLAYGROUND = "/prompts/support/ticket-classifier/playground/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# ------------------------------------------------------------------ connections


def test_an_admin_adds_a_connection_on_the_page(people, openai_fake):
    client = signed_in(people["alice"])
    answer = client.post(
        CONNECTIONS,
        {
            "name": "main",
            "provider": "openai",
            "base_url": openai_fake.base_url,
            "api_key": OPENAI_KEY,
            "models": "gpt-4o-mini\ngpt-4o",
            "headers": "OpenAI-Project: proj_1",
        },
        follow=True,
    )

    assert answer.status_code == 200
    page = answer.content.decode()
    assert "sk-…9f2c" in page and OPENAI_KEY not in page
    assert answer["Cache-Control"].startswith("max-age=0")
    stored = Connection.objects.get(name="main")
    assert stored.model_names == ["gpt-4o-mini", "gpt-4o"]
    assert stored.header_names == ["OpenAI-Project"]


def test_a_refused_address_shows_on_the_form(people, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    answer = signed_in(people["alice"]).post(
        CONNECTIONS,
        {
            "name": "meta",
            "provider": "openai",
            "base_url": "http://169.254.169.254",
            "api_key": OPENAI_KEY,
        },
    )
    assert answer.status_code == 200
    assert "may not be called" in answer.content.decode()
    assert not Connection.objects.exists()


@pytest.mark.parametrize(("user", "status"), [("alice", 200), ("ed", 403), ("oscar", 404)])
def test_only_admins_manage_connections(people, openai_connection, user, status):
    client = signed_in(people[user])
    assert client.get(CONNECTIONS).status_code == status
    assert client.get(f"{CONNECTIONS}openai/").status_code == status


def test_an_admin_edits_rotates_and_deletes(people, openai_fake, openai_connection):
    client = signed_in(people["alice"])
    page = client.get(f"{CONNECTIONS}openai/").content.decode()
    assert OPENAI_KEY not in page and "org-secret" not in page

    client.post(
        f"{CONNECTIONS}openai/",
        {
            "name": "openai",
            "provider": "openai",
            "base_url": openai_fake.base_url,
            "models": "gpt-4o",
            "api_key": "",
            "headers": "",
        },
    )
    kept = Connection.objects.get(name="openai")
    assert kept.model_names == ["gpt-4o"]
    assert kept.key_hint == "sk-…9f2c" and kept.header_names == ["OpenAI-Organization"]

    client.post(f"{CONNECTIONS}openai/key/", {"api_key": "sk-rotated-00000000000bbbb"})
    assert Connection.objects.get(name="openai").key_hint == "sk-…bbbb"

    assert client.post(f"{CONNECTIONS}openai/delete/").status_code == 302
    assert not Connection.objects.exists()


def test_without_keys_in_production_the_page_says_so(people, settings):
    settings.ENCRYPTION_KEYS = []
    settings.DEBUG = False
    answer = signed_in(people["alice"]).get(CONNECTIONS)
    assert answer.status_code == 409
    assert "ENCRYPTION_KEYS" in answer.content.decode()


# ------------------------------------------------------------------ playground


def run_form(**extra) -> dict:
    return {
        "source": "",
        "connection": "openai",
        "model": "",
        "variables": json.dumps({"ticket_text": "I was charged twice"}),
        **extra,
    }


def test_the_playground_runs_as_a_plain_form_post(people, prompt, openai_fake, openai_connection):
    answer = signed_in(people["ed"]).post(PLAYGROUND, run_form())

    assert answer.status_code == 200
    page = answer.content.decode()
    assert ANSWER in page
    assert "12 tokens in, 7 out" in page
    assert Run.objects.get().created_by == people["ed"]


def test_the_playground_runs_unsaved_text(people, prompt, openai_fake, openai_connection):
    signed_in(people["ed"]).post(PLAYGROUND, run_form(source="text:", text="Try {{ ticket_text }}"))
    assert openai_fake.requests[-1].body["messages"][0]["content"] == "Try I was charged twice"
    assert Run.objects.get().version is None


def test_a_chat_draft_from_the_editor_reaches_the_playground_and_runs(
    people, prompt, openai_fake, openai_connection
):
    """The editor's "Run the unsaved text" with a chat draft: the playground opens with
    its messages, and running them sends exactly those messages, rendered."""
    client = signed_in(people["ed"])
    page = client.post(
        f"{PLAYGROUND}draft/",
        {
            "kind": "chat",
            "template": "",
            "messages-0-role": "system",
            "messages-0-content": "You sort tickets.",
            "messages-1-role": "user",
            "messages-1-content": "Ticket: {{ ticket_text }}",
            "messages-2-role": "user",
            "messages-2-content": "   ",
            "value-ticket_text": "charged twice",
        },
    ).content.decode()
    assert "You sort tickets." in page and "Ticket: {{ ticket_text }}" in page
    assert "charged twice" in page

    messages = [
        {"role": "system", "content": "You sort tickets."},
        {"role": "user", "content": "Ticket: {{ ticket_text }}"},
    ]
    answer = client.post(PLAYGROUND, run_form(source="text:", messages=json.dumps(messages)))

    assert answer.status_code == 200
    assert openai_fake.requests[-1].body["messages"] == [
        {"role": "system", "content": "You sort tickets."},
        {"role": "user", "content": "Ticket: I was charged twice"},
    ]
    assert Run.objects.get().version is None


@pytest.mark.parametrize(
    "messages", ["not json", "[]", '{"role": "user"}', '[{"role": "user", "content": 3}]']
)
def test_malformed_unsaved_messages_are_a_form_error(people, prompt, openai_connection, messages):
    answer = signed_in(people["ed"]).post(PLAYGROUND, run_form(source="text:", messages=messages))
    assert answer.status_code == 400
    assert "Write the messages as a JSON list" in answer.content.decode()
    assert not Run.objects.exists()


def test_a_sample_fills_the_values(people, prompt, openai_connection):
    samples.save_sample(people["ed"], prompt, "double charge", {"ticket_text": "charged twice"})

    page = signed_in(people["ed"]).get(PLAYGROUND, {"sample": "double charge"}).content.decode()

    assert "charged twice" in page


def test_the_stream_sends_each_chunk_then_the_run(people, prompt, openai_fake, openai_connection):
    answer = signed_in(people["ed"]).post(f"{PLAYGROUND}stream/", run_form())

    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/event-stream"
    body = b"".join(answer.streaming_content).decode()
    events = [block.split("\n") for block in body.strip().split("\n\n")]
    names = [lines[0].removeprefix("event: ") for lines in events]
    data = [json.loads(lines[1].removeprefix("data: ")) for lines in events]
    assert names == ["chunk"] * len(PIECES) + ["done"]
    assert [d["text"] for d in data[:-1]] == PIECES
    assert data[-1]["output"] == ANSWER and data[-1]["error"] is None
    assert openai_fake.requests[-1].body["stream"] is True


def test_a_failed_stream_ends_with_the_error(people, prompt, openai_fake, openai_connection):
    openai_fake.script = ["cut_off"]
    answer = signed_in(people["ed"]).post(f"{PLAYGROUND}stream/", run_form())
    body = b"".join(answer.streaming_content).decode()
    done = json.loads(body.strip().split("\n\n")[-1].split("\n")[1].removeprefix("data: "))
    assert done["output"] == PIECES[0]
    assert "ended before" in done["error"]


def test_missing_values_are_refused_before_the_stream(
    people, prompt, openai_fake, openai_connection
):
    answer = signed_in(people["ed"]).post(f"{PLAYGROUND}stream/", run_form(variables="{}"))
    assert answer.status_code == 400
    assert answer.json()["error"]["details"]["missing"] == ["ticket_text"]
    assert openai_fake.requests == []


@pytest.mark.parametrize(
    ("user", "page", "stream"), [("vic", 200, 403), ("oscar", 404, 404), ("ed", 200, 200)]
)
def test_who_may_see_and_run_in_the_playground(
    people, prompt, openai_connection, user, page, stream
):
    client = signed_in(people[user])
    shown = client.get(PLAYGROUND)
    assert shown.status_code == page
    if page == 200:
        assert ('id="run-form"' in shown.content.decode()) == (user == "ed")
    assert client.post(f"{PLAYGROUND}stream/", run_form()).status_code == stream


def test_the_playground_needs_the_csrf_token(people, prompt, openai_connection):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["ed"])
    assert client.post(f"{PLAYGROUND}stream/", run_form()).status_code == 403
