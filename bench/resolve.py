"""Benchmark: how fast does a service get its live prompt?

Starts the real server (gunicorn, production settings) on a fresh throwaway database,
and beside it, on the same gunicorn settings, a one-view Django project with no
middleware and no DRF that answers the same JSON bytes (``bench/oneview.py``): the
cheapest anything served by Django can be. Drives HTTP load over loopback (wrk when it
is installed, else Python clients) and compares the warm ``resolve`` endpoint with that
baseline and with the cheapest authenticated API view (``whoami``), which pays the
full stack but looks nothing up; with 16 connections and with one (p50/p99).

    .venv/bin/python bench/resolve.py            # SQLite + file cache, defaults
    .venv/bin/python bench/resolve.py --help

A measurement, not a test: it exits 0 whether the targets are met or not, and non-zero
only when the benchmark itself could not run (the server failed, an endpoint answered
something else than 200 before the load started).
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import platform
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import wrk

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"

# resolve rps / one-view Django rps, with 16 connections: on PostgreSQL + Redis, and on
# SQLite + the file cache (a cache read there is a file read per key).
TARGET_RATIO = {"redis": 0.8, "file": 0.7}
TARGET_SINGLE_P99_GAP_MS = 1.0  # resolve's 1-connection p99 over the baseline's

# Rates far above what the benchmark reaches, so throttling never answers 429.
THROTTLE_RATE = "1000000/min"


# ------------------------------------------------------------------ options


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Measure warm GET .../resolve against the trivial authenticated "
        "GET /api/v1/whoami on a real gunicorn server over loopback.",
        epilog="Figures are printed and written to bench/results/resolve-<timestamp>.json. "
        f"Targets: resolve / one-view Django rps >= {TARGET_RATIO['redis']} on Redis, "
        f">= {TARGET_RATIO['file']} on the file cache; resolve's 1-connection p99 within "
        f"{TARGET_SINGLE_P99_GAP_MS:g} ms of the baseline's (PASS/MISS is printed; the exit "
        "code is 0 either way).",
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=16,
        help="concurrent clients, each one keep-alive connection "
        "issuing requests back to back (default: %(default)s)",
    )
    parser.add_argument(
        "--procs",
        type=int,
        default=0,
        help="load-generator processes the clients are spread over "
        "(0: one per client, so no client waits on another's GIL)",
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=10.0,
        help="seconds of measured load per operation (default: %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="seconds of unmeasured load per operation before measuring (default: %(default)s)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="alternate the phases in this many slices of duration/rounds "
        "seconds (use on a busy machine: background load then hits both; "
        "default: %(default)s)",
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn worker processes (default: %(default)s)"
    )
    parser.add_argument(
        "--worker-class",
        default="sync",
        help="gunicorn worker class; 'sync' closes the connection after "
        "every response, 'gthread' keeps it alive (default: %(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per gunicorn worker, gthread only (default: %(default)s)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL database to DROP and re-create for the run, e.g. "
        "postgres://postgres@127.0.0.1:5432/registry_bench (its name must "
        "contain 'bench'); default: a new SQLite file under bench/results/",
    )
    parser.add_argument(
        "--redis-url",
        default=None,
        help="Redis cache for the server, e.g. redis://127.0.0.1:6379/15 "
        "(keys get a per-run prefix); default: the file-based cache in a "
        "fresh directory",
    )
    parser.add_argument(
        "--load",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="load generator: wrk (light, C) or Python http.client processes; "
        "auto: wrk when installed (default: %(default)s)",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the run's directory (database, cache) and the PostgreSQL "
        "database instead of removing them at the end",
    )
    args = parser.parse_args(argv)
    if min(args.clients, args.workers, args.rounds, args.threads) < 1:
        parser.error("--clients, --workers, --rounds and --threads must be >= 1")
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be > 0 and --warmup >= 0")
    args.procs = min(args.clients, args.procs or args.clients)
    if args.load == "auto":
        args.load = "wrk" if wrk.available() else "python"
    elif args.load == "wrk" and not wrk.available():
        parser.error("--load wrk: wrk is not installed (apt-get install wrk)")
    if args.database_url:
        check_bench_database(parser, args.database_url)
    return args


def check_bench_database(parser: argparse.ArgumentParser, url: str) -> None:
    # The database is dropped: a typo must not cost someone their development data.
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        parser.error("--database-url must be a postgres:// address")
    if "bench" not in parts.path.lstrip("/"):
        parser.error(
            "--database-url: the database is dropped, so its name must contain "
            "'bench' (e.g. registry_bench)"
        )


# ------------------------------------------------------------------ database and cache


@dataclass
class Backend:
    """What the server runs on, for the environment and the report."""

    database_url: str
    database: str  # human description
    cache: str
    env: dict[str, str]


def recreate_postgres(url: str) -> str:
    """Drop and create the database of ``url``; returns the server's version."""
    import psycopg
    from psycopg import sql

    name, admin = _postgres_admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return str(conn.execute("SHOW server_version").fetchone()[0])


