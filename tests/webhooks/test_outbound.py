"""Webhooks under the outbound address policy: internal addresses are refused when a
webhook is saved (page and API) and are never connected to when it is sent; a
receiver's answer is kept only from networks the operator allows; every connection
failure reads the same; each attempt ends by its deadline and frees the worker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from prompts import services
from tests.registry_site.servers import (
    answer,
    closed_port,
    hangs_up,
    listening,
    never_reads,
    route_to_loopback,
    speaks_nonsense,
    trickle,
)
from webhooks import delivery as worker
from webhooks import services as webhooks
from webhooks.models import Attempt, Delivery, Webhook

W = "/api/v1/teams/support/webhooks"
PUBLIC = "93.184.216.34"
INTERNAL = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://[::1]/hook",
    "http://0.0.0.0/hook",
    "http://127.1/hook",
    "http://2130706433/hook",
    "http://0x7f000001/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/hook",
    "http://10.0.0.1/hook",
    "http://[fd00::1]/hook",
    "http://224.0.0.1/hook",
]


@pytest.fixture(autouse=True)
def _quick(settings):
    settings.WEBHOOK_BACKOFF = 10
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_TIMEOUT = 10
    settings.WEBHOOK_ATTEMPT_SECONDS = 3


def listen(people, url: str) -> Webhook:
    return webhooks.create_webhook(
        people["alice"], people["support"], url=url, events=["version.created"]
    )


def add_version(people, prompt, text: str = "v2"):
    return services.add_version(people["ed"], prompt, template=text + " {{ ticket_text }}")


def signed_in(people, username: str = "alice") -> Client:
    client = Client()
    client.force_login(people[username])
    return client


# ---------------------------------------------------------------- when saved


@pytest.mark.parametrize("url", INTERNAL)
def test_the_api_refuses_an_internal_address_naming_the_url_field(as_user, url):
    response = as_user("alice").post(W, {"url": url, "events": ["version.created"]}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["details"]["field"] == "url"
    assert "address" in error["message"]
    assert not Webhook.objects.exists()


def test_the_api_refuses_a_change_to_an_internal_address(as_user, hook):
    response = as_user("alice").patch(
        f"{W}/{hook.pk}", {"url": "http://169.254.169.254/"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "url"
    hook.refresh_from_db()
    assert hook.url == "https://hooks.example.com/registry"


@pytest.mark.parametrize("url", INTERNAL[:9])
def test_the_page_shows_the_refusal_on_the_url_field(people, url):
    form = {"url": url, "events": ["version.created"], "description": ""}
    response = signed_in(people).post(reverse("webhooks", args=["support"]), form)
    assert response.status_code == 200
    content = response.content.decode()
    error = content.split('id="id_url_helptext"', 1)[1].split("<label", 1)[0]
    assert 'role="alert"' in error and "address" in error
    assert not Webhook.objects.exists()


@pytest.mark.parametrize("answer_", [["127.0.0.1"], ["::1"], [PUBLIC, "10.0.0.7"]])
def test_a_name_that_resolves_to_an_internal_address_is_refused(as_user, dns, answer_):
    dns.set("hooks.corp.test", answer_)
    body = {"url": "https://hooks.corp.test/in", "events": ["version.created"]}
    response = as_user("alice").post(W, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "url"


def test_an_operator_allows_an_internal_network(as_user, settings, dns):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    dns.set("hooks.corp.test", ["10.0.0.7"])
    for url in ["https://hooks.corp.test/in", "http://10.1.2.3:8080/in"]:
        body = {"url": url, "events": ["version.created"]}
        assert as_user("alice").post(W, body, format="json").status_code == 201
    body = {"url": "http://127.0.0.1/in", "events": ["version.created"]}
    assert as_user("alice").post(W, body, format="json").status_code == 400


def test_an_unchanged_address_is_not_checked_again(people, settings, dns):
    # A webhook the operator allowed once can still be paused after the allow-list
    # changed; sending it is refused all the same.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    hook = listen(people, "http://10.1.2.3/in")
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    webhooks.update_webhook(people["alice"], hook, url="http://10.1.2.3/in", active=False)
    hook.refresh_from_db()
    assert hook.active is False


# ---------------------------------------------------------------- when sent


def test_a_name_that_turns_to_loopback_after_the_save_is_not_connected_to(people, prompt, dns):
    with listening(answer(200, b"internal secrets")) as receiver:
        dns.set("hooks.rebind.test", [PUBLIC], ["127.0.0.1"])
        listen(people, receiver.url("hooks.rebind.test"))
        add_version(people, prompt)
        assert worker.deliver_due() == 1
    assert receiver.connections == 0
    delivery = Delivery.objects.get()
    [attempt] = delivery.attempt_log.all()
    assert attempt.status_code is None and attempt.response == ""
    assert "loopback" in attempt.error
    assert delivery.status == "pending"  # tried again later, and checked again then


def test_a_webhook_saved_before_the_policy_is_refused_when_sent(people, prompt, hook):
    with listening(answer(200, b"internal secrets")) as receiver:
        Webhook.objects.filter(pk=hook.pk).update(url=receiver.url())
        add_version(people, prompt)
        worker.deliver_due()
    assert receiver.connections == 0
    attempt = Attempt.objects.get()
    assert "loopback" in attempt.error and attempt.response == ""


def test_a_public_receivers_answer_is_not_kept_only_its_status_and_timing(
    people, prompt, dns, monkeypatch
):
    with listening(answer(200, b"what the receiver says")) as receiver:
        dns.set("hooks.example.test", [PUBLIC])
        route_to_loopback(monkeypatch, PUBLIC)
        hook = listen(people, receiver.url("hooks.example.test"))
        add_version(people, prompt)
        assert worker.deliver_due() == 1
    assert receiver.connections == 1
    [attempt] = Attempt.objects.all()
    assert (attempt.status_code, attempt.response) == (200, "")
    assert attempt.duration_ms >= 0
    assert attempt.delivery.status == "delivered"
    client = signed_in(people)
    log = client.get(f"{W}/{hook.pk}/deliveries").json()
    assert log["results"][0]["attempts"][0]["response"] == ""
    page = client.get(reverse("webhook", args=["support", hook.pk])).content.decode()
    assert "what the receiver says" not in page and "HTTP 200" in page


def test_an_allowed_receivers_answer_is_kept(people, prompt, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with listening(answer(500, b"database is down")) as receiver:
        listen(people, receiver.url())
        add_version(people, prompt)
        worker.deliver_due()
    attempt = Attempt.objects.get()
    assert (attempt.status_code, attempt.response) == (500, "database is down")


def test_a_redirect_is_logged_not_followed(people, prompt, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with listening(answer(200)) as elsewhere:
        moved = answer(302, b"", f"Location: {elsewhere.url()}\r\n")
        with listening(moved) as receiver:
            listen(people, receiver.url())
            add_version(people, prompt)
            worker.deliver_due()
    assert (receiver.connections, elsewhere.connections) == (1, 0)
    assert Attempt.objects.get().status_code == 302


def test_every_connection_failure_reads_the_same(people, prompt, settings):
    # Closed, open and hanging up, open and not HTTP, open and silent: an admin cannot
    # tell one from another by the log, so webhooks are no port scanner.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.WEBHOOK_ATTEMPT_SECONDS = 1
    with (
        listening(hangs_up) as hanging_up,
        listening(speaks_nonsense) as nonsense,
        listening(never_reads) as silent,
    ):
        for url in [
            f"http://127.0.0.1:{closed_port()}/",
            hanging_up.url(),
            nonsense.url(),
            silent.url(),
        ]:
            listen(people, url)
        add_version(people, prompt)
        assert worker.deliver_due() == 4
    errors = set(Attempt.objects.values_list("error", flat=True))
    assert len(errors) == 1
    [error] = errors
    assert error and not any(word in error.lower() for word in ["errno", "refused", "reset"])
    assert set(Attempt.objects.values_list("status_code", flat=True)) == {None}


# ---------------------------------------------------------------- the deadline


def test_a_trickling_receiver_is_cut_at_the_deadline_and_the_worker_goes_on(
    people, prompt, settings
):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with (
        listening(trickle(every=2.0, head_first=False, most=8)) as slow,
        listening(answer(200)) as quick,
    ):
        listen(people, slow.url())
        listen(people, quick.url())
        add_version(people, prompt)
        started = time.monotonic()
        assert worker.deliver_due() == 2
        took = time.monotonic() - started
    # One byte every 2 s is well within the 10 s per read: only the 3 s deadline ends
    # the attempt, and the next delivery goes out in the same round.
    assert took < 4.5
    slow_attempt, quick_attempt = Attempt.objects.order_by("delivery__webhook__pk")
    assert slow_attempt.status_code is None and slow_attempt.error
    assert 2900 <= slow_attempt.duration_ms < 4000
    assert quick_attempt.status_code == 200
    assert Delivery.objects.filter(locked_until__isnull=False).count() == 0


def test_the_claim_outlasts_any_attempt(settings):
    for seconds in [1, 10, 120]:
        settings.WEBHOOK_ATTEMPT_SECONDS = seconds
        settings.WEBHOOK_TIMEOUT = 5
        assert worker.lease() > timedelta(seconds=seconds)
