"""Requests a view can answer on its own, served without the middleware stack.

Services fetch prompts on every request they serve, with a token: no session, cookie,
CSRF token, message, history record, htmx or sign-in lockout is involved, yet the full
stack costs more than resolving itself. A view marked with ``fast_path(accepts)``
says which requests it answers alone (``accepts(request)``); for those, and only when
nothing the middleware would have done applies (a host not allowed, a plain-http
request to redirect to https, characters that cannot be stored), the handler calls
the view directly and adds the security headers the middleware would have added. Any
other request takes the full stack and reaches the same view through it.

The handler serves gunicorn (``registry_site.wsgi``) and, in tests, Django's test
client (``registry_site.testing.FastPathClient``), so both paths are exercised side by side.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.exception import response_for_exception
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase
from django.http.response import ResponseHeaders
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, set_urlconf
from django.utils.log import log_response

from registry_site.memo import Memo
from registry_site.middleware import holds_unstorable

ATTRIBUTE = "fast_path_accepts"


def fast_path(accepts: Callable[[HttpRequest], bool]) -> Callable:
    """Mark a view: the requests ``accepts`` says yes to skip the middleware stack."""

    def mark(view: Callable) -> Callable:
        setattr(view, ATTRIBUTE, accepts)
        return view

    return mark


class _Routes:
    """The marked views of the URL conf, and the last path segments they end with, so
    a request for any other page is passed on without resolving its path twice."""

    def __init__(self) -> None:
        self.endings: set[str] | None = None  # None: some marked route ends in a variable
        self.loaded = False
        # path -> its match, for the paths of marked views: resolving costs more than
        # the rest of a warm fetch's dispatching.
        self.matches = Memo(4096)

    def load(self) -> None:
        endings: set[str] = set()
        any_variable = False
        for pattern in _patterns(get_resolver().url_patterns):
            if getattr(pattern.callback, ATTRIBUTE, None) is None:
                continue
            last = str(pattern.pattern).rstrip("$").rsplit("/", 1)[-1]
            if not last or "<" in last or not re.fullmatch(r"[\w.-]+", last):
                any_variable = True
            endings.add(last)
        self.endings = None if any_variable else endings
        self.loaded = True

    def view_for(self, request: HttpRequest) -> tuple[Callable, tuple, dict] | None:
        if not self.loaded:
            self.load()
        path = request.path_info
        if self.endings is not None and path.rsplit("/", 1)[-1] not in self.endings:
            return None
        match = self.matches.get(path)
        if match is None:
            try:
                match = get_resolver().resolve(path)
            except Resolver404:
                return None
            if getattr(match.func, ATTRIBUTE, None) is None:
                return None
            self.matches.put(path, match)  # the URL conf does not change while we run
        if not getattr(match.func, ATTRIBUTE)(request) or not _plain(request):
            return None
        request.resolver_match = match
        return match.func, match.args, match.kwargs


def _patterns(patterns: list) -> Any:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            yield pattern


_redirect_exempt = [re.compile(r) for r in settings.SECURE_REDIRECT_EXEMPT]


def _plain(request: HttpRequest) -> bool:
    """Nothing the middleware would answer itself: the host is allowed, no redirect to
    https is due, and the path and query can be stored."""
    try:
        request.get_host()
    except DisallowedHost:
        return False
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():
        path = request.path.lstrip("/")
        if not any(p.search(path) for p in _redirect_exempt):
            return False
    raw = request.META.get("PATH_INFO", "") + request.META.get("QUERY_STRING", "")
    if raw.isascii() and "%" not in raw and "\x00" not in raw:
        return True  # nothing escaped, nothing outside ASCII: nothing unstorable either
    return not holds_unstorable(request)


def security_headers() -> list[tuple[str, str]]:
    """What SecurityMiddleware, XFrameOptionsMiddleware and CSPMiddleware add to every
    response (HSTS, which depends on the request, is added apart)."""
    from csp.utils import build_policy

    headers = []
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append(("X-Content-Type-Options", "nosniff"))
    policy = settings.SECURE_REFERRER_POLICY
    if policy:
        values = [v.strip() for v in policy.split(",")] if isinstance(policy, str) else policy
        headers.append(("Referrer-Policy", ",".join(values)))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append(("Cross-Origin-Opener-Policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY))
    headers.append(("X-Frame-Options", getattr(settings, "X_FRAME_OPTIONS", "DENY").upper()))
    if getattr(settings, "CONTENT_SECURITY_POLICY", None):
        headers.append(("Content-Security-Policy", build_policy()))
    if getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None):
        headers.append(("Content-Security-Policy-Report-Only", build_policy(report_only=True)))
    for name, value in headers:  # what the fast path sets unchecked must pass the checks
        ResponseHeaders({name: value})
    return headers


def _hsts() -> str | None:
    if not settings.SECURE_HSTS_SECONDS:
        return None
    value = f"max-age={settings.SECURE_HSTS_SECONDS}"
    if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
        value += "; includeSubDomains"
    if settings.SECURE_HSTS_PRELOAD:
        value += "; preload"
    return value


class FastPathMixin:
    """A handler that calls a marked view directly for the requests it accepts."""

    def load_middleware(self, *args, **kwargs) -> None:
        super().load_middleware(*args, **kwargs)
        self.routes = _Routes()
        self.headers = security_headers()
        self.hsts = _hsts()

    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        found = self.routes.view_for(request)
        if found is None:
            return super().get_response(request)
        view, args, kwargs = found
        set_urlconf(settings.ROOT_URLCONF)
        try:
            response = view(request, *args, **kwargs)
        except Exception as exc:  # the same answer (a 500 page or JSON) as the full stack's
            response = response_for_exception(request, exc)
        # Constant, already checked values: straight into the header map, which costs a
        # tenth of setting them one by one (each is encoded and checked again there).
        store = response.headers._store
        for name, value in self.headers:
            store.setdefault(name.lower(), (name, value))
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))  # as CommonMiddleware
        if self.hsts and request.is_secure() and "Strict-Transport-Security" not in response:
            response["Strict-Transport-Security"] = self.hsts
        response._resource_closers.append(request.close)
        if response.status_code >= 400:
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        return response


class FastPathWSGIHandler(FastPathMixin, WSGIHandler):
    pass
