"""The shared cache behind resolve: what is live where, and version payloads.

Keys:
  ``res:<team>:<slug>:<selector>`` -> {"gen", "until", "team_id", "prompt_id", "version_id",
                                       "environment", "address"}  what an address resolves
                                       to, and the prompt's current team, slug and name
  ``gen:<team>``                   -> a random token, replaced after every commit that
                                       changes what any address of the team resolves to
  ``ver:<version id>``             -> the payload of an immutable version, kept forever;
                                       nothing of the prompt (a rename changes that), so
                                       no process's copy can go stale
  ``ver:<version id>:<digest>``    -> the same version composed with the snippets it
                                       includes (composition); the digest names the
                                       environment and every snippet version used, so
                                       it never changes either; the pointer names it

A change to a prompt that others include (a snippet) replaces the generation of every
team owning a prompt that includes it, directly or through others (``DEPENDENT_TEAMS``),
so their pointers, which name the composed payload, are read again.

A pointer is trusted only while its ``gen`` equals the team's current token, read in
the same round trip. A reader that raced a writer stores a pointer tagged with the
token it saw before reading the database, so it can never outlive the writer's
replacement of the token: no stale answer, whatever the number of processes. A team
without a token (never written, or evicted) gets a new one before anything is cached
for it, so a lost token never makes old pointers valid again. Each process also keeps
the pointers it used (``pointers``), so a warm resolve reads the token, not the pointer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.cache import cache

from registry_site.commit import now_and_after_commit
from registry_site.memo import Memo, ensure_generation, new_generation

POINTER_SECONDS = 24 * 3600


def pointer_key(team_slug: str, slug: str, selector: str) -> str:
    return f"res:{team_slug}:{slug}:{selector}"


def generation_key(team_slug: str) -> str:
    return f"gen:{team_slug}"


def pointer_keys(team_slug: str, slug: str, selector: str) -> list[str]:
    """The entries ``read_pointer`` reads: the generation, and the pointer unless this
    process holds it."""
    key = pointer_key(team_slug, slug, selector)
    gen_key = generation_key(team_slug)
    return [gen_key] if pointers.get(key) is not None else [gen_key, key]


def read_pointer(
    team_slug: str, slug: str, selector: str, also: list[str] = (), known: dict | None = None
) -> tuple[Any, dict | None, dict]:
    """(the team's current generation or None, the pointer if still valid, every entry
    read) in one round trip; ``also`` names more keys the caller needs read in that trip.
    A pointer this process already holds is checked against the generation alone.
    ``known``: entries already read in this request (None: read, not there); only the
    rest is read here."""
    gen_key = generation_key(team_slug)
    key = pointer_key(team_slug, slug, selector)
    mine = pointers.get(key)
    wanted = [gen_key, *also] if mine is not None else [gen_key, key, *also]
    known = known or {}
    missing = [k for k in wanted if k not in known]
    found = {k: v for k, v in known.items() if v is not None}
    if missing:
        found.update(cache.get_many(missing))
    gen = found.get(gen_key)
    if gen is None:
        return None, None, found
    if mine is not None and mine["gen"] == gen:
        return gen, mine, found
    pointer = found[key] if key in found else (cache.get(key) if mine is not None else None)
    if pointer is None or pointer.get("gen") != gen:
        return gen, None, found
    pointers.put(key, pointer)
    return gen, pointer, found


def current_generation(team_slug: str, gen: Any) -> str:
    """``gen`` as read, or a new one if the team had none (then nothing cached is valid)."""
    return gen if gen is not None else ensure_generation(generation_key(team_slug))


def write_pointer(team_slug: str, slug: str, selector: str, pointer: dict, seconds: float) -> None:
    key = pointer_key(team_slug, slug, selector)
    cache.set(key, pointer, max(1, int(seconds)))
    pointers.put(key, pointer)


def forget_team(team_slug: str) -> None:
    new_generation(generation_key(team_slug))


# Apps above prompts whose answers for one prompt are made of others (composition:
# a prompt that includes a snippet) name, for a prompt id, the slugs of the teams whose
# answers hold a part of it. Prompts asks them without importing them.
DependentTeams = Callable[[int], Iterable[str]]
DEPENDENT_TEAMS: list[DependentTeams] = []


def register_dependent_teams(dependents: DependentTeams) -> None:
    if dependents not in DEPENDENT_TEAMS:
        DEPENDENT_TEAMS.append(dependents)


def teams_to_forget(team_slug: str, prompt_id: int) -> list[str]:
    """The prompt's team, then every team whose answers hold a part of the prompt."""
    slugs = {team_slug: None}
    for dependents in DEPENDENT_TEAMS:
        slugs.update(dict.fromkeys(dependents(prompt_id)))
    return list(slugs)


def forget_prompt_on_commit(prompt: Any) -> None:
    """After the current transaction commits, no pointer of the prompt's team, nor of a
    team with a prompt that includes it, is trusted. Who includes it is asked after the
    commit too: a prompt that started including it in a transaction that committed in
    between is then among them (and one committed later composes what is committed)."""
    team_slug, prompt_id = prompt.team.slug, prompt.pk

    def forget() -> None:
        for slug in teams_to_forget(team_slug, prompt_id):
            forget_team(slug)

    now_and_after_commit(forget)


def forget_team_on_commit(team: Any) -> None:
    team_slug = team.slug
    now_and_after_commit(lambda: forget_team(team_slug))


class _Payloads:
    """Version payloads, first in this process (bounded), then in the shared cache.
    Versions never change, so neither copy can be stale."""

    def __init__(self, size: int = 2048) -> None:
        self.memo = Memo(size, scan_resistant=True)

    def get(self, version_id: int) -> dict | None:
        payload = self.memo.get(version_id)
        if payload is None:
            payload = cache.get(f"ver:{version_id}")
            if payload is not None:
                self.memo.put(version_id, payload)
        return payload

    def put(self, version_id: int, payload: dict) -> None:
        cache.set(f"ver:{version_id}", payload, None)
        self.memo.put(version_id, payload)

    def clear(self) -> None:
        self.memo.clear()


payloads = _Payloads()
# Pointers this process has read or written; each is trusted only under its generation.
pointers = Memo(8192, scan_resistant=True)
