"""Token calls of resolve and render skip the middleware stack (registry_site/fast_path.py)
and answer exactly what the full stack answers: the same requests are sent through
both, the lean path as gunicorn serves it, and the DRF views behind every middleware
as they answered before the lean path existed, and status, body and headers compare
equal."""

from datetime import timedelta

import pytest
from django.core.handlers.base import BaseHandler
from django.test.client import ClientHandler
from django.test.utils import override_settings
from django.urls import path
from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from accounts import tokens
from accounts.models import ApiToken
from prompts import services as prompts
from registry_site import errors_views
from registry_site.fast_path import FastPathMixin
from serving import usage
from serving.api import views as serving
from serving.models import Usage

P = "/api/v1/prompts/support/ticket-classifier"
DEV = "?environment=development"

# Today's endpoints as the full stack serves them: the DRF views, every middleware.
urlpatterns = [
    path("api/v1/prompts/<str:team>/<str:slug>/resolve", serving.Resolve.as_view()),
    path("api/v1/prompts/<str:team>/<str:slug>/render", serving.Render.as_view()),
]
handler400 = errors_views.bad_request
handler403 = errors_views.forbidden
handler404 = errors_views.not_found
handler500 = errors_views.server_error


class FastPathClientHandler(FastPathMixin, ClientHandler):
    """Django's test client handler with the fast path, as registry_site.wsgi serves."""


class Twin:
    """Sends each request through the lean path and through the full stack."""

    def __init__(self, csrf: bool = False, **credentials) -> None:
        self.lean = APIClient(enforce_csrf_checks=csrf)
        self.lean.handler = FastPathClientHandler(enforce_csrf_checks=csrf)
        self.full = APIClient(enforce_csrf_checks=csrf)
        for client in (self.lean, self.full):
            client.credentials(**credentials)

    def both(self, method: str, url: str, *args, **kwargs):
        lean = getattr(self.lean, method)(url, *args, **kwargs)
        with override_settings(ROOT_URLCONF=__name__):
            full = getattr(self.full, method)(url, *args, **kwargs)
        return lean, full

    def same(self, method: str, url: str, *args, **kwargs):
        """The lean answer, after checking it equals the full stack's."""
        lean, full = self.both(method, url, *args, **kwargs)
        assert (lean.status_code, lean.content) == (full.status_code, full.content), url
        assert headers_of(lean) == headers_of(full), url
        return lean


def headers_of(response) -> dict:
    headers = dict(response.items())
    if "Retry-After" in headers:  # seconds left in the window: a tick apart at most
        headers["Retry-After"] = "…"
    return headers


def took_fast_path(response) -> bool:
    """The session middleware never saw the request."""
    return not hasattr(response.wsgi_request, "session")


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.fixture
def vic(token_of, prompt) -> Twin:
    return Twin(**bearer(token_of("vic", scopes=["read"])))


def test_a_warm_resolve_takes_the_fast_path_and_answers_as_the_full_stack(vic):
    vic.same("get", f"{P}/resolve")  # the default environment: nothing live there
    for query in [DEV, "?label=latest", "?version=1"]:
        vic.same("get", f"{P}/resolve{query}")
        answer = vic.same("get", f"{P}/resolve{query}")  # warm now
        assert answer.status_code == 200 and took_fast_path(answer)
    assert answer.json()["template"].startswith("Classify")
    assert answer["Content-Security-Policy"] and answer["X-Frame-Options"] == "DENY"
    assert answer["Cache-Control"] == "private, no-cache"