def drop_postgres(url: str) -> None:
    import psycopg
    from psycopg import sql

    name, admin = _postgres_admin(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _postgres_admin(url: str) -> tuple[str, str]:
    """(database name, address of the same server's maintenance database)."""
    parts = urllib.parse.urlsplit(url)
    name = urllib.parse.unquote(parts.path.lstrip("/"))
    return name, urllib.parse.urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))


def redis_version(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url)
    try:
        return str(client.info("server").get("redis_version", "?"))
    finally:
        client.close()


def forget_redis_keys(url: str, prefix: str) -> None:
    """Remove this run's keys, so repeated runs don't fill the Redis database."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def prepare_backend(args: argparse.Namespace, workdir: Path, prefix: str) -> Backend:
    """A fresh database and cache for this run, and the server environment naming them."""
    var_dir, static_root = workdir / "var", workdir / "static"
    var_dir.mkdir(parents=True)
    static_root.mkdir()
    if args.database_url:
        version = recreate_postgres(args.database_url)
        database_url = args.database_url
        database = f"PostgreSQL {version} ({_without_password(database_url)})"
    else:
        path = workdir / "registry.sqlite3"
        database_url = f"sqlite:///{path}"
        database = f"SQLite {sqlite3.sqlite_version} (WAL, {path.relative_to(ROOT)})"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "registry_site.settings",
        "DEBUG": "false",
        "HTTPS": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        # A fresh directory (file cache) and key prefix (Redis): no run sees another's
        # cached tokens, rights or pointers.
        "REGISTRY_VAR_DIR": str(var_dir),
        "CACHE_PREFIX": prefix,
        "THROTTLE_FETCH": THROTTLE_RATE,
        "THROTTLE_WRITE": THROTTLE_RATE,
        "LOG_LEVEL": "WARNING",
        # An empty directory: the API serves no static files, and WhiteNoise would
        # otherwise warn about a missing one in the server log.
        "STATIC_ROOT": str(static_root),
        "PYTHONUNBUFFERED": "1",
    }
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
        cache = f"Redis {redis_version(args.redis_url)} ({args.redis_url}, prefix {prefix})"
    else:
        env.pop("REDIS_URL", None)
        cache = f"file-based ({(var_dir / 'cache').relative_to(ROOT)})"
    return Backend(database_url, database, cache, env)


def _without_password(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urllib.parse.urlunsplit(parts)


def migrate_and_seed(env: dict[str, str], workdir: Path) -> dict:
    """Schema, then a team, an editor, a deployed ~2 KB prompt and a read token."""
    run_checked([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], env)
    out = workdir / "seed.json"
    run_checked([sys.executable, str(ROOT / "bench" / "seed.py"), str(out)], env)
    return json.loads(out.read_text())


def run_checked(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise BenchError(
            f"{' '.join(command[1:])} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )


class BenchError(Exception):
    """The benchmark could not run (as opposed to: it ran and missed a target)."""


# ------------------------------------------------------------------ the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    args: argparse.Namespace,
    env: dict[str, str],
    port: int,
    log: Path,
    app: str = "registry_site.wsgi:application",
    chdir: Path = ROOT,
) -> subprocess.Popen:
    """gunicorn serving ``app`` with the run's settings (the registry, or the baseline)."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--chdir",
        str(chdir),
        "--workers",
        str(args.workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--worker-class",
        args.worker_class,
        "--log-level",
        "warning",
    ]
    if args.worker_class == "gthread":
        command += ["--threads", str(args.threads)]
    with log.open("wb") as out:
        # Its own session: Ctrl-C reaches the benchmark only, which then stops the
        # server cleanly (SIGTERM, graceful) in its finally block.
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_until_up(port: int, server: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"gunicorn exited with {server.returncode}:\n{tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise BenchError(f"gunicorn did not listen on {port} within {timeout:g} s:\n{tail(log)}")


def stop_gunicorn(server: subprocess.Popen) -> None:
    """SIGTERM lets workers finish their request; SIGKILL only if that hangs."""
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


def tail(log: Path, lines: int = 60) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


# CPU figures are read from /proc (Linux); elsewhere they are left out.
HAVE_PROC = Path("/proc/stat").exists()
TICK = os.sysconf("SC_CLK_TCK") if HAVE_PROC else 100


def server_cpu_seconds(master_pid: int) -> float:
    """User + system CPU time used so far by gunicorn's master and workers.

    CPU per request is a steadier figure than rps when other jobs share the machine:
    they slow the server down more than they make its requests cost.
    """
    if not HAVE_PROC:
        return 0.0
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
        ticks = 0
        for pid in [master_pid, *map(int, children)]:
            # Fields after the ")" closing the command name: utime and stime are 12th, 13th.
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):  # a worker exiting just now
        return 0.0
    return ticks / TICK


