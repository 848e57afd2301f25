"""What the provider adapters share: the call, its result, and how a call fails.

Nothing here knows Django: an adapter turns a ``Call`` into a request and the
provider's answer into text chunks and a ``Completion``; runs.services decides what a
failure means for the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

ERROR_CHARS = 500


@dataclass(frozen=True)
class Call:
    base_url: str
    api_key: str
    model: str
    messages: list[dict]
    parameters: dict = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def secrets(self) -> list[str]:
        """Values that must never leave in an error message."""
        values = [self.api_key, *self.headers.values()]
        return [v for v in values if len(v) >= 6]


@dataclass(frozen=True)
class Completion:
    output: str
    finish_reason: str = ""
    input_tokens: int | None = None
    output_tokens: int | None = None
    model: str = ""


class ProviderError(Exception):
    """The provider answered with an error, or could not be reached (status None).

    ``partial``: what had arrived of the answer when it failed."""

    def __init__(self, status: int | None, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.partial = ""


class StreamBroken(ProviderError):
    """The answer was malformed or cut off before it was complete."""


class ProviderTimeout(Exception):
    """No answer within the timeout (for a stream: between two chunks)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.partial = ""


def endpoint(base_url: str, path: str) -> str:
    """``path`` under ``base_url``, keeping a query string (Azure's ``api-version``)."""
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + path))


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` without any secret in it, and not longer than an error should be."""
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text[:ERROR_CHARS]


def error_message(data: object, fallback: str) -> str:
    """The human part of an error body: OpenAI's and Anthropic's both keep it at
    ``error.message``; proxies sometimes at ``message`` or ``error`` as a string."""
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return error["message"]
        if isinstance(error, str):
            return error
        if isinstance(data.get("message"), str):
            return data["message"]
    return fallback


def count(value: object) -> int | None:
    return value if isinstance(value, int) and value >= 0 else None
