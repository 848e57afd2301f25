"""OpenAI Chat Completions: OpenAI itself and everything that speaks it (Azure OpenAI's
v1 API, vLLM, Ollama, llama.cpp's server, OpenRouter, LiteLLM)."""

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

PATH = "/chat/completions"
# The parts of a version's config that are parameters of the request.
PARAMETERS = (
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "seed",
    "response_format",
)


def parameters(config: dict) -> dict:
    return {name: config[name] for name in PARAMETERS if name in config}


def request(call: Call, stream: bool) -> tuple[str, dict[str, str], dict[str, Any]]:
    headers = {
        **call.headers,
        "Authorization": f"Bearer {call.api_key}",
        "Accept": "text/event-stream" if stream else "application/json",
    }
    body: dict[str, Any] = {"model": call.model, "messages": call.messages, **call.parameters}
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return endpoint(call.base_url, PATH), headers, body


def completion(data: Any) -> Completion:
    try:
        choice = data["choices"][0]
        content = choice["message"].get("content") or ""
        if not isinstance(content, str):
            raise TypeError("content is not text")
    except (KeyError, IndexError, TypeError, AttributeError):
        raise StreamBroken(200, "The answer is not a Chat Completions response.") from None
    usage = data.get("usage") or {}
    return Completion(
        output=content,
        finish_reason=str(choice.get("finish_reason") or ""),
        input_tokens=count(usage.get("prompt_tokens")),
        output_tokens=count(usage.get("completion_tokens")),
        model=str(data.get("model") or ""),
    )


class StreamReader:
    """Chunks of ``chat.completion.chunk``, ended by ``data: [DONE]``."""

    def __init__(self) -> None:
        self.finish_reason = ""
        self.usage: dict = {}
        self.model = ""
        self.done = False

    def feed(self, event: str, data: str) -> str:
        """The text this event adds to the answer."""
        if data.strip() == "[DONE]":
            self.done = True
            return ""
        try:
            chunk = json.loads(data)
        except ValueError:
            raise StreamBroken(200, "The stream sent a chunk that is not JSON.") from None
        if not isinstance(chunk, dict):
            raise StreamBroken(200, "The stream sent a chunk that is not a JSON object.")
        if "error" in chunk:
            raise ProviderError(200, error_message(chunk, "The provider reported an error."))
        self.model = str(chunk.get("model") or self.model)
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        choices = chunk.get("choices") or []
        if not choices or not isinstance(choices[0], dict):
            return ""
        if choices[0].get("finish_reason"):
            self.finish_reason = str(choices[0]["finish_reason"])
        delta = choices[0].get("delta") or {}
        text = delta.get("content") if isinstance(delta, dict) else None
        return text if isinstance(text, str) else ""

    @property
    def complete(self) -> bool:
        # Some servers end with the finishing chunk and no [DONE]; either says it is whole.
        return self.done or bool(self.finish_reason)

    def result(self, output: str) -> Completion:
        return Completion(
            output=output,
            finish_reason=self.finish_reason,
            input_tokens=count(self.usage.get("prompt_tokens")),
            output_tokens=count(self.usage.get("completion_tokens")),
            model=self.model,
        )