def machine_cpu_seconds() -> float:
    """CPU time all cores spent busy so far (anything but idle and I/O wait)."""
    if not HAVE_PROC:
        return 0.0
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / TICK


def preflight(operations: list[Operation], log: Path) -> dict[str, tuple[bytes, str]]:
    """One request of each operation before any load: a broken endpoint stops the run
    with its answer and the server log, instead of a table full of errors. Returns each
    answer's body and ETag."""
    answers = {}
    for op in operations:
        conn = http.client.HTTPConnection("127.0.0.1", op.port, timeout=10)
        try:
            conn.request("GET", op.path, headers=op.headers)
            response = conn.getresponse()
            body = response.read()
        finally:
            conn.close()
        if response.status != 200:
            raise BenchError(
                f"{op.name}: GET {op.path} answered {response.status}:\n"
                f"{body[:2000].decode(errors='replace')}\n"
                f"--- gunicorn log (tail) ---\n{tail(log)}"
            )
        op.check(json.loads(body))
        answers[op.name] = (body, response.getheader("ETag") or "")
    return answers


# ------------------------------------------------------------------ load generation


@dataclass
class Operation:
    name: str
    path: str
    headers: dict[str, str]
    expect: dict[str, Any] = field(default_factory=dict)  # keys the JSON answer must hold
    port: int = 0
    server_pid: int = 0  # whose CPU time the phase counts

    def check(self, answer: dict) -> None:
        wrong = {k: answer.get(k) for k, v in self.expect.items() if answer.get(k) != v}
        if wrong:
            raise BenchError(f"{self.name}: unexpected answer {wrong}, expected {self.expect}")


