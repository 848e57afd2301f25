"""Fake model providers: real HTTP servers on 127.0.0.1 that speak OpenAI's Chat
Completions and Anthropic's Messages wire formats, plain and streamed (server-sent
events), record every request, and fail on demand.

``script`` holds what the next requests get, one behaviour each ("ok" once it runs
out): ok, unauthorized, unknown_model, rate_limited, server_error, hang, stall (a
stream that stops after its first chunk), malformed, malformed_stream, cut_off,
stream_error, redirect, slow (answers after ``delay`` seconds).

With ``echo`` the answer repeats the last message sent (so two versions' outputs
differ); ``chunk_delay`` paces a stream's pieces (a browser can watch them arrive).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = "The ticket is about billing."
PIECES = ["The ticket ", "is about ", "billing."]
INPUT_TOKENS = 12
OUTPUT_TOKENS = 7


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeProvider:
    kind: str  # "openai" or "anthropic"
    script: list[str] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    delay: float = 20.0
    url: str = ""
    released: threading.Event = field(default_factory=threading.Event)
    active: int = 0  # requests being answered now
    most_at_once: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    echo: bool = False
    chunk_delay: float = 0.01

    @property
    def base_url(self) -> str:
        """What a connection is given: OpenAI-compatible servers put /v1 in it."""
        return f"{self.url}/v1" if self.kind == "openai" else self.url

    def next_behaviour(self, recorded: Recorded) -> str:
        with self.lock:
            self.requests.append(recorded)
            return self.script.pop(0) if self.script else "ok"

    def pieces_for(self, body: Any) -> list[str]:
        """What the answer streams as: PIECES, or the last message's words when echoing."""
        if not self.echo or not isinstance(body, dict) or not body.get("messages"):
            return PIECES
        content = str(body["messages"][-1].get("content", ""))
        words = f"You said: {content}".split(" ")
        return [word + " " for word in words[:-1]] + words[-1:]

    def start(self) -> FakeProvider:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,))
        self.thread.daemon = True
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        return self

    def stop(self) -> None:
        self.released.set()  # hanging answers give up at once
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------ wire formats


def _openai_message(model: str, pieces: list[str]) -> dict:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(pieces)},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": INPUT_TOKENS,
            "completion_tokens": OUTPUT_TOKENS,
            "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
        },
    }


def _openai_chunk(model: str, delta: dict, finish: str | None = None, usage=None) -> dict:
    chunk = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}] if delta else [],
    }
    if usage:
        chunk["usage"] = usage
    return chunk


def _openai_events(model: str, pieces: list[str]) -> list[tuple[str | None, str]]:
    events = [(None, json.dumps(_openai_chunk(model, {"role": "assistant", "content": ""})))]
    events += [(None, json.dumps(_openai_chunk(model, {"content": p}))) for p in pieces]
    events.append(
        (
            None,
            json.dumps(
                _openai_chunk(model, {}, "stop")
                | {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            ),
        )
    )
    usage = {"prompt_tokens": INPUT_TOKENS, "completion_tokens": OUTPUT_TOKENS}
    events.append((None, json.dumps(_openai_chunk(model, {}, usage=usage))))
    events.append((None, "[DONE]"))
    return events


def _anthropic_message(model: str, pieces: list[str]) -> dict:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "".join(pieces)}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS},
    }


def _anthropic_events(model: str, pieces: list[str]) -> list[tuple[str | None, str]]:
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_fake",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1},
        },
    }
    events = [
        ("message_start", start),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        ("ping", {"type": "ping"}),
    ]
    events += [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
        )
        for p in pieces
    ]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": OUTPUT_TOKENS},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return [(name, json.dumps(data)) for name, data in events]