def test_an_unchanged_version_is_a_304_without_body(vic):
    etag = vic.same("get", f"{P}/resolve{DEV}")["ETag"]
    for held in [etag, f"W/{etag}", f'"other", {etag}']:
        answer = vic.same("get", f"{P}/resolve{DEV}", HTTP_IF_NONE_MATCH=held)
        assert answer.status_code == 304 and answer.content == b""
        assert answer["ETag"] == etag and took_fast_path(answer)
    assert vic.same("get", f"{P}/resolve{DEV}", HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_a_new_deployment_changes_the_answer_at_once(vic, people, prompt):
    vic.same("get", f"{P}/resolve?environment=development")
    prompts.add_version(
        people["ed"], prompt, template="Sort: {{ ticket_text }}", deploy_to="development"
    )
    answer = vic.same("get", f"{P}/resolve?environment=development")
    assert answer.json()["version"] == 2 and answer.json()["template"].startswith("Sort")


@pytest.mark.parametrize(
    "query",
    [
        "?colour=red",
        "?environment=development&label=latest",
        "?label=earliest",
        "?version=abc",
        "?version=0",
        "?version=99",
        "?environment=Not_A_Slug",
        "?environment=nowhere",
        "?environment=production",  # nothing deployed there
        "?format=xml",
        "?environment=dev%00",
    ],
)
def test_bad_queries_are_refused_alike(vic, query):
    answer = vic.same("get", f"{P}/resolve{query}")
    assert answer.status_code in (400, 404), answer.content
    assert set(answer.json()["error"]) == {"code", "message", "details"}


@pytest.mark.parametrize(
    "address", ["support/nothing-here", "billing/invoice-reminder", "Support/ticket-classifier"]
)
def test_what_the_caller_may_not_see_is_a_404_alike(vic, billing_prompt, address):
    answer = vic.same("get", f"/api/v1/prompts/{address}/resolve")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


def test_bad_tokens_are_refused_alike(people, prompt, token_of):
    expired = token_of("vic")
    ApiToken.objects.filter(prefix=expired.split("_")[1]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    revoked = token_of("vic")
    tokens.revoke(people["vic"], ApiToken.objects.get(prefix=revoked.split("_")[1]).pk)
    good = token_of("vic")
    for credentials in [
        bearer("preg_000000000000_notarealsecret"),
        bearer(good[:-2] + "xx"),
        bearer(expired),
        bearer(revoked),
        bearer("x" * 300),
        {"HTTP_AUTHORIZATION": "Bearer "},
        {"HTTP_X_API_KEY": "not-a-token"},
    ]:
        caller = Twin(**credentials)
        answer = caller.same("get", f"{P}/resolve")
        assert answer.status_code == 401 and answer["WWW-Authenticate"], credentials
        assert caller.same("post", f"{P}/render", {}, format="json").status_code == 401


def test_tokens_out_of_scope_are_refused_alike(people, prompt, token_of):
    another_team = token_of("oscar", team=people["billing"], scopes=["read"])
    write_only = token_of("alice", scopes=["write"])
    for raw in [another_team, write_only]:
        answer = Twin(**bearer(raw)).same("get", f"{P}/resolve{DEV}")
        assert answer.status_code in (403, 404), answer.content


def test_an_api_key_header_is_a_token_too(token_of, prompt):
    answer = Twin(HTTP_X_API_KEY=token_of("vic")).same("get", f"{P}/resolve{DEV}")
    assert answer.status_code == 200 and took_fast_path(answer)


def test_render_answers_alike(vic):
    body = {"variables": {"ticket_text": "I was charged twice"}, "environment": "development"}
    vic.same("post", f"{P}/render", body, format="json")
    answer = vic.same("post", f"{P}/render", body, format="json")
    assert answer.json()["rendered"] == "Classify: I was charged twice for Acme"
    assert took_fast_path(answer)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"variables": {}},
        {"variables": []},
        {"variables": {"ticket_text": "x"}, "version": "one"},
        {"variables": {"ticket_text": "x"}, "version": 7},
        {"variables": {"ticket_text": "x"}, "environment": "../x"},
        {"variables": {"ticket_text": "x\x00"}},
        [1, 2],
        "text",
    ],
)
def test_bad_render_bodies_are_refused_alike(vic, body):
    answer = vic.same("post", f"{P}/render", body, format="json")
    assert 400 <= answer.status_code < 500 and answer.json()["error"]["code"]


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[" * 5000 + b"]" * 5000, "application/json"),
        (b'{"variables": ' + b'{"a": ' * 150 + b"1" + b"}" * 151, "application/json"),
        (b'{"variables": {}}', "text/plain"),
        (b'{"variables": {}}', "application/x-www-form-urlencoded"),
        (b"", "application/json"),
        (b'{"variables": {"ticket_text": "' + b"x" * 1_100_000 + b'"}}', "application/json"),
    ],
)
def test_malformed_deep_and_oversized_bodies_are_refused_alike(vic, raw, content_type):
    answer = vic.same("generic", "POST", f"{P}/render", raw, content_type=content_type)
    assert 400 <= answer.status_code < 500, answer.content
    codes = {"invalid", "too_large", "unsupported_media_type", "not_deployed"}  # empty: {}
    assert answer.json()["error"]["code"] in codes


