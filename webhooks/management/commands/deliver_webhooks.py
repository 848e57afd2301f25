"""The webhook worker: sends queued deliveries, retries failed ones, logs every attempt.

Run it beside the web servers; several at once is safe (each delivery is claimed by one
worker, see webhooks/delivery.py). SIGTERM or Ctrl-C lets the send in progress finish.
Each round first announces planned deployments whose time has come (what
``activate_deployments`` does), so one worker process is all a deployment needs.
"""

from __future__ import annotations

import logging
import signal
import threading

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, close_old_connections, connection

from releases.services import activate_due
from webhooks.delivery import deliver_due

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Send queued webhook deliveries; with --once, send what is due and stop."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one round, then stop")
        parser.add_argument(
            "--interval", type=float, default=2.0, help="seconds between rounds when idle"
        )
        parser.add_argument("--batch", type=int, default=50, help="deliveries per round")

    def handle(self, *, once: bool, interval: float, batch: int, **options):
        if interval <= 0 or batch < 1:
            raise CommandError("--interval must be positive and --batch at least 1.")
        stopping = threading.Event()
        previous = {
            signum: signal.signal(signum, lambda *_: stopping.set())
            for signum in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            self._run(once, interval, batch, stopping)
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _run(self, once: bool, interval: float, batch: int, stopping: threading.Event) -> None:
        while not stopping.is_set():
            sent = self._round(batch, stopping)
            if once:
                self.stdout.write(f"Sent {sent} deliveries.")
                return
            # A full batch means more is waiting: go on at once.
            if sent < batch:
                stopping.wait(interval)
        self.stdout.write("Stopped.")

    def _round(self, batch: int, stopping: threading.Event) -> int:
        # A long-running process: drop connections the database has closed meanwhile
        # (never from under a caller's open transaction).
        if not connection.in_atomic_block:
            close_old_connections()
        try:
            activate_due()
            return deliver_due(batch=batch, stop=stopping.is_set)
        except DatabaseError:
            # The database may be restarting; the queue is safe in it, try again later.
            log.exception("webhook worker: database unavailable")
            return 0
