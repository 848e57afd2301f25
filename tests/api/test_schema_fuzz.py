"""Property-based fuzzing of the REST API against its own OpenAPI schema (Schemathesis).

For every operation in `/api/schema/`, Schemathesis generates valid and invalid requests
(its coverage phase: boundary values of every parameter and body field; then 50 fuzzed
examples per operation), sends them as alice (admin of "support", so most operations are
reachable) and checks that:

- nothing ends in a 5xx (api.md: "A request never ends in a 500 for anything a client
  can send");
- the status code is one the schema documents for the operation;
- a documented body has the documented content type and matches its schema;
- every error body, documented or not, is JSON in the contract's shape
  `{"error": {"code", "message", "details"}}`.

The schema is loaded from the project's WSGI application, in-process, and every request
goes through that same application: it runs on the test's database connection, inside
the test's transaction, and sees the fixtures. Each example runs in a savepoint that is
rolled back, and the caches are dropped after it, so every example starts from the same
world (a DELETE in one example cannot starve the next). Runs are repeatable:
`derandomize=True`, and no input depends on the process's hash seed.

Path parameters, query parameters and body fields that name things are often replaced by
real ones (team `support`, prompt `ticket-classifier` with versions 1..3, member `vic`,
...) so most requests reach real objects instead of 404s, and sometimes by odd ones
(spaces, 300 characters, 10**20) that a client may always send.

Where the served schema is wrong but the server does what /work/shared/api.md says,
`CONTRACT_AMENDMENTS` below corrects the schema before the run; each amendment only
applies while the schema still lacks it, so a fixed schema makes it a no-op. Anything
else that differs from the schema fails here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache as django_cache
from django.db import close_old_connections, transaction
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.meta import TestPhase
from schemathesis.hooks import GLOBAL_HOOK_DISPATCHER
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts import tokens
from accounts.models import ApiToken
from prompts import cache as prompt_cache
from prompts import services
from registry_site.wsgi import application
from releases import environments
from releases import services as deployments
from reviews import services as review
from serving import usage
from webhooks import services as webhooks

SCHEMA_PATH = "/api/schema/"
MAX_EXAMPLES = 50

# ------------------------------------------------------------------ what api.md adds

ERROR_BODY = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string", "minLength": 1},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
            "required": ["code", "message", "details"],
            "additionalProperties": False,
        }
    },
    "required": ["error"],
    "additionalProperties": False,
}

# api.md, "Errors": what any operation may answer besides its success.
CONTRACT_ERRORS = {
    "400": "invalid input",
    "401": "no or bad credentials",
    "403": "not allowed",
    "404": "not found or not visible",
    "409": "conflict",
    "429": "throttled",
}


def _paginated(operation: dict) -> None:
    content = operation["responses"]["200"]["content"]["application/json"]
    if content["schema"].get("type") == "array":
        content["schema"] = {
            "type": "object",
            "properties": {
                "count": {"type": "integer", "minimum": 0},
                "next": {"type": "string", "nullable": True},
                "previous": {"type": "string", "nullable": True},
                "results": content["schema"],
            },
            "required": ["count", "next", "previous", "results"],
        }


def _every_contract_error(operation: dict) -> None:
    for code, text in CONTRACT_ERRORS.items():
        operation["responses"].setdefault(code, {"description": text})


# (method, path) -> how the served schema is corrected to what api.md and the server agree
# on. Each one is a bug of the schema, not of the server.
CONTRACT_AMENDMENTS: dict[tuple[str, str], Callable[[dict], None]] = {
    # api.md: `GET /api/v1/prompts` answers `{count, next, previous, results: [prompt]}`.
    ("get", "/api/v1/prompts"): _paginated,
    # api.md does not give the shape of the deployment history; the server pages it as
    # it pages prompts.
    ("get", "/api/v1/prompts/{team}/{slug}/deployments"): _paginated,
    # api.md: 404 for an object the caller may not see, 401 without good credentials, 429
    # when throttled; these operations documented their one success or refusal alone.
    ("put", "/api/v1/prompts/{team}/{slug}/versions/{number}"): _every_contract_error,
    ("patch", "/api/v1/prompts/{team}/{slug}/versions/{number}"): _every_contract_error,
    ("delete", "/api/v1/prompts/{team}/{slug}/versions/{number}"): _every_contract_error,
    ("delete", "/api/v1/tokens/{token_id}"): _every_contract_error,
}


def amend_to_the_contract(context, raw_schema: dict) -> None:
    """Correct the served schema where it, not the server, is wrong (see above); let any
    body be refused as too large; give every documented error api.md's body."""
    paths = raw_schema.get("paths", {})
    for (method, path), amend in CONTRACT_AMENDMENTS.items():
        if method in paths.get(path, {}):
            amend(paths[path][method])
    for operations in paths.values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if "requestBody" in operation:
                # MAX_REQUEST_BYTES (1 MiB) bounds every body, while the schema's limits
                # are in characters (a template may have 1,000,000, up to 12 bytes each
                # once JSON-escaped). The server refuses more with 413 in the error body.
                operation["responses"].setdefault("413", {"description": "body too large"})
            for code, response in operation["responses"].items():
                if code.startswith("4") and "content" not in response:
                    response["content"] = {"application/json": {"schema": ERROR_BODY}}


