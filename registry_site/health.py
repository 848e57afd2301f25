"""Probes for load balancers and orchestrators, unauthenticated and cheap.

/healthz: the process answers (no database, no cache). /readyz: the database and the
cache answer and no migration is waiting; 503 naming what failed otherwise. Once the
migrations were found applied, this process does not look again: code and migrations
only change together, with a restart.
"""

import logging
import secrets

from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

log = logging.getLogger(__name__)

_migrated = False


def forget() -> None:
    """Look at the migrations again on the next probe."""
    global _migrated
    _migrated = False


def _database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def _cache() -> bool:
    token = secrets.token_hex(8)
    cache.set("readyz", token, 30)
    return cache.get("readyz") == token


def _migrations() -> bool:
    global _migrated
    if not _migrated:
        executor = MigrationExecutor(connection)
        _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return _migrated


def _passes(name: str, check) -> bool:
    try:
        return bool(check())
    except Exception:  # a probe reports, it never fails itself
        log.exception("readiness check %s failed", name)
        return False


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _passes("database", _database), "cache": _passes("cache", _cache)}
    # Without a database the migrations cannot be read; that is the database's failure.
    checks["migrations"] = checks["database"] and _passes("migrations", _migrations)
    failed = [name for name, ok in checks.items() if not ok]
    body = {
        "status": "unavailable" if failed else "ok",
        "checks": {name: "ok" if ok else "failed" for name, ok in checks.items()},
        "failed": failed,
    }
    return JsonResponse(body, status=503 if failed else 200)
