"""Every page and every reading endpoint costs the same number of queries at any size.

One list holds them all (PINS). Each is requested at a small size and again after
everything it could list has grown several times: prompts, versions, deployments live
and planned, reviews, comments and replies, samples, usage, members, tokens,
environments, webhooks and deliveries, and the audit trail all of that writes. A
count that moves with the data is an N+1 to fix in the view or service.

A new URL pattern must join PINS, or ACTIONS (it only writes: a GET is refused), or
NOT_PINNED with its reason: test_every_url_is_pinned_or_named fails until it does.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import URLResolver, get_resolver, resolve
from django.utils import timezone

from accounts import services as accounts
from accounts import tokens
from evaluations import datasets
from evaluations import services as evaluating
from evaluations.models import Evaluation, RowResult
from prompts import samples, services
from releases import environments
from releases import services as deployments
from releases.models import Environment
from reviews import services as review
from runs import connections
from runs.models import Run
from serving.models import Usage
from webhooks import services as webhooks
from webhooks.models import Attempt

P = "/p/support/ticket-classifier"
A = "/api/v1/prompts/support/ticket-classifier"
W = "/api/v1/teams/support/webhooks/{hook}"

# (persona, url): API urls are requested with the persona's token, pages signed in.
PINS: list[tuple[str, str]] = [
    # pages
    ("rita", "/"),
    ("rita", "/prompts/"),
    ("rita", "/prompts/?q=bulk&tag=bulk&team=support&sort=-updated"),
    ("alice", "/prompts/?archived=1"),
    ("gina", "/prompts/"),  # granted one prompt only
    ("rita", f"{P}/"),
    ("rita", f"{P}/v/1/"),
    ("rita", f"{P}/compare/?from=1&to=2"),
    ("rita", f"{P}/compare/?from=1&to=2&dependent=support/bulk-000&in=staging"),
    ("rita", f"{P}/releases/"),
    ("rita", f"{P}/deploy/"),
    ("ed", "/prompts/new/"),
    ("ed", f"{P}/versions/new/"),
    ("ed", f"{P}/settings/"),
    ("ed", f"{P}/samples/"),
    ("alice", f"{P}/audit/"),
    ("alice", f"{P}/grants/"),
    ("rita", "/reviews/"),
    ("rita", "/teams/support/board/"),
    ("alice", "/teams/support/"),
    ("alice", "/teams/support/tokens/"),
    ("alice", "/teams/support/environments/"),
    ("alice", "/teams/support/audit/"),
    ("alice", "/teams/support/webhooks/"),
    ("alice", "/teams/support/webhooks/{hook}/"),
    # API
    ("alice", "/api/v1/whoami"),
    ("alice", "/api/v1/teams"),
    ("alice", "/api/v1/teams/support/members"),
    ("alice", "/api/v1/teams/support/environments"),
    ("alice", "/api/v1/tokens"),
    ("rita", "/api/v1/prompts"),
    ("rita", "/api/v1/prompts?q=bulk&tag=bulk&team=support"),
    ("rita", "/api/v1/prompts?unused_days=30"),
    ("alice", "/api/v1/prompts?archived=true"),
    ("alice", "/api/v1/prompts/support/old-000"),  # archived: its admin reads it
    ("rita", A),
    ("rita", f"{A}/versions"),
    ("rita", f"{A}/versions/1"),
    ("rita", f"{A}/versions/1/comments"),
    ("rita", f"{A}/versions/1/review"),
    ("rita", "/api/v1/reviews"),
    ("rita", f"{A}/deployments"),
    ("rita", f"{A}/compare?from=1&to=2"),
    ("rita", f"{A}/usage"),
    ("alice", f"{A}/grants"),
    ("vic", f"{A}/resolve?environment=development"),
    # composition: who includes the prompt, and a prompt that includes it
    ("rita", f"{A}/dependents"),
    ("vic", "/api/v1/prompts/support/composed/resolve?environment=development"),
    ("rita", "/p/support/composed/v/1/"),
    ("alice", "/api/v1/teams/support/webhooks"),
    ("alice", W),
    ("alice", f"{W}/deliveries"),
    # model connections, runs, datasets and evaluations
    ("alice", "/teams/support/connections/"),
    ("alice", "/teams/support/connections/openai/"),
    ("ed", "/prompts/support/ticket-classifier/playground/"),
    ("ed", "/prompts/support/ticket-classifier/playground/compare/"),
    ("alice", "/api/v1/teams/support/connections"),
    ("alice", "/api/v1/teams/support/connections/openai"),
    ("ed", f"{A}/runs"),
    ("ed", f"{A}/datasets"),
    ("ed", f"{A}/datasets/golden"),
    ("ed", f"{A}/evaluations"),
    ("ed", f"{A}/evaluations/{{evaluation}}"),
    ("ed", f"{P}/datasets/"),
    ("ed", f"{P}/datasets/?from=samples"),
    ("ed", f"{P}/datasets/golden/"),
    ("vic", f"{P}/datasets/golden/"),
    ("vic", f"{P}/evaluations/{{evaluation}}/"),
    ("vic", f"{P}/evaluations/{{evaluation}}/?failed=1"),
    ("vic", f"{P}/evaluations/{{evaluation}}/progress/"),
    ("vic", f"{P}/evaluations/compare/?a={{evaluation}}&b={{other}}"),
]

# Routes that only write; each refuses a GET (checked below), so it has no page to pin.
ACTIONS: list[str] = [
    "/preview/",
    "/teams/support/members/",
    "/teams/support/members/vic/role/",
    "/teams/support/members/vic/remove/",
    "/teams/support/tokens/1/revoke/",
    "/teams/support/webhooks/1/secret/",
    "/teams/support/webhooks/1/delete/",
    "/teams/support/webhooks/1/test/",
    "/teams/support/webhooks/1/deliveries/1/redeliver/",
    "/teams/support/environments/staging/",
    "/teams/support/environments/staging/delete/",
    f"{P}/v/1/review/",
    f"{P}/v/1/deprecate/",
    f"{P}/v/1/comments/",
    f"{P}/v/1/comments/1/edit/",
    f"{P}/v/1/comments/1/resolve/",
    f"{P}/rollback/",
    f"{P}/deployments/1/cancel/",
    f"{P}/grants/gina/revoke/",
    "/api/v1/teams/support/members/vic",
    "/api/v1/teams/support/environments/staging",
    "/api/v1/teams/support/import",
    "/api/v1/tokens/1",
    f"{A}/restore",
    f"{A}/versions/1/comments/1",
    f"{A}/versions/1/comments/1/resolve",
    f"{A}/versions/1/deprecate",
    f"{A}/render",
    f"{A}/deployments/rollback",
    f"{A}/deployments/1/cancel",
    f"{A}/grants/gina",
    "/api/v1/teams/support/webhooks/1/rotate-secret",
    "/api/v1/teams/support/webhooks/1/ping",
    "/api/v1/teams/support/webhooks/1/deliveries/1/redeliver",
    "/teams/support/connections/openai/key/",
    "/teams/support/connections/openai/delete/",
    "/prompts/support/ticket-classifier/playground/draft/",
    "/prompts/support/ticket-classifier/playground/stream/",
    f"{A}/run",
    f"{A}/evaluations/1/cancel",
    f"{P}/datasets/golden/evaluate/",
    f"{P}/evaluations/1/cancel/",
]

# Routes deliberately left out, and why.
NOT_PINNED: dict[str, str] = {
    "api/schema/": "the OpenAPI document: built from code, reads no data",
    "api/docs/": "the API explorer page: static",
    "api/v1/teams/<str:team>/export": "an archive of the whole team: its size is the data",
    "healthz": "the process answers: reads no data",
    "readyz": "one SELECT 1, a cache write and read: reads no data",
}
# Whole trees left out: Django's admin and its sign-in pages are not ours to pin.
NOT_PINNED_TREES = ("admin/", "accounts/")


def all_routes() -> set[str]:
    def walk(patterns, prefix: str):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            else:
                yield route

    return {
        route
        for route in walk(get_resolver().url_patterns, "")
        if not route.startswith(NOT_PINNED_TREES)
    }


def route_of(url: str) -> str:
    return resolve(url.split("?")[0]).route


def test_every_url_is_pinned_or_named():
    named = {route_of(url.format(hook=1, evaluation=1, other=2)) for _, url in PINS}
    named |= {route_of(url) for url in ACTIONS} | set(NOT_PINNED)
    assert all_routes() - named == set(), "pin the new page, or name it in ACTIONS"
    assert named - all_routes() == set(), "a route named here no longer exists"


@pytest.mark.parametrize("url", ACTIONS)
def test_an_action_refuses_a_get(people, as_user, client, url):
    if url.startswith("/api/"):
        response = as_user("alice").get(url)
    else:
        client.force_login(people["alice"])
        response = client.get(url)
    assert response.status_code == 405, url


# ---------------------------------------------------------------------- the data


def env(team, slug: str) -> Environment:
    return Environment.objects.get(team=team, slug=slug)


@pytest.fixture
def world(people, prompt, settings):
    """A version 2 to compare with, gina granted the one prompt, a webhook, and one
    step of everything grown."""
    ed, alice = people["ed"], people["alice"]
    accounts.grant_on_prompt(alice, prompt, "gina", "viewer")
    services.add_version(ed, prompt, template="Sort: {{ ticket_text }}", deploy_to="staging")
    hook = webhooks.create_webhook(
        alice, people["support"], url="https://hooks.example.com/in", events=["version.created"]
    )
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    # A public address that no test ever calls: nothing runs, the rows are read.
    connections.create_connection(
        alice, people["support"], name="openai", provider="openai",
        base_url="https://8.8.8.8/v1", api_key="sk-pins-0000", models=["model-a"],
    )  # fmt: skip
    datasets.create_dataset(
        ed, prompt, name="golden", rows=[{"variables": {"ticket_text": "t"}, "expected": "x"}],
        checks=[{"type": "contains"}],
    )  # fmt: skip
    evaluation = evaluating.start_evaluation(
        ed, prompt, dataset="golden", connection="openai", version=1, model="model-a"
    )
    other = evaluating.start_evaluation(
        ed, prompt, dataset="golden", connection="openai", version=2, model="model-a"
    )
    services.create_prompt(
        ed, people["support"], name="Composed", deploy_to="development",
        template='Before. {% include "support/ticket-classifier" %} After.',
    )  # fmt: skip
    grow(people, prompt, hook, 1, 0)
    return {"hook": hook.pk, "evaluation": evaluation.pk, "other": other.pk}


def grow(people, prompt, hook, n: int, start: int) -> None:
    for i in range(start, start + n):
        grow_prompts(people, i)
        grow_the_prompt(people, prompt, i)
        grow_the_team(people, hook, i)


def grow_prompts(people, i: int) -> None:
    """A support prompt with a version in review, approved, live and planned in
    production (including the prompt the pages show); an archived one; and a billing
    prompt nobody in support may see."""
    ed, rita = people["ed"], people["rita"]
    other = services.create_prompt(
        ed,
        people["support"],
        name=f"Bulk {i:03d}",
        tags=["bulk"],
        template=f"Body {i} {{{{ x }}}}",
        deploy_to="development",
    )
    # Bulk prompts include the prompt the pages show: its "Used by" grows too.
    version = services.add_version(
        ed, other, template='v2 {{ x }} {% include "support/ticket-classifier" %}',
        deploy_to="staging",
    )  # fmt: skip
    review.request_review(ed, version, reviewers=["rita"])
    review.add_comment(rita, version, body="ok", verdict="approve")
    production = env(people["support"], "production")
    deployments.deploy(rita, other, production, version)
    later = timezone.now() + timedelta(days=1)
    deployments.deploy(rita, other, production, version, when=later)
    # Its latest version includes the prompt the pages show (its dependents grow).
    services.add_version(ed, other, template='v3 {{ x }} {% include "support/ticket-classifier" %}')
    review.request_review(ed, other.latest_version, reviewers=["rita"])
    old = services.create_prompt(
        ed, people["support"], name=f"Old {i:03d}", template="v1 {{ x }}", deploy_to="staging"
    )
    services.add_version(ed, old, template='v2 {% include "support/ticket-classifier" %}')
    services.archive_prompt(people["alice"], old)
    services.create_prompt(
        people["oscar"], people["billing"], name=f"Invoice {i:03d}", template="secret {{ x }}"
    )


def grow_the_prompt(people, prompt, i: int) -> None:
    """More versions, deployments, comments with replies, samples and usage of the
    prompt the pages show."""
    ed, rita = people["ed"], people["rita"]
    services.add_version(ed, prompt, template=f"More {i} {{{{ ticket_text }}}}")
    deployments.deploy(rita, prompt, env(prompt.team, "development"), prompt.latest_version)
    first = prompt.versions.get(number=1)
    thread = review.add_comment(rita, first, body=f"Why {i}?", line=1)
    review.add_comment(ed, first, body="Because", parent=thread.pk)
    review.add_comment(ed, first, body=f"Note {i}")
    samples.save_sample(ed, prompt, f"sample {i}", {"ticket_text": f"text {i}"})
    rows = [{"variables": {"ticket_text": f"t{i}"}, "expected": "x"}]
    datasets.save_revision(ed, prompt, "golden", rows=rows, checks=[{"type": "contains"}])
    datasets.create_dataset(ed, prompt, name=f"extra-{i}", rows=rows)
    evaluating.start_evaluation(
        ed, prompt, dataset="golden", connection="openai", version=1, model="model-a"
    )
    for evaluation in Evaluation.objects.filter(prompt=prompt).order_by("pk")[:2]:
        RowResult.objects.create(
            evaluation=evaluation, index=i, variables={"ticket_text": f"t{i}"},
            output=f"out {i} of {evaluation.pk}", passed=i % 2 == 1,
            checks=[{"type": "contains", "passed": i % 2 == 1, "reason": "why"}],
        )  # fmt: skip
    Run.objects.create(
        prompt=prompt, version=prompt.latest_version, connection_name="openai",
        provider="openai", model="model-a", output=f"out {i}", created_by=ed,
    )  # fmt: skip
    Usage.objects.create(
        prompt=prompt,
        version=prompt.latest_version,
        environment="development",
        kind="resolve",
        caller=f"user:{i}",
        day=timezone.now().date(),
        count=i + 1,
        last_seen=timezone.now(),
    )


def grow_the_team(people, hook, i: int) -> None:
    """Members, tokens, an environment, a webhook and deliveries with attempts."""
    alice, support = people["alice"], people["support"]
    member = get_user_model().objects.create_user(username=f"member{i}")
    accounts.set_role(alice, support, member.username, ["viewer", "editor", "reviewer"][i % 3])
    tokens.issue(alice, name=f"script {i}", team=support)
    tokens.issue(member, name=f"own {i}")
    environments.create_environment(alice, support, slug=f"canary-{i}")
    connections.create_connection(
        alice, support, name=f"extra-{i}", provider="anthropic",
        base_url="https://8.8.4.4", api_key=f"sk-extra-{i:04d}",
    )  # fmt: skip
    webhooks.create_webhook(
        alice, support, url=f"https://hooks.example.com/{i}", events=["version.created"]
    )
    made = webhooks.send_test(alice, webhooks.find_webhook(alice, support, hook.pk))
    Attempt.objects.create(
        delivery=made, number=1, started_at=made.created_at, duration_ms=5, status_code=500
    )


# ---------------------------------------------------------------------- the pins


def queries_of(get, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured.captured_queries)


def getter(people, as_user, username: str, url: str):
    if url.startswith("/api/v1/tokens"):  # managing tokens through a token needs its scope
        return as_user(username, scopes=["read", "write", "deploy", "tokens"]).get
    if url.startswith("/api/"):
        return as_user(username).get
    client = Client()
    client.force_login(people[username])
    return client.get


@pytest.mark.parametrize("username, url", PINS)
def test_the_queries_of_a_page_do_not_grow_with_the_data(
    people, prompt, world, as_user, username, url
):
    url = url.format(**world)
    get = getter(people, as_user, username, url)
    get(url)  # the caller's rights and token are cached from now on
    small = queries_of(get, url)
    hook = webhooks.find_webhook(people["alice"], people["support"], world["hook"])
    grow(people, prompt, hook, 4, 1)  # five times as much of everything
    get(url)  # rights read again after the team changed
    assert queries_of(get, url) == small
