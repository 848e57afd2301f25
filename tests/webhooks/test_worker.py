"""The worker: signed POSTs to a real receiver on loopback, retries with backoff, every
attempt logged, nothing lost while the receiver is down, never one delivery sent twice."""

from __future__ import annotations

import io
import json
import os
import signal
import threading
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from prompts import services
from webhooks import delivery as worker
from webhooks import services as webhooks
from webhooks.models import Attempt, Delivery
from webhooks.signing import verify


@pytest.fixture(autouse=True)
def _quick(settings):
    settings.WEBHOOK_BACKOFF = 10
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    settings.WEBHOOK_TIMEOUT = 2
    # The receivers here listen on loopback, as internal ones do for self-hosted
    # operators, who allow their network so.
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]


def listen(people, url: str, receiver=None):
    hook = webhooks.create_webhook(
        people["alice"], people["support"], url=url, events=["version.created"]
    )
    if receiver is not None:
        receiver.secret = hook.secret
    return hook


def add_version(people, prompt, text: str = "v2"):
    return services.add_version(people["ed"], prompt, template=text + " {{ ticket_text }}")


def test_it_fails_twice_then_delivers_and_logs_all_three(people, prompt, receiver):
    hook = listen(people, receiver.url, receiver)
    receiver.script = [500, 500]
    add_version(people, prompt)
    delivery = Delivery.objects.get()

    assert worker.deliver_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    first_retry = delivery.next_attempt_at
    assert first_retry >= timezone.now() + timedelta(seconds=9)
    assert worker.deliver_due() == 0  # not due yet

    assert worker.deliver_due(now=first_retry) == 1
    delivery.refresh_from_db()
    # The wait doubles: 10 s after the first failure, 20 s after the second.
    assert delivery.next_attempt_at - first_retry >= timedelta(seconds=20)

    assert worker.deliver_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.delivered_at is not None
    assert delivery.attempts == 3

    attempts = list(delivery.attempt_log.order_by("number"))
    assert [(a.number, a.status_code) for a in attempts] == [(1, 500), (2, 500), (3, 200)]
    assert [a.response for a in attempts] == ["receiver trouble", "receiver trouble", "thanks"]
    assert all(a.duration_ms >= 0 for a in attempts)

    # The receiver checked every signature and got the same bytes each time.
    assert len(receiver.received) == 3
    assert all(r.verified for r in receiver.received)
    assert {r.body for r in receiver.received} == {delivery.body.encode()}
    headers = receiver.received[0].headers
    assert headers["X-Registry-Event"] == "version.created"
    assert headers["X-Registry-Delivery"] == str(delivery.pk)
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("prompt-registry-webhooks/")
    assert json.loads(receiver.received[0].body)["version"]["number"] == 2

    # The delivery log shows all three, in the API and on the page.
    api = Client()
    api.force_login(people["alice"])
    log = api.get(f"/api/v1/teams/support/webhooks/{hook.pk}/deliveries").json()
    [shown] = log["results"]
    assert shown["status"] == "delivered"
    assert [a["status_code"] for a in shown["attempts"]] == [500, 500, 200]
    assert shown["attempts"][0]["error"] == "HTTP 500"
    page = api.get(f"/teams/support/webhooks/{hook.pk}/").content.decode()
    assert page.count("HTTP 500") == 2 and page.count("HTTP 200") == 1
    assert "delivered" in page


def test_a_receiver_that_is_down_loses_nothing(people, prompt, closed_port_url):
    listen(people, closed_port_url)
    add_version(people, prompt)
    before = timezone.now()

    assert worker.deliver_due() == 1
    delivery = Delivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.next_attempt_at > before
    [attempt] = delivery.attempt_log.all()
    assert attempt.status_code is None
    assert attempt.error == worker.UNREACHABLE

    assert worker.deliver_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 2)
    assert worker.deliver_due(now=delivery.next_attempt_at) == 1
    delivery.refresh_from_db()
    # WEBHOOK_MAX_ATTEMPTS (3) failed: given up, but kept with its body and log.
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert worker.deliver_due(now=timezone.now() + timedelta(days=1)) == 0
    assert json.loads(delivery.body)["event"] == "version.created"
    assert Attempt.objects.filter(delivery=delivery).count() == 3


def test_a_redelivered_failure_gets_a_fresh_round(people, prompt, closed_port_url, receiver):
    hook = listen(people, closed_port_url, receiver)
    add_version(people, prompt)
    delivery = Delivery.objects.get()
    for _ in range(3):
        worker.deliver_due(now=delivery.next_attempt_at)
        delivery.refresh_from_db()
    assert delivery.status == "failed"

    webhooks.update_webhook(people["alice"], hook, url=receiver.url)  # the receiver is back
    webhooks.redeliver(people["alice"], delivery)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.failures) == ("pending", 0)
    assert delivery.redelivered_by == people["alice"]

    assert worker.deliver_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 4)
    assert [r.verified for r in receiver.received] == [True]


def test_a_rotated_secret_signs_what_is_still_queued(people, prompt, receiver):
    hook = listen(people, receiver.url, receiver)
    add_version(people, prompt)
    old = hook.secret
    webhooks.rotate_secret(people["alice"], hook)
    receiver.secret = hook.secret
    assert hook.secret != old

    worker.deliver_due()
    [got] = receiver.received
    assert got.verified
    assert not verify(old, got.headers["X-Registry-Signature"], got.body)


