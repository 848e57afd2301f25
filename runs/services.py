"""Model connections of a team, and runs of prompts against them.

Team admins manage connections; members list them; nobody reads a key back (only its
hint). Editors and above run prompts; whoever may see a prompt sees its runs.

A run has three steps, so the HTTP call holds no database connection or lock and the
same steps serve the API, the pages and side-by-side runs:

* ``prepare_run`` checks everything (rights, input, missing variables, throttles),
  renders the messages and opens the key: every 4xx happens here, before any call;
* ``attempt`` calls the provider (no database), yielding text as it streams and
  returning an ``Outcome``, failed or not;
* ``record`` writes the Run, failed or not.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db.models import QuerySet

from accounts.services import require
from composition.services import compose
from prompts import templating
from prompts.models import Prompt, Version
from prompts.services import find_version
from registry_site.errors import DomainError, Invalid, NotFound
from registry_site.throttling import parse_rate
from releases.environments import find_environment
from releases.live import live_deployment
from runs import crypto, providers
from runs.connections import MODEL_CHARS
from runs.models import Connection, ModelPrice, Run

# Side-by-side: how many runs one request may start.
MAX_RUNS_AT_ONCE = 20


class ProviderFailed(DomainError):
    code = "provider_error"
    status = 502


class ProviderTimedOut(DomainError):
    code = "provider_timeout"
    status = 504


class Throttled(DomainError):
    code = "throttled"
    status = 429


# ------------------------------------------------------------------ preparing a run


@dataclass
class RunPlan:
    """A run checked and rendered, ready to call (the key opened inside ``call``)."""

    actor: Any
    prompt: Prompt
    version: Version | None
    environment: str
    connection: Connection
    variables: dict
    call: providers.Call
    timeout: float
    seconds: float


def _source(
    prompt: Prompt,
    version: Any,
    environment: Any,
    text: Any,
    messages: Any,
) -> tuple[Version | None, str, str, list[dict], list[dict], dict]:
    """(version, environment, kind, template parts, variables, config) of what runs."""
    given = [x for x in (version, environment, text, messages) if x not in (None, "")]
    if len(given) > 1:
        raise Invalid("Run one of a version, an environment or unsaved text.", {"field": "version"})
    if text not in (None, "") or messages is not None:
        return _unsaved(text, messages)
    env_slug = ""
    if environment not in (None, ""):
        if not isinstance(environment, str):
            raise Invalid("environment is an environment's slug.", {"field": "environment"})
        chosen = _live_version(prompt, environment)
        env_slug = environment
    elif version not in (None, ""):
        chosen = find_version(prompt, version)
    else:
        chosen = prompt.latest_version
        if chosen is None:
            raise NotFound(f"{prompt.address} has no version.")
    chosen.prompt = prompt
    # What it includes, composed as a resolve in that environment would (no
    # environment: the latest of each snippet).
    composed = compose(chosen, env_slug or None)
    parts = composed.messages if chosen.kind == Version.Kind.CHAT else [composed.template]
    return chosen, env_slug, chosen.kind, parts, composed.variables, chosen.config or {}


def _unsaved(text: Any, messages: Any) -> tuple:
    if messages is not None:
        detected = templating.check_messages(messages)
        parts = [{"role": m["role"], "content": m["content"]} for m in messages]
        kind = Version.Kind.CHAT
    else:
        if not isinstance(text, str):
            raise Invalid("text is the template to run.", {"field": "text"})
        detected = templating.check(text)
        parts, kind = [text], Version.Kind.TEXT
    return None, "", kind, parts, templating.merge_variables([], detected), {}


def _live_version(prompt: Prompt, environment: str) -> Version:
    """The version live in the environment now."""
    env = find_environment(prompt.team, environment)
    live = live_deployment(prompt, env)
    if live is None:
        raise NotFound(f"Nothing of {prompt.address} is live in {env.slug}.", code="not_deployed")
    return live.version


def _render(kind: str, parts: list, variables: list[dict], given: Any) -> tuple[dict, list]:
    values = templating.resolve_values(variables, {} if given is None else given)
    if kind == Version.Kind.CHAT:
        return values, templating.render_messages(parts, values)
    return values, [{"role": "user", "content": templating.render_text(parts[0], values)}]


def _check_config(config: Any) -> dict:
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise Invalid("config is an object of model parameters.", {"field": "config"})
    return config


def _pick_model(connection: Connection, model: Any, config: dict) -> str:
    chosen = model if model not in (None, "") else config.get("model")
    if chosen in (None, "") and connection.model_names:
        chosen = connection.model_names[0]
    if not isinstance(chosen, str) or not chosen.strip() or len(chosen) > MODEL_CHARS:
        raise Invalid(
            "Say which model to run: in the run, the version's config or the connection.",
            {"field": "model"},
        )
    if connection.model_names and chosen not in connection.model_names:
        raise Invalid(
            f"The connection {connection.name} does not offer {chosen}.",
            {"field": "model", "allowed": connection.model_names},
        )
    return chosen


def _connection_for(prompt: Prompt, connection: Any) -> Connection:
    if isinstance(connection, Connection):
        if connection.team_id != prompt.team_id:
            raise Invalid("The connection belongs to another team.", {"field": "connection"})
        return connection
    crypto.require_configured()
    found = (
        Connection.objects.filter(team=prompt.team, name=connection).first()
        if isinstance(connection, str)
        else None
    )
    if found is None:
        raise Invalid(
            f"{prompt.team.slug} has no connection {connection}.", {"field": "connection"}
        )
    found.team = prompt.team
    return found


def _take_turn(scope: str, key: Any, rate: str) -> None:
    limit, period = parse_rate(rate)
    now = time.time()
    window = int(now // period)
    counters = caches["throttle"]
    name = f"runs:{scope}:{key}:{window}"
    counters.add(name, 0, period + 1)
    try:
        used = counters.incr(name)
    except ValueError:  # the window expired between add and incr
        counters.set(name, 1, period + 1)
        used = 1
    if used > limit:
        wait = int((window + 1) * period - now) + 1
        raise Throttled(
            f"Too many runs for this {scope}; try again in {wait} seconds.",
            {"scope": scope, "retry_after": wait},
        )


def open_call(connection: Connection, model: str, messages: list, config: dict) -> providers.Call:
    """The provider call for ``messages`` on ``connection``, its key and headers decrypted."""
    headers = {}
    if connection.headers_encrypted:
        headers = json.loads(crypto.decrypt(connection.headers_encrypted))
    return providers.Call(
        base_url=connection.base_url,
        api_key=crypto.decrypt(connection.api_key_encrypted),
        model=model,
        messages=messages,
        parameters=providers.parameters(connection.provider, config),
        headers=headers,
    )


def prepare_run(
    actor: Any,
    prompt: Prompt,
    *,
    connection: Any,
    variables: Any = None,
    version: Any = None,
    environment: Any = None,
    text: Any = None,
    messages: Any = None,
    model: Any = None,
    config: Any = None,
) -> RunPlan:
    """Check and render a run; every refusal (4xx) comes from here, before any call.
    Neither version, environment nor text: the latest version."""
    require(actor, "edit", prompt, "Only editors and above run prompts.")
    chosen, env_slug, kind, parts, declared, base_config = _source(
        prompt, version, environment, text, messages
    )
    merged = {**base_config, **_check_config(config)}
    values, rendered = _render(kind, parts, declared, variables)
    found = _connection_for(prompt, connection)
    model_name = _pick_model(found, model, merged)
    _take_turn("user", actor.pk, settings.RUNS_PER_USER)
    _take_turn("connection", found.pk, settings.RUNS_PER_CONNECTION)
    return RunPlan(
        actor=actor,
        prompt=prompt,
        version=chosen,
        environment=env_slug,
        connection=found,
        variables=values,
        call=open_call(found, model_name, rendered, merged),
        timeout=float(settings.PROVIDER_TIMEOUT_SECONDS),
        seconds=float(settings.RUN_DEADLINE_SECONDS),
    )


# ------------------------------------------------------------------ calling and recording


@dataclass
class Outcome:
    output: str
    latency_ms: int
    completion: providers.Completion | None = None
    error_code: str = ""
    error_message: str = ""
    error_details: dict = field(default_factory=dict)


def attempt(plan: RunPlan, *, stream: bool) -> Generator[str, None, Outcome]:
    """Call the provider: yield text as it streams in; return the Outcome. Touches no
    database, so it may run in any thread."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    completion = None
    try:
        for item in providers.answer(
            plan.connection.provider,
            plan.call,
            stream=stream,
            timeout=plan.timeout,
            seconds=plan.seconds,
        ):
            if isinstance(item, str):
                yield item
            else:
                completion = item
    except providers.ProviderTimeout as timed_out:
        return Outcome(
            timed_out.partial,
            took(),
            error_code=ProviderTimedOut.code,
            error_message=timed_out.message,
            error_details={"seconds": plan.timeout},
        )
    except providers.ProviderError as failed:
        details: dict[str, Any] = {"status": failed.status, "message": failed.message}
        if failed.retry_after is not None:
            details["retry_after"] = failed.retry_after
        if isinstance(failed, providers.StreamBroken):
            details["incomplete"] = True
        return Outcome(
            failed.partial,
            took(),
            error_code=ProviderFailed.code,
            error_message=f"The provider answered with an error: {failed.message}",
            error_details=details,
        )
    assert completion is not None  # answer() always ends with one
    return Outcome(completion.output, took(), completion=completion)