@dataclass
class ClientResult:
    """What clients saw: per thread, merged per process, then across processes and
    rounds by the parent."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)  # status or exception name -> count
    connects: int = 0
    first_start: float = 0.0  # monotonic instants of one drive()
    last_end: float = 0.0
    seconds: float = 0.0  # measured time, summed over rounds
    # CPU seconds spent meanwhile: by the server, by the load generator, by the machine.
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    machine_cpu: float = 0.0
    cpu_window: float = 0.0  # wall seconds over which those were counted
    # wrk reports percentiles, not each latency: (requests, {p50, p95, p99, max}) per round.
    summaries: list[tuple[int, dict[str, float]]] = field(default_factory=list)

    def add(self, other: ClientResult) -> None:
        self.latencies_ms += other.latencies_ms
        self.errors.update(other.errors)
        self.connects += other.connects
        self.first_start = min(self.first_start or other.first_start, other.first_start)
        self.last_end = max(self.last_end, other.last_end)
        self.seconds += other.seconds
        self.server_cpu += other.server_cpu
        self.client_cpu += other.client_cpu
        self.machine_cpu += other.machine_cpu
        self.cpu_window += other.cpu_window
        self.summaries += other.summaries


def client_loop(
    port: int,
    op: Operation,
    start_at: float,
    stop_at: float,
    result: ClientResult,
    lock: threading.Lock,
) -> None:
    """One client: requests back to back on one connection until ``stop_at``.

    http.client re-opens the connection by itself when the server closed it (gunicorn's
    sync workers answer every request with Connection: close); that connect is part of
    the request's latency, as it is for a real client of such a server.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    errors: Counter = Counter()
    connects = 0
    time.sleep(max(0.0, start_at - time.monotonic()))
    began = ended = time.monotonic()
    while ended < stop_at:
        if conn.sock is None:
            connects += 1
        t0 = time.perf_counter()
        try:
            conn.request("GET", op.path, headers=op.headers)
            response = conn.getresponse()
            response.read()  # the whole body, or the connection cannot be reused
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            status = type(exc).__name__
        latencies.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            errors[str(status)] += 1
        ended = time.monotonic()
    conn.close()
    with lock:
        result.add(ClientResult(latencies, errors, connects, began, ended))


