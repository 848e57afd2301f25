"""Secrets at rest: provider keys and extra headers, encrypted with Fernet.

``ENCRYPTION_KEYS`` holds comma-separated Fernet keys. The first encrypts; every one
decrypts, so a new key is put first, the old ones stay until
``manage.py rotate_encryption_keys`` has re-encrypted every secret with the new one,
and then they are dropped. Malformed keys stop the server at start (settings.py).

Without keys, in production, nothing can be encrypted: the connection endpoints answer
409 ``not_configured`` and the rest of the registry works on. With DEBUG on, a
development key is derived from SECRET_KEY so a fresh checkout just runs; secrets
stored that way are unreadable once SECRET_KEY or DEBUG changes.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

from registry_site.errors import DomainError


class NotConfigured(DomainError):
    code = "not_configured"
    status = 409


class Undecryptable(DomainError):
    """A stored secret that none of the keys opens (a key was dropped too early)."""

    code = "not_configured"
    status = 409


def _development_key() -> str:
    digest = hashlib.sha256(b"registry-encryption-keys:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()


def keys() -> tuple[str, ...]:
    configured = tuple(settings.ENCRYPTION_KEYS or ())
    if configured:
        return configured
    if settings.DEBUG:
        return (_development_key(),)
    return ()


def is_configured() -> bool:
    return bool(keys())


NOT_CONFIGURED = (
    "Model connections need ENCRYPTION_KEYS in the server's configuration "
    "(comma-separated Fernet keys); ask the registry's operator to set it."
)


def require_configured() -> None:
    if not is_configured():
        raise NotConfigured(NOT_CONFIGURED, {"setting": "ENCRYPTION_KEYS"})


@lru_cache(maxsize=8)
def _fernet(current: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in current])


def _box() -> MultiFernet:
    require_configured()
    return _fernet(keys())


def encrypt(text: str) -> str:
    return _box().encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _box().decrypt(token.encode()).decode()
    except InvalidToken:
        raise Undecryptable(
            "A stored secret cannot be decrypted with the keys in ENCRYPTION_KEYS; "
            "put back the key it was encrypted with, or enter the secret again.",
            {"setting": "ENCRYPTION_KEYS"},
        ) from None


def reencrypt(token: str) -> str:
    """The same secret, encrypted again with the first key."""
    try:
        return _box().rotate(token.encode()).decode()
    except InvalidToken:
        raise Undecryptable(
            "A stored secret cannot be decrypted with the keys in ENCRYPTION_KEYS.",
            {"setting": "ENCRYPTION_KEYS"},
        ) from None