def _error(kind: str, behaviour: str, model: str, key: str) -> tuple[int, dict, dict]:
    """(status, body, headers) of each scripted error, as each provider words it."""
    if kind == "openai":
        texts = {
            # Echoes the whole key, as a careless proxy might: we must never pass it on.
            "unauthorized": (401, f"Incorrect API key provided: {key}.", "invalid_api_key"),
            "unknown_model": (
                404,
                f"The model `{model}` does not exist or you do not have access to it.",
                "model_not_found",
            ),
            "rate_limited": (429, "Rate limit reached for requests.", "rate_limit_exceeded"),
            "server_error": (500, "The server had an error processing your request.", None),
        }
        status, message, code = texts[behaviour]
        body = {"error": {"message": message, "type": "invalid_request_error", "code": code}}
    else:
        texts = {
            "unauthorized": (401, "authentication_error", f"invalid x-api-key {key}"),
            "unknown_model": (404, "not_found_error", f"model: {model}"),
            "rate_limited": (
                429,
                "rate_limit_error",
                "Number of requests has exceeded your rate limit.",
            ),
            "server_error": (500, "api_error", "Internal server error"),
        }
        status, error_type, message = texts[behaviour]
        body = {"type": "error", "error": {"type": error_type, "message": message}}
    headers = {"Retry-After": "7"} if behaviour == "rate_limited" else {}
    return status, body, headers


# ------------------------------------------------------------------ the server


def _handler(fake: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # streams end when the connection closes

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            headers = {k.lower(): v for k, v in self.headers.items()}
            behaviour = fake.next_behaviour(Recorded("POST", self.path, headers, body))
            model = body.get("model", "") if isinstance(body, dict) else ""
            stream = isinstance(body, dict) and body.get("stream") is True
            key = headers.get("x-api-key") or headers.get("authorization", "").removeprefix(
                "Bearer "
            )
            with fake.lock:
                fake.active += 1
                fake.most_at_once = max(fake.most_at_once, fake.active)
            try:
                self.answer(behaviour, model, stream, key, fake.pieces_for(body))
            finally:
                with fake.lock:
                    fake.active -= 1

        def answer(
            self, behaviour: str, model: str, stream: bool, key: str, pieces: list[str]
        ) -> None:
            if behaviour == "hang":
                fake.released.wait(60)
                return
            if behaviour == "slow":
                fake.released.wait(fake.delay)
                behaviour = "ok"
            if behaviour in ("unauthorized", "unknown_model", "rate_limited", "server_error"):
                status, body, headers = _error(fake.kind, behaviour, model, key)
                self.send_json(status, body, headers)
            elif behaviour == "redirect":
                self.send_response(307)
                self.send_header("Location", f"{fake.url}/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif behaviour == "malformed":
                self.send_raw(200, "application/json", b'{"choices": [{"message": ')
            elif stream:
                self.send_stream(behaviour, model, pieces)
            else:
                message = (_openai_message if fake.kind == "openai" else _anthropic_message)(
                    model, pieces
                )
                self.send_json(200, message, {})

        def send_json(self, status: int, body: dict, headers: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_raw_headers("application/json", data)

        def send_raw(self, status: int, content_type: str, data: bytes) -> None:
            self.send_response(status)
            self.send_raw_headers(content_type, data)

        def send_raw_headers(self, content_type: str, data: bytes) -> None:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def send_stream(self, behaviour: str, model: str, pieces: list[str]) -> None:
            events = (_openai_events if fake.kind == "openai" else _anthropic_events)(model, pieces)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            # Through the first piece of text: what arrives before a failure.
            first_text = 1 if fake.kind == "openai" else 3
            for index, (name, data) in enumerate(events):
                if behaviour == "malformed_stream" and index == first_text + 1:
                    self.write_event(None, '{"choices": [{"delta": ')
                    return
                if behaviour == "stream_error" and index == first_text + 1:
                    self.write_event(*_stream_error(fake.kind))
                    return
                self.write_event(name, data)
                if index == first_text and behaviour == "cut_off":
                    return
                if index == first_text and behaviour == "stall":
                    fake.released.wait(60)
                    return

        def write_event(self, name: str | None, data: str) -> None:
            text = (f"event: {name}\n" if name else "") + f"data: {data}\n\n"
            self.wfile.write(text.encode())
            self.wfile.flush()
            time.sleep(fake.chunk_delay)

        def log_message(self, *args):
            pass

    return Handler


def _stream_error(kind: str) -> tuple[str | None, str]:
    if kind == "openai":
        return None, json.dumps(
            {"error": {"message": "The server is overloaded.", "type": "server_error"}}
        )
    return "error", json.dumps(
        {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