@pytest.mark.parametrize(
    ("method", "accept"),
    [("put", None), ("delete", None), ("options", None), ("head", None), ("get", "text/csv")],
)
def test_other_methods_and_media_types_are_answered_alike(vic, method, accept):
    extra = {"HTTP_ACCEPT": accept} if accept else {}
    answer = vic.same(method, f"{P}/resolve", **extra)
    assert not took_fast_path(answer)


def test_throttling_is_the_same_budget_with_retry_after(monkeypatch, token_of, prompt):
    rates = {**api_settings.DEFAULT_THROTTLE_RATES, "fetch": "2/hour"}
    monkeypatch.setattr(api_settings, "DEFAULT_THROTTLE_RATES", rates)
    lean = Twin(**bearer(token_of("vic"))).lean
    statuses = [lean.get(f"{P}/resolve{DEV}").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    throttled = Twin(**bearer(token_of("vic")))
    throttled.both("get", f"{P}/resolve")  # one each: the budget of 2 is spent
    answer = throttled.same("get", f"{P}/resolve")
    assert answer.status_code == 429 and int(answer["Retry-After"]) > 0
    assert answer.json()["error"]["details"]["retry_after"] > 0
    assert throttled.same("post", f"{P}/render", {}, format="json").status_code == 429


def test_every_fetch_is_counted(vic):
    for _ in range(3):
        vic.lean.get(f"{P}/resolve{DEV}")
    body = {"variables": {"ticket_text": "x"}, "environment": "development"}
    vic.lean.post(f"{P}/render", body, format="json")
    usage.flush()
    counts = {u.kind: u.count for u in Usage.objects.all()}
    assert counts == {"resolve": 3, "render": 1}


def test_a_signed_in_browser_goes_the_full_way_with_csrf(people, prompt):
    browser = Twin(csrf=True)
    for client in (browser.lean, browser.full):
        client.force_login(people["vic"])
    answer = browser.same("get", f"{P}/resolve{DEV}")
    assert answer.status_code == 200 and not took_fast_path(answer)
    refused = browser.same("post", f"{P}/render", {"variables": {}}, format="json")
    assert refused.status_code == 403  # no CSRF token


def test_no_credentials_go_the_full_way(prompt):
    answer = Twin().same("get", f"{P}/resolve")
    assert answer.status_code == 401 and not took_fast_path(answer)


def test_https_rules_hold_on_the_fast_path(vic, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    secure = vic.same("get", f"{P}/resolve{DEV}", secure=True)
    assert secure["Strict-Transport-Security"].startswith("max-age=3600")
    assert took_fast_path(secure)
    assert "Strict-Transport-Security" not in vic.same("get", f"{P}/resolve")


def test_hosts_not_allowed_go_the_full_way(vic, settings):
    settings.ALLOWED_HOSTS = ["prompts.example.com"]
    answer = vic.same("get", f"{P}/resolve")
    assert answer.status_code == 400 and not took_fast_path(answer)


def test_the_fast_path_serves_no_other_view(vic, prompt):
    answer = vic.lean.get(P)
    assert answer.status_code == 200 and not took_fast_path(answer)
    assert issubclass(FastPathClientHandler, BaseHandler)
