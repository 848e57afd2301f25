"""Exceptions mapped from the registry's error body ``{"error": {code, message, details}}``.

One class per thing a caller reacts to differently: a missing prompt is a bug to fix, a
bad token is a deployment problem, throttling means slow down, and ``Unavailable`` means
the registry could not answer at all (the only case the client covers with a cached
copy or a fallback).
"""

from __future__ import annotations

import json
import time
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Any


class RegistryError(Exception):
    """Base of every error; ``status`` is None when no HTTP answer was involved."""

    default_code = "error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code or self.default_code
        self.details: dict[str, Any] = details or {}

    def __str__(self) -> str:
        prefix = f"{self.status} " if self.status else ""
        return f"{prefix}{self.code}: {self.message}"


class NotFound(RegistryError):
    """404: no such prompt, or not visible to this token; ``code`` is ``not_found`` or
    ``not_deployed`` (nothing is live in the asked environment)."""

    default_code = "not_found"


class Unauthorized(RegistryError):
    """401: no token, or a bad, revoked or expired one."""

    default_code = "unauthenticated"


class Forbidden(RegistryError):
    """403: the token may see the prompt but not do this; ``details["reason"]`` says why."""

    default_code = "forbidden"


class MissingVariables(RegistryError):
    """A render lacks required values; ``missing`` names every one, not just the first."""

    default_code = "missing_variables"

    def __init__(self, message: str, *, missing: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        if missing is not None:
            self.details["missing"] = list(missing)

    @property
    def missing(self) -> list[str]:
        return list(self.details.get("missing", []))


class Throttled(RegistryError):
    """429: too many requests; ``retry_after`` is in seconds (None if the server did not
    say)."""

    default_code = "throttled"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class Unavailable(RegistryError):
    """The registry could not answer: connection refused, timeout, 5xx, or garbage."""

    default_code = "unavailable"


def _retry_after(value: str | None) -> float | None:
    """Retry-After is either seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def error_from_response(status: int, raw: bytes, headers: Message | None) -> RegistryError:
    """The exception for an HTTP error answer, taken from the contract's error body when
    there is one (a proxy's HTML page still gives a sensible error)."""
    code: str | None = None
    details: dict[str, Any] = {}
    message = raw[:200].decode("utf-8", "replace").strip() or f"HTTP {status}"
    try:
        error = json.loads(raw)["error"]
    except (ValueError, TypeError, KeyError):
        error = None
    if isinstance(error, dict):
        code = error.get("code") if isinstance(error.get("code"), str) else None
        message = str(error.get("message") or message)
        details = error.get("details") if isinstance(error.get("details"), dict) else {}
    common: dict[str, Any] = {"status": status, "code": code, "details": details}
    if status >= 500:
        return Unavailable(message, **common)
    if status == 429:
        retry = _retry_after(headers.get("Retry-After") if headers is not None else None)
        if retry is None and isinstance(details.get("retry_after"), (int, float)):
            retry = float(details["retry_after"])
        return Throttled(message, retry_after=retry, **common)
    if status == 400 and code == "missing_variables":
        return MissingVariables(message, **common)
    kind = {401: Unauthorized, 403: Forbidden, 404: NotFound}.get(status, RegistryError)
    return kind(message, **common)
