"""Announce the planned deployments whose time has come.

A planned deployment is live at its time whatever runs (resolve derives it); this
command is what tells webhooks and marks it activated. Run it every minute or so
(cron, a systemd timer); several copies at once announce each deployment once.
"""

import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from releases import services as deployments


class Command(BaseCommand):
    help = "Mark due planned deployments as activated and queue their webhook events."

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            type=float,
            metavar="SECONDS",
            help="keep running, checking every SECONDS (default: check once and exit)",
        )

    def handle(self, *args, every=None, **options):
        while True:
            for deployment in deployments.activate_due():
                since = deployment.effective_at.strftime("%Y-%m-%d %H:%M:%S")
                self.stdout.write(
                    f"{deployment.prompt.address} v{deployment.version.number} is live in "
                    f"{deployment.environment.slug} since {since} UTC"
                )
            if not every:
                return
            close_old_connections()  # a long-running loop must not keep a broken connection
            time.sleep(max(every, 1.0))
