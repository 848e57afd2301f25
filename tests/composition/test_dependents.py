"""GET /api/v1/prompts/{team}/{slug}/dependents: who includes a prompt."""

from accounts import services as accounts
from prompts import services
from tests.composition.conftest import add, deploy, make

URL = "/api/v1/prompts/support/safety/dependents"


def test_it_lists_the_prompts_that_include_it_by_latest_and_live_version(as_user, people, safety):
    parent = make(people["ed"], people["support"], "parent", '{% include "support/safety" %}',
                  deploy_to="development")  # fmt: skip
    add(people["ed"], parent, 'v2 {% include "support/safety@1" %} {% include "support/safety" %}')
    make(people["ed"], people["support"], "plain", "no includes")
    old = make(people["ed"], people["support"], "old", '{% include "support/safety@1" %}')
    add(people["ed"], old, "not any more")
    body = as_user("vic").get(URL).json()
    assert body["count"] == 2
    assert body["results"] == [
        {"address": "support/old", "name": "old", "versions": []},
        {
            "address": "support/parent",
            "name": "parent",
            "versions": [
                {"version": 2, "latest": True, "environments": [],
                 "references": ["support/safety", "support/safety@1"]},
                {"version": 1, "latest": False, "environments": ["development"],
                 "references": ["support/safety"]},
            ],
        },
    ]  # fmt: skip


def test_dependents_the_caller_may_not_see_are_left_out(as_user, people, safety):
    accounts.grant_on_prompt(people["alice"], safety, "oscar", "viewer")
    make(people["oscar"], people["billing"], "invoice", '{% include "support/safety" %}')
    make(people["ed"], people["support"], "mine", '{% include "support/safety" %}')
    seen_by_vic = as_user("vic").get(URL).json()["results"]
    assert [d["address"] for d in seen_by_vic] == ["support/mine"]
    seen_by_oscar = as_user("oscar").get(URL).json()["results"]
    assert [d["address"] for d in seen_by_oscar] == ["billing/invoice"]


def test_archived_dependents_are_left_out(as_user, people, safety):
    parent = make(people["ed"], people["support"], "parent", '{% include "support/safety" %}')
    services.archive_prompt(people["alice"], parent)
    assert as_user("alice").get(URL).json()["results"] == []


def test_a_prompt_the_caller_may_not_see_is_a_404(as_user, people, legal, safety):
    answer = as_user("vic").get("/api/v1/prompts/billing/legal/dependents")
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
    missing = as_user("vic").get("/api/v1/prompts/support/nothing/dependents")
    assert missing.json() == answer.json() | {
        "error": {**answer.json()["error"], "message": "No prompt support/nothing."}
    }


def test_a_new_deployment_of_a_dependent_shows(as_user, people, safety):
    parent = make(people["ed"], people["support"], "parent", '{% include "support/safety" %}')
    deploy(people["ed"], parent, "staging", parent.latest_version)
    versions = as_user("vic").get(URL).json()["results"][0]["versions"]
    assert versions == [{"version": 1, "latest": True, "environments": ["staging"],
                         "references": ["support/safety"]}]  # fmt: skip
