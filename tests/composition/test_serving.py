"""resolve and render answer the composed prompt; a change to any part is seen at once,
and a warm composed resolve costs what a plain one costs."""

import pytest

from accounts import services as accounts
from prompts import services
from tests.api.test_query_counts import count_cache_calls, queries_of
from tests.composition.conftest import add, deploy, make
from tests.serving.test_fast_path import Twin, bearer, took_fast_path

PARENT = "/api/v1/prompts/support/parent"
DEV = "?environment=development"


@pytest.fixture
def parent(people, safety):
    """support/parent v1, live in development: its own text around safety (followed)."""
    return make(
        people["ed"], people["support"], "parent",
        'Start {{ who }}. {% include "support/safety" %} End.', deploy_to="development",
    )  # fmt: skip


@pytest.fixture
def vic(as_user):
    return as_user("vic", scopes=["read"])


def test_resolve_answers_the_composed_template_with_its_dependencies(vic, parent):
    body = vic.get(f"{PARENT}/resolve{DEV}").json()
    assert body["template"] == "Start {{ who }}. Be safe, {{ name }}. End."
    assert body["dependencies"] == [
        {"address": "support/safety", "version": 1, "environment": "development"}
    ]
    assert [v["name"] for v in body["variables"]] == ["who", "name"]
    assert body["version"] == 1 and body["environment"] == "development"


def test_compose_false_answers_the_prompts_own_text(vic, parent):
    answer = vic.get(f"{PARENT}/resolve{DEV}&compose=false")
    body = answer.json()
    assert body["template"] == 'Start {{ who }}. {% include "support/safety" %} End.'
    assert body["dependencies"] == []
    assert body["content_hash"] == parent.latest_version.content_hash
    assert answer["ETag"] == f'"{parent.latest_version.content_hash}"'
    composed = vic.get(f"{PARENT}/resolve{DEV}")
    assert composed["ETag"] != answer["ETag"]
    assert vic.get(f"{PARENT}/resolve{DEV}&compose=true")["ETag"] == composed["ETag"]


def test_compose_takes_true_or_false_only(vic, parent):
    answer = vic.get(f"{PARENT}/resolve{DEV}&compose=maybe")
    assert answer.status_code == 400
    assert answer.json()["error"]["details"] == {"field": "compose"}


def test_a_plain_prompt_answers_no_dependencies(vic, prompt):
    body = vic.get(f"/api/v1/prompts/support/ticket-classifier/resolve{DEV}").json()
    assert body["dependencies"] == []
    assert body["content_hash"] == prompt.latest_version.content_hash