def _cost(model: str, completion: providers.Completion | None) -> Decimal | None:
    if completion is None or completion.input_tokens is None or completion.output_tokens is None:
        return None
    names = [model] + ([completion.model] if completion.model else [])
    prices = {p.model: p for p in ModelPrice.objects.filter(model__in=names)}
    price = prices.get(model) or prices.get(completion.model)
    if price is None:
        return None
    spent = (
        completion.input_tokens * price.input_per_million
        + completion.output_tokens * price.output_per_million
    )
    return (spent / Decimal(1_000_000)).quantize(Decimal("0.00000001"))


def record(plan: RunPlan, outcome: Outcome) -> Run:
    completion = outcome.completion
    return Run.objects.create(
        prompt=plan.prompt,
        version=plan.version,
        environment=plan.environment,
        connection=plan.connection,
        connection_name=plan.connection.name,
        provider=plan.connection.provider,
        model=plan.call.model,
        messages=plan.call.messages,
        parameters=plan.call.parameters,
        variables=plan.variables,
        output=outcome.output,
        input_tokens=completion.input_tokens if completion else None,
        output_tokens=completion.output_tokens if completion else None,
        latency_ms=outcome.latency_ms,
        finish_reason=completion.finish_reason if completion else "",
        cost=_cost(plan.call.model, completion),
        error_code=outcome.error_code,
        error_message=outcome.error_message,
        error_details=outcome.error_details,
        created_by=plan.actor if getattr(plan.actor, "is_authenticated", False) else None,
    )


