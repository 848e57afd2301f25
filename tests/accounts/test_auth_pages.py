"""Signing in and out, changing one's password, and the friendly error pages."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.template import loader
from django.test import RequestFactory

from registry_site import errors_views
from tests.prompts.test_browse_pages import other_pages  # noqa: F401  (autouse: base.html's links)

LOGIN = "/accounts/login/"
CHANGE = "/accounts/password_change/"


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


# ---------------------------------------------------------------------- sign in and out


def test_the_sign_in_page_shows_a_form(client, db):
    response = client.get(LOGIN)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="username"' in html and 'name="password"' in html
    assert "csrfmiddlewaretoken" in html
    assert "Sign out" not in html  # nobody is signed in yet


def test_signing_in_with_the_right_password_leads_home(client, people):
    response = client.post(LOGIN, {"username": "vic", "password": "pw-vic"})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in(client)
    home = client.get("/")
    assert home.status_code == 200
    assert "Sign out" in home.content.decode()


def test_signing_in_returns_to_the_page_asked_for(client, people):
    asked = client.get("/prompts/?q=ticket")
    assert asked["Location"] == "/accounts/login/?next=/prompts/%3Fq%3Dticket"
    form = client.get(asked["Location"]).content.decode()
    assert 'name="next" value="/prompts/?q=ticket"' in form
    assert "Please sign in to see that page." in form
    response = client.post(
        LOGIN, {"username": "ed", "password": "pw-ed", "next": "/prompts/?q=ticket"}
    )
    assert response["Location"] == "/prompts/?q=ticket"


def test_signing_in_never_leads_to_another_site(client, people):
    response = client.post(
        LOGIN, {"username": "ed", "password": "pw-ed", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.parametrize(
    ("username", "password"), [("vic", "wrong"), ("nobody", "pw-nobody"), ("vic", "")]
)
def test_a_wrong_password_shows_an_error_and_signs_nobody_in(client, people, username, password):
    response = client.post(LOGIN, {"username": username, "password": password})
    html = response.content.decode()
    assert response.status_code == 200
    assert 'class="error' in html or "errorlist" in html
    assert not signed_in(client)


def test_the_sign_in_form_escapes_what_was_typed(client, people):
    response = client.post(LOGIN, {"username": "<script>alert(1)</script>", "password": "x"})
    html = response.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_signing_out_is_a_post_from_every_page(client, people):
    client.force_login(people["vic"])
    html = client.get("/").content.decode()
    assert 'method="post" action="/accounts/logout/"' in html
    assert client.get("/accounts/logout/").status_code == 405  # a link cannot sign anyone out
    assert signed_in(client)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert not signed_in(client)
    assert client.get("/").status_code == 302


# ---------------------------------------------------------------------- password change


def test_changing_the_password_needs_sign_in(client, db):
    response = client.get(CHANGE)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_the_password_change_page_shows_its_form(client, people):
    client.force_login(people["vic"])
    response = client.get(CHANGE)
    html = response.content.decode()
    assert response.status_code == 200
    for name in ("old_password", "new_password1", "new_password2"):
        assert f'name="{name}"' in html


def test_changing_the_password(client, people):
    client.force_login(people["vic"])
    new = "a-much-longer-passphrase-42"
    response = client.post(
        CHANGE, {"old_password": "pw-vic", "new_password1": new, "new_password2": new}
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/done/"
    done = client.get(response["Location"])
    assert done.status_code == 200
    assert "Password changed" in done.content.decode()
    assert signed_in(client)  # this session stays valid
    client.logout()
    assert not client.login(username="vic", password="pw-vic")
    assert client.post(LOGIN, {"username": "vic", "password": new}).status_code == 302
    assert signed_in(client)


@pytest.mark.parametrize(
    ("old", "new1", "new2"),
    [
        ("wrong", "a-much-longer-passphrase-42", "a-much-longer-passphrase-42"),
        ("pw-vic", "a-much-longer-passphrase-42", "another-long-passphrase-43"),
        ("pw-vic", "123", "123"),
    ],
)
def test_a_refused_password_change_explains_why(client, people, old, new1, new2):
    client.force_login(people["vic"])
    response = client.post(
        CHANGE, {"old_password": old, "new_password1": new1, "new_password2": new2}
    )
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert get_user_model().objects.get(username="vic").check_password("pw-vic")


# ---------------------------------------------------------------------- error pages


def test_a_missing_page_is_friendly(client, people):
    client.force_login(people["vic"])
    response = client.get("/no/such/page/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Not found" in html
    assert 'class="top"' in html  # the site's layout, with its header


def test_a_missing_page_is_friendly_to_anonymous_visitors_too(client, db):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_the_forbidden_page_is_friendly(people):
    request = RequestFactory().get("/somewhere/")
    request.user = people["vic"]
    response = errors_views.forbidden(request, PermissionDenied("secret detail"))
    html = response.content.decode()
    assert response.status_code == 403
    assert "You may not do this" in html
    assert "secret detail" not in html


def test_the_server_error_page_needs_no_request(db):
    html = loader.get_template("500.html").render()
    assert "Something went wrong" in html
    assert 'class="top"' in html


def test_the_server_error_handler_renders_the_page(db):
    response = errors_views.server_error(RequestFactory().get("/somewhere/"))
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()
