"""Two server processes sharing the database and the cache: a snippet deployed through
one is in the composed answer of the other at once, for a parent in the snippet's team
and one in another team, round after round."""

import pytest

from accounts import services as accounts
from tests.api.test_two_processes import call, free_port, start_server, wait_until_up
from tests.composition.conftest import add, make

ROUNDS = 100
SNIPPET = "/api/v1/prompts/support/preamble"
SAME_TEAM = "/api/v1/prompts/support/answer/resolve?environment=development"
OTHER_TEAM = "/api/v1/prompts/billing/invoice/resolve?environment=development"


@pytest.mark.django_db(transaction=True)
def test_a_snippet_deployed_through_one_process_is_composed_by_the_other_at_once(people, token_of):
    ed, oscar = people["ed"], people["oscar"]
    preamble = make(ed, people["support"], "preamble", "Preamble one.", deploy_to="development")
    add(ed, preamble, "Preamble two.")
    accounts.grant_on_prompt(people["alice"], preamble, "oscar", "viewer")
    make(ed, people["support"], "answer", 'A: {% include "support/preamble" %}',
         deploy_to="development")  # fmt: skip
    make(oscar, people["billing"], "invoice", 'I: {% include "support/preamble" %}',
         deploy_to="development")  # fmt: skip
    ed_token, oscar_token = token_of("ed"), token_of("oscar")
    ports = [free_port(), free_port()]
    servers = [start_server(port) for port in ports]
    try:
        for port, server in zip(ports, servers, strict=True):
            wait_until_up(port, server)
        for port in ports:  # both processes hold the pointers and payloads
            for _ in range(2):
                assert call(port, SAME_TEAM, ed_token)["template"] == "A: Preamble one."
                assert call(port, OTHER_TEAM, oscar_token)["template"] == "I: Preamble one."
        stale = []
        for turn in range(ROUNDS):
            writer, reader = (ports[0], ports[1]) if turn % 2 == 0 else (ports[1], ports[0])
            number = 2 if turn % 2 == 0 else 1
            call(writer, f"{SNIPPET}/deployments", ed_token,
                 {"environment": "development", "version": number})  # fmt: skip
            word = "two" if number == 2 else "one"
            same = call(reader, SAME_TEAM, ed_token)
            other = call(reader, OTHER_TEAM, oscar_token)
            if same["template"] != f"A: Preamble {word}." or other["template"] != (
                f"I: Preamble {word}."
            ):
                stale.append((turn, same["template"], other["template"]))
            assert (
                same["dependencies"]
                == other["dependencies"]
                == [
                    {"address": "support/preamble", "version": number, "environment": "development"}
                ]
            )
        assert stale == []
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=10)
