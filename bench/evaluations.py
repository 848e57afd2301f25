"""Benchmark: how fast does the worker evaluate, and how much memory does it hold?

A fresh SQLite database (bench/results/evaluations-<time>/), a prompt with a dataset of
1,000 rows and three checks, one evaluation queued; then ``manage.py worker --batch``
runs it in its own process with 8 rows at a time against the evaluations' fake
OpenAI-compatible model on loopback (tests/evaluations/fakes.py), which answers each
request after ``--latency`` seconds. Prints rows per second, the wall time, the most
requests the fake saw at once, and the worker process's peak resident memory.

    .venv/bin/python bench/evaluations.py                 # 1,000 rows, 8 at a time
    .venv/bin/python bench/evaluations.py --rows 200 --at-once 4 --latency 0.02

A measurement, not a test: it exits non-zero only when the benchmark could not run
(the evaluation did not succeed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import secrets
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TICKETS = ("refund for my order", "login broken", "invoice is wrong", "app crashes")


def seed(out: Path, base_url: str, rows: int) -> None:
    """Run in a subprocess with Django set up: users, team, prompt, connection,
    dataset and the queued evaluation."""
    from django.contrib.auth import get_user_model

    from accounts import services as accounts
    from evaluations import datasets
    from evaluations.services import start_evaluation
    from prompts import services as prompts
    from runs import connections

    users = get_user_model()
    staff = users.objects.create_user(username="bench-staff", is_staff=True)
    users.objects.create_user(username="bench-editor")
    team = accounts.create_team(staff, "bench", "Benchmark team")
    accounts.set_role(staff, team, "bench-editor", "admin")
    editor = users.objects.get(username="bench-editor")
    prompt = prompts.create_prompt(
        editor, team, name="Ticket classifier", template="Classify: {{ ticket_text }} for Acme"
    )
    connections.create_connection(
        editor, team, name="fake", provider="openai", base_url=base_url,
        api_key="sk-bench-0123456789abcdef", models=["fake-1"],
    )  # fmt: skip
    data = [
        {
            "variables": {"ticket_text": f"{TICKETS[i % 4]} #{i}"},
            "expected": "billing" if i % 4 in (0, 2) else "other",
        }
        for i in range(rows)
    ]
    checks = [
        {"type": "equals"},
        {"type": "max_chars", "value": 20},
        {"type": "regex", "value": "^(billing|other)$"},
    ]
    datasets.create_dataset(editor, prompt, name="golden", rows=data, checks=checks)
    evaluation = start_evaluation(editor, prompt, dataset="golden", connection="fake")
    out.write_text(json.dumps({"evaluation": evaluation.pk}))


def _environment(workdir: Path, at_once: int) -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "registry_site.settings",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": f"sqlite:///{workdir / 'registry.sqlite3'}",
        "REGISTRY_VAR_DIR": str(workdir / "var"),
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
        "EVALUATION_ROWS_AT_ONCE": str(at_once),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")


def _work(env: dict[str, str]) -> tuple[float, int]:
    """Run the worker until nothing is due; (seconds, peak resident memory in KiB)."""
    command = [sys.executable, "manage.py", "worker", "--batch", "--interval", "0.05"]
    started = time.perf_counter()
    worker = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(worker.pid, 0)
    seconds = time.perf_counter() - started
    worker.returncode = os.waitstatus_to_exitcode(status)
    if worker.returncode:
        sys.exit(f"the worker failed:\n{worker.stderr.read().decode()[-4000:]}")
    return seconds, usage.ru_maxrss  # KiB on Linux


def _result(workdir: Path, evaluation: int) -> dict:
    with sqlite3.connect(workdir / "registry.sqlite3") as db:
        state, total, passed, failed, errors, started, finished = db.execute(
            "SELECT state, total, passed, failed, errors, started_at, finished_at"
            " FROM evaluations_evaluation WHERE id = ?",
            (evaluation,),
        ).fetchone()
    running = datetime.fromisoformat(finished) - datetime.fromisoformat(started)
    return {
        "state": state,
        "total": total,
        "passed": passed,
        "failed": failed,
        "errors": errors,
        "running": running.total_seconds(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--at-once", type=int, default=8, help="EVALUATION_ROWS_AT_ONCE")
    parser.add_argument("--latency", type=float, default=0.05, help="the fake's seconds/answer")
    parser.add_argument(
        "--seed", nargs=3, metavar=("OUT", "BASE_URL", "ROWS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.seed:
        import django

        django.setup()
        seed(Path(args.seed[0]), args.seed[1], int(args.seed[2]))
        return

    from tests.evaluations.fakes import ModelFake

    workdir = RESULTS / f"evaluations-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    (workdir / "var").mkdir(parents=True)
    env = _environment(workdir, args.at_once)
    fake = ModelFake(delay=args.latency).start()
    try:
        _run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], env)
        seeded = workdir / "seed.json"
        _run([sys.executable, __file__, "--seed", str(seeded), fake.base_url, str(args.rows)], env)
        evaluation = json.loads(seeded.read_text())["evaluation"]
        seconds, peak_kib = _work(env)
    finally:
        fake.stop()
    result = _result(workdir, evaluation)
    print(f"machine: {platform.platform()}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs; SQLite {sqlite3.sqlite_version}")  # fmt: skip
    print(f"evaluation: {result['state']}, {result['total']} rows: {result['passed']} passed, "
          f"{result['failed']} failed, {result['errors']} errors")  # fmt: skip
    print(f"rows at once: {args.at_once} (the fake saw at most {fake.most_at_once} at once), "
          f"fake latency {args.latency * 1000:.0f} ms per answer")  # fmt: skip
    running = result["running"]
    print(f"evaluation ran {running:.2f} s: {result['total'] / running:.1f} rows/s "
          f"(ideal {args.at_once / args.latency:.0f} rows/s)")  # fmt: skip
    print(f"worker process: {seconds:.2f} s from start to exit (Django start-up included), "
          f"peak memory {peak_kib / 1024:.1f} MiB")  # fmt: skip
    print(f"own peak memory of this script: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MiB")  # fmt: skip
    if result["state"] != "succeeded":
        sys.exit(2)


if __name__ == "__main__":
    main()
