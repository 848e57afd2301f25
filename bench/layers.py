"""Where a warm resolve's time goes, layer by layer, measured in one process.

Prepares a fresh database and cache like ``bench/resolve.py`` (same seed, same
production settings), then calls the WSGI application directly (no sockets, no
server) for a warm ``resolve`` and reports microseconds per request:

- the whole request through today's full stack, and through the lean path;
- each middleware, as the difference it makes when added to the stack;
- inside the DRF view: building the DRF request, authentication (the token's cache
  read), permissions, throttle, content negotiation, the resolve service, the usage
  counter, the ETag, finalising the response and JSON encoding; what is left is
  DRF's and Django's own dispatching.

    .venv/bin/python bench/layers.py                     # SQLite + file cache
    .venv/bin/python bench/layers.py --database-url postgres://postgres@127.0.0.1:5432/x_bench \
        --redis-url redis://127.0.0.1:6379/15           # PostgreSQL + Redis

Wall-clock figures on a shared machine move with its load: the run repeats each
measurement and keeps the fastest of five batches.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=None, help="as bench/resolve.py")
    parser.add_argument("--redis-url", default=None, help="as bench/resolve.py")
    parser.add_argument("-n", "--requests", type=int, default=2000, help="per batch")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    return parser.parse_args()


# ------------------------------------------------------------------ in the measuring process


def environ_of(path: str, token: str) -> dict[str, Any]:
    route, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_ACCEPT": "application/json",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }


def call(app, environ: dict) -> int:
    status: list[str] = []
    body = b"".join(app({**environ, "wsgi.input": io.BytesIO(b"")}, lambda s, h: status.append(s)))
    if not status[0].startswith("200"):
        raise SystemExit(f"{status[0]}: {body[:500]!r}")
    return len(body)


def per_request_us(app, environ: dict, n: int, batches: int = 5) -> float:
    call(app, environ)
    best = float("inf")
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(n):
            call(app, environ)
        best = min(best, (time.perf_counter() - t0) / n)
    return best * 1e6


class Stopwatch:
    """Wraps functions to add up the time spent in each (outermost calls only)."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)
        self.undo: list = []

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        original = getattr(owner, attribute)
        spent = self.spent

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - t0

        setattr(owner, attribute, timed)
        self.undo.append((owner, attribute, original))

    def restore(self) -> None:
        for owner, attribute, original in reversed(self.undo):
            setattr(owner, attribute, original)
        self.undo.clear()


def handler_with(middleware: list[str]):
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    with override_settings(MIDDLEWARE=middleware):
        return WSGIHandler()


