"""Every request to a model provider: one client factory, one exchange.

The client comes from the shared outbound policy (registry_site/outbound.py): the
address is checked again when the call is made and redirects are never followed, so a
provider (or whoever answers at its address) cannot send us elsewhere.

Timeouts: ``timeout`` bounds every wait (connecting, and each read, so for a stream
the silence between two chunks); ``deadline`` (a ``time.monotonic()`` value) bounds
the whole answer, however steadily it trickles in.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from types import ModuleType

import httpx

from registry_site import outbound
from runs.providers.base import (
    Call,
    Completion,
    ProviderError,
    ProviderTimeout,
    StreamBroken,
    error_message,
    scrub,
)
from runs.providers.sse import events

MAX_ANSWER_CHARS = 10_000_000
MAX_LINE_CHARS = 1_000_000
ERROR_BODY_BYTES = 65_536


def provider_client(timeout: float) -> httpx.Client:
    """The one way runs make HTTP requests."""
    return outbound.open_client(timeout=timeout)


def exchange(
    adapter: ModuleType, call: Call, *, stream: bool, timeout: float, deadline: float
) -> Iterator[str | Completion]:
    """Send ``call``; yield the answer's text chunks as they arrive (a stream), then the
    ``Completion``. Raises ProviderError (StreamBroken) or ProviderTimeout, each with
    ``partial``: what had arrived."""
    url, headers, body = adapter.request(call, stream)
    received: list[str] = []
    try:
        try:
            outbound.check_url(url)
        except outbound.OutboundRefused as refused:
            raise ProviderError(None, f"The connection's address is refused: {refused}") from None
        with (
            provider_client(timeout) as client,
            client.stream("POST", url, headers=headers, json=body) as response,
        ):
            if not 200 <= response.status_code < 300:
                raise _refusal(response, deadline)
            if stream and _is_event_stream(response):
                yield (yield from _streamed(adapter, response, deadline, received))
            else:
                yield adapter.completion(_json(response, deadline))
    except (ProviderError, ProviderTimeout) as failure:
        failure.message = scrub(failure.message, call.secrets())
        failure.partial = "".join(received)
        raise
    except httpx.TimeoutException:
        raise _with_partial(ProviderTimeout(_silent(timeout)), received) from None
    except httpx.HTTPError as exc:
        # Connected and answering, then the connection broke: a cut-off answer.
        message = f"The connection to the provider failed: {type(exc).__name__}."
        failure = StreamBroken(None, message) if received else ProviderError(None, message)
        raise _with_partial(failure, received) from None


def _with_partial(failure: ProviderError | ProviderTimeout, received: list[str]):
    failure.partial = "".join(received)
    return failure


def _silent(timeout: float) -> str:
    return f"The provider did not answer within {timeout:g} seconds."


def _check_deadline(deadline: float) -> None:
    if time.monotonic() > deadline:
        raise ProviderTimeout("The provider did not finish its answer in time.")


def _is_event_stream(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").startswith("text/event-stream")


def _lines(response: httpx.Response, deadline: float) -> Iterator[str]:
    """The answer's lines, bounded in size and time."""
    buffer, total = "", 0
    for text in response.iter_text():
        _check_deadline(deadline)
        total += len(text)
        if total > MAX_ANSWER_CHARS:
            raise StreamBroken(response.status_code, "The answer is too large.")
        buffer += text
        *lines, buffer = buffer.split("\n")
        if len(buffer) > MAX_LINE_CHARS:
            raise StreamBroken(response.status_code, "The stream sent a line that is too long.")
        for line in lines:
            yield line.removesuffix("\r")
    if buffer:
        yield buffer.removesuffix("\r")


def _streamed(
    adapter: ModuleType, response: httpx.Response, deadline: float, received: list[str]
) -> Iterator[str]:
    """Yield the text of each event; return the Completion once the stream says it
    is whole. A stream that ends before that was cut off."""
    reader = adapter.StreamReader()
    for event, data in events(_lines(response, deadline)):
        chunk = reader.feed(event, data)
        if chunk:
            received.append(chunk)
            yield chunk
        if reader.done:
            break
    if not reader.complete:
        raise StreamBroken(response.status_code, "The stream ended before the answer was complete.")
    return reader.result("".join(received))


def _body(response: httpx.Response, deadline: float, limit: int) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        _check_deadline(deadline)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            break
    return b"".join(chunks)[:limit]


def _json(response: httpx.Response, deadline: float) -> object:
    raw = _body(response, deadline, MAX_ANSWER_CHARS + 1)
    if len(raw) > MAX_ANSWER_CHARS:
        raise StreamBroken(response.status_code, "The answer is too large.")
    try:
        return json.loads(raw)
    except ValueError:
        raise StreamBroken(response.status_code, "The answer is not valid JSON.") from None


def _refusal(response: httpx.Response, deadline: float) -> ProviderError:
    if 300 <= response.status_code < 400:
        where = response.headers.get("location", "elsewhere")
        return ProviderError(
            response.status_code,
            f"The provider redirected to {where}; redirects are not followed. "
            "Check the connection's base URL.",
        )
    raw = _body(response, deadline, ERROR_BODY_BYTES)
    text = raw.decode("utf-8", "replace").strip()
    try:
        data = json.loads(raw)
    except ValueError:
        data = None
    fallback = text[:300] or f"The provider answered {response.status_code}."
    return ProviderError(
        response.status_code,
        error_message(data, fallback),
        _retry_after(response.headers.get("retry-after")),
    )


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: rare from these APIs; the status says enough
    return seconds if seconds is not None and 0 <= seconds < 86_400 else None
