"""Every background job of the registry in one process: evaluations (Django's tasks API,
through django-tasks-db's worker), webhook deliveries and planned-deployment
announcements. Several may run at once: each job is claimed by one of them.
SIGTERM or Ctrl-C lets the jobs in progress finish; --batch does what is due and stops.
"""

from __future__ import annotations

import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction

from evaluations.jobs import one_round


class Command(BaseCommand):
    help = "Run every background job: evaluations, webhook deliveries, planned deployments."

    def add_arguments(self, parser):
        parser.add_argument("--batch", action="store_true", help="do what is due, then stop")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
        parser.add_argument("--deliveries", type=int, default=50, help="deliveries per round")
        parser.add_argument("--worker-id", default="", help="unique per worker (default: random)")

    def handle(self, *, batch: bool, interval: float, deliveries: int, worker_id: str, **options):
        if interval <= 0 or deliveries < 1:
            raise CommandError("--interval must be positive and --deliveries at least 1.")
        tasks = Worker(
            queue_names=["default"],
            interval=interval,
            batch=batch,
            backend_name="default",
            startup_delay=not batch,
            max_tasks=None,
            worker_id=worker_id or get_random_string(32),
            excluded_queue_names=[],
        )
        if batch:
            self._batch(tasks, deliveries)
            return
        stopping = threading.Event()

        def stop(*_):
            stopping.set()
            tasks.running = False

        previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
        rounds = threading.Thread(
            target=self._rounds, args=(interval, deliveries, stopping), name="worker-rounds"
        )
        rounds.start()
        try:
            tasks.run()
        finally:
            stopping.set()
            rounds.join()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        self.stdout.write("Stopped.")

    def _batch(self, tasks: Worker, deliveries: int) -> None:
        sent = one_round(deliveries, lambda: False)
        ran = self._due_tasks(tasks)
        sent += one_round(deliveries, lambda: False)  # what the evaluations announced
        self.stdout.write(f"Ran {ran} jobs; sent {sent} deliveries.")

    def _due_tasks(self, tasks: Worker) -> int:
        """The queued jobs, each claimed as django-tasks-db's loop claims it, but without
        its closing of connections between jobs (a caller's open transaction stays)."""
        ran = 0
        while True:
            ready = DBTaskResult.objects.ready().filter(
                backend_name=tasks.backend_name, queue_name__in=tasks.queue_names
            )
            with exclusive_transaction(ready.db):
                found = ready.get_locked()
                if found is not None:
                    found.claim(tasks.worker_id)
            if found is None:
                return ran
            tasks.run_task(found)
            ran += 1

    def _rounds(self, interval: float, deliveries: int, stopping: threading.Event) -> None:
        try:
            while not stopping.is_set():
                if one_round(deliveries, stopping.is_set) < deliveries:
                    stopping.wait(interval)
        finally:
            connections.close_all()
