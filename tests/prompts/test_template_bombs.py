"""Values built out of shared references ("bombs"): a template of a few hundred
characters that describes 10**10 items, which comparing, hashing or printing walks in C,
where the deadline tracer cannot stop it. Every render of one, through the library, the
API, the editor's preview and the pages that show a stored version, ends quickly with a
render limit.

Each risky render runs in a forked child, killed if it is still running after HARD_STOP
seconds, so a regression fails these tests instead of hanging the test run. Tests that
fork a request use `transaction=True`: the child opens its own database connection and
reads committed data (a connection must not be shared across a fork).
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from prompts import services, templating
from tests.prompts.test_template_attacks import BUILDING, tower

WITHIN = 2.0  # seconds a refused bomb may take (the deadline is 1 s), on a busy machine
HARD_STOP = 12.0  # seconds after which the child is killed and the test fails
CHILD_MEMORY = 4 << 30  # bytes of address space the child may use
P = "/p/support/ticket-classifier"
API = "/api/v1/prompts/support/ticket-classifier"


def nested_comparison(levels: int) -> str:
    """The bomb as found: two ten-wide lists nested `levels` deep, compared."""
    return f"{{% set a = {tower(levels)} %}}{{% set b = {tower(levels)} %}}{{{{ a == b }}}}"


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.REGISTRY_RENDER_SECONDS = 1.0
    settings.REGISTRY_MAX_OUTPUT_CHARS = 500_000


# ------------------------------------------------------------------ the guarded child


def _run_child(work: Callable[[], Any], write_end: int) -> None:
    """In the child: never returns into pytest, whatever happens."""
    status = 1
    try:
        resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
        for connection in connections.all():
            # The parent's connection stays open (and referenced: finalising it here
            # would close the parent's session); the child opens its own.
            _INHERITED.append(connection.connection)
            connection.connection = None
        started = time.monotonic()
        result = work()
        os.write(write_end, json.dumps([time.monotonic() - started, result]).encode())
        status = 0
    finally:
        os._exit(status)


_INHERITED: list = []


def _read_all(read_end: int, stop_at: float) -> bytes | None:
    """What the child wrote, or None if it was still running at `stop_at`."""
    data = b""
    while True:
        remaining = stop_at - time.monotonic()
        if remaining <= 0 or not select.select([read_end], [], [], remaining)[0]:
            return None
        chunk = os.read(read_end, 65536)
        if not chunk:
            return data
        data += chunk


def timed(work: Callable[[], tuple]) -> tuple[float, tuple]:
    """Run `work` in a forked child: (seconds it took, the tuple it returned)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _run_child(work, write_end)
    os.close(write_end)
    try:
        data = _read_all(read_end, time.monotonic() + HARD_STOP)
    finally:
        os.close(read_end)
        if data is None:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if data is None:
        pytest.fail(f"still running after {HARD_STOP} s: stopped")
    if not data:
        pytest.fail(f"the render's process died (wait status {status})")
    elapsed, result = json.loads(data)
    return elapsed, tuple(result)


def render_outcome(source: str) -> Callable[[], tuple]:
    def work() -> tuple:
        try:
            return ("rendered", len(templating.render_text(source, {})))
        except templating.RenderLimit as error:
            return (error.code, error.details.get("limit"), error.message)

    return work


# ------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("levels", [9, 10])
def test_comparing_nested_lists_is_refused_quickly(levels):
    elapsed, outcome = timed(render_outcome(nested_comparison(levels)))
    assert outcome[:2] == ("render_limit", "size")
    assert "the limit is 500000" in outcome[2]
    assert elapsed < WITHIN


@pytest.mark.parametrize(("source", "limit"), BUILDING)
def test_every_value_bomb_of_the_corpus_is_refused_quickly(source, limit):
    templating.check(source)  # nothing to refuse at save time
    elapsed, outcome = timed(render_outcome(source))
    assert outcome[:2] == ("render_limit", limit)
    assert elapsed < WITHIN


def test_a_chat_bomb_is_refused_quickly_and_names_its_message():
    messages = [
        {"role": "system", "content": "fine"},
        {"role": "user", "content": nested_comparison(10)},
    ]

    def work() -> tuple:
        try:
            templating.render_messages(messages, {})
        except templating.RenderLimit as error:
            return (error.code, error.details.get("message_index"))
        return ("rendered",)

    elapsed, outcome = timed(work)
    assert outcome == ("render_limit", 1)
    assert elapsed < WITHIN


# ------------------------------------------------------------- the API and the pages


@pytest.fixture
def stored_bomb(people, prompt):
    """Version 2 of the prompt is the bomb (it passes the save-time check)."""

    def store(levels: int) -> int:
        return services.add_version(
            people["ed"], prompt, template=nested_comparison(levels), change_note="bomb"
        ).number

    return store


