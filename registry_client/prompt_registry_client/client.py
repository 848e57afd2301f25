"""The registry client: resolve prompts over HTTP, cached so a service keeps working
(with the last good copy, or a fallback) when the registry is slow or down."""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ._version import __version__
from .errors import RegistryError, Throttled, Unavailable, error_from_response
from .prompt import FallbackSpec, Prompt

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (address, selector as a query string)
FINISHED = ("succeeded", "failed", "cancelled")


@dataclass
class _Entry:
    prompt: Prompt
    etag: str
    fetched_at: float  # clock() of the last 200 or 304


@dataclass(frozen=True)
class _Down:
    until: float
    throttled: bool


class RegistryClient:
    """Fetches prompts from ``{base_url}/api/v1``.

    - ``ttl``: seconds a fetched prompt is used without asking the registry at all.
    - ``stale_ttl``: for this long after ``ttl``, the old copy is returned at once and
      refreshed in a background thread (so a request never waits on the registry);
      past it, ``get`` revalidates before answering.
    - ``timeout``: seconds per HTTP request; keep it short, there is a fallback.
    - ``fallbacks``: ``{"team/slug": template}`` used when the registry is unreachable
      and no copy is cached, so a service can start while the registry is down.
    - ``backoff``: after the registry failed to answer for a key, seconds during which
      the cached copy or fallback is served without trying again, so an outage does not
      add ``timeout`` to every request (a 429's Retry-After extends it).
    - ``clock``: a monotonic clock, replaceable in tests.

    Safe to share between threads: one lock guards the cache.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        ttl: float = 60.0,
        stale_ttl: float = 3600.0,
        timeout: float = 2.0,
        fallbacks: Mapping[str, FallbackSpec] | None = None,
        backoff: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http:// or https:// URL.")
        if min(ttl, stale_ttl, timeout, backoff) < 0:
            raise ValueError("ttl, stale_ttl, timeout and backoff cannot be negative.")
        self.base_url = base_url
        self.token = token
        self.ttl = ttl
        self.stale_ttl = stale_ttl
        self.timeout = timeout
        self.backoff = backoff
        self.clock = clock
        self.fallbacks = {
            _address(a): Prompt.fallback(_address(a), spec) for a, spec in (fallbacks or {}).items()
        }
        self.opener = urllib.request.build_opener()
        self.request_count = 0  # HTTP requests sent, for tests and metrics
        self._lock = threading.Lock()
        self._cache: dict[Key, _Entry] = {}
        self._down: dict[Key, _Down] = {}
        self._refreshing: set[Key] = set()

    # ------------------------------------------------------------------ public

    def get(
        self,
        address: str,
        *,
        environment: str | None = None,
        version: int | None = None,
        label: str | None = None,
    ) -> Prompt:
        """The prompt live in ``environment`` (or ``version`` N, or ``label="latest"``;
        none: the team's default environment). Raises NotFound, Unauthorized, Forbidden,
        Throttled, or Unavailable when the registry is unreachable and there is neither a
        cached copy nor a fallback."""
        key = (_address(address), _selector(environment, version, label))
        now = self.clock()
        with self._lock:
            entry = self._cache.get(key)
            down = self._down.get(key)
            if down is not None and now >= down.until:
                down = None
            if entry is not None:
                age = now - entry.fetched_at
                if age < self.ttl:
                    return replace(entry.prompt, source="cache")
                if down is not None:
                    return replace(entry.prompt, source="stale")
                if age < self.ttl + self.stale_ttl:
                    if key not in self._refreshing:
                        self._refreshing.add(key)
                        threading.Thread(
                            target=self._refresh,
                            args=(key, entry),
                            daemon=True,
                            name=f"prompt-refresh {key[0]}",
                        ).start()
                    return replace(entry.prompt, source="stale")
        if down is not None:
            if down.throttled:
                raise Throttled(
                    f"{key[0]}: throttled, not asking again yet.", retry_after=down.until - now
                )
            return self._fallback(
                key, environment, f"it failed recently; next try in {down.until - now:.1f}s"
            )
        try:
            return self._fetch(key, entry)
        except (Unavailable, Throttled) as exc:
            if entry is not None:
                return replace(entry.prompt, source="stale")
            if isinstance(exc, Throttled):
                raise
            return self._fallback(key, environment, str(exc), exc)

    def render(
        self,
        address: str,
        variables: Mapping[str, Any] | None = None,
        *,
        environment: str | None = None,
        version: int | None = None,
    ) -> dict[str, Any]:
        """Render on the server (full sandboxed Jinja): ``{rendered, version, environment}``
        or, for a chat prompt, ``{messages, version, environment}``. Not cached and no
        fallback: the answer depends on the values. Raises MissingVariables listing
        every missing name."""
        body: dict[str, Any] = {"variables": dict(variables or {})}
        if environment is not None:
            body["environment"] = environment
        if version is not None:
            body["version"] = version
        _, data, _ = self._request("POST", self._url(_address(address), "render"), body=body)
        return data

    def start_evaluation(
        self,
        address: str,
        *,
        dataset: str,
        connection: str,
        version: int | None = None,
        environment: str | None = None,
        model: str | None = None,
    ) -> dict[str, Any]:
        """Queue an evaluation of ``version`` (or what is live in ``environment``; none:
        the latest version) on the latest revision of ``dataset``; the answer is the
        evaluation as queued (``id``, ``state``, ``total`` …). Needs the ``write`` scope."""
        if version is not None and environment is not None:
            raise ValueError("Give version or environment, not both.")
        body: dict[str, Any] = {"dataset": dataset, "connection": connection}
        for name, value in (("version", version), ("environment", environment), ("model", model)):
            if value is not None:
                body[name] = value
        url = self._url(_address(address), "evaluations")
        _, data, _ = self._request("POST", url, body=body)
        return data

    def evaluation(self, address: str, evaluation_id: int) -> dict[str, Any]:
        """The evaluation as it is now."""
        url = self._url(_address(address), f"evaluations/{int(evaluation_id)}")
        _, data, _ = self._request("GET", url)
        return data

    def evaluate(
        self,
        address: str,
        *,
        dataset: str,
        connection: str,
        version: int | None = None,
        environment: str | None = None,
        model: str | None = None,
        poll: float = 2.0,
        wait: float = 3600.0,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Start an evaluation and wait until it finished (succeeded, failed or
        cancelled): the final evaluation, with ``pass_rate``. The registry being briefly
        unreachable or throttling while waiting is waited out; past ``wait`` seconds,
        raises Unavailable (the evaluation goes on on the server)."""
        started = self.start_evaluation(
            address,
            dataset=dataset,
            connection=connection,
            version=version,
            environment=environment,
            model=model,
        )
        return self.wait_for_evaluation(
            address, started, poll=poll, wait=wait, on_progress=on_progress
        )

    def wait_for_evaluation(
        self,
        address: str,
        evaluation: dict[str, Any],
        *,
        poll: float = 2.0,
        wait: float = 3600.0,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        deadline = self.clock() + wait
        current = evaluation
        while current.get("state") not in FINISHED:
            if on_progress is not None:
                on_progress(current)
            if self.clock() >= deadline:
                raise Unavailable(
                    f"Evaluation {current.get('id')} of {address} did not finish in {wait:g}s."
                )
            time.sleep(poll)
            try:
                current = self.evaluation(address, current["id"])
            except Throttled as exc:
                time.sleep(min(exc.retry_after or poll, max(deadline - self.clock(), 0)))
            except Unavailable as exc:
                log.warning("Waiting for evaluation %s: %s", current.get("id"), exc)
        return current

    def clear(self) -> None:
        """Forget every cached prompt and every remembered outage."""
        with self._lock:
            self._cache.clear()
            self._down.clear()

    # ----------------------------------------------------------------- internals

    def _fetch(self, key: Key, entry: _Entry | None) -> Prompt:
        """Resolve over the network (conditionally, when a copy is cached) and store the
        answer. A definitive error (404, 401, 403…) drops the cached copy: an undeployed
        prompt or a revoked token must not keep being served."""
        address, query = key
        url = self._url(address, "resolve") + (f"?{query}" if query else "")
        headers = {"If-None-Match": entry.etag} if entry is not None else {}
        try:
            status, data, answer_headers = self._request("GET", url, headers=headers)
        except (Unavailable, Throttled) as exc:
            wait = max(self.backoff, getattr(exc, "retry_after", None) or 0.0)
            with self._lock:
                self._down[key] = _Down(self.clock() + wait, isinstance(exc, Throttled))
            raise
        except RegistryError:
            with self._lock:
                self._cache.pop(key, None)
                self._down.pop(key, None)
            raise
        now = self.clock()
        with self._lock:
            self._down.pop(key, None)
            if status == 304 and entry is not None:
                current = self._cache.get(key)
                if current is None or current.etag != entry.etag:
                    current = self._cache[key] = _Entry(entry.prompt, entry.etag, now)
                current.fetched_at = now
                return replace(current.prompt, source="revalidated")
            if not isinstance(data, dict):
                raise Unavailable(
                    f"{address}: the registry answered {status} without a prompt.", status=status
                )
            prompt = Prompt.from_json(data)
            etag = answer_headers.get("ETag") or f'"{prompt.content_hash}"'
            self._cache[key] = _Entry(prompt, etag, now)
            return prompt

    def _refresh(self, key: Key, entry: _Entry) -> None:
        """Background revalidation for stale-while-revalidate; errors are logged, never
        raised into a thread nobody joins."""
        try:
            self._fetch(key, entry)
        except RegistryError as exc:
            log.warning("Refreshing prompt %s failed: %s", key[0], exc)
        except Exception:
            log.exception("Refreshing prompt %s failed", key[0])
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def _fallback(
        self, key: Key, environment: str | None, reason: str, cause: Exception | None = None
    ) -> Prompt:
        prompt = self.fallbacks.get(key[0])
        if prompt is None:
            raise Unavailable(
                f"{key[0]}: the registry is unreachable ({reason}), nothing is "
                "cached and there is no fallback."
            ) from cause
        log.warning(
            "Serving the fallback for %s: the registry is unreachable (%s).", key[0], reason
        )
        return replace(prompt, environment=environment)

    def _url(self, address: str, action: str) -> str:
        team, slug = (urllib.parse.quote(part, safe="") for part in address.split("/"))
        return f"{self.base_url.rstrip('/')}/api/v1/prompts/{team}/{slug}/{action}"

    def _request(
        self, method: str, url: str, *, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> tuple[int, Any, Any]:
        """One HTTP exchange: (status, parsed JSON or None for 304, headers). Error
        answers raise the mapped RegistryError; no answer at all raises Unavailable."""
        request = urllib.request.Request(  # noqa: S310 (scheme checked in __init__)
            url,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/json",
                "User-Agent": f"prompt-registry-client/{__version__}",
                **({"Content-Type": "application/json"} if body is not None else {}),
                **(headers or {}),
            },
        )
        with self._lock:
            self.request_count += 1
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                status, raw, answer_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            with exc:
                if exc.code == 304:
                    return 304, None, exc.headers
                try:
                    raw = exc.read()
                except (OSError, http.client.HTTPException):
                    raw = b""
                raise error_from_response(exc.code, raw, exc.headers) from None
        except (OSError, http.client.HTTPException) as exc:  # refused, timeout, reset…
            reason = getattr(exc, "reason", None) or exc or type(exc).__name__
            raise Unavailable(f"{method} {url}: {reason}") from exc
        try:
            return status, json.loads(raw), answer_headers
        except ValueError:
            raise Unavailable(f"{method} {url}: the answer is not JSON.", status=status) from None


def _address(address: str) -> str:
    team, sep, slug = address.partition("/")
    if not sep or not team or not slug or "/" in slug:
        raise ValueError(f"A prompt's address is 'team/slug', not {address!r}.")
    return address


def _selector(environment: str | None, version: int | None, label: str | None) -> str:
    """The one selector given, as the query string that is also the cache key's part."""
    given = {
        name: value
        for name, value in (("environment", environment), ("version", version), ("label", label))
        if value is not None
    }
    if len(given) > 1:
        raise ValueError("Give one of environment, version or label.")
    return urllib.parse.urlencode(given)
