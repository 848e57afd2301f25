"""Configuration comes from the environment and fails loudly on nonsense."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from registry_site.env import envbool, envint, envlist

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("raw, value", [("true", True), ("1", True), ("off", False), ("", False)])
def test_envbool_reads_booleans(monkeypatch, raw, value):
    monkeypatch.setenv("FLAG", raw)
    assert envbool("FLAG", not value) is value


def test_envbool_refuses_nonsense(monkeypatch):
    monkeypatch.setenv("FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        envbool("FLAG", False)


def test_envint_refuses_nonsense_and_small_values(monkeypatch):
    monkeypatch.setenv("N", "ten")
    with pytest.raises(ImproperlyConfigured):
        envint("N", 1)
    monkeypatch.setenv("N", "-1")
    with pytest.raises(ImproperlyConfigured):
        envint("N", 1, minimum=0)
    monkeypatch.setenv("N", "7")
    assert envint("N", 1) == 7


def test_envlist_splits_on_commas(monkeypatch):
    monkeypatch.setenv("HOSTS", "a.example.com, b.example.com,,")
    assert envlist("HOSTS", []) == ["a.example.com", "b.example.com"]


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "HTTPS",
            "ALLOWED_HOSTS",
            "DATABASE_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=120,
    )


def test_production_needs_a_secret_key():
    result = manage("check", DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_check_deploy_is_clean_in_production_settings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="false",
        SECRET_KEY="x7" * 30 + "-production-grade-secret",
        ALLOWED_HOSTS="r.example.com",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_https_false_runs_production_on_plain_http():
    code = (
        "from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    )
    result = manage(
        "shell",
        "-c",
        code,
        DEBUG="false",
        HTTPS="false",
        SECRET_KEY="x7" * 30,
        ALLOWED_HOSTS="127.0.0.1",
    )
    assert result.stdout.strip().splitlines()[-1].split() == ["False", "0", "False", "False"]


def test_a_bad_database_url_is_a_clear_error():
    result = manage("check", DEBUG="true", DATABASE_URL="nonsense://")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


@pytest.mark.parametrize("command", ["migrate", "check", "shell", "worker", "createsuperuser"])
def test_any_command_without_configuration_prints_the_configuration_error(command):
    result = manage(command)
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr
    assert "aren't loaded yet" not in result.stderr
    assert "Traceback" not in result.stderr