def request_outcome(send: Callable[[], Any], *markers: str) -> Callable[[], tuple]:
    def work() -> tuple:
        response = send()
        text = response.content.decode()
        return (response.status_code, text[:300], *(marker in text for marker in markers))

    return work


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("levels", [9, 10])
def test_the_api_render_answers_400_quickly(as_user, stored_bomb, levels):
    number = stored_bomb(levels)
    ed = as_user("ed")
    send = lambda: ed.post(f"{API}/render", {"version": number}, format="json")  # noqa: E731
    elapsed, (status, body) = timed(request_outcome(send))
    assert status == 400
    assert '"code":"render_limit"' in body and '"limit":"size"' in body
    assert elapsed < WITHIN


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("levels", [9, 10])
def test_the_preview_shows_the_refusal_quickly(people, levels):
    client = Client()
    client.force_login(people["gina"])
    data = {"kind": "text", "template": nested_comparison(levels)}
    send = lambda: client.post("/preview/", data, HTTP_HX_REQUEST="true")  # noqa: E731
    elapsed, (status, _, stopped) = timed(request_outcome(send, "Rendering stopped"))
    assert (status, stopped) == (200, True)
    assert elapsed < WITHIN


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("levels", [9, 10])
@pytest.mark.parametrize(
    ("page", "marker"),
    [("/v/{number}/", "Could not render"), ("/versions/new/", "Rendering stopped")],
    ids=["version page", "editor of the next version"],
)
def test_pages_showing_the_stored_version_answer_quickly(people, stored_bomb, levels, page, marker):
    number = stored_bomb(levels)
    client = Client()
    client.force_login(people["vic"] if page.startswith("/v/") else people["ed"])
    url = P + page.format(number=number)
    elapsed, (status, _, shown) = timed(request_outcome(lambda: client.get(url), marker))
    assert (status, shown) == (200, True)
    assert elapsed < WITHIN


# ---------------------------------------------------- what templates may still build


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{% for i in range(300) %}{{ i }},{% endfor %}", ",".join(map(str, range(300))) + ","),
        (
            "{{ range(500)|map('string')|join(', ')|length }}",
            str(len(", ".join(map(str, range(500))))),
        ),
        ("{% set d = {'a': 1, 'b': [1, 2], 'c': {'d': (3, 4)}} %}{{ d.c.d[1] + d.b|sum }}", "7"),
        ("{{ ([[1, 2]] * 300)|sum(start=[])|length }}", "600"),
        ("{{ ([0] * 200000)|length }}", "200000"),
        ("{{ (range(1000)|list) == (range(1000)|list) }}", "True"),
        ("{{ [[1, [2, [3]]]] * 3 == [[1, [2, [3]]]] * 3 }}", "True"),
        ("{% set rows = [] %}{{ (rows + [1, 2] + [3])|join('-') }}", "1-2-3"),
        ("{{ dict(a=[1] * 100, b=2)|length }}", "2"),
        ("{{ ('a,' * 1000).split(',')|length }}", "1001"),
        (
            "{% set ns = namespace(rows=[]) %}{% for i in range(300) %}"
            "{% set ns.rows = ns.rows + [{'n': i, 'tags': ['x', 'y']}] %}{% endfor %}"
            "{{ ns.rows|map(attribute='n')|sum }}",
            str(sum(range(300))),
        ),
    ],
)
def test_ordinary_templates_that_build_values_still_render(source, expected):
    assert templating.render_text(source, {}) == expected


def test_values_given_to_the_render_are_not_counted_against_the_template(settings):
    settings.REGISTRY_MAX_OUTPUT_CHARS = 1_000
    rows = [{"n": i, "tags": ["a", "b"]} for i in range(2_000)]
    assert templating.render_text("{{ rows|length }} {{ rows == rows }}", {"rows": rows}) == (
        "2000 True"
    )


def test_a_template_may_not_wrap_a_value_past_the_limit(settings):
    settings.REGISTRY_MAX_OUTPUT_CHARS = 1_000
    rows = list(range(600))
    with pytest.raises(templating.RenderLimit) as caught:
        templating.render_text("{{ ([rows] * 2)|length }}", {"rows": rows})
    assert caught.value.details == {"limit": "size", "max": 1_000}


def test_nesting_deeper_than_the_limit_is_refused(settings):
    source = (
        "{% set ns = namespace(x=0) %}{% for i in range(200) %}{% set ns.x = [ns.x] %}"
        "{% endfor %}{{ 'done' }}"
    )
    with pytest.raises(templating.RenderLimit) as caught:
        templating.render_text(source, {})
    assert caught.value.details["limit"] == "recursion"
    assert "deep" in caught.value.message
    shallow = source.replace("range(200)", "range(50)")
    assert templating.render_text(shallow, {}) == "done"
