"""A worker of its own that imports every bomb, for measuring its peak memory.

Run as ``python -m tests.portable.import_bombs`` from the project's root with
DATABASE_URL naming an empty SQLite file: it migrates, makes alice admin of support,
uploads each bomb of ``bombs.BOMBS`` through the API as she would (a real import, not
a dry run), and prints one JSON line: each bomb's status and error message, and the
process's peak resident memory in MB before and after the bombs.
"""

from __future__ import annotations

import json
import os
import sys


def peak_mb() -> float:
    """This process's own memory high-water mark. Not getrusage's ru_maxrss: Linux keeps
    that across exec, so a child of a large test worker would start at the worker's size."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from accounts import services as accounts
    from accounts import tokens
    from tests.portable.bombs import BOMBS

    setup_test_environment()
    call_command("migrate", verbosity=0)
    users = get_user_model().objects
    staff = users.create_user("stella", is_staff=True)
    users.create_user("alice")
    support = accounts.create_team(staff, "support", "Support")
    accounts.set_role(staff, support, "alice", "admin")
    token = tokens.issue(users.get(username="alice"))[1]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    before = peak_mb()
    results = {}
    for name, (build, _words) in BOMBS.items():
        response = client.post(
            "/api/v1/teams/support/import?dry_run=false",
            build(),
            content_type="application/gzip",
        )
        body = response.json() if response["Content-Type"] == "application/json" else {}
        results[name] = [response.status_code, body.get("error", {}).get("message", "")]
    print(json.dumps({"results": results, "before_mb": before, "peak_mb": peak_mb()}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