def measure(seed: dict, n: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.test.utils import override_settings

    from registry_site import wsgi

    resolve_path = f"/api/v1/prompts/{seed['team']}/{seed['slug']}/resolve?environment=development"
    environ = environ_of(resolve_path, seed["token"])
    full_stack = handler_with(list(settings.MIDDLEWARE))
    figures: dict[str, Any] = {}
    lean_app = wsgi.application
    figures["fast path (registry_site.wsgi.application)"] = per_request_us(lean_app, environ, n)
    figures["whoami, full stack"] = per_request_us(
        full_stack, environ_of("/api/v1/whoami", seed["token"]), n
    )
    with override_settings(ROOT_URLCONF="full_stack_urls"):  # the DRF view, as before
        figures["full stack (every middleware, DRF view)"] = per_request_us(full_stack, environ, n)
        bare = handler_with([])
        figures["DRF view, no middleware"] = per_request_us(bare, environ, n)
        figures["middleware"] = middleware_costs(environ, n, list(settings.MIDDLEWARE))
        figures["inside the DRF view"] = view_layers(bare, environ, n)
    assert isinstance(full_stack, WSGIHandler)
    return figures


def middleware_costs(environ: dict, n: int, middleware: list[str]) -> dict[str, float]:
    """Each middleware's cost: the stack up to it minus the stack before it (in the
    settings' order, which their dependencies need, e.g. sessions before auth)."""
    costs = {}
    before = per_request_us(handler_with([]), environ, n)
    for k, name in enumerate(middleware):
        with_it = per_request_us(handler_with(middleware[: k + 1]), environ, n)
        costs[name.rsplit(".", 1)[-1]] = round(with_it - before, 1)
        before = with_it
    return costs


def view_layers(app, environ: dict, n: int) -> dict[str, float]:
    from rest_framework.renderers import JSONRenderer
    from rest_framework.views import APIView

    from accounts import tokens
    from serving import services, usage
    from serving.api import views as serving_views

    watch = Stopwatch()
    watch.wrap(APIView, "initialize_request", "DRF request object")
    watch.wrap(tokens, "authenticate", "authentication (token and rights, one cache read)")
    watch.wrap(APIView, "check_permissions", "permission classes")
    watch.wrap(APIView, "check_throttles", "throttle")
    watch.wrap(APIView, "perform_content_negotiation", "content negotiation")
    watch.wrap(services, "resolve", "resolve service (pointer, rights check, payload)")
    watch.wrap(usage, "count", "usage counter")
    watch.wrap(serving_views, "validators", "ETag comparison")
    watch.wrap(APIView, "finalize_response", "finalize response (headers, renderer)")
    watch.wrap(JSONRenderer, "render", "JSON encoding")
    watch.wrap(APIView, "dispatch", "DRF dispatch in all")
    call(app, environ)
    try:
        total = per_request_us(app, environ, n, batches=1)
        watch.spent.clear()
        t0 = time.perf_counter()
        for _ in range(n):
            call(app, environ)
        wall = time.perf_counter() - t0
    finally:
        watch.restore()
    layers = {name: round(seconds / n * 1e6, 1) for name, seconds in watch.spent.items()}
    dispatch = layers.pop("DRF dispatch in all")
    inner = sum(v for k, v in layers.items() if k != "JSON encoding")
    layers["DRF's own dispatching (dispatch minus the above)"] = round(dispatch - inner, 1)
    layers["Django outside the view (WSGI request, URL resolving, response)"] = round(
        wall / n * 1e6 - dispatch - layers["JSON encoding"], 1
    )
    layers["(request in all, with the stopwatch)"] = round(wall / n * 1e6, 1)
    layers["(request in all, without it)"] = round(total, 1)
    return layers


# ------------------------------------------------------------------ the run


def main() -> None:
    args = parse_args()
    if args.child:
        seed = json.loads(Path(args.child).read_text())
        print(json.dumps(measure(seed, args.requests)))
        return
    import resolve as bench

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    workdir = bench.RESULTS / f"layers-{stamp}"
    prefix = f"layers-{stamp}-{secrets.token_hex(3)}"
    options = argparse.Namespace(database_url=args.database_url, redis_url=args.redis_url)
    if args.database_url:
        bench.check_bench_database(argparse.ArgumentParser(), args.database_url)
    backend = None
    try:
        backend = bench.prepare_backend(options, workdir, prefix)
        seed = bench.migrate_and_seed(backend.env, workdir)
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                str(workdir / "seed.json"),
                "-n",
                str(args.requests),
            ],
            cwd=ROOT,
            env=backend.env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if done.returncode != 0:
            raise SystemExit(done.stderr)
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{backend.database}; {backend.cache}; load {os.getloadavg()[0]:.2f}")
        report(figures)
        del seed
    finally:
        options.keep = False
        bench.cleanup(options, backend, workdir, prefix)
        shutil.rmtree(workdir, ignore_errors=True)


def report(figures: dict[str, Any]) -> None:
    for key, value in figures.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for name, us in value.items():
                print(f"    {name:<66} {us:>7.1f} us")
        else:
            print(f"{key:<70} {value:>7.1f} us")


if __name__ == "__main__":
    main()
