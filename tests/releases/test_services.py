"""Deploy, plan, roll back and resolve."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from prompts import services
from registry_site.errors import Conflict, Invalid, NotFound
from releases import services as deployments
from releases.live import live_deployment, live_ids, state_of
from releases.models import Deployment, Environment
from reviews.models import Comment
from serving import services as resolve


def env(prompt, slug):
    return Environment.objects.get(team=prompt.team, slug=slug)


def resolved_number(user, **selector):
    return resolve.resolve(user, "support", "ticket-classifier", **selector).payload["version"]


def test_resolve_follows_each_pointer(people, prompt):
    services.add_version(
        people["ed"], prompt, template="two {{ ticket_text }}", deploy_to="staging"
    )
    services.add_version(people["ed"], prompt, template="three {{ ticket_text }}")
    vic = people["vic"]
    assert resolved_number(vic, environment="development") == 1
    assert resolved_number(vic, environment="staging") == 2
    assert resolved_number(vic, label="latest") == 3
    assert resolved_number(vic, version=2) == 2


def test_resolve_without_a_selector_uses_the_default_environment(people, prompt):
    with pytest.raises(NotFound) as caught:
        resolve.resolve(people["vic"], "support", "ticket-classifier")
    assert caught.value.code == "not_deployed"
    Comment.objects.create(
        version=prompt.latest_version, author=people["rita"], body="ok", verdict="approve"
    )
    deployments.deploy(people["rita"], prompt, env(prompt, "production"), prompt.latest_version)
    assert resolve.resolve(people["vic"], "support", "ticket-classifier").environment == (
        "production"
    )


@pytest.mark.parametrize(
    "selector",
    [
        {"environment": "nope"},
        {"version": 9},
        {"label": "stable"},
        {"version": "x"},
        {"environment": "development", "version": 1},
    ],
)
def test_resolve_refuses_what_does_not_exist(people, prompt, selector):
    with pytest.raises((NotFound, Invalid)):
        resolve.resolve(people["vic"], "support", "ticket-classifier", **selector)


def test_a_deploy_is_seen_at_once_despite_the_cache(people, prompt):
    assert resolved_number(people["vic"], environment="development") == 1
    assert resolved_number(people["vic"], environment="development") == 1  # now cached
    services.add_version(
        people["ed"], prompt, template="two {{ ticket_text }}", deploy_to="development"
    )
    assert resolved_number(people["vic"], environment="development") == 2


def test_a_rename_and_an_archive_are_seen_at_once(people, prompt):
    assert resolved_number(people["vic"], environment="development") == 1
    services.update_prompt(people["ed"], prompt, slug="classifier")
    assert (
        resolve.resolve(people["vic"], "support", "classifier", environment="development").payload[
            "slug"
        ]
        == "classifier"
    )
    services.archive_prompt(people["alice"], prompt)
    with pytest.raises(NotFound):
        resolved_number(people["vic"], environment="development")


def test_a_planned_deployment_goes_live_at_its_time_with_nothing_run(people, prompt):
    dev = env(prompt, "development")
    v2 = services.add_version(people["ed"], prompt, template="two {{ ticket_text }}")
    soon = timezone.now() + timedelta(seconds=1)
    planned = deployments.deploy(people["ed"], prompt, dev, v2, when=soon)
    assert state_of(planned, live_ids(prompt)) == "planned"
    assert resolved_number(people["vic"], environment="development") == 1  # cached until soon
    later = soon + timedelta(milliseconds=50)
    assert live_deployment(prompt, dev, later).version == v2
    import time

    time.sleep(max(0.0, (soon - timezone.now()).total_seconds()) + 0.05)
    assert resolved_number(people["vic"], environment="development") == 2
    assert state_of(planned, live_ids(prompt)) == "active"


def test_a_cancelled_plan_never_goes_live(people, prompt):
    dev = env(prompt, "development")
    v2 = services.add_version(people["ed"], prompt, template="two {{ ticket_text }}")
    planned = deployments.deploy(
        people["ed"], prompt, dev, v2, when=timezone.now() + timedelta(hours=1)
    )
    deployments.cancel(people["ed"], planned)
    assert (
        live_deployment(prompt, dev, timezone.now() + timedelta(hours=2)).version.number
        == 1
    )
    with pytest.raises(Conflict):
        deployments.cancel(people["ed"], planned)


def test_rollback_makes_the_previous_version_live(people, prompt):
    dev = env(prompt, "development")
    services.add_version(
        people["ed"], prompt, template="two {{ ticket_text }}", deploy_to="development"
    )
    assert resolved_number(people["vic"], environment="development") == 2
    back = deployments.rollback(people["ed"], prompt, dev)
    assert (back.kind, back.version.number) == ("rollback", 1)
    assert resolved_number(people["vic"], environment="development") == 1


def test_rollback_with_nothing_before_is_a_conflict(people, prompt):
    with pytest.raises(Conflict):
        deployments.rollback(people["ed"], prompt, env(prompt, "development"))
    with pytest.raises(Conflict):
        deployments.rollback(people["ed"], prompt, env(prompt, "staging"))


def test_a_version_of_another_prompt_cannot_be_deployed(people, prompt):
    other = services.create_prompt(people["ed"], people["support"], name="Other", template="x")
    with pytest.raises(NotFound):
        deployments.deploy(people["ed"], prompt, env(prompt, "staging"), other.latest_version)


def test_render_fills_defaults_and_lists_every_missing_name(people, prompt):
    answer = resolve.render(
        people["vic"],
        "support",
        "ticket-classifier",
        {"ticket_text": "help"},
        environment="development",
    )
    assert answer == {
        "rendered": "Classify: help for Acme",
        "version": 1,
        "environment": "development",
    }
    services.add_version(people["ed"], prompt, template="{{ a }} {{ b }} {{ c }}")
    with pytest.raises(Invalid) as caught:
        resolve.render(people["vic"], "support", "ticket-classifier", {"b": 1}, version=2)
    assert (caught.value.code, caught.value.details["missing"]) == ("missing_variables", ["a", "c"])


@pytest.mark.django_db(transaction=True)
def test_concurrent_deploys_and_rollbacks_leave_one_live_version(people, prompt):
    dev = env(prompt, "development")
    versions = [
        services.add_version(people["ed"], prompt, template=f"v{i} {{{{ ticket_text }}}}")
        for i in range(3)
    ]
    barrier = threading.Barrier(10)
    done: list[str] = []

    def act(i: int) -> None:
        try:
            barrier.wait()
            if i % 2:
                deployments.rollback(people["ed"], prompt, dev)
            else:
                deployments.deploy(people["ed"], prompt, dev, versions[i % 3])
            done.append("ok")
        except Conflict:
            done.append("conflict")
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=act, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log = Deployment.objects.filter(prompt=prompt, environment=dev)
    assert log.count() == 1 + done.count("ok")  # the fixture's first deploy, then successes
    assert len(live_ids(prompt)) == 1
