"""The shared cache behind resolve: what is live where, and version payloads.

Keys:
  ``res:<team>:<slug>:<selector>`` -> {"gen", "until", "team_id", "prompt_id", "version_id",
                                       "environment"}  what an address resolves to
  ``gen:<team>``                   -> a random token, replaced after every commit that
                                       changes what any address of the team resolves to
  ``ver:<version id>``             -> the payload of an immutable version, kept forever

A pointer is trusted only while its ``gen`` equals the team's current token, read in
the same round trip. A reader that raced a writer stores a pointer tagged with the
token it saw before reading the database, so it can never outlive the writer's
replacement of the token: no stale answer, whatever the number of processes.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict
from threading import Lock
from typing import Any

from django.core.cache import cache

from registry_site.commit import now_and_after_commit

POINTER_SECONDS = 24 * 3600


def pointer_key(team_slug: str, slug: str, selector: str) -> str:
    return f"res:{team_slug}:{slug}:{selector}"


def generation_key(team_slug: str) -> str:
    return f"gen:{team_slug}"


def read_pointer(
    team_slug: str, slug: str, selector: str, also: list[str] = ()
) -> tuple[Any, dict | None, dict]:
    """(the team's current generation, the pointer if still valid, every entry read) in
    one round trip; ``also`` names more keys the caller needs read in the same trip."""
    gen_key = generation_key(team_slug)
    key = pointer_key(team_slug, slug, selector)
    found = cache.get_many([gen_key, key, *also])
    gen = found.get(gen_key)
    pointer = found.get(key)
    if pointer is None or pointer.get("gen") != gen:
        return gen, None, found
    return gen, pointer, found


def write_pointer(team_slug: str, slug: str, selector: str, pointer: dict, seconds: float) -> None:
    cache.set(pointer_key(team_slug, slug, selector), pointer, max(1, int(seconds)))


def forget_team(team_slug: str) -> None:
    cache.set(generation_key(team_slug), uuid.uuid4().hex, None)


def forget_prompt_on_commit(prompt: Any) -> None:
    """After the current transaction commits, no pointer of the prompt's team is trusted."""
    team_slug = prompt.team.slug
    now_and_after_commit(lambda: forget_team(team_slug))


def forget_team_on_commit(team: Any) -> None:
    team_slug = team.slug
    now_and_after_commit(lambda: forget_team(team_slug))


class _Payloads:
    """Version payloads, first in this process (bounded), then in the shared cache.
    Versions never change, so neither copy can be stale."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self.items: OrderedDict[int, dict] = OrderedDict()
        self.lock = Lock()

    def get(self, version_id: int) -> dict | None:
        with self.lock:
            payload = self.items.get(version_id)
            if payload is not None:
                self.items.move_to_end(version_id)
                return payload
        payload = cache.get(f"ver:{version_id}")
        if payload is not None:
            self._keep(version_id, payload)
        return payload

    def put(self, version_id: int, payload: dict) -> None:
        cache.set(f"ver:{version_id}", payload, None)
        self._keep(version_id, payload)

    def _keep(self, version_id: int, payload: dict) -> None:
        with self.lock:
            self.items[version_id] = payload
            self.items.move_to_end(version_id)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


payloads = _Payloads()