def _load_schema():
    hook = schemathesis.hook("before_load_schema")(amend_to_the_contract)
    try:
        return schemathesis.openapi.from_wsgi(SCHEMA_PATH, application)
    finally:
        GLOBAL_HOOK_DISPATCHER.unregister(hook)


schema = _load_schema()
# Schemathesis may also draw literals found in the application's source, in an order that
# depends on the process's hash seed: runs would differ. The values below do that job.
schema.config.analysis.constants.enabled = False
# A NUL anywhere in a body makes the whole body a 400, which would hide everything else in
# it; NUL and lone surrogates are sent on purpose instead (see ODD).
schema.config.generation.update(allow_x00=False)

# ------------------------------------------------------------------ values to aim at

ENVIRONMENTS = ["development", "staging", "production"]
VERSIONS = [1, 2, 3]
ODD_NAMES = ["two words", "x" * 300, "Ünïcödé", "nul\x00"]
ODD_TEXT = ["nul\x00", "lone \ud800 surrogate", "{{ unclosed", "{% for x in y %}", "x" * 5000]
HUGE = 10**20

# Real values, by location and name; filled in by `world` (some are database ids).
REAL: dict[str, dict] = {"path": {}, "query": {}, "body": {}, "bodies": {}}

# Values a client may always send, to be refused with a 4xx.
ODD: dict[str, dict[str, list]] = {
    "path": {
        "team": ODD_NAMES,
        "slug": ODD_NAMES,
        "username": ODD_NAMES,
        "number": [0, HUGE],
        "token_id": [0, HUGE],
        "webhook_id": [0, HUGE],
        "delivery_id": [0, HUGE],
        "environment": ODD_NAMES,
        "deployment_id": [0, HUGE],
        "comment_id": [0, HUGE],
    },
    "query": {
        "environment": ODD_NAMES,
        "team": ODD_NAMES,
        "version": [0, HUGE],
        "from": [0, HUGE],
        "to": [HUGE],
        "page": [HUGE],
        "page_size": [0, HUGE],
        "q": ["%_\\", "x" * 5000],
    },
    "body": {
        "team": ODD_NAMES,
        "environment": ODD_NAMES,
        "deploy_to": ODD_NAMES,
        "version": [HUGE],
        "parent": [HUGE],
        "scheduled_for": ["2030-01-01T00:00:00"],
        "name": ODD_TEXT,
        "template": ODD_TEXT
        + ["{{ ''.__class__.__mro__ }}", "{% for i in range(10**9) %}x{% endfor %}"],
        "body": ODD_TEXT,
        "note": ODD_TEXT,
        "reviewers": [["vic"], ["ed"], ODD_NAMES],
        "variables": [{"ticket_text": "nul\x00"}, [{"name": "not a name"}]],
        "config": [{"k": "nul\x00"}, {"nested": [[[[[]]]]]}],
    },
}

P = "/api/v1/prompts/{team}/{slug}"

