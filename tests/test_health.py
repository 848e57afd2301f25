"""/healthz and /readyz: unauthenticated, cheap probes that say what failed."""

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

from registry_site import health


@pytest.fixture(autouse=True)
def fresh_probe():
    health.forget()
    yield
    health.forget()


def test_healthz_answers_without_the_database():
    response = Client().get("/healthz")  # no db fixture: any query would fail the test
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_readyz_answers_when_everything_is_reachable(db):
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "migrations": "ok"},
        "failed": [],
    }


def test_readyz_reads_the_migrations_once_they_were_applied(db, django_assert_num_queries):
    assert Client().get("/readyz").status_code == 200
    with django_assert_num_queries(1):  # SELECT 1
        assert Client().get("/readyz").status_code == 200


def test_readyz_is_503_while_a_migration_waits(db):
    MigrationRecorder.Migration.objects.filter(app="prompts").order_by("-id")[:1].get().delete()
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["migrations"]
    assert response.json()["status"] == "unavailable"


def test_readyz_is_503_when_the_cache_is_unreachable(db, settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "registry_site.redis_cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        },
    }
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["cache"]


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_when_the_database_is_unreachable():
    if connection.vendor != "sqlite":
        pytest.skip("points the SQLite connection at a file that cannot exist")
    name = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = "/nonexistent-folder/registry.sqlite3"
    try:
        response = Client().get("/readyz")
    finally:
        connection.close()
        connection.settings_dict["NAME"] = name
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["database", "migrations"]
    assert body["checks"]["database"] == "failed"


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_on_plain_http_are_not_redirected_to_https(db, settings, path):
    settings.SECURE_SSL_REDIRECT = True
    assert Client().get(path).status_code == 200
    assert Client().get("/accounts/login/").status_code == 301
