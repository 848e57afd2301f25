"""Benchmark: the registry at scale, over real HTTP.

Makes a fresh throwaway database, fills it with bench/generate.py (default 20 teams,
10,000 prompts x 10 versions), serves it with gunicorn (2 workers, production settings)
on loopback and measures, per operation: requests, rps, p50/p95/p99 latency, the
queries one request makes (counted in a separate process against the same database and
cache) and the rps ratio against the trivial authenticated view ``whoami``.

    .venv/bin/python bench/scale.py                       # SQLite, 10,000 prompts
    .venv/bin/python bench/scale.py \
        --database-url postgres://postgres@127.0.0.1:5432/registry_scale_bench \
        --redis-url redis://127.0.0.1:6379/13 --teams 100 --prompts 100000

Phases: every operation alone with one client (latency: pages and lists must answer
under 150 ms at p95), then whoami against warm resolve with 16 clients (throughput
ratio >= 0.8), then 100,000 resolves over many prompts while the workers' memory is
read from /proc (bounded caches: it must stay flat).

A measurement: exit 0 whatever the figures, 2 when a request fails or the run cannot
start.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookies
import json
import multiprocessing as mp
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import resolve as base  # bench/resolve.py: database, server and CPU helpers

ROOT = base.ROOT
RESULTS = base.RESULTS
TARGET_P95_MS = 150.0  # pages and lists, one client
TARGET_RATIO = 0.8  # warm resolve rps / whoami rps, 16 clients
TARGET_MEMORY_MB = 5.0  # worker growth over the second half of the resolves
SEARCH_WORDS = ["invoice", "refund", "summarize", "escalate", "contract", "translate"]


# ------------------------------------------------------------------ options


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=20)
    parser.add_argument("--prompts", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=10, help="versions per prompt")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per operation")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first")
    parser.add_argument(
        "--ratio-duration", type=float, default=10.0, help="seconds per phase, 16 clients"
    )
    parser.add_argument("--clients", type=int, default=16, help="clients of the ratio phase")
    parser.add_argument(
        "--memory-resolves", type=int, default=100_000, help="resolves of the memory phase"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL database to DROP "
        "and re-create (its name must contain 'bench'); default: SQLite file",
    )
    parser.add_argument("--redis-url", default=None, help="Redis for the server's cache")
    parser.add_argument("--keep", action="store_true", help="keep database and run directory")
    args = parser.parse_args(argv)
    if args.database_url:
        base.check_bench_database(parser, args.database_url)
    # What bench/resolve.py's server helpers read.
    args.worker_class, args.threads, args.procs = "sync", 1, args.clients
    return args


# ------------------------------------------------------------------ operations


@dataclass
class Op:
    """One kind of request; clients cycle through ``paths`` (one path: the same request
    again and again, warm; many: a different prompt each time, cold)."""

    name: str
    paths: list[str]
    headers: dict[str, str]
    method: str = "GET"
    body: bytes | None = None
    kind: str = "page"  # page | list | fetch | baseline (which target applies)
    who: str = "member_many"  # the acting person, for the query count
    cold: bool = False  # a different prompt every request, never warmed up


def operations(data: dict, session: str) -> list[Op]:
    people = data["people"]
    api = {
        name: {"Authorization": f"Bearer {p['token']}", "Accept": "application/json"}
        for name, p in people.items()
    }
    pages = {"Cookie": f"sessionid={session}"}
    addresses = data["addresses"]
    hot = addresses[len(addresses) // 2]
    compare = data["compare"]
    board = f"/teams/{data['teams'][0]}/board/"
    cold = [f"/api/v1/prompts/{a}/resolve?environment=development" for a in addresses[:5000]]
    # Values for every variable the generated templates use.
    values = dict.fromkeys(
        [
            "role",
            "product",
            "customer_name",
            "topic",
            "language",
            "context",
            "input",
            "ticket_text",
            "examples",
            "question",
        ],
        "text",
    )
    render = json.dumps({"variables": values, "environment": "development"})
    return [
        Op("whoami", ["/api/v1/whoami"], api["member_many"], kind="baseline"),
        Op(
            "resolve warm",
            [f"/api/v1/prompts/{hot}/resolve?environment=development"],
            api["member_many"],
            kind="fetch",
        ),
        Op("resolve cold", cold, api["member_many"], kind="fetch", cold=True),
        Op(
            "render",
            [f"/api/v1/prompts/{hot}/render"],
            {**api["member_many"], "Content-Type": "application/json"},
            "POST",
            render.encode(),
            kind="fetch",
        ),
        Op("api list", ["/api/v1/prompts"], api["member_many"], kind="list"),
        Op(
            "api list, 3 teams",
            ["/api/v1/prompts"],
            api["member_few"],
            kind="list",
            who="member_few",
        ),
        Op(
            "api list, viewer",
            ["/api/v1/prompts"],
            api["viewer_one"],
            kind="list",
            who="viewer_one",
        ),
        Op(
            "api search",
            [f"/api/v1/prompts?q={w}" for w in SEARCH_WORDS],
            api["member_many"],
            kind="list",
        ),
        Op("api versions", [f"/api/v1/prompts/{hot}/versions"], api["member_many"], kind="list"),
        Op(
            "api compare 50 KB",
            [f"/api/v1/prompts/{compare['address']}/compare?from=1&to=2"],
            api["member_many"],
            kind="list",
        ),
        Op("page list", ["/prompts/"], pages),
        Op("page search", [f"/prompts/?q={w}" for w in SEARCH_WORDS], pages),
        Op("page prompt", [f"/p/{a}/" for a in addresses[:: max(1, len(addresses) // 50)]], pages),
        Op("page compare 50 KB", [f"/p/{compare['address']}/compare/?from=1&to=2"], pages),
        Op("page board", [board], pages),
        Op("page audit", [f"/p/{hot}/audit/"], pages),
    ]


# ------------------------------------------------------------------ load


@dataclass
class Seen:
    latencies_ms: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    first_start: float = 0.0
    last_end: float = 0.0

    def add(self, other: Seen) -> None:
        self.latencies_ms += other.latencies_ms
        self.errors.update(other.errors)
        self.first_start = min(self.first_start or other.first_start, other.first_start)
        self.last_end = max(self.last_end, other.last_end)


def client(
    port: int,
    op: Op,
    index: int,
    stride: int,
    stop_at: float,
    limit: int,
    seen: Seen,
    lock: threading.Lock,
) -> None:
    """Requests back to back until ``stop_at`` or ``limit`` requests, each client on its
    own slice of the paths so that no two clients fetch the same cold prompt."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    mine = Seen(first_start=time.monotonic())
    n = index
    while time.monotonic() < stop_at and len(mine.latencies_ms) < limit:
        path = op.paths[n % len(op.paths)]
        n += stride
        t0 = time.perf_counter()
        try:
            conn.request(op.method, path, body=op.body, headers=op.headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            status = type(exc).__name__
        mine.latencies_ms.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            mine.errors[f"{status} {path}"] += 1
    mine.last_end = time.monotonic()
    conn.close()
    with lock:
        seen.add(mine)


def client_process(port, op, index, stride, stop_at, limit, queue) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    seen, lock = Seen(), threading.Lock()
    client(port, op, index, stride, stop_at, limit, seen, lock)
    queue.put(seen)


def drive(port: int, op: Op, clients: int, seconds: float, limit: int = 10**9) -> Seen:
    """``clients`` processes, one connection each, for ``seconds`` or ``limit`` requests
    in all."""
    context = mp.get_context("fork")
    queue: mp.Queue = context.Queue()
    stop_at = time.monotonic() + seconds
    procs = [
        context.Process(
            target=client_process,
            daemon=True,
            args=(port, op, i, clients, stop_at, -(-limit // clients), queue),
        )
        for i in range(clients)
    ]
    seen = Seen()
    try:
        for p in procs:
            p.start()
        for _ in procs:
            seen.add(queue.get(timeout=seconds + 120))
        for p in procs:
            p.join(timeout=10)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
    return seen


# ------------------------------------------------------------------ figures


@dataclass
class Row:
    operation: str
    kind: str
    clients: int
    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    queries: int | None = None
    ratio: float | None = None
    server_cpu_ms: float | None = None


def row_of(op: Op, clients: int, seen: Seen, server_cpu: float) -> Row:
    lat = sorted(seen.latencies_ms)
    seconds = max(seen.last_end - seen.first_start, 1e-9)
    return Row(
        op.name,
        op.kind,
        clients,
        len(lat),
        round(len(lat) / seconds, 1),
        round(base.percentile(lat, 50), 2),
        round(base.percentile(lat, 95), 2),
        round(base.percentile(lat, 99), 2),
        sum(seen.errors.values()),
        server_cpu_ms=round(server_cpu * 1000 / len(lat), 2) if lat else None,
    )


def measure(
    port: int, server_pid: int, op: Op, clients: int, seconds: float, warmup: float
) -> tuple[Row, Seen]:
    if warmup and not op.cold:
        drive(port, op, clients, warmup)
    cpu = base.server_cpu_seconds(server_pid)
    seen = drive(port, op, clients, seconds)
    return row_of(op, clients, seen, base.server_cpu_seconds(server_pid) - cpu), seen


def worker_rss_mb(master_pid: int) -> list[float]:
    """Resident memory of each gunicorn worker, from /proc (Linux)."""
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
        found = []
        for pid in children:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    found.append(round(int(line.split()[1]) / 1024, 1))
        return found
    except OSError:
        return []


def memory_phase(port: int, master_pid: int, data: dict, args: argparse.Namespace) -> dict:
    """Resolves spread over every prompt and all three environments' pointers, in two
    halves: a bounded cache fills during the first and stays flat during the second."""
    headers = {"Authorization": f"Bearer {data['people']['member_many']['token']}"}
    paths = [f"/api/v1/prompts/{a}/resolve?environment=development" for a in data["addresses"]]
    op = Op("memory", paths, headers, kind="fetch")
    rss = {"start": worker_rss_mb(master_pid)}
    half = args.memory_resolves // 2
    errors = 0
    for label in ("half", "end"):
        seen = drive(port, op, args.clients, 3600, half)
        errors += sum(seen.errors.values())
        rss[label] = worker_rss_mb(master_pid)
    growth = max((b - a for a, b in zip(rss["half"], rss["end"], strict=False)), default=0.0)
    return {
        "resolves": 2 * half,
        "distinct_prompts": len(paths),
        "rss_mb": rss,
        "second_half_growth_mb": round(growth, 1),
        "errors": errors,
    }


# ------------------------------------------------------------------ session and queries


def log_in(port: int, username: str, password: str) -> str:
    """A real browser login: the form's CSRF token, then the POST; returns the session."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/accounts/login/")
    response = conn.getresponse()
    html = response.read().decode()
    cookies = http.cookies.SimpleCookie(response.getheader("Set-Cookie", ""))
    found = re.search(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"', html)
    if response.status != 200 or found is None:
        raise base.BenchError(f"login page: {response.status}\n{html[:1500]}")
    token = found.group(1)
    form = urllib.parse.urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token}
    )
    conn.request(
        "POST",
        "/accounts/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken'].value}",
        },
    )
    response = conn.getresponse()
    response.read()
    conn.close()
    session = http.cookies.SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        session.load(header)
    if response.status != 302 or "sessionid" not in session:
        raise base.BenchError(f"login as {username} failed: {response.status}")
    return session["sessionid"].value


def preflight(port: int, ops: list[Op], log: Path) -> None:
    for op in ops:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request(op.method, op.paths[-1], body=op.body, headers=op.headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        if response.status != 200:
            raise base.BenchError(
                f"{op.name}: {op.method} {op.paths[-1]} answered {response.status}:\n"
                f"{body[:1500].decode(errors='replace')}\n--- server log ---\n{base.tail(log)}"
            )


def count_queries(env: dict, ops: list[Op], data: dict, workdir: Path) -> dict:
    """Queries per request, counted by bench/queries.py in its own process against the
    same database and cache (the server itself never reports them)."""
    spec = {
        "people": {k: v["username"] for k, v in data["people"].items()},
        "ops": [
            {
                "name": op.name,
                "method": op.method,
                "body": op.body.decode() if op.body else None,
                "headers": {k: v for k, v in op.headers.items() if k != "Cookie"},
                "page": "Cookie" in op.headers,
                "who": op.who,
                # A cold operation counts a prompt nobody fetched yet (the load went through
                # the first ones), a warm one its second request.
                "path": op.paths[-1] if op.cold else op.paths[0],
                "cold": op.cold,
            }
            for op in ops
        ],
    }
    (workdir / "queries-in.json").write_text(json.dumps(spec))
    out = workdir / "queries-out.json"
    base.run_checked(
        [
            sys.executable,
            str(ROOT / "bench" / "queries.py"),
            str(workdir / "queries-in.json"),
            str(out),
        ],
        env,
    )
    return json.loads(out.read_text())


# ------------------------------------------------------------------ report


def print_report(
    info: dict, gen: dict, rows: list[Row], ratio_rows: list[Row], memory: dict, plans: dict
) -> dict:
    print()
    for key, value in info.items():
        print(f"{key:>10}: {value}")
    print(
        f"{'data':>10}: {len(gen['teams'])} teams, {gen['prompts']} prompts, "
        f"{gen['rows']['version'] + 2} versions, {gen['rows']['deployment']} deployments, "
        f"{gen['rows']['comment']} comments, {gen['rows']['history']} history rows; "
        f"generated in {gen['seconds']:.0f} s"
    )
    print()
    header = (
        f"{'operation':<20} {'clients':>7} {'requests':>8} {'rps':>7} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'p99 ms':>7} {'queries':>7} {'ratio':>6} {'cpu ms':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows + ratio_rows:
        print(
            f"{r.operation:<20} {r.clients:>7} {r.requests:>8} {r.rps:>7.0f} {r.p50_ms:>7.1f} "
            f"{r.p95_ms:>7.1f} {r.p99_ms:>7.1f} {_opt(r.queries):>7} "
            f"{_opt(r.ratio, '.2f'):>6} {_opt(r.server_cpu_ms, '.1f'):>6}"
        )
    print("ratio: rps against whoami in the same phase; cpu ms: server CPU per request")
    rss = memory["rss_mb"]
    print(
        f"worker memory (MB, each worker) over {memory['resolves']} resolves of "
        f"{memory['distinct_prompts']} prompts: start {rss['start']}, half {rss['half']}, "
        f"end {rss['end']}"
    )
    for name, plan in plans.items():
        print(f"plan of {name}: {plan}")
    return verdicts(rows, ratio_rows, memory)


def _opt(value, spec: str = "") -> str:
    return "-" if value is None else format(value, spec)


def verdicts(rows: list[Row], ratio_rows: list[Row], memory: dict) -> dict:
    mark = {True: "PASS", False: "MISS"}
    found = {}
    for r in rows:
        if r.kind in ("page", "list"):
            found[f"{r.operation} p95"] = (
                r.p95_ms,
                f"< {TARGET_P95_MS:g} ms",
                r.p95_ms < TARGET_P95_MS,
            )
    lists = {r.operation: r.queries for r in rows if r.operation.startswith("api list")}
    found["api list queries same for 1, 3 and all teams"] = (
        lists,
        "equal",
        len(set(lists.values())) == 1,
    )
    resolve = ratio_rows[1].ratio or 0.0
    found["warm resolve / whoami rps"] = (resolve, f">= {TARGET_RATIO}", resolve >= TARGET_RATIO)
    found["worker memory growth, second half"] = (
        memory["second_half_growth_mb"],
        f"< {TARGET_MEMORY_MB:g} MB",
        memory["second_half_growth_mb"] < TARGET_MEMORY_MB,
    )
    print()
    for name, (value, target, ok) in found.items():
        print(f"{mark[ok]}  {name}: {value} (target {target})")
    return {k: {"value": v, "target": t, "pass": ok} for k, (v, t, ok) in found.items()}


# ------------------------------------------------------------------ the run


def generate(env: dict, args: argparse.Namespace, workdir: Path) -> dict:
    """migrate and collect the pages' static files, then bench/generate.py, its progress
    shown as it goes."""
    base.run_checked([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], env)
    base.run_checked([sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0"], env)
    out = workdir / "generated.json"
    command = [
        sys.executable,
        str(ROOT / "bench" / "generate.py"),
        "--teams",
        str(args.teams),
        "--prompts",
        str(args.prompts),
        "--versions",
        str(args.versions),
        "--out",
        str(out),
    ]
    if subprocess.run(command, cwd=ROOT, env=env).returncode != 0:
        raise base.BenchError("bench/generate.py failed")
    return json.loads(out.read_text())


def run(args: argparse.Namespace) -> int:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    workdir = RESULTS / f"scale-{stamp}"
    log = RESULTS / f"scale-{stamp}.gunicorn.log"
    prefix = f"scale-{stamp}-{secrets.token_hex(3)}"
    server = backend = None
    load_before = os.getloadavg()[0]
    began = time.monotonic()
    try:
        backend = base.prepare_backend(args, workdir, prefix)
        print(f"database: {backend.database}; cache: {backend.cache}", flush=True)
        data = generate(backend.env, args, workdir)
        port = base.free_port()
        server = base.start_gunicorn(args, backend.env, port, log)
        base.wait_until_up(port, server, log)
        who = data["people"]["member_many"]
        ops = operations(data, log_in(port, who["username"], who["password"]))
        preflight(port, [op for op in ops if op.name != "resolve cold"], log)
        rows = []
        for op in ops:
            print(f"measuring {op.name} (1 client, {args.duration:g} s) ...", flush=True)
            row, seen = measure(port, server.pid, op, 1, args.duration, args.warmup)
            rows.append(row)
            if seen.errors:
                raise base.BenchError(f"{op.name}: {dict(seen.errors)}\n{base.tail(log)}")
        counted = count_queries(backend.env, ops, data, workdir)
        whoami = rows[0]
        for r in rows:
            r.ratio = round(r.rps / whoami.rps, 2) if whoami.rps else None
        print(f"measuring whoami and warm resolve ({args.clients} clients) ...", flush=True)
        ratio_rows = [
            measure(port, server.pid, op, args.clients, args.ratio_duration, args.warmup)[0]
            for op in ops[:2]
        ]
        ratio_rows[1].ratio = round(ratio_rows[1].rps / max(ratio_rows[0].rps, 1e-9), 2)
        ratio_rows[0].ratio = 1.0
        print(
            f"{args.memory_resolves} resolves over {len(data['addresses'])} prompts "
            f"({args.clients} clients) ...",
            flush=True,
        )
        memory = memory_phase(port, server.pid, data, args)
        if memory["errors"]:
            raise base.BenchError(f"memory phase: {memory['errors']} failed requests")
        for r in rows:
            r.queries = counted["queries"].get(r.operation)
        for r in ratio_rows:
            r.queries = counted["queries"].get(r.operation)
        info = base.machine(backend, args, load_before)
        info["load"] = (
            f"1 client per operation ({args.duration:g} s), {args.clients} for the "
            f"ratio ({args.ratio_duration:g} s), same machine as the server"
        )
        info["run"] = f"{time.monotonic() - began:.0f} s in all"
        verdict = print_report(info, data, rows, ratio_rows, memory, counted["plans"])
        out = RESULTS / f"scale-{stamp}.json"
        out.write_text(
            json.dumps(
                {
                    "benchmark": "scale",
                    "machine": info,
                    "generated": {
                        k: v for k, v in data.items() if k not in ("addresses", "people")
                    },
                    "rows": [asdict(r) for r in rows],
                    "ratio": [asdict(r) for r in ratio_rows],
                    "memory": memory,
                    "plans": counted["plans"],
                    "targets": verdict,
                },
                indent=2,
            )
            + "\n"
        )
        print(f"\nwritten: {out.relative_to(ROOT)} (server log: {log.relative_to(ROOT)})")
        return 0
    finally:
        if server is not None:
            base.stop_gunicorn(server)
        if not args.keep:
            base.cleanup(args, backend, workdir, prefix)


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        sys.exit(run(args))
    except base.BenchError as exc:
        print(f"\nbenchmark failed: {exc}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("\ninterrupted; server stopped", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    main()
