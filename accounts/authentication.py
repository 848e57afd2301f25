"""API authentication by token: ``Authorization: Bearer <token>`` or ``X-API-Key``."""

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


class TokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        raw = raw_token(request)
        if raw is None:
            return None
        if not raw or len(raw) > 200 or not raw.isascii():
            raise exceptions.AuthenticationFailed("The token is malformed.")
        user = tokens.authenticate(raw)
        if user is None:
            raise exceptions.AuthenticationFailed("The token is unknown, revoked or expired.")
        return user, user.registry_token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="registry"'