def test_a_paused_webhook_keeps_its_queue_until_it_is_active(people, prompt, receiver):
    hook = listen(people, receiver.url, receiver)
    add_version(people, prompt)
    webhooks.update_webhook(people["alice"], hook, active=False)
    assert worker.deliver_due() == 0
    assert Delivery.objects.get().status == "pending"
    webhooks.update_webhook(people["alice"], hook, active=True)
    assert worker.deliver_due() == 1
    assert Delivery.objects.get().status == "delivered"


def test_redirects_are_not_followed(people, prompt, receiver):
    listen(people, receiver.url, receiver)
    receiver.script = [302]
    add_version(people, prompt)
    worker.deliver_due()
    delivery = Delivery.objects.get()
    assert delivery.status == "pending"
    assert delivery.attempt_log.get().status_code == 302
    assert len(receiver.received) == 1


def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_ends(people, prompt, hook):
    add_version(people, prompt)
    delivery = Delivery.objects.get()
    now = timezone.now()
    until = worker.claim(delivery.pk, now)
    assert until is not None
    assert worker.claim(delivery.pk, now) is None
    assert worker.due(now, 10) == []
    # A worker that died mid-send: its claim runs out, and the delivery is due again.
    assert worker.claim(delivery.pk, until + timedelta(seconds=1)) is not None


def test_the_command_sends_what_is_due(people, prompt, receiver, capsys):
    listen(people, receiver.url, receiver)
    add_version(people, prompt, "v2")
    add_version(people, prompt, "v3")
    call_command("deliver_webhooks", "--once", "--batch", "10")
    assert "Sent 2 deliveries." in capsys.readouterr().out
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert len(receiver.received) == 2


def test_the_worker_announces_planned_deployments_whose_time_came(people, prompt, receiver):
    from datetime import timedelta

    from django.utils import timezone

    from releases import services as deployments
    from releases.models import Deployment

    hook = webhooks.create_webhook(
        people["alice"], people["support"], url=receiver.url, events=["deployment.activated"]
    )
    receiver.secret = hook.secret
    v2 = add_version(people, prompt, "v2")
    dev = prompt.team.environments.get(slug="development")
    soon = timezone.now() + timedelta(hours=1)
    planned = deployments.deploy(people["ed"], prompt, dev, v2, when=soon)
    call_command("deliver_webhooks", "--once")
    assert Delivery.objects.count() == 0  # not yet due: nothing announced
    Deployment.objects.filter(pk=planned.pk).update(
        effective_at=timezone.now() - timedelta(seconds=1)
    )
    call_command("deliver_webhooks", "--once")
    call_command("deliver_webhooks", "--once")
    import json

    sent = [json.loads(r.body) for r in receiver.received]
    assert [(r["event"], r["version"]["number"]) for r in sent] == [("deployment.activated", 2)]
    assert all(r.verified for r in receiver.received)
    assert Deployment.objects.get(pk=planned.pk).activated_at is not None


def test_sigterm_lets_the_send_in_progress_finish_and_stops(people, prompt, receiver, monkeypatch):
    listen(people, receiver.url, receiver)
    add_version(people, prompt, "v2")
    add_version(people, prompt, "v3")
    real_send = worker.send

    def send_then_terminated(delivery):
        os.kill(os.getpid(), signal.SIGTERM)  # arrives while this delivery is in flight
        return real_send(delivery)

    monkeypatch.setattr(worker, "send", send_then_terminated)
    before = signal.getsignal(signal.SIGTERM)
    out = io.StringIO()
    call_command("deliver_webhooks", "--interval", "60", stdout=out)

    assert out.getvalue().strip() == "Stopped."
    first, second = Delivery.objects.order_by("pk")
    assert (first.status, first.attempts) == ("delivered", 1)
    # Not started, so not claimed: the next worker sends it at once.
    assert (second.status, second.attempts, second.locked_until) == ("pending", 0, None)
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_send_each_delivery_once(people, prompt, receiver, monkeypatch):
    listen(people, receiver.url, receiver)
    for n in range(8):
        add_version(people, prompt, f"v{n + 2}")
    # Both workers read the same list of due deliveries before either claims one: only
    # the claim stands between them and sending each one twice.
    ids = list(Delivery.objects.values_list("pk", flat=True))
    monkeypatch.setattr(worker, "due", lambda now, limit: ids)
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    sent: list[int] = []

    def work():
        try:
            start.wait()
            sent.append(worker.deliver_due())
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert sum(sent) == 8
    bodies = [r.body for r in receiver.received]
    assert len(bodies) == 8 and len(set(bodies)) == 8
    assert set(Delivery.objects.values_list("status", "attempts")) == {("delivered", 1)}
    assert Attempt.objects.count() == 8


@pytest.mark.django_db(transaction=True)
def test_racing_claims_have_one_winner(people, prompt, hook):
    add_version(people, prompt)
    delivery = Delivery.objects.get()
    now = timezone.now()
    start = threading.Barrier(4)
    wins: list[bool] = []

    def race():
        try:
            start.wait()
            wins.append(worker.claim(delivery.pk, now) is not None)
        finally:
            connection.close()

    threads = [threading.Thread(target=race) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(wins) == [False, False, False, True]
