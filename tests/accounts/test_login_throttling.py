"""Sign-in throttling: many failed sign-ins against one username, or from one address,
pause signing in there, on the sign-in page and the admin's; tokens are unaffected."""

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.test import Client

from tests.test_settings import manage

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def throttled(settings):
    settings.AXES_ENABLED = True


def sign_in(path: str, username: str, password: str, address: str = "192.0.2.1", **headers):
    client = Client(REMOTE_ADDR=address, **headers)
    return client.post(path, {"username": username, "password": password}), client


def fail(times: int, path: str = LOGIN, **kwargs) -> None:
    for _ in range(times):
        response, _ = sign_in(path, kwargs.pop("username", "vic"), "wrong", **kwargs)
        assert response.status_code in (200, 429)


def assert_locked_out(response) -> None:
    assert response.status_code == 429
    html = response.content.decode()
    assert "Sign-in paused" in html
    assert "15 minutes" in html
    assert "<html" in html  # the site's page, not a bare text


def test_a_right_password_before_the_limit_signs_in(people):
    limit = django_settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        sign_in(LOGIN, "vic", "wrong")
    response, client = sign_in(LOGIN, "vic", "pw-vic")
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_many_tries_against_one_username_from_many_addresses_lock_it(people):
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        sign_in(LOGIN, "vic", "wrong", address=f"198.51.100.{n + 1}")
    response, client = sign_in(LOGIN, "vic", "pw-vic", address="203.0.113.9")
    assert_locked_out(response)
    assert "_auth_user_id" not in client.session
    # Another account from the same fresh address is not affected.
    response, _ = sign_in(LOGIN, "ed", "pw-ed", address="203.0.113.9")
    assert response.status_code == 302


def test_one_address_trying_many_usernames_is_locked(people):
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        sign_in(LOGIN, f"nobody{n}", "wrong", address="198.51.100.7")
    response, _ = sign_in(LOGIN, "vic", "pw-vic", address="198.51.100.7")
    assert_locked_out(response)
    response, _ = sign_in(LOGIN, "vic", "pw-vic", address="198.51.100.8")
    assert response.status_code == 302


def test_the_admin_sign_in_is_throttled_too(people, staff):
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        sign_in(ADMIN_LOGIN, "stella", "wrong", address=f"198.51.100.{n + 1}")
    response, _ = sign_in(ADMIN_LOGIN, "stella", "pw-stella", address="203.0.113.9")
    assert_locked_out(response)
    # The lock is on the person, whichever page they use.
    response, _ = sign_in(LOGIN, "stella", "pw-stella", address="203.0.113.10")
    assert_locked_out(response)


def test_tokens_still_work_from_a_locked_address_and_for_a_locked_user(people, token_of):
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        sign_in(LOGIN, "vic", "wrong", address="198.51.100.7")
    assert sign_in(LOGIN, "vic", "pw-vic", address="198.51.100.7")[0].status_code == 429
    client = Client(REMOTE_ADDR="198.51.100.7", HTTP_AUTHORIZATION=f"Bearer {token_of('vic')}")
    response = client.get("/api/v1/whoami")
    assert response.status_code == 200
    assert response.json()["username"] == "vic"


def test_the_reset_commands_lift_a_lockout(people):
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        sign_in(LOGIN, "vic", "wrong", address=f"198.51.100.{n + 1}")
    assert sign_in(LOGIN, "vic", "pw-vic")[0].status_code == 429
    call_command("axes_reset_username", "vic")
    assert sign_in(LOGIN, "vic", "pw-vic")[0].status_code == 302

    for n in range(django_settings.AXES_FAILURE_LIMIT):
        sign_in(LOGIN, f"nobody{n}", "wrong", address="198.51.100.7")
    assert sign_in(LOGIN, "vic", "pw-vic", address="198.51.100.7")[0].status_code == 429
    call_command("axes_reset")
    assert sign_in(LOGIN, "vic", "pw-vic", address="198.51.100.7")[0].status_code == 302


def test_without_a_proxy_a_forwarded_for_header_is_ignored(people, settings):
    settings.BEHIND_PROXY = False
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        sign_in(LOGIN, f"nobody{n}", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n + 1}")
    response, _ = sign_in(LOGIN, "vic", "pw-vic", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert_locked_out(response)


def test_behind_a_proxy_the_address_it_saw_counts_not_what_the_client_claims(people, settings):
    settings.BEHIND_PROXY = True
    proxy = "10.0.0.2"
    for n in range(django_settings.AXES_FAILURE_LIMIT):
        # The client makes up a new address each time; our proxy appends the real one.
        forwarded = f"198.51.100.{n + 1}, 203.0.113.5"
        sign_in(LOGIN, f"nobody{n}", "wrong", address=proxy, HTTP_X_FORWARDED_FOR=forwarded)
    response, _ = sign_in(LOGIN, "vic", "pw-vic", address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert_locked_out(response)
    # Someone else behind the same proxy signs in.
    response, _ = sign_in(LOGIN, "vic", "pw-vic", address=proxy, HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert response.status_code == 302


def test_the_limit_and_cool_off_come_from_the_environment():
    code = "from django.conf import settings as s; print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME)"
    result = manage(
        "shell", "-c", code, DEBUG="true", LOGIN_FAILURE_LIMIT="4", LOGIN_COOLOFF_MINUTES="30"
    )
    assert result.stdout.strip().splitlines()[-1] == "4 0:30:00", result.stderr
    result = manage("check", DEBUG="true", LOGIN_FAILURE_LIMIT="0")
    assert result.returncode != 0
    assert "LOGIN_FAILURE_LIMIT" in result.stderr
