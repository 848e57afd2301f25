"""Adapters for the model providers, over httpx, without their SDKs.

``answer(provider, call, stream=...)`` yields text chunks and then a ``Completion``;
see runs.providers.http for how every request is made and bounded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from runs.providers import anthropic, openai
from runs.providers.base import (
    Call,
    Completion,
    ProviderError,
    ProviderTimeout,
    StreamBroken,
)
from runs.providers.http import exchange

ADAPTERS = {"openai": openai, "anthropic": anthropic}

__all__ = [
    "ADAPTERS",
    "Call",
    "Completion",
    "ProviderError",
    "ProviderTimeout",
    "StreamBroken",
    "answer",
    "parameters",
]


def parameters(provider: str, config: dict) -> dict:
    """The request parameters a version's config sets for this provider."""
    return ADAPTERS[provider].parameters(config)


def answer(
    provider: str, call: Call, *, stream: bool, timeout: float, seconds: float
) -> Iterator[str | Completion]:
    """Text chunks as they arrive, then the Completion; ``seconds`` bounds the whole."""
    return exchange(
        ADAPTERS[provider],
        call,
        stream=stream,
        timeout=timeout,
        deadline=time.monotonic() + seconds,
    )
