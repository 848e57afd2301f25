"""Events are queued in the transaction of their change: one delivery per active webhook
of the team that listens to the event, with the names of what happened."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from prompts import services
from registry_site.errors import Forbidden
from releases import environments
from releases import services as deployments
from reviews import services as review
from webhooks import events
from webhooks import services as webhooks
from webhooks.models import Delivery


def queued(event: str | None = None) -> list[dict]:
    found = Delivery.objects.order_by("pk")
    if event:
        found = found.filter(event=event)
    return [json.loads(d.body) for d in found]


def env(prompt, slug):
    return environments.find_environment(prompt.team, slug)


def test_it_queues_only_for_active_webhooks_of_the_team_that_listen(people, prompt):
    alice, oscar = people["alice"], people["oscar"]
    listening = webhooks.create_webhook(
        alice, people["support"], url="https://a.example.com/", events=["version.created"]
    )
    webhooks.create_webhook(
        alice, people["support"], url="https://b.example.com/", events=["prompt.archived"]
    )
    paused = webhooks.create_webhook(
        alice, people["support"], url="https://c.example.com/", events=["version.created"]
    )
    webhooks.update_webhook(alice, paused, active=False)
    webhooks.create_webhook(
        oscar, people["billing"], url="https://d.example.com/", events=["version.created"]
    )

    services.add_version(people["ed"], prompt, template="v2 {{ ticket_text }}")

    assert list(Delivery.objects.values_list("webhook_id", "event")) == [
        (listening.pk, "version.created")
    ]


def test_one_event_has_one_id_in_every_webhook(people, prompt, hook):
    webhooks.create_webhook(
        people["alice"], people["support"], url="https://b.example.com/", events=["prompt.archived"]
    )
    services.archive_prompt(people["alice"], prompt)
    found = Delivery.objects.filter(event="prompt.archived")
    assert found.count() == 2
    assert len({d.event_id for d in found}) == 1
    assert {json.loads(d.body)["id"] for d in found} == {str(found[0].event_id)}


def test_nothing_is_queued_when_the_change_rolls_back(people, prompt, hook):
    with pytest.raises(RuntimeError), transaction.atomic():
        services.add_version(people["ed"], prompt, template="v2 {{ ticket_text }}")
        assert len(queued("version.created")) == 1
        raise RuntimeError("the change fails after the event was written")
    assert queued("version.created") == []


def test_a_refused_deploy_takes_its_version_and_event_with_it(people, prompt, hook):
    # The version is written and its event queued, then deploying it to production is
    # refused: the whole change is undone, the event too.
    with pytest.raises(Forbidden):
        services.add_version(
            people["ed"], prompt, template="v2 {{ ticket_text }}", deploy_to="production"
        )
    assert prompt.versions.count() == 1
    assert queued("version.created") == []


def test_a_team_without_webhooks_costs_one_query(people, prompt, django_assert_num_queries):
    with django_assert_num_queries(1):
        events.emit(events.VERSION_CREATED, team=people["support"], actor=people["ed"])
    assert not Delivery.objects.exists()


def test_unknown_events_are_a_programming_error(people):
    with pytest.raises(ValueError):
        events.emit("version.deleted", team=people["support"], actor=people["ed"])


def test_adding_a_version_queues_version_created(people, prompt, hook):
    version = services.add_version(people["ed"], prompt, template="v2 {{ ticket_text }}")
    [body] = queued("version.created")
    assert uuid.UUID(body["id"])
    assert body["event"] == "version.created"
    assert body["occurred_at"].endswith("Z")
    assert body["team"] == "support"
    assert body["prompt"] == {
        "slug": "ticket-classifier",
        "name": "Ticket classifier",
        "address": "support/ticket-classifier",
    }
    assert body["version"] == {"number": 2, "content_hash": version.content_hash}
    assert body["environment"] is None
    assert body["actor"] == "ed"
    delivery = Delivery.objects.get(event="version.created")
    assert delivery.status == "pending" and delivery.attempts == 0
    assert delivery.webhook == hook


def test_requesting_a_review_queues_review_requested(people, prompt, hook):
    version = prompt.latest_version
    review.request_review(people["ed"], version, note="please look")
    [body] = queued("review.requested")
    assert body["version"]["number"] == 1
    assert body["actor"] == "ed"
    assert body["data"]["note"] == "please look"


def test_a_verdict_queues_review_verdict(people, prompt, hook):
    review.add_comment(people["rita"], prompt.latest_version, body="Fine", verdict="approve")
    [body] = queued("review.verdict")
    assert body["actor"] == "rita"
    assert body["prompt"]["address"] == "support/ticket-classifier"
    assert body["version"]["number"] == 1
    assert body["data"]["verdict"] == "approve"


def test_deploying_queues_deployment_activated(people, prompt, hook):
    deployments.deploy(people["ed"], prompt, env(prompt, "staging"), prompt.latest_version)
    [body] = queued("deployment.activated")
    assert body["environment"] == "staging"
    assert body["version"]["number"] == 1
    assert body["actor"] == "ed"


def test_a_planned_deployment_queues_nothing_until_it_is_live(people, prompt, hook):
    later = timezone.now() + timedelta(days=1)
    deployments.deploy(
        people["ed"], prompt, env(prompt, "staging"), prompt.latest_version, when=later
    )
    assert queued("deployment.activated") == []


def test_rolling_back_queues_deployment_rolled_back(people, prompt, hook):
    ed = people["ed"]
    v2 = services.add_version(ed, prompt, template="v2 {{ ticket_text }}")
    deployments.deploy(ed, prompt, env(prompt, "development"), v2)
    deployments.rollback(ed, prompt, env(prompt, "development"))
    [body] = queued("deployment.rolled_back")
    assert body["environment"] == "development"
    assert body["version"]["number"] == 1  # the version live again
    assert body["actor"] == "ed"


def test_archiving_queues_prompt_archived(people, prompt, hook):
    services.archive_prompt(people["alice"], prompt, reason="replaced")
    [body] = queued("prompt.archived")
    assert body["prompt"]["slug"] == "ticket-classifier"
    assert body["version"] is None and body["environment"] is None
    assert body["actor"] == "alice"


def test_a_webhook_hears_only_its_own_events(people, prompt):
    webhooks.create_webhook(
        people["alice"], people["support"], url="https://a.example.com/", events=["review.verdict"]
    )
    services.add_version(people["ed"], prompt, template="v2 {{ ticket_text }}")
    review.request_review(people["ed"], prompt.latest_version)
    assert not Delivery.objects.exists()
