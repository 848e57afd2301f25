"""API authentication by token: ``Authorization: Bearer <token>`` or ``X-API-Key``.

A view may define ``prefetch_keys(request, user_id)``: the cache entries it will read,
fetched with the token's own entry in one round trip (see accounts.tokens)."""

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from accounts import tokens


def raw_token(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer":
            return None  # another scheme (e.g. Basic) is not ours to judge
        return value.strip()
    key = request.META.get("HTTP_X_API_KEY")
    return key.strip() if key is not None else None


def token_user(raw: str, also=None):
    """The user a raw token acts for, or AuthenticationFailed. ``also(user_id)``: more
    cache keys to read with the token (see accounts.tokens.authenticate)."""
    if not raw or len(raw) > 200 or not raw.isascii():
        raise exceptions.AuthenticationFailed("The token is malformed.")
    user = tokens.authenticate(raw, also)
    if user is None:
        raise exceptions.AuthenticationFailed("The token is unknown, revoked or expired.")
    return user


AUTHENTICATE_HEADER = 'Bearer realm="registry"'


class TokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = raw_token(request)
        if raw is None:
            return None
        user = token_user(raw, _prefetch_of(request))
        return user, user.registry_token

    def authenticate_header(self, request) -> str:
        return AUTHENTICATE_HEADER


def _prefetch_of(request):
    context = getattr(request, "parser_context", None) or {}
    view = context.get("view")
    keys_of = getattr(view, "prefetch_keys", None)
    if keys_of is None:
        return None
    return lambda user_id: keys_of(request, user_id)
