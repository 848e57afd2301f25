"""Anthropic Messages: the system prompt goes apart from the messages, and
``max_tokens`` is required (a default when the version's config has none)."""

from __future__ import annotations

import json
from typing import Any

from runs.providers.base import (
    Call,
    Completion,
    ProviderError,
    StreamBroken,
    count,
    endpoint,
    error_message,
)

PATH = "/v1/messages"
VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
PARAMETERS = ("temperature", "top_p", "top_k", "max_tokens", "stop_sequences")
# Anthropic's overloaded_error comes as an event inside a 200 stream; give it its status.
ERROR_STATUS = {"overloaded_error": 529, "rate_limit_error": 429, "api_error": 500}


def parameters(config: dict) -> dict:
    chosen = {name: config[name] for name in PARAMETERS if name in config}
    stop = config.get("stop")
    if "stop_sequences" not in chosen and stop:
        chosen["stop_sequences"] = [stop] if isinstance(stop, str) else stop
    chosen.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
    return chosen


def request(call: Call, stream: bool) -> tuple[str, dict[str, str], dict[str, Any]]:
    headers = {
        **call.headers,
        "x-api-key": call.api_key,
        "anthropic-version": VERSION,
        "Accept": "text/event-stream" if stream else "application/json",
    }
    system = "\n\n".join(m["content"] for m in call.messages if m["role"] == "system")
    messages = [
        {"role": m["role"], "content": m["content"]} for m in call.messages if m["role"] != "system"
    ]
    body: dict[str, Any] = {"model": call.model, "messages": messages}
    if system:
        body["system"] = system
    body.update(call.parameters)
    body.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
    if stream:
        body["stream"] = True
    return endpoint(call.base_url, PATH), headers, body


def completion(data: Any) -> Completion:
    try:
        blocks = data["content"]
        text = "".join(b["text"] for b in blocks if b.get("type") == "text")
    except (KeyError, TypeError, AttributeError):
        raise StreamBroken(200, "The answer is not a Messages response.") from None
    usage = data.get("usage") or {}
    return Completion(
        output=text,
        finish_reason=str(data.get("stop_reason") or ""),
        input_tokens=count(usage.get("input_tokens")),
        output_tokens=count(usage.get("output_tokens")),
        model=str(data.get("model") or ""),
    )


class StreamReader:
    """message_start, content_block_* and message_delta events, ended by message_stop."""

    def __init__(self) -> None:
        self.finish_reason = ""
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.model = ""
        self.done = False

    def feed(self, event: str, data: str) -> str:
        try:
            payload = json.loads(data)
        except ValueError:
            raise StreamBroken(200, "The stream sent an event that is not JSON.") from None
        if not isinstance(payload, dict):
            raise StreamBroken(200, "The stream sent an event that is not a JSON object.")
        kind = payload.get("type") or event
        if kind == "error":
            error = payload.get("error") if isinstance(payload.get("error"), dict) else {}
            status = ERROR_STATUS.get(str(error.get("type")), 500)
            raise ProviderError(status, error_message(payload, "The provider reported an error."))
        if kind == "message_start":
            message = payload.get("message") or {}
            self.model = str(message.get("model") or "")
            self.input_tokens = count((message.get("usage") or {}).get("input_tokens"))
        elif kind == "content_block_delta":
            delta = payload.get("delta") or {}
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                return delta["text"]
        elif kind == "message_delta":
            self.finish_reason = str((payload.get("delta") or {}).get("stop_reason") or "")
            usage = payload.get("usage") or {}
            self.output_tokens = count(usage.get("output_tokens"))
            if count(usage.get("input_tokens")) is not None:
                self.input_tokens = usage["input_tokens"]
        elif kind == "message_stop":
            self.done = True
        return ""

    @property
    def complete(self) -> bool:
        return self.done

    def result(self, output: str) -> Completion:
        return Completion(
            output=output,
            finish_reason=self.finish_reason,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            model=self.model,
        )