# Whole bodies that should succeed (with alice as the caller), per operation; the
# `world` fixture adds those that need database ids.
REAL_BODIES: dict[tuple[str, str], list] = {
    ("post", "/api/v1/prompts"): [
        {
            "team": "support",
            "name": "Refund answer",
            "template": "Refund {{ amount }}",
            "tags": ["billing"],
            "variables": [{"name": "amount", "default": "10 EUR"}],
            "config": {"model": "small"},
            "deploy_to": "development",
        },
        {
            "team": "support",
            "name": "Chatty",
            "messages": [{"role": "system", "content": "Hi {{ who }}"}],
        },
    ],
    ("patch", P): [
        {"description": "Sorts tickets well", "tags": ["triage", "v2"]},
        {"slug": "classifier"},
    ],
    ("post", f"{P}/versions"): [
        {"template": "v4 {{ ticket_text }}", "change_note": "shorter", "deploy_to": "staging"},
        {"messages": [{"role": "user", "content": "{{ ticket_text }}"}]},
    ],
    ("post", f"{P}/render"): [
        {"variables": {"ticket_text": "printer on fire", "product": "Acme"}},
        {"variables": {"ticket_text": "x", "product": "Y"}, "version": 3},
        {"variables": {"ticket_text": "x"}, "environment": "development"},
    ],
    ("post", f"{P}/deployments"): [
        {"environment": "staging", "version": 3, "note": "ship it"},
        {"environment": "production", "version": 3},
        {"environment": "development", "version": 1, "scheduled_for": "2030-01-01T00:00:00Z"},
    ],
    ("post", f"{P}/deployments/rollback"): [{"environment": "development"}],
    ("post", "/api/v1/teams/{team}/environments"): [
        {"slug": "canary", "name": "Canary", "protected": True, "required_approvals": 1},
        {"slug": "qa", "order": 1, "requires_previous": True, "is_default": True},
    ],
    ("patch", "/api/v1/teams/{team}/environments/{environment}"): [
        {"required_approvals": 2, "protected": True, "requires_previous": True},
        {"is_default": True},
        {"is_default": False},
    ],
    ("post", f"{P}/versions/{{number}}/comments"): [{"body": "Looks good", "verdict": "approve"}],
    ("post", f"{P}/versions/{{number}}/review"): [
        {"note": "before Friday", "reviewers": ["rita"]},
        {"reviewers": []},
        {},
    ],
    ("patch", f"{P}/versions/{{number}}/comments/{{comment_id}}"): [{"body": "Edited *text*"}],
    ("post", f"{P}/versions/{{number}}/comments/{{comment_id}}/resolve"): [
        {"resolved": True},
        {"resolved": False},
    ],
    ("put", "/api/v1/teams/{team}/members/{username}"): [{"role": "editor"}],
    ("post", "/api/v1/tokens"): [{"name": "ci", "scopes": ["read"], "team": "support"}],
    ("post", "/api/v1/teams"): [{"slug": "ops", "name": "Ops"}],
    ("post", "/api/v1/teams/{team}/webhooks"): [
        {"url": "https://hooks.example.com/new", "events": ["version.created", "prompt.archived"]},
    ],
    ("patch", "/api/v1/teams/{team}/webhooks/{webhook_id}"): [
        {"active": False, "description": "paused"},
        {"url": "http://127.0.0.1:9/hook", "events": ["review.verdict"]},
    ],
}


def _aim_path(generated: dict | None) -> st.SearchStrategy:
    """Mostly every parameter real (so the request reaches a real object), sometimes real
    or odd ones mixed, sometimes the generated values as they are."""
    keys = [k for k in generated or {} if REAL["path"].get(k)]
    if not keys:
        return st.just(generated)
    real = st.fixed_dictionaries({k: st.sampled_from(REAL["path"][k]) for k in keys})
    mixed = st.fixed_dictionaries(
        {k: st.sampled_from(REAL["path"][k] + ODD["path"].get(k, [])) for k in keys}
    )
    return st.integers(0, 4).flatmap(
        lambda n: (
            st.just(generated)
            if n == 0
            else (mixed if n == 1 else real).map(lambda chosen: {**generated, **chosen})
        )
    )


