"""The webhook pages: team admins only, forms that explain refusals, CSRF on every
write, and the delivery log with every attempt."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from webhooks import services as webhooks
from webhooks.models import Attempt, Delivery, Webhook


def signed_in(people, username: str, **options) -> Client:
    client = Client(**options)
    client.force_login(people[username])
    return client


def pages(hook, delivery) -> list[tuple[str, str]]:
    return [
        ("get", reverse("webhooks", args=["support"])),
        ("post", reverse("webhooks", args=["support"])),
        ("get", reverse("webhook", args=["support", hook.pk])),
        ("post", reverse("webhook", args=["support", hook.pk])),
        ("post", reverse("webhook-secret", args=["support", hook.pk])),
        ("post", reverse("webhook-test", args=["support", hook.pk])),
        ("post", reverse("webhook-redeliver", args=["support", hook.pk, delivery.pk])),
        ("post", reverse("webhook-delete", args=["support", hook.pk])),
    ]


@pytest.fixture
def delivery(people, hook):
    return webhooks.send_test(people["alice"], hook)


FORM = {
    "url": "https://bot.example.com/in",
    "description": "release bot",
    "events": ["deployment.activated", "deployment.rolled_back"],
}


# ---------------------------------------------------------------- who may


def test_anonymous_visitors_are_sent_to_sign_in(hook, delivery):
    for method, url in pages(hook, delivery):
        response = getattr(Client(), method)(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("username", ["vic", "ed", "rita"])
def test_members_who_are_not_admins_get_403(people, hook, delivery, username):
    client = signed_in(people, username)
    for method, url in pages(hook, delivery):
        assert getattr(client, method)(url, FORM).status_code == 403, url
    assert Webhook.objects.count() == 1 and Delivery.objects.count() == 1


def test_outsiders_get_404(people, hook, delivery):
    client = signed_in(people, "oscar")
    for method, url in pages(hook, delivery):
        assert getattr(client, method)(url, FORM).status_code == 404, url


def test_unknown_webhooks_and_deliveries_are_404(people, hook, delivery):
    client = signed_in(people, "alice")
    theirs = webhooks.create_webhook(
        people["oscar"], people["billing"], url="https://b.example.com/", events=["version.created"]
    )
    assert client.get(reverse("webhook", args=["support", theirs.pk])).status_code == 404
    assert client.get(reverse("webhook", args=["billing", theirs.pk])).status_code == 404
    assert client.get(reverse("webhook", args=["support", 10**20])).status_code == 404
    gone = reverse("webhook-redeliver", args=["support", hook.pk, 999999])
    assert client.post(gone).status_code == 404


def test_the_team_page_links_to_webhooks_for_admins_only(people):
    link = reverse("webhooks", args=["support"])
    assert (
        link in signed_in(people, "alice").get(reverse("team", args=["support"])).content.decode()
    )
    assert (
        link not in signed_in(people, "ed").get(reverse("team", args=["support"])).content.decode()
    )


# ---------------------------------------------------------------- forms


def test_an_admin_adds_a_webhook_and_sees_its_secret(people):
    client = signed_in(people, "alice")
    page = client.get(reverse("webhooks", args=["support"]))
    assert page.status_code == 200
    assert "no-cache" in page["Cache-Control"] or "no-store" in page["Cache-Control"]
    response = client.post(reverse("webhooks", args=["support"]), FORM, follow=True)
    made = Webhook.objects.get()
    assert made.events == FORM["events"] and made.created_by == people["alice"]
    assert response.redirect_chain[-1][0] == reverse("webhook", args=["support", made.pk])
    assert made.secret in response.content.decode()


def test_the_secret_is_shown_once_after_creation_and_once_after_rotation(people):
    client = signed_in(people, "alice")
    made_page = client.post(reverse("webhooks", args=["support"]), FORM, follow=True)
    made = Webhook.objects.get()
    assert made.secret in made_page.content.decode()
    page = reverse("webhook", args=["support", made.pk])
    again = client.get(page).content.decode()
    assert made.secret not in again and "shown once" in again
    assert made.secret not in client.get(reverse("webhooks", args=["support"])).content.decode()

    client.post(reverse("webhook-secret", args=["support", made.pk]))
    made.refresh_from_db()
    assert made.secret in client.get(page).content.decode()
    assert made.secret not in client.get(page).content.decode()


def test_another_admin_never_sees_a_secret_made_by_someone_else(people, hook):
    theirs = signed_in(people, "alice")
    theirs.post(reverse("webhook-secret", args=["support", hook.pk]))
    hook.refresh_from_db()
    another = signed_in(people, "alice")  # another session, as another admin would have
    assert (
        hook.secret
        not in another.get(reverse("webhook", args=["support", hook.pk])).content.decode()
    )


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({**FORM, "url": "ftp://bot.example.com/"}, "http:// or https://"),
        ({**FORM, "url": "https://user:pw@bot.example.com/"}, "user names and passwords"),
        ({**FORM, "events": []}, "Pick at least one event."),
        ({**FORM, "events": ["version.deleted"]}, "version.deleted"),
        ({**FORM, "url": ""}, "required"),
    ],
)
def test_bad_input_shows_a_form_error_and_saves_nothing(people, form, message):
    response = signed_in(people, "alice").post(reverse("webhooks", args=["support"]), form)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert not Webhook.objects.exists()


def test_an_admin_edits_pauses_rotates_tests_and_deletes(people, hook):
    client = signed_in(people, "alice")
    page = reverse("webhook", args=["support", hook.pk])
    client.post(page, {**FORM, "active": ""})
    hook.refresh_from_db()
    assert hook.url == FORM["url"] and hook.active is False
    assert hook.events == FORM["events"]

    old = hook.secret
    client.post(reverse("webhook-secret", args=["support", hook.pk]))
    hook.refresh_from_db()
    assert hook.secret != old
    assert hook.secret in client.get(page).content.decode()

    client.post(reverse("webhook-test", args=["support", hook.pk]))
    assert Delivery.objects.get().event == "ping"

    response = client.post(reverse("webhook-delete", args=["support", hook.pk]))
    assert response["Location"] == reverse("webhooks", args=["support"])
    assert not Webhook.objects.exists() and not Delivery.objects.exists()


def test_a_refused_edit_keeps_the_saved_webhook(people, hook):
    client = signed_in(people, "alice")
    page = reverse("webhook", args=["support", hook.pk])
    response = client.post(page, {**FORM, "url": "file:///etc/passwd", "active": "on"})
    assert response.status_code == 200
    assert "http:// or https://" in response.content.decode()
    hook.refresh_from_db()
    assert hook.url == "https://hooks.example.com/registry"


def test_text_from_users_is_escaped(people):
    client = signed_in(people, "alice")
    client.post(
        reverse("webhooks", args=["support"]), {**FORM, "description": "<script>x()</script>"}
    )
    made = Webhook.objects.get()
    for url in [
        reverse("webhooks", args=["support"]),
        reverse("webhook", args=["support", made.pk]),
    ]:
        content = client.get(url).content.decode()
        assert "<script>x()" not in content and "&lt;script&gt;x()" in content


# ---------------------------------------------------------------- the log


def test_the_log_shows_every_attempt_and_redelivers(people, hook, delivery):
    started = timezone.now() - timedelta(minutes=1)
    Attempt.objects.create(
        delivery=delivery, number=1, started_at=started, duration_ms=12, status_code=503
    )
    Attempt.objects.create(
        delivery=delivery,
        number=2,
        started_at=started,
        duration_ms=2001,
        error="timed out",
    )
    Delivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=2, failures=2)
    client = signed_in(people, "alice")
    content = client.get(reverse("webhook", args=["support", hook.pk])).content.decode()
    assert "HTTP 503" in content and "timed out" in content
    assert "12 ms" in content and "2001 ms" in content
    assert re.search(r"badge webhook-failed\">failed", content)

    client.post(reverse("webhook-redeliver", args=["support", hook.pk, delivery.pk]))
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.redelivered_by == people["alice"]


def test_the_log_is_paged(people, hook):
    for _ in range(25):
        webhooks.send_test(people["alice"], hook)
    client = signed_in(people, "alice")
    page = reverse("webhook", args=["support", hook.pk])
    assert client.get(page).content.decode().count("badge webhook-pending") == 20
    assert client.get(page + "?page=2").content.decode().count("badge webhook-pending") == 5
    assert client.get(page + "?page=zz").status_code == 200


# ---------------------------------------------------------------- CSRF


def test_every_write_needs_the_csrf_token(people, hook, delivery):
    client = signed_in(people, "alice", enforce_csrf_checks=True)
    for method, url in pages(hook, delivery):
        if method == "post":
            assert client.post(url, FORM).status_code == 403, url
    hook.refresh_from_db()
    assert Webhook.objects.count() == 1 and hook.url == "https://hooks.example.com/registry"

    client.get(reverse("webhooks", args=["support"]))
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("webhooks", args=["support"]), {**FORM, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert Webhook.objects.count() == 2


# ---------------------------------------------------------------- admin


def test_the_admin_lists_webhooks_read_only_without_their_secret(people, hook, delivery):
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client = Client()
    client.force_login(root)
    for model in ["webhook", "delivery", "attempt"]:
        assert client.get(f"/admin/webhooks/{model}/?q=support").status_code == 200
    page = client.get(f"/admin/webhooks/webhook/{hook.pk}/change/").content.decode()
    assert hook.secret not in page and 'name="_save"' not in page
    assert client.get(f"/admin/webhooks/webhook/{hook.pk}/history/").status_code == 200
    assert client.get(f"/admin/webhooks/delivery/{delivery.pk}/change/").status_code == 200
