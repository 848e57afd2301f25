"""Query counts: a warm resolve reads no table; lists cost the same at any size."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from prompts import services

P = "/api/v1/prompts/support/ticket-classifier"


def queries_of(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code < 400, response.content
    return len(captured.captured_queries)


def test_a_warm_resolve_reads_no_table(as_user, prompt):
    vic = as_user("vic", scopes=["read"])
    vic.get(f"{P}/resolve?environment=development")  # warms token, rights and pointer
    assert queries_of(lambda: vic.get(f"{P}/resolve?environment=development")) == 0
    assert queries_of(lambda: vic.get(f"{P}/resolve?label=latest")) > 0  # another pointer
    assert queries_of(lambda: vic.get(f"{P}/resolve?label=latest")) == 0


def count_cache_calls(monkeypatch) -> list[str]:
    """The caller's calls to the default cache (a file cache's get_many reads key by key;
    only the outermost call counts)."""
    from django.core.cache import caches

    backend = type(caches["default"])
    calls: list[str] = []
    depth = [0]

    def counted(name):
        original = getattr(backend, name)

        def call(self, *args, **kwargs):
            if depth[0] == 0:
                calls.append(name)
            depth[0] += 1
            try:
                return original(self, *args, **kwargs)
            finally:
                depth[0] -= 1

        monkeypatch.setattr(backend, name, call)

    counted("get")
    counted("get_many")
    return calls


def test_a_warm_resolve_makes_one_shared_cache_round_trip(as_user, prompt, monkeypatch):
    """The token's identity, the team's generation and the caller's rights generation,
    read together: the same one round trip as whoami's token read."""
    vic = as_user("vic", scopes=["read"])
    vic.get(f"{P}/resolve?environment=development")
    calls = count_cache_calls(monkeypatch)
    assert vic.get(f"{P}/resolve?environment=development").status_code == 200
    assert calls == ["get_many"]
    calls.clear()
    assert vic.get("/api/v1/whoami").status_code == 200
    assert calls == ["get"]


def test_a_warm_render_makes_one_shared_cache_round_trip(as_user, prompt, monkeypatch):
    vic = as_user("vic", scopes=["read"])
    body = {"variables": {"ticket_text": "x"}, "environment": "development"}
    vic.post(f"{P}/render", body, format="json")
    calls = count_cache_calls(monkeypatch)
    assert vic.post(f"{P}/render", body, format="json").status_code == 200
    assert calls == ["get_many"]


def test_a_process_that_never_saw_the_token_reads_it_first(as_user, prompt, monkeypatch):
    from accounts import tokens

    vic = as_user("vic", scopes=["read"])
    vic.get(f"{P}/resolve?environment=development")
    tokens._owners.clear()  # whose token it is: not yet known here
    calls = count_cache_calls(monkeypatch)
    assert vic.get(f"{P}/resolve?environment=development").status_code == 200
    assert calls == ["get", "get_many"]
    calls.clear()
    assert vic.get(f"{P}/resolve?environment=development").status_code == 200
    assert calls == ["get_many"]


def test_bad_resolve_requests_prefetch_nothing_and_get_their_error(as_user, prompt):
    vic = as_user("vic", scopes=["read"])
    vic.get(f"{P}/resolve?environment=development")
    assert vic.get(f"{P}/resolve?environment=development&version=1").status_code == 400
    assert vic.get(f"{P}/resolve?version=0").status_code == 400
    assert vic.get("/api/v1/prompts/support/Not%20a%20slug/resolve").status_code == 404
    from django.contrib.auth import get_user_model

    from serving.services import warm_keys

    user_id = get_user_model().objects.get(username="vic").pk
    asks = [{"environment": "development", "version": "1"}, {"version": "0"}, {"label": "x"}]
    for ask in asks:
        assert warm_keys(user_id, "support", "ticket-classifier", ask) == []
    assert warm_keys(user_id, "support", "Not a slug", {}) == []
    good = warm_keys(user_id, "support", "ticket-classifier", {"environment": "development"})
    assert "gen:support" in good and f"aclgen:{user_id}" in good


def test_a_warm_render_reads_no_table(as_user, prompt):
    vic = as_user("vic", scopes=["read"])
    body = {"variables": {"ticket_text": "x"}, "environment": "development"}
    vic.post(f"{P}/render", body, format="json")
    assert queries_of(lambda: vic.post(f"{P}/render", body, format="json")) == 0


def add_prompts(people, n: int, start: int) -> None:
    for i in range(start, start + n):
        p = services.create_prompt(
            people["ed"],
            people["support"],
            name=f"Prompt {i}",
            tags=["bulk"],
            template=f"Body {i} {{{{ x }}}}",
            deploy_to="development",
        )
        services.add_version(
            people["ed"], p, template=f"Body {i} v2 {{{{ x }}}}", deploy_to="staging"
        )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/prompts",
        "/api/v1/prompts?q=body",
        "/api/v1/prompts?tag=bulk",
        "/api/v1/prompts?team=support",
        f"{P}/versions",
        f"{P}/deployments",
        "/api/v1/teams",
        "/api/v1/teams/support/members",
        "/api/v1/teams/support/environments",
        "/api/v1/tokens",
        f"{P}/versions/1/comments",
        f"{P}/usage",
    ],
)
def test_list_endpoints_cost_the_same_at_any_size(as_user, people, prompt, path):
    ed = as_user("ed", scopes=["read", "write", "deploy", "tokens"])
    add_prompts(people, 3, 0)
    ed.get(path)  # the token and the caller's rights are cached from now on
    small = queries_of(lambda: ed.get(path))
    add_prompts(people, 12, 3)
    for i in range(5):
        services.add_version(
            people["ed"],
            prompt,
            template=f"more {i} {{{{ ticket_text }}}}",
            deploy_to="development",
        )
    assert queries_of(lambda: ed.get(path)) == small