def _aim_field(value: Any, real: list, odd: list) -> st.SearchStrategy:
    """Half the time a real value, else the generated one or an odd one; only values of the
    generated value's JSON type, so a value generated to be invalid stays invalid."""
    real = [v for v in real if type(v) is type(value)]
    odd = [v for v in odd if type(v) is type(value)]
    options = [st.just(value), st.sampled_from(odd) if odd else st.just(value)]
    if real:
        options += [st.sampled_from(real)] * 2
    return st.integers(0, len(options) - 1).flatmap(lambda n: options[n])


def _aim_fields(generated: Any, location: str) -> st.SearchStrategy:
    if not isinstance(generated, dict):
        return st.just(generated)
    choices = {
        key: _aim_field(value, REAL[location].get(key, []), ODD[location].get(key, []))
        for key, value in generated.items()
        if key in REAL[location] or key in ODD[location]
    }
    if not choices:
        return st.just(generated)
    return st.fixed_dictionaries(choices).map(lambda chosen: {**generated, **chosen})


@schema.hook
def flatmap_path_parameters(context, path_parameters):
    return _aim_path(path_parameters)


@schema.hook
def flatmap_query(context, query):
    return _aim_fields(query, "query")


@schema.hook
def flatmap_body(context, body):
    """A third of the bodies as generated, a third with real or odd fields, a third a
    whole real body of the operation (when it has one)."""
    operation = context.operation
    real = REAL_BODIES.get((operation.method.lower(), operation.path), []) + REAL["bodies"].get(
        (operation.method.lower(), operation.path), []
    )
    options = [st.just(body), _aim_fields(body, "body")]
    if real and isinstance(body, dict):
        options.append(st.sampled_from(real))
    return st.integers(0, len(options) - 1).flatmap(lambda n: options[n])


def _aim_coverage_case(case) -> None:
    """The coverage phase puts placeholders ("0") in the path; unless the path is what a
    case tests, aim it at the real prompt, so the body or query it tests gets past the
    lookup to the validation."""
    if case.meta is None or case.meta.phase.name != TestPhase.COVERAGE or not case.path_parameters:
        return
    if case.meta.phase.data.parameter_location == ParameterLocation.PATH:
        return
    case.path_parameters = {
        key: REAL["path"][key][0] if REAL["path"].get(key) else value
        for key, value in case.path_parameters.items()
    }


@pytest.fixture
def world(people, prompt, billing_prompt, token_of):
    """support/ticket-classifier with versions 1..3 (v2 live in development after v1, v3
    approved by rita and live in production), a comment; yields the request headers of each
    caller (alice, with a full token)."""
    ed, rita, alice = people["ed"], people["rita"], people["alice"]
    services.add_version(ed, prompt, template="v2 {{ ticket_text }}", deploy_to="development")
    v3 = services.add_version(ed, prompt, template="v3 {{ ticket_text }} for {{ product }}")
    comment = review.add_comment(rita, services.find_version(prompt, 1), body="Looks right")
    # alice's own, on a line, so that editing it succeeds (editing rita's is refused)
    mine = review.add_comment(alice, services.find_version(prompt, 1), body="Mine", line=1)
    review.add_comment(rita, v3, body="Approved", verdict="approve")
    production = environments.find_environment(prompt.team, "production")
    deployments.deploy(rita, prompt, production, v3)
    staging = environments.find_environment(prompt.team, "staging")
    tomorrow = timezone.now() + timedelta(days=1)
    planned = deployments.deploy(rita, prompt, staging, v3, when=tomorrow)
    raw = token_of("alice", scopes=["read", "write", "deploy", "tokens"])
    own = ApiToken.objects.get(prefix=raw.split("_")[1]).pk
    spare, _ = tokens.issue(alice, name="spare")
    hook = webhooks.create_webhook(
        alice, prompt.team, url="https://hooks.example.com/in", events=["version.created"]
    )
    ping = webhooks.send_test(alice, hook)
    REAL["path"] = {
        "team": ["support"],
        "slug": ["ticket-classifier"],
        "number": VERSIONS,
        "username": ["vic", "ed", "gina"],
        "token_id": [spare.pk, own],
        "webhook_id": [hook.pk],
        "delivery_id": [ping.pk],
        "environment": ENVIRONMENTS,
        "deployment_id": [planned.pk],
        "comment_id": [mine.pk, comment.pk],
    }
    REAL["query"] = {
        "environment": ENVIRONMENTS,
        "version": VERSIONS,
        "from": VERSIONS,
        "to": VERSIONS,
        "label": ["latest"],
        "team": ["support"],
        "tag": [["triage"]],
        "q": ["classify"],
        "page": [1],
    }
    REAL["body"] = {
        "team": ["support"],
        "environment": ENVIRONMENTS,
        "deploy_to": ENVIRONMENTS,
        "version": VERSIONS,
        "parent": [comment.pk],
        # a render's values, or a version's declared variables
        "variables": [
            {"ticket_text": "printer on fire", "product": "Acme"},
            [{"name": "product", "default": "Acme"}],
        ],
        "template": ["Classify: {{ ticket_text }}", "{% if vip %}VIP {% endif %}{{ name }}"],
        "config": [{"model": "small", "temperature": 0.2}],
        "url": ["https://hooks.example.com/in"],
        "events": [["version.created", "deployment.activated"]],
        "reviewers": [["rita"], ["rita", "alice"]],
        "resolved": [True, False],
    }
    REAL["bodies"] = {
        ("post", f"{P}/versions/{{number}}/comments"): [{"body": "Why?", "parent": comment.pk}],
    }
    # The requests go through the WSGI handler, not Django's test client: like the test
    # client, keep them from closing the test's connection when they finish.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield {"alice": {"Authorization": f"Bearer {raw}"}}
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)
        REAL.update(path={}, query={}, body={}, bodies={})


