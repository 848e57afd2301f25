"""Seed a fresh benchmark database through the project's own services.

Run by bench/resolve.py as a subprocess, with the server's environment (DATABASE_URL,
REGISTRY_VAR_DIR or REDIS_URL, CACHE_PREFIX, SECRET_KEY, ...), after ``migrate``:

    python bench/seed.py OUT.json

It writes {"team", "slug", "token", "version"} to OUT.json. A subprocess rather than
django.setup() in the benchmark itself, so the load generator's processes (forked
from the benchmark) never carry Django, its settings or a database connection.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEAM = "bench"
PROMPT_NAME = "Ticket classifier"
# The token's scopes: what a service fetching prompts would hold.
TOKEN_SCOPES = ["read"]


def template_of_about(size: int) -> str:
    """A realistic prompt of about ``size`` characters, with a few variables: services
    typically fetch instructions of one to a few kilobytes."""
    head = (
        "You are a support triage assistant for {{ product }}.\n"
        "Classify the ticket into one of: billing, bug, feature_request, question, abuse.\n"
        "Answer with the label only.\n\n"
    )
    rule = (
        "Rule {n}: read the whole ticket before deciding; when the customer mentions an "
        "invoice, a charge or a refund, prefer billing unless a defect is described.\n"
    )
    tail = "\nTicket from {{ customer_name }}:\n{{ ticket_text }}\n"
    body, n = head, 1
    while len(body) + len(tail) < size:
        body += rule.format(n=n)
        n += 1
    return body + tail


def seed() -> dict:
    from django.contrib.auth import get_user_model

    from accounts import services as accounts
    from accounts import tokens
    from prompts import services as prompts

    users = get_user_model()
    staff = users.objects.create_user(username="bench-staff", is_staff=True)
    users.objects.create_user(username="bench-editor")
    team = accounts.create_team(staff, TEAM, "Benchmark team")
    accounts.set_role(staff, team, "bench-editor", "editor")
    editor = users.objects.get(username="bench-editor")
    prompt = prompts.create_prompt(
        editor,
        team,
        name=PROMPT_NAME,
        template=template_of_about(2048),
        change_note="benchmark seed",
        deploy_to="development",
    )
    _row, raw = tokens.issue(editor, name="bench", scopes=TOKEN_SCOPES)
    return {
        "team": team.slug,
        "slug": prompt.slug,
        "token": raw,
        "version": prompt.latest_version.number,
    }


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/seed.py OUT.json")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")
    import django

    django.setup()
    Path(sys.argv[1]).write_text(json.dumps(seed()))


if __name__ == "__main__":
    main()