def client_process(
    port: int, op: Operation, clients: int, start_at: float, stop_at: float, queue: mp.Queue
) -> None:
    """A load-generator process running ``clients`` clients as threads."""
    # Ctrl-C goes to the whole process group; the parent alone handles it and
    # terminates these processes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cpu_at_start = time.process_time()
    result, lock = ClientResult(), threading.Lock()
    threads = [
        threading.Thread(target=client_loop, args=(port, op, start_at, stop_at, result, lock))
        for _ in range(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result.client_cpu = time.process_time() - cpu_at_start
    queue.put(result)


def spread(total: int, parts: int) -> list[int]:
    """``total`` clients over ``parts`` processes, as evenly as possible."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def drive(port: int, op: Operation, clients: int, procs: int, seconds: float) -> ClientResult:
    """Run ``clients`` clients for ``seconds`` and merge what the processes saw."""
    # fork: fast to start, and this process holds no Django state to inherit.
    context = mp.get_context("fork")
    queue: mp.Queue = context.Queue()
    # Every process starts on the same (system-wide monotonic) instant, after all forked.
    start_at = time.monotonic() + 0.3 + 0.02 * procs
    stop_at = start_at + seconds
    workers = [
        context.Process(
            target=client_process, args=(port, op, n, start_at, stop_at, queue), daemon=True
        )
        for n in spread(clients, procs)
    ]
    merged = ClientResult()
    try:
        for w in workers:
            w.start()
        for _ in workers:  # drain before join, or a full pipe deadlocks the join
            merged.add(queue.get(timeout=seconds + 60))
        for w in workers:
            w.join(timeout=10)
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()
    # From the first client's start to the last one's end: requests in flight at the
    # deadline complete and count, so they count in the time too.
    merged.seconds = max(merged.last_end - merged.first_start, 1e-9)
    return merged


# ------------------------------------------------------------------ figures


@dataclass
class PhaseFigures:
    operation: str
    connections: int
    path: str
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    error_kinds: dict[str, int]
    connects: int
    server_cpu_ms_per_request: float | None
    # Share of all cores' time used by the server, the load generator and anything else.
    cpu_share: dict[str, float]


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, int(-(-q * len(sorted_values) // 100)))  # ceil(q/100 * n)
    return sorted_values[min(rank, len(sorted_values)) - 1]


def figures_of(op: Operation, result: ClientResult, connections: int) -> PhaseFigures:
    latencies = sorted(result.latencies_ms)
    requests = len(latencies) or sum(n for n, _ in result.summaries)
    seconds = result.seconds
    if latencies:
        marks = {q: percentile(latencies, int(q[1:])) for q in ("p50", "p95", "p99")}
        marks["max"] = latencies[-1]
    else:  # wrk's own percentiles, per round, weighted by the round's requests
        marks = {
            q: sum(n * got[q] for n, got in result.summaries) / max(requests, 1)
            for q in ("p50", "p95", "p99")
        }
        marks["max"] = max((got["max"] for _, got in result.summaries), default=0.0)
    return PhaseFigures(
        operation=op.name,
        connections=connections,
        path=op.path,
        requests=requests,
        seconds=round(seconds, 3),
        rps=round(requests / seconds, 1),
        p50_ms=round(marks["p50"], 3),
        p95_ms=round(marks["p95"], 3),
        p99_ms=round(marks["p99"], 3),
        max_ms=round(marks["max"], 3),
        errors=sum(result.errors.values()),
        error_kinds=dict(result.errors),
        connects=result.connects,
        server_cpu_ms_per_request=round(result.server_cpu * 1000 / requests, 3)
        if HAVE_PROC and requests
        else None,
        cpu_share=cpu_share(result) if HAVE_PROC else {},
    )


def cpu_share(result: ClientResult) -> dict[str, float]:
    available = max(result.cpu_window, 1e-9) * (os.cpu_count() or 1)
    other = max(0.0, result.machine_cpu - result.server_cpu - result.client_cpu)
    return {
        "server": round(result.server_cpu / available, 3),
        "load_generator": round(result.client_cpu / available, 3),
        "other": round(other / available, 3),
    }


def machine(backend: Backend, args: argparse.Namespace, load_before: float) -> dict[str, str]:
    import gunicorn

    workers = f"{args.workers} x {args.worker_class}"
    if args.worker_class == "gthread":
        workers += f" ({args.threads} threads)"
    return {
        "cores": str(os.cpu_count()),
        "cpu": _cpu_model(),
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "database": backend.database,
        "cache": backend.cache,
        "server": f"gunicorn {gunicorn.__version__}, {workers} workers",
        "load": (
            f"wrk, {args.clients} connections (2 threads) and 1"
            if args.load == "wrk"
            else f"{args.clients} Python clients in {args.procs} processes, and 1"
        )
        + f", {args.duration:g} s per phase after {args.warmup:g} s warm-up, same machine",
        # The server and the clients share the cores: other jobs distort the figures.
        "busy": f"load average {load_before:.2f} before the run, "
        f"{os.getloadavg()[0]:.2f} after (1 min)",
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def cpu_ratio(baseline: PhaseFigures, resolve: PhaseFigures) -> float:
    """The rps ratio the server's CPU cost per request predicts when CPU is the limit."""
    if not baseline.server_cpu_ms_per_request or not resolve.server_cpu_ms_per_request:
        return 0.0
    return baseline.server_cpu_ms_per_request / resolve.server_cpu_ms_per_request


def verdicts(phases: list[PhaseFigures], cache_kind: str, clients: int) -> dict[str, dict]:
    by = {(p.operation, p.connections): p for p in phases}
    base, who, res = by[("one-view", clients)], by[("whoami", clients)], by[("resolve", clients)]
    single_base, single_res = by[("one-view", 1)], by[("resolve", 1)]
    target = TARGET_RATIO[cache_kind]
    ratio = round(res.rps / base.rps, 3) if base.rps else 0.0
    gap = round(single_res.p99_ms - single_base.p99_ms, 3)
    errors = sum(p.errors for p in phases)
    return {
        "ratio_one_view": {"value": ratio, "target": f">= {target}", "pass": ratio >= target},
        **_floor_ratio(by, res, clients),
        "ratio_whoami": {
            "value": round(res.rps / who.rps, 3) if who.rps else 0.0,
            "target": "(for comparison)",
            "pass": True,
        },
        "single_p99_gap_ms": {
            "value": gap,
            "target": f"<= {TARGET_SINGLE_P99_GAP_MS:g}",
            "pass": gap <= TARGET_SINGLE_P99_GAP_MS,
        },
        "no_errors": {"value": errors, "target": "0", "pass": errors == 0},
    }


def floor_cache(args: argparse.Namespace, workdir: Path, prefix: str) -> dict:
    """The registry's cache backend, for the baseline that reads what resolve reads."""
    if args.redis_url:
        return {
            "BACKEND": "registry_site.redis_cache.RedisCache",
            "LOCATION": args.redis_url,
            "KEY_PREFIX": f"{prefix}-one-view",
        }
    return {
        "BACKEND": "registry_site.file_cache.FileBasedCache",
        "LOCATION": str(workdir / "one-view-cache"),
    }


def _floor_ratio(by: dict, res: PhaseFigures, clients: int) -> dict:
    """resolve against the one-view project making the same cache reads."""
    floor = by.get(("one-view+cache", clients))
    if floor is None or not floor.rps:
        return {}
    value = round(res.rps / floor.rps, 3)
    return {"ratio_one_trip": {"value": value, "target": "(for comparison)", "pass": True}}


def print_report(
    info: dict[str, str], phases: list[PhaseFigures], verdict: dict[str, dict]
) -> None:
    print()
    for key, value in info.items():
        print(f"{key:>9}: {value}")
    print()
    header = (
        f"{'operation':<15} {'conns':>5} {'requests':>9} {'rps':>8} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'p99 ms':>7} {'errors':>6} {'CPU/req':>8}"
    )
    print(header)
    print("-" * len(header))
    for p in phases:
        cpu = f"{p.server_cpu_ms_per_request:.2f}ms" if p.server_cpu_ms_per_request else "?"
        print(
            f"{p.operation:<15} {p.connections:>5} {p.requests:>9} {p.rps:>8.0f} "
            f"{p.p50_ms:>7.2f} {p.p95_ms:>7.2f} {p.p99_ms:>7.2f} {p.errors:>6} {cpu:>8}"
        )
    if HAVE_PROC:
        print(
            "CPU of all cores (server / load generator / other jobs): "
            + ", ".join(
                f"{p.operation}@{p.connections} {p.cpu_share['server']:.0%} / "
                f"{p.cpu_share['load_generator']:.0%} / {p.cpu_share['other']:.0%}"
                for p in phases
            )
        )
        if any(p.cpu_share["other"] > 0.1 for p in phases):
            print("  other jobs took over 10% of the CPU: the figures are disturbed")
    for p in phases:
        if p.errors:
            print(f"errors in {p.operation}@{p.connections}: {p.error_kinds}")
    print()
    mark = {True: "PASS", False: "MISS"}
    ratio, whoami = verdict["ratio_one_view"], verdict["ratio_whoami"]
    gap = verdict["single_p99_gap_ms"]
    print(
        f"resolve / one-view Django rps: {ratio['value']:.2f}  (target {ratio['target']}) "
        f"{mark[ratio['pass']]}"
    )
    if "ratio_one_trip" in verdict:
        print(
            "resolve / one-view Django making the same cache reads rps: "
            f"{verdict['ratio_one_trip']['value']:.2f}"
        )
    print(f"resolve / whoami rps:          {whoami['value']:.2f}")
    print(
        f"1-connection p99, resolve minus one-view: {gap['value']:.2f} ms  "
        f"(target {gap['target']} ms) {mark[gap['pass']]}"
    )
    if not verdict["no_errors"]["pass"]:
        print(f"non-200 answers:          {verdict['no_errors']['value']}  MISS")


def write_json(
    path: Path,
    info: dict[str, str],
    args: argparse.Namespace,
    phases: list[PhaseFigures],
    verdict: dict[str, dict],
) -> None:
    document = {
        "benchmark": "resolve",
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": info,
        "options": {k: v for k, v in vars(args).items() if k != "database_url"}
        | {"database_url": _without_password(args.database_url) if args.database_url else None},
        "phases": [asdict(p) for p in phases],
        "targets": verdict,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


# ------------------------------------------------------------------ the run


def one_phase(op: Operation, connections: int, seconds: float, args: argparse.Namespace):
    """Load ``op`` with ``connections`` for ``seconds``; what the clients and /proc saw."""
    server_before, machine_before = server_cpu_seconds(op.server_pid), machine_cpu_seconds()
    began = time.monotonic()
    if args.load == "wrk":
        got = wrk.run(f"http://127.0.0.1:{op.port}{op.path}", op.headers, connections, seconds)
        part = ClientResult(errors=Counter(got.errors), seconds=got.seconds)
        part.client_cpu = got.cpu_seconds
        part.summaries = [(got.requests, got.percentiles_ms)]
    else:
        part = drive(op.port, op, connections, min(args.procs, connections), seconds)
    part.cpu_window = time.monotonic() - began
    part.server_cpu = server_cpu_seconds(op.server_pid) - server_before
    part.machine_cpu = machine_cpu_seconds() - machine_before
    return part


def measure(ops: list[Operation], args: argparse.Namespace) -> list[PhaseFigures]:
    """Warm every operation up, then measure each for the same total duration, with
    ``--clients`` connections and then with one.

    With --rounds N the phases alternate in N slices, so that a change in the machine's
    background load (another job starting) falls on every operation alike.
    """
    if args.warmup:
        print(
            f"warming up {', '.join(op.name for op in ops)} for {args.warmup:g} s each ...",
            flush=True,
        )
        for op in ops:
            one_phase(op, args.clients, args.warmup, args)
    share = args.duration / args.rounds
    print(
        f"measuring {', '.join(op.name for op in ops)} for {args.duration:g} s each with "
        f"{args.clients} connections and with 1 ({args.load})"
        + (f" in {args.rounds} alternating rounds" if args.rounds > 1 else "")
        + " ...",
        flush=True,
    )
    phases = []
    for connections in (args.clients, 1):
        totals = {op.name: ClientResult() for op in ops}
        for _ in range(args.rounds):
            for op in ops:
                totals[op.name].add(one_phase(op, connections, share, args))
        phases += [figures_of(op, totals[op.name], connections) for op in ops]
    return phases


def operations(seed: dict, port: int, server_pid: int) -> list[Operation]:
    headers = {"Authorization": f"Bearer {seed['token']}", "Accept": "application/json"}
    resolve_path = f"/api/v1/prompts/{seed['team']}/{seed['slug']}/resolve?environment=development"
    return [
        Operation(
            "whoami", "/api/v1/whoami", headers, {"username": "bench-editor"}, port, server_pid
        ),
        Operation(
            "resolve",
            resolve_path,
            headers,
            {"version": seed["version"], "environment": "development"},
            port,
            server_pid,
        ),
    ]


def start_one_view(
    args: argparse.Namespace,
    workdir: Path,
    answer: tuple[bytes, str],
    log: Path,
    cache: dict | None = None,
) -> tuple[subprocess.Popen, int]:
    """The baseline project on the same gunicorn settings, answering resolve's bytes;
    with ``cache`` (a cache setting), reading from it per request what resolve reads."""
    body = workdir / "answer.json"
    body.write_bytes(answer[0])
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env |= {"ONEVIEW_BODY": str(body), "ONEVIEW_ETAG": answer[1], "PYTHONUNBUFFERED": "1"}
    if cache:
        env["ONEVIEW_CACHE"] = json.dumps(cache)
    port = free_port()
    server = start_gunicorn(args, env, port, log, "oneview:application", ROOT / "bench")
    wait_until_up(port, server, log)
    return server, port


def run(args: argparse.Namespace) -> int:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = RESULTS / f"run-{stamp}"
    log = RESULTS / f"resolve-{stamp}.gunicorn.log"
    baseline_log = RESULTS / f"resolve-{stamp}.one-view.log"
    floor_log = RESULTS / f"resolve-{stamp}.one-view-rt.log"
    prefix = f"bench-{stamp}-{secrets.token_hex(3)}"
    servers: list[subprocess.Popen] = []
    backend: Backend | None = None
    load_before = os.getloadavg()[0]
    if load_before > 0.5 * (os.cpu_count() or 1):
        print(
            f"warning: the machine is busy (load average {load_before:.2f} on "
            f"{os.cpu_count()} cores); figures will be disturbed",
            file=sys.stderr,
        )
    try:
        print(f"preparing a fresh database in {workdir.relative_to(ROOT)} ...", flush=True)
        backend = prepare_backend(args, workdir, prefix)
        seed = migrate_and_seed(backend.env, workdir)
        port = free_port()
        servers.append(start_gunicorn(args, backend.env, port, log))
        wait_until_up(port, servers[0], log)
        ops = operations(seed, port, servers[0].pid)
        answers = preflight(ops, log)
        baseline, baseline_port = start_one_view(args, workdir, answers["resolve"], baseline_log)
        servers.append(baseline)
        one_view = Operation(
            "one-view", ops[1].path, ops[1].headers, ops[1].expect, baseline_port, baseline.pid
        )
        ops.insert(0, one_view)
        preflight([one_view], baseline_log)
        floor, floor_port = start_one_view(
            args, workdir, answers["resolve"], floor_log, floor_cache(args, workdir, prefix)
        )
        servers.append(floor)
        one_trip = Operation(
            "one-view+cache",
            one_view.path,
            one_view.headers,
            one_view.expect,
            floor_port,
            floor.pid,
        )
        ops.insert(1, one_trip)
        preflight([one_trip], floor_log)
        phases = measure(ops, args)
        if any(server.poll() is not None for server in servers):
            raise BenchError(f"gunicorn died during the run:\n{tail(log)}\n{tail(baseline_log)}")
        info = machine(backend, args, load_before)
        verdict = verdicts(phases, "redis" if args.redis_url else "file", args.clients)
        print_report(info, phases, verdict)
        out = RESULTS / f"resolve-{stamp}.json"
        write_json(out, info, args, phases, verdict)
        print(f"\nwritten: {out.relative_to(ROOT)} (server log: {log.relative_to(ROOT)})")
        return 0
    finally:
        for server in servers:
            stop_gunicorn(server)
        if not args.keep:
            cleanup(args, backend, workdir, prefix)


def cleanup(args: argparse.Namespace, backend: Backend | None, workdir: Path, prefix: str) -> None:
    """Remove what only this run used; a failure here must not hide the run's result."""
    for step in (
        lambda: shutil.rmtree(workdir, ignore_errors=True),
        lambda: backend and args.database_url and drop_postgres(args.database_url),
        lambda: backend and args.redis_url and forget_redis_keys(args.redis_url, prefix),
    ):
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - best effort, reported
            print(f"cleanup: {exc}", file=sys.stderr)


def main() -> None:
    args = parse_args()
    # SIGTERM (e.g. a CI timeout) unwinds like Ctrl-C, so the finally stops gunicorn.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(run(args))
    except BenchError as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("\ninterrupted; server stopped", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