# ------------------------------------------------------------------ checks


def error_body_is_the_contract(ctx, response, case) -> None:
    """api.md: every error has the same JSON body, whatever its status (also those the
    schema does not list, e.g. 405 for a method an operation does not have)."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/json"), (
        f"{response.status_code} answered with {content_type!r}, not JSON: "
        f"{response.content[:300]!r}"
    )
    body = json.loads(response.content)
    assert isinstance(body, dict) and set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["details"], dict), body


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    error_body_is_the_contract,
]


def _forget_caches() -> None:
    django_cache.clear()
    prompt_cache.payloads.clear()
    usage.discard()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
# One caller, as a parameter: besides naming the caller, it gives every operation's test
# its own node id (`...[GET /api/v1/teams][alice]`), which pytest 9 would otherwise build
# without the operation.
@pytest.mark.parametrize("caller", ["alice"])
def test_api_conforms_to_its_schema(case, world, caller):
    _aim_coverage_case(case)
    try:
        with transaction.atomic():
            case.call_and_validate(headers=world[caller], checks=CHECKS)
            transaction.set_rollback(True)
    finally:
        _forget_caches()


# ------------------------------------------------------------------ credentials

# What a client can put in a header (printable ASCII, space included).
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)


@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_no_credentials_end_in_a_server_error(token_of, data):
    """The schema cannot say what a token looks like, so the requests above all carry a
    good one: here, any `Authorization` or `X-API-Key` a client may send is a 401 in the
    error body (api.md: "401 | no credentials, or bad ones")."""
    raw = token_of("alice")
    header = data.draw(st.sampled_from(["HTTP_AUTHORIZATION", "HTTP_X_API_KEY"]), "header")
    value = data.draw(
        st.one_of(
            st.builds("Bearer preg_{}_{}".format, HEADER_TEXT, HEADER_TEXT),
            st.builds(f"Bearer {raw}{{}}".format, HEADER_TEXT.filter(bool)),
            st.builds("Bearer {}".format, HEADER_TEXT),
            HEADER_TEXT,
        ),
        "value",
    )
    if header == "HTTP_X_API_KEY":
        value = value.removeprefix("Bearer ")
    response = Client(raise_request_exception=False).get("/api/v1/whoami", **{header: value})
    assert response.status_code == 401, (header, value, response.status_code, response.content)
    assert set(response.json()["error"]) == {"code", "message", "details"}
