"""Count the queries of the benchmark's requests, outside the server.

Run by bench/scale.py as a subprocess with the server's environment (same database,
same cache):

    python bench/queries.py IN.json OUT.json

For each operation it sends the request through Django's test client, as the person
the benchmark acts as, and counts the queries of a warm request (the second one) or of
a cold one (a prompt nobody fetched yet). On PostgreSQL it also explains the slowest
query of the list and search requests, naming the scans the planner chose. The server
never reports query counts itself: nothing here is in the product.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPLAINED = ("api list", "api search", "page list", "page search")


def count(spec: dict) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    users = get_user_model()
    queries, slowest, plans = {}, {}, {}
    for op in spec["ops"]:
        client = Client(HTTP_HOST="127.0.0.1")
        if op["page"]:
            client.force_login(users.objects.get(username=spec["people"][op["who"]]))
        headers = {k.lower(): v for k, v in op["headers"].items() if k != "Content-Type"}

        def send(op=op, client=client, headers=headers):
            if op["method"] == "POST":
                return client.post(
                    op["path"], op["body"], content_type="application/json", headers=headers
                )
            return client.get(op["path"], headers=headers)

        if not op["cold"]:
            send()
        with CaptureQueriesContext(connection) as captured:
            response = send()
        if response.status_code != 200:
            raise SystemExit(f"{op['name']}: {op['path']} answered {response.status_code}")
        queries[op["name"]] = len(captured.captured_queries)
        if captured.captured_queries:
            top = max(captured.captured_queries, key=lambda q: float(q["time"]))
            slowest[op["name"]] = {
                "ms": round(float(top["time"]) * 1000, 1),
                "sql": top["sql"][:600],
            }
            if connection.vendor == "postgresql" and op["name"] in EXPLAINED:
                plans[op["name"]] = explain(top["sql"])
    return {"queries": queries, "slowest": slowest, "plans": plans}


def explain(sql: str) -> str:
    """The scans of a query's plan and its execution time, on one line."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        lines = [row[0] for row in cursor.fetchall()]
    scans = []
    for line in lines:
        found = re.search(
            r"((?:Parallel )?(?:Seq|Index Only|Index|Bitmap Index|Bitmap Heap) "
            r"Scan(?: using| on)? \S+(?: on \S+)?)",
            line,
        )
        if found and found.group(1) not in scans:
            scans.append(found.group(1))
    took = next((line for line in lines if line.startswith("Execution Time")), "")
    return f"{'; '.join(scans)} ({took.strip()})"


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit("usage: python bench/queries.py IN.json OUT.json")
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_site.settings")
    import django

    django.setup()
    spec = json.loads(Path(sys.argv[1]).read_text())
    Path(sys.argv[2]).write_text(json.dumps(count(spec)))


if __name__ == "__main__":
    main()
