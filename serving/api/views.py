"""resolve and render, what services call on every request they serve.

Each endpoint has two doors onto the same services. A call with a token, which is what
services send, is answered by a plain view that pays only for what the answer needs:
the token and the caller's rights read from the cache in one round trip, the fetch
throttle, the pointer and payload from the process's memos, the usage counter, and
JSON encoded once per version and kept (``fetch``); registry_site/fast_path.py serves
it without the middleware stack. Any other call (signed in through the browser, no
credentials, another method or media type) goes through the DRF view, as every other
endpoint does; the DRF view also describes the endpoint in the schema. Both answer the
same status codes, headers and error body (tests/serving/test_fast_path.py sends the
same requests through both and compares).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from accounts.authentication import AUTHENTICATE_HEADER, raw_token, token_user
from prompts.lookups import PromptScoped
from registry_site.api import ERRORS, checked, exception_handler
from registry_site.errors import Invalid
from registry_site.fast_path import fast_path
from registry_site.memo import Memo
from registry_site.parsers import StorableJSONParser
from registry_site.throttling import FetchThrottle
from serving import services, usage
from serving.api import serializers as s

RESOLVE_PARAMS = ("environment", "version", "label", "compose")
CACHE_CONTROL = "private, no-cache"


def resolve_ask(params: Any) -> dict:
    """What a resolve asks for: one of environment, version or label, nothing else."""
    unknown = set(params) - set(RESOLVE_PARAMS)
    if unknown:
        raise Invalid(
            f"Unknown query parameter(s): {', '.join(sorted(unknown))}.",
            {"unknown": sorted(unknown)},
        )
    return {name: params.get(name) for name in RESOLVE_PARAMS}


def validators(found: services.Resolved, if_none_match: str) -> tuple[dict, bool]:
    """The answer's caching headers, and whether the caller's copy is still current."""
    etag = f'"{found.payload["content_hash"]}"'
    held = {part.strip().removeprefix("W/") for part in if_none_match.split(",") if part.strip()}
    return {"ETag": etag, "Cache-Control": CACHE_CONTROL}, etag in held


# ------------------------------------------------------------------ the DRF views


class Resolve(PromptScoped):
    throttle_classes = [FetchThrottle]

    def prefetch_keys(self, request: Request, user_id: int) -> list[str]:
        """Read with the token (accounts.authentication): a warm resolve, one round trip."""
        return services.warm_keys(
            user_id, self.kwargs["team"], self.kwargs["slug"], request.query_params
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("environment", str),
            OpenApiParameter("version", int),
            OpenApiParameter("label", str, enum=["latest"]),
            OpenApiParameter(
                "compose",
                bool,
                description="false: the prompt's own text, its includes as written",
            ),
        ],
        responses={200: s.ResolveOut, 304: OpenApiResponse(description="not modified"), **ERRORS},
    )
    def get(self, request: Request, team: str, slug: str) -> Response:
        ask = resolve_ask(request.query_params)
        known = getattr(request.user, "prefetched", None)
        found = services.resolve(request.user, team, slug, **ask, known=known)
        usage.count(request.user, found, "resolve")
        headers, current = validators(found, request.headers.get("If-None-Match", ""))
        if current:
            return Response(status=304, headers=headers)
        return Response(found.as_dict(), headers=headers)


class Render(PromptScoped):
    throttle_classes = [FetchThrottle]

    def prefetch_keys(self, request: Request, user_id: int) -> list[str]:
        """The team's and the caller's generations, read with the token (the body, which
        says what to render, is not parsed yet; the pointer is usually held here)."""
        return services.warm_keys(user_id, self.kwargs["team"], self.kwargs["slug"], None)

    @extend_schema(request=s.RenderIn, responses={200: s.RenderOut, **ERRORS})
    def post(self, request: Request, team: str, slug: str) -> Response:
        return Response(render_answer(request.user, team, slug, request.data))


def render_answer(user: Any, team: str, slug: str, body: Any) -> dict:
    data = checked(s.RenderIn, body)
    known = getattr(user, "prefetched", None)
    found = services.resolve(
        user,
        team,
        slug,
        environment=data.get("environment"),
        version=data.get("version"),
        known=known,
    )
    answer = services.render_payload(found, data.get("variables") or {})
    usage.count(user, found, "render")
    return answer


# ------------------------------------------------------------------ the token door

_renderer = JSONRenderer()
# (version id, number, content hash, environment, team, slug, name) -> the answer's JSON.
# The version's payload never changes and the rest is in the key: never stale.
_bodies = Memo(4096, scan_resistant=True)
_JSON_MEDIA = {"*/*", "application/*", "application/json"}


def _answers_json(request: HttpRequest) -> bool:
    """Whether DRF's content negotiation would pick JSON without a question: no Accept,
    or one that names JSON or anything, without parameters. A query that may hold
    ``format`` (DRF's media type override) goes the full way."""
    accept = request.META.get("HTTP_ACCEPT", "")
    if "format" in request.META.get("QUERY_STRING", "") or ";" in accept:
        return False
    return all(part.strip() in _JSON_MEDIA for part in accept.split(",")) if accept else True


def _by_token(method: str) -> Callable[[HttpRequest], bool]:
    def accepts(request: HttpRequest) -> bool:
        return (
            request.method == method and raw_token(request) is not None and _answers_json(request)
        )

    return accepts


def _json(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(_renderer.render(data), status=status, content_type="application/json")


def _refusal(exc: Exception) -> HttpResponse:
    """The error as the DRF view answers it (body, status, WWW-Authenticate, Retry-After)."""
    if isinstance(exc, exceptions.AuthenticationFailed):
        exc.auth_header = AUTHENTICATE_HEADER
    answer = exception_handler(exc, {})
    if answer is None:
        raise exc
    response = _json(answer.data, answer.status_code)
    for name, value in answer.items():
        if name.lower() != "content-type":
            response[name] = value
    return response


def _caller(request: HttpRequest, keys: Callable[[int], list[str]]) -> Any:
    """The token's user, the fetch throttle passed; ``keys``: what to read with the token."""
    user = token_user(raw_token(request), keys)
    request.user = user  # what the throttle counts by
    throttle = FetchThrottle()
    if not throttle.allow_request(request, None):
        raise exceptions.Throttled(throttle.wait())
    return user


def _allowed(drf_view: type) -> list[str]:
    """The methods DRF names in ``Allow`` (Django's views answer HEAD as GET)."""
    view = drf_view()
    if hasattr(view, "get") and not hasattr(view, "head"):
        view.head = view.get
    return view.allowed_methods


def _door(drf_view: type, method: str) -> Callable:
    """A view taking ``method`` calls with a token itself and any other through
    ``drf_view``, which the schema describes (spectacular reads ``cls``)."""
    full = drf_view.as_view()
    headers = {"Allow": ", ".join(_allowed(drf_view))}
    if len(api_settings.DEFAULT_RENDERER_CLASSES) > 1:
        headers["Vary"] = "Accept"
    accepts = _by_token(method)

    def wrap(answer: Callable) -> Callable:
        @fast_path(accepts)
        def view(request: HttpRequest, team: str, slug: str) -> HttpResponse:
            if not accepts(request):
                return full(request, team=team, slug=slug)
            try:
                response = answer(request, team, slug)
            except Exception as exc:  # as DRF does: mapped if it is ours, else raised
                response = _refusal(exc)
            for name, value in headers.items():
                response[name] = value
            return response

        view.cls = drf_view
        view.initkwargs = {}
        view.csrf_exempt = True  # token calls carry no session; DRF checks CSRF for the rest
        view.__name__ = drf_view.__name__
        return view

    return wrap


@_door(Resolve, "GET")
def resolve(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    params = request.GET
    user = _caller(request, lambda uid: services.warm_keys(uid, team, slug, params))
    known = getattr(user, "prefetched", None)
    found = services.resolve(user, team, slug, **resolve_ask(params), known=known)
    usage.count(user, found, "resolve")
    headers, current = validators(found, request.META.get("HTTP_IF_NONE_MATCH", ""))
    if current:
        response = HttpResponse(status=304, headers=headers)
        del response["Content-Type"]
        return response
    return HttpResponse(_body_of(found), content_type="application/json", headers=headers)


def _body_of(found: services.Resolved) -> bytes:
    p = found.payload
    key = (
        found.version_id,
        p["version"],
        p["content_hash"],
        found.environment,
        p["team"],
        p["slug"],
        p["name"],
    )
    body = _bodies.get(key)
    if body is None:
        body = _renderer.render(found.as_dict())
        _bodies.put(key, body)
    return body


@_door(Render, "POST")
def render(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    user = _caller(request, lambda uid: services.warm_keys(uid, team, slug, None))
    # DRF's request only to read the body: the same media type, size and JSON rules.
    body = Request(request, parsers=[StorableJSONParser()]).data
    return _json(render_answer(user, team, slug, body))
