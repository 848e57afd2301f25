"""A fake OpenAI-compatible model on 127.0.0.1 whose answer depends on what it is asked,
so an evaluation's rows get different outputs; faults are scripted per ticket.

The prompt under test renders "Classify: {ticket} for {product}"; the fake answers
``answers[ticket]`` or, by default, "billing" when the ticket mentions money and
"other" otherwise. A judge's question (its system message asks for a verdict) is
answered pass when the graded output is "billing". ``faults[ticket]`` lists what the
next requests for that ticket get: "rate_limited" (429, Retry-After: 1),
"server_error" (500) or "hang".

For a worker killed mid-run: with ``hold_after`` set, the row requests after that many
are held until ``released`` is set; a held request whose client is gone by then (its
process was killed) is counted in ``abandoned``, every answer that reached its client
in ``delivered`` (per ticket): a row run twice to completion shows as 2 there. A judge's
question is kept in ``questions``; ``verdicts[graded output]`` replaces its answer, and
``judge_faults[graded output]`` scripts faults of the judge's requests like ``faults``.
"""

from __future__ import annotations

import json
import re
import select
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TICKET = re.compile(r"Classify: (.*) for ")


@dataclass
class ModelFake:
    answers: dict[str, str] = field(default_factory=dict)
    faults: dict[str, list[str]] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    judged: int = 0
    active: int = 0
    most_at_once: int = 0
    delay: float = 0.0
    hold_after: int | None = None
    held: int = 0
    delivered: dict[str, int] = field(default_factory=dict)
    abandoned: dict[str, int] = field(default_factory=dict)
    questions: list[str] = field(default_factory=list)
    verdicts: dict[str, str] = field(default_factory=dict)
    judge_faults: dict[str, list[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    released: threading.Event = field(default_factory=threading.Event)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def start(self) -> ModelFake:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()

    def reply(self, messages: list[dict]) -> tuple[str, str, str | None]:
        """(behaviour, text, the row's ticket or None for a judge) for one request."""
        last = messages[-1]["content"]
        if messages[0]["role"] == "system" and "verdict" in messages[0]["content"]:
            graded = last.rsplit("Output to grade:\n", 1)[-1].strip()
            with self.lock:
                self.judged += 1
                self.questions.append(last)
                script = self.judge_faults.get(graded) or []
                if script:
                    return script.pop(0), "", None
            if graded in self.verdicts:
                return "ok", self.verdicts[graded], None
            verdict = "pass" if graded == "billing" else "fail"
            return "ok", json.dumps({"verdict": verdict, "reason": f"said {graded}"}), None
        found = TICKET.search(last)
        ticket = found.group(1) if found else last
        with self.lock:
            self.calls[ticket] = self.calls.get(ticket, 0) + 1
            script = self.faults.get(ticket) or []
            behaviour = script.pop(0) if script else "ok"
            if self.hold_after is not None and sum(self.calls.values()) > self.hold_after:
                behaviour = "hold" if behaviour == "ok" else behaviour
        default = (
            "billing" if any(w in ticket for w in ("refund", "invoice", "charge")) else "other"
        )
        return behaviour, self.answers.get(ticket, default), ticket

    def count(self, tally: dict[str, int], ticket: str | None) -> None:
        if ticket is not None:
            with self.lock:
                tally[ticket] = tally.get(ticket, 0) + 1


def _handler(fake: ModelFake) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            behaviour, text, ticket = fake.reply(body["messages"])
            with fake.lock:
                fake.active += 1
                fake.most_at_once = max(fake.most_at_once, fake.active)
            try:
                if fake.delay:
                    fake.released.wait(fake.delay)
                if behaviour == "hold":
                    behaviour = self.hold()
                if behaviour == "gone":
                    fake.count(fake.abandoned, ticket)
                    return
                self.answer(behaviour, text, body.get("model", ""))
                if behaviour == "ok":
                    fake.count(fake.delivered, ticket)
            finally:
                with fake.lock:
                    fake.active -= 1

        def hold(self) -> str:
            with fake.lock:
                fake.held += 1
            fake.released.wait(30)
            with fake.lock:
                fake.held -= 1
            return "gone" if self.client_gone() else "ok"

        def client_gone(self) -> bool:
            """Whether the caller hung up (a killed process's sockets are closed)."""
            readable, _, _ = select.select([self.connection], [], [], 0)
            if not readable:
                return False
            try:
                return self.connection.recv(1, socket.MSG_PEEK) == b""
            except OSError:
                return True

        def answer(self, behaviour: str, text: str, model: str) -> None:
            if behaviour == "hang":
                fake.released.wait(30)
                return
            if behaviour == "rate_limited":
                return self.send(429, {"error": {"message": "Slow down."}}, {"Retry-After": "1"})
            if behaviour == "server_error":
                return self.send(500, {"error": {"message": "Boom."}}, {})
            self.send(
                200,
                {
                    "id": "x",
                    "object": "chat.completion",
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 2},
                },
                {},
            )

        def send(self, status: int, body: dict, headers: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Handler