def raise_for_failure(run: Run) -> Run:
    """The run, or the API's error for how it failed (the run is recorded either way)."""
    if not run.failed:
        return run
    details = {**run.error_details, "run": run.pk}
    if run.output:
        details["output"] = run.output
    if run.error_code == ProviderTimedOut.code:
        raise ProviderTimedOut(run.error_message, details)
    raise ProviderFailed(run.error_message, details)


def _drive(steps: Generator[str, None, Outcome], on_chunk: Callable[[str], Any] | None) -> Outcome:
    while True:
        try:
            chunk = next(steps)
        except StopIteration as finished:
            return finished.value
        if on_chunk is not None:
            on_chunk(chunk)


def run_prompt(
    actor: Any, prompt: Prompt, *, on_chunk: Callable[[str], Any] | None = None, **ask: Any
) -> Run:
    """Run the prompt and record it; ``ask``: what ``prepare_run`` takes (connection,
    variables, version or environment or text or messages, model, config). With
    ``on_chunk`` the answer is streamed and each piece of text handed to it as it
    arrives. A failed run is recorded, then raised as ProviderFailed (502) or
    ProviderTimedOut (504)."""
    return raise_for_failure(perform(prepare_run(actor, prompt, **ask), on_chunk))


def perform(plan: RunPlan, on_chunk: Callable[[str], Any] | None = None) -> Run:
    """Call and record a prepared run; the Run says whether it failed (pages show it)."""
    return record(plan, _drive(attempt(plan, stream=on_chunk is not None), on_chunk))


def stream_run(plan: RunPlan) -> Iterator[str | Run]:
    """For pages that stream: text as it arrives, then the recorded Run (failed or not)."""
    outcome = yield from attempt(plan, stream=True)
    yield record(plan, outcome)


# ------------------------------------------------------------------ many at once

_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


def _slot(connection: Connection) -> threading.BoundedSemaphore:
    with _slots_lock:
        if connection.pk not in _slots:
            _slots[connection.pk] = threading.BoundedSemaphore(settings.RUNS_AT_ONCE_PER_CONNECTION)
        return _slots[connection.pk]


def _attempt_in_turn(plan: RunPlan) -> Outcome:
    """At most RUNS_AT_ONCE_PER_CONNECTION calls of one connection at once in this
    process; each bounded by the provider timeout and the run deadline."""
    with _slot(plan.connection):
        return _drive(attempt(plan, stream=False), None)


def run_many(actor: Any, prompt: Prompt, cases: Sequence[dict]) -> list[Run]:
    """Several runs side by side; each case holds ``prepare_run``'s keyword arguments.
    All are checked first (one refusal refuses them all, before any call); the calls
    then go through a bounded pool; every run is recorded, failed or not, in order."""
    if not cases or len(cases) > MAX_RUNS_AT_ONCE:
        raise Invalid(f"Run 1 to {MAX_RUNS_AT_ONCE} cases at once.", {"field": "cases"})
    plans = [prepare_run(actor, prompt, **case) for case in cases]
    width = min(len(plans), MAX_RUNS_AT_ONCE)
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="run") as pool:
        outcomes = list(pool.map(_attempt_in_turn, plans))
    return [record(plan, outcome) for plan, outcome in zip(plans, outcomes, strict=True)]


# ------------------------------------------------------------------ reading runs


def runs_of(actor: Any, prompt: Prompt, version: Any = None) -> QuerySet:
    """The prompt's runs, newest first; whoever may see the prompt sees them."""
    require(actor, "view", prompt, "You may not see this prompt.")
    found = Run.objects.filter(prompt=prompt)
    if version not in (None, ""):
        found = found.filter(version=find_version(prompt, version))
    return found.select_related("version", "created_by").order_by("-created_at", "-pk")


def find_run(actor: Any, prompt: Prompt, run_id: Any) -> Run:
    require(actor, "view", prompt, "You may not see this prompt.")
    try:
        pk = int(run_id)
    except (TypeError, ValueError):
        pk = 0
    run = (
        Run.objects.filter(prompt=prompt, pk=pk).select_related("version").first()
        if 0 < pk < 2**63
        else None
    )
    if run is None:
        raise NotFound("No such run.")
    return run
