"""Password reset is offered only where mail is configured."""

import pytest
from django.core import mail
from django.test import Client

RESET_PAGES = [
    "/accounts/password_reset/",
    "/accounts/password_reset/done/",
    "/accounts/reset/MQ/set-password/",
    "/accounts/reset/done/",
]


@pytest.mark.parametrize("url", RESET_PAGES)
def test_without_mail_the_reset_pages_are_not_found(db, settings, url):
    settings.EMAIL_HOST = ""
    assert Client().get(url).status_code == 404


def test_without_mail_a_reset_request_sends_nothing(people, settings):
    settings.EMAIL_HOST = ""
    response = Client().post("/accounts/password_reset/", {"email": "vic@example.com"})
    assert response.status_code == 404
    assert mail.outbox == []


def test_without_mail_the_sign_in_page_has_no_reset_link(db, settings):
    settings.EMAIL_HOST = ""
    html = Client().get("/accounts/login/").content.decode()
    assert "password_reset" not in html
    assert "Ask a team admin" in html


def test_with_mail_the_reset_is_offered_and_sends_a_link(people, settings):
    settings.EMAIL_HOST = "smtp.example.com"
    html = Client().get("/accounts/login/").content.decode()
    assert 'href="/accounts/password_reset/"' in html
    assert Client().get("/accounts/password_reset/").status_code == 200
    response = Client().post("/accounts/password_reset/", {"email": "vic@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


def test_the_default_mail_host_is_empty():
    from tests.test_settings import manage

    code = "from django.conf import settings as s; print(repr(s.EMAIL_HOST))"
    result = manage("shell", "-c", code, DEBUG="true")
    assert result.stdout.strip().splitlines()[-1] == "''", result.stderr
