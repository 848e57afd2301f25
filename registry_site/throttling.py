"""Throttles per token (or per signed-in user), kept in the shared cache so every
server process counts against the same budget."""

from rest_framework.throttling import SimpleRateThrottle


class _PerCaller(SimpleRateThrottle):
    def get_cache_key(self, request, view):
        token = getattr(request.user, "registry_token", None)
        if token is not None:
            ident = f"token:{token.id}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"


class FetchThrottle(_PerCaller):
    """resolve and render, what services call on every request."""

    scope = "fetch"


class WriteThrottle(_PerCaller):
    scope = "write"

    def allow_request(self, request, view):
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        return super().allow_request(request, view)