def test_the_etag_changes_when_a_snippet_is_deployed_and_304_while_nothing_changes(
    vic, people, parent, safety
):
    first = vic.get(f"{PARENT}/resolve{DEV}")
    etag = first["ETag"]
    again = vic.get(f"{PARENT}/resolve{DEV}", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    deploy(people["ed"], safety, "development", safety.latest_version)
    changed = vic.get(f"{PARENT}/resolve{DEV}", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["template"] == "Start {{ who }}. Be very safe, {{ name }}! End."
    assert changed.json()["dependencies"][0]["version"] == 2
    assert changed["ETag"] != etag
    assert vic.get(f"{PARENT}/resolve{DEV}", HTTP_IF_NONE_MATCH=changed["ETag"]).status_code == 304


def test_a_new_snippet_version_with_the_same_text_changes_the_etag(vic, people, parent, safety):
    before = vic.get(f"{PARENT}/resolve?label=latest")
    add(people["ed"], safety, safety.latest_version.template, variables=[{"name": "name"}])
    after = vic.get(f"{PARENT}/resolve?label=latest")
    assert after.json()["template"] == before.json()["template"]
    assert after["ETag"] != before["ETag"]
    assert after.json()["dependencies"][0]["version"] == 3


def test_rollback_rename_and_archive_of_a_snippet_are_seen_at_once(vic, people, parent, safety):
    from releases import services as releasing
    from releases.environments import find_environment

    deploy(people["ed"], safety, "development", safety.latest_version)
    assert "very safe" in vic.get(f"{PARENT}/resolve{DEV}").json()["template"]
    development = find_environment(safety.team, "development")
    releasing.rollback(people["ed"], safety, development)
    assert "Be safe," in vic.get(f"{PARENT}/resolve{DEV}").json()["template"]
    services.update_prompt(people["ed"], safety, slug="safety-first")
    body = vic.get(f"{PARENT}/resolve{DEV}").json()
    assert body["dependencies"][0]["address"] == "support/safety-first"
    services.archive_prompt(people["alice"], safety, force=True)
    answer = vic.get(f"{PARENT}/resolve{DEV}")
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "composition_failed"
    assert answer.json()["error"]["details"]["why"] == "archived"
    assert vic.get(f"{PARENT}/resolve{DEV}&compose=false").status_code == 200


def test_a_snippet_of_another_team_is_followed_in_its_team_and_seen_at_once(vic, people, legal):
    accounts.set_role(people["oscar"], people["billing"], "ed", "viewer")
    make(people["ed"], people["support"], "terms", 'T: {% include "billing/legal" %}',
         deploy_to="development")  # fmt: skip
    url = f"/api/v1/prompts/support/terms/resolve{DEV}"
    answer = vic.get(url)
    assert answer.status_code == 409  # nothing of billing/legal is live in development
    assert answer.json()["error"]["details"] == {
        "reference": "billing/legal",
        "why": "not_live",
        "environment": "development",
    }
    deploy(people["oscar"], legal, "development", legal.latest_version)
    assert vic.get(url).json()["template"] == "T: Legal: {{ clause }}"
    add(people["oscar"], legal, "Legal v2: {{ clause }}")
    deploy(people["oscar"], legal, "development", legal.latest_version)
    body = vic.get(url).json()
    assert body["template"] == "T: Legal v2: {{ clause }}"
    assert body["dependencies"] == [
        {"address": "billing/legal", "version": 2, "environment": "development"}
    ]


def test_render_renders_the_composed_text(vic, parent):
    body = {"variables": {"who": "Ann", "name": "Bo"}, "environment": "development"}
    answer = vic.post(f"{PARENT}/render", body, format="json")
    assert answer.status_code == 200
    assert answer.json()["rendered"] == "Start Ann. Be safe, Bo. End."


def test_render_lists_every_missing_variable_across_three_levels_in_one_400(vic, people):
    make(people["ed"], people["support"], "inner", "{{ inner_one }} {{ inner_two }}")
    make(people["ed"], people["support"], "middle", '{{ middle }} {% include "support/inner" %}')
    make(people["ed"], people["support"], "top", '{{ top }} {% include "support/middle" %}')
    answer = vic.post("/api/v1/prompts/support/top/render", {"version": 1}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "missing_variables"
    assert answer.json()["error"]["details"]["missing"] == [
        "top", "middle", "inner_one", "inner_two"
    ]  # fmt: skip


def test_a_warm_composed_resolve_reads_no_table(vic, parent):
    vic.get(f"{PARENT}/resolve{DEV}")
    assert queries_of(lambda: vic.get(f"{PARENT}/resolve{DEV}")) == 0
    assert queries_of(lambda: vic.get(f"{PARENT}/resolve{DEV}&compose=false")) == 0


def test_a_warm_composed_resolve_makes_the_round_trips_of_a_plain_one(
    vic, parent, prompt, monkeypatch
):
    plain = f"/api/v1/prompts/support/ticket-classifier/resolve{DEV}"
    vic.get(plain)
    vic.get(f"{PARENT}/resolve{DEV}")
    calls = count_cache_calls(monkeypatch)
    assert vic.get(plain).status_code == 200
    plain_calls = list(calls)
    calls.clear()
    assert vic.get(f"{PARENT}/resolve{DEV}").status_code == 200
    assert calls == plain_calls == ["get_many"]
    calls.clear()
    body = {"variables": {"who": "A"}, "environment": "development"}
    assert vic.post(f"{PARENT}/render", body, format="json").status_code == 200
    assert calls == ["get_many"]


def test_another_process_computes_the_same_composed_answer(vic, parent):
    """A process that holds no memo (another server) reads the composed payload the
    first one kept in the shared cache, and answers the same."""
    from prompts import cache

    first = vic.get(f"{PARENT}/resolve{DEV}")
    cache.payloads.clear()
    cache.pointers.clear()
    second = vic.get(f"{PARENT}/resolve{DEV}")
    assert (second.content, second["ETag"]) == (first.content, first["ETag"])


def test_the_lean_path_answers_composed_resolves_as_the_full_stack(
    token_of, people, parent, safety
):
    twin = Twin(**bearer(token_of("vic", scopes=["read"])))
    for query in [DEV, f"{DEV}&compose=false", "?label=latest", "?version=1", "?compose=nope"]:
        twin.same("get", f"{PARENT}/resolve{query}")
        answer = twin.same("get", f"{PARENT}/resolve{query}")
    assert took_fast_path(answer)
    etag = twin.same("get", f"{PARENT}/resolve{DEV}")["ETag"]
    assert twin.same("get", f"{PARENT}/resolve{DEV}", HTTP_IF_NONE_MATCH=etag).status_code == 304
    deploy(people["ed"], safety, "development", safety.latest_version)
    changed = twin.same("get", f"{PARENT}/resolve{DEV}", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and "very safe" in changed.json()["template"]
    twin.same("post", f"{PARENT}/render", {"variables": {"who": "A"}}, format="json")
    body = {"variables": {"who": "A", "name": "B"}, "environment": "development"}
    rendered = twin.same("post", f"{PARENT}/render", body, format="json")
    assert rendered.json()["rendered"] == "Start A. Be very safe, B! End."
    body = {"variables": {}, "environment": "development"}
    missing = twin.same("post", f"{PARENT}/render", body, format="json")
    assert missing.json()["error"]["details"]["missing"] == ["who", "name"]
    twin.same("get", f"/api/v1/prompts/support/safety/resolve{DEV}")
    services.archive_prompt(people["alice"], safety, force=True)
    assert twin.same("get", f"{PARENT}/resolve{DEV}").status_code == 409


def test_a_planned_deployment_of_a_snippet_is_composed_in_at_its_time(vic, people, parent, safety):
    """Nothing commits when a planned deployment becomes live: the composed answer's
    pointer must not outlive the moment."""
    from datetime import timedelta

    from django.utils import timezone

    from releases import services as releasing
    from releases.environments import find_environment
    from tests.releases.test_planned_releases import wait_until

    before = vic.get(f"{PARENT}/resolve{DEV}")
    soon = timezone.now() + timedelta(seconds=1.5)
    development = find_environment(safety.team, "development")
    releasing.deploy(people["ed"], safety, development, safety.latest_version, when=soon,
                     force=True)  # fmt: skip
    warm = vic.get(f"{PARENT}/resolve{DEV}", HTTP_IF_NONE_MATCH=before["ETag"])
    assert warm.status_code == 304  # still version 1 of the snippet, until `soon`
    wait_until(soon)
    after = vic.get(f"{PARENT}/resolve{DEV}", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200
    assert after.json()["dependencies"][0]["version"] == 2


def test_a_snippet_change_reaches_a_parent_that_includes_it_through_another(
    as_user, people, safety
):
    """support/safety <- support/middle <- billing/top: the billing team's answers are
    forgotten when safety moves, though billing/top never names it."""
    accounts.grant_on_prompt(people["alice"], safety, "oscar", "viewer")
    middle = make(people["ed"], people["support"], "middle", 'M {% include "support/safety" %}',
                  deploy_to="development")  # fmt: skip
    accounts.grant_on_prompt(people["alice"], middle, "oscar", "viewer")
    make(people["oscar"], people["billing"], "top", 'T {% include "support/middle" %}',
         deploy_to="development")  # fmt: skip
    oscar = as_user("oscar", scopes=["read"])
    url = f"/api/v1/prompts/billing/top/resolve{DEV}"
    assert oscar.get(url).json()["template"] == "T M Be safe, {{ name }}."
    assert oscar.get(url).status_code == 200  # warm
    deploy(people["ed"], safety, "development", safety.latest_version)
    body = oscar.get(url).json()
    assert body["template"] == "T M Be very safe, {{ name }}!"
    assert body["dependencies"] == [
        {"address": "support/middle", "version": 1, "environment": "development"},
        {"address": "support/safety", "version": 2, "environment": "development"},
    ]


def test_a_rollback_of_the_parent_serves_its_exact_composed_text_again(
    token_of, people, parent, safety
):
    """resolve and render, on both paths: after the snippet moved on and the parent was
    released again, rolling the parent back answers the very text it had, not the
    snippet's newer one; a later release follows the snippet again."""
    from releases import services as releasing
    from releases.environments import find_environment

    twin = Twin(**bearer(token_of("vic", scopes=["read"])))
    ed, development = people["ed"], find_environment(parent.team, "development")
    before = twin.same("get", f"{PARENT}/resolve{DEV}").json()
    assert before["template"] == "Start {{ who }}. Be safe, {{ name }}. End."
    deploy(ed, safety, "development", safety.latest_version)  # the snippet moves on
    deploy(ed, parent, "development", add(ed, parent, 'Begin. {% include "support/safety" %}'))
    assert "very safe" in twin.same("get", f"{PARENT}/resolve{DEV}").json()["template"]

    releasing.rollback(ed, parent, development)

    after = twin.same("get", f"{PARENT}/resolve{DEV}").json()
    assert after["template"] == before["template"]
    assert after["content_hash"] == before["content_hash"]
    assert after["dependencies"] == before["dependencies"]
    body = {"variables": {"who": "A", "name": "B"}, "environment": "development"}
    rendered = twin.same("post", f"{PARENT}/render", body, format="json")
    assert rendered.json()["rendered"] == "Start A. Be safe, B. End."

    deploy(ed, parent, "development", parent.versions.get(number=2))
    assert "very safe" in twin.same("get", f"{PARENT}/resolve{DEV}").json()["template"]
