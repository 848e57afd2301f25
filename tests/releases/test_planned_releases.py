"""Planned deployments: live at their time with nothing run, however warm the caches;
cancelled before it; announced once by ``manage.py activate_deployments``."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection
from django.utils import timezone

from prompts import services
from registry_site.errors import Invalid, NotFound
from releases import services as deployments
from releases.models import Deployment, Environment
from reviews import services as review
from serving import services as resolve
from webhooks import events

P = "/api/v1/prompts/support/ticket-classifier"


def env(prompt, slug: str) -> Environment:
    return Environment.objects.get(team=prompt.team, slug=slug)


def number(user, **selector) -> int:
    return resolve.resolve(user, "support", "ticket-classifier", **selector).payload["version"]


def wait_until(moment) -> None:
    time.sleep(max(0.0, (moment - timezone.now()).total_seconds()) + 0.05)


@pytest.fixture
def announced(monkeypatch):
    """The events queued, as (kind, deployment id)."""
    seen: list[tuple[str, int]] = []
    lock = threading.Lock()

    def emit(kind, **kwargs):
        data = kwargs.get("data")
        data = data() if callable(data) else data  # asked only when a webhook listens
        with lock:
            seen.append((kind, (data or {}).get("deployment")))

    monkeypatch.setattr(events, "emit", emit)
    return seen


# ---------------------------------------------------------------- live at its time


def test_a_planned_release_goes_live_at_its_time_through_a_warm_cache(people, prompt, as_user):
    vic = as_user("vic")
    dev = env(prompt, "development")
    v2 = services.add_version(people["ed"], prompt, template="v2 {{ ticket_text }}")
    first = vic.get(f"{P}/resolve", {"environment": "development"})
    assert first.json()["version"] == 1  # the pointer is cached from here on
    soon = timezone.now() + timedelta(seconds=1.5)
    deployments.deploy(people["ed"], prompt, dev, v2, when=soon)
    before = vic.get(f"{P}/resolve", {"environment": "development"})
    assert before.json()["version"] == 1
    assert number(people["vic"], environment="development") == 1  # warm again, until `soon`
    assert vic.get(f"{P}/resolve", {"environment": "development"}).json()["version"] == 1
    wait_until(soon)
    after = vic.get(
        f"{P}/resolve", {"environment": "development"}, HTTP_IF_NONE_MATCH=before["ETag"]
    )
    assert after.status_code == 200  # not "304 not modified": it changed
    assert after.json()["version"] == 2
    assert number(people["vic"], environment="development") == 2
    assert Deployment.objects.get(version=v2).activated_at is None  # no command ran


def test_the_default_environment_follows_a_planned_release(people, prompt):
    production = env(prompt, "production")
    review.add_comment(people["rita"], prompt.latest_version, body="ok", verdict="approve")
    deployments.deploy(people["rita"], prompt, production, prompt.latest_version)
    v2 = services.add_version(people["ed"], prompt, template="v2 {{ ticket_text }}")
    review.add_comment(people["rita"], v2, body="ok", verdict="approve")
    assert number(people["vic"]) == 1
    soon = timezone.now() + timedelta(seconds=1.5)
    deployments.deploy(people["rita"], prompt, production, v2, when=soon)
    assert number(people["vic"]) == 1
    wait_until(soon)
    assert number(people["vic"]) == 2


def test_a_planned_first_release_is_not_found_until_its_time(people, prompt):
    staging = env(prompt, "staging")
    soon = timezone.now() + timedelta(seconds=1.5)
    deployments.deploy(people["ed"], prompt, staging, prompt.latest_version, when=soon)
    for _ in range(2):
        with pytest.raises(NotFound) as caught:
            number(people["vic"], environment="staging")
        assert caught.value.code == "not_deployed"
    wait_until(soon)
    assert number(people["vic"], environment="staging") == 1


def test_a_later_plan_bounds_the_cache_of_the_plan_before_it(people, prompt):
    dev = env(prompt, "development")
    v2 = services.add_version(people["ed"], prompt, template="v2 {{ ticket_text }}")
    v3 = services.add_version(people["ed"], prompt, template="v3 {{ ticket_text }}")
    first = timezone.now() + timedelta(seconds=1)
    second = first + timedelta(seconds=1)
    deployments.deploy(people["ed"], prompt, dev, v2, when=first)
    deployments.deploy(people["ed"], prompt, dev, v3, when=second)
    assert number(people["vic"], environment="development") == 1
    wait_until(first)
    assert number(people["vic"], environment="development") == 2
    wait_until(second)
    assert number(people["vic"], environment="development") == 3


# ---------------------------------------------------------------- cancel


def test_cancel_through_the_api(people, prompt, as_user):
    v2 = services.add_version(people["ed"], prompt, template="v2 {{ ticket_text }}")
    later = timezone.now() + timedelta(hours=1)
    planned = deployments.deploy(people["ed"], prompt, env(prompt, "staging"), v2, when=later)
    url = f"{P}/deployments/{planned.pk}/cancel"
    refused = as_user("vic").post(url)
    assert (refused.status_code, refused.json()["error"]["details"]["reason"]) == (403, "role")
    assert as_user("oscar").post(url).status_code == 404
    done = as_user("ed").post(url)
    assert done.status_code == 200, done.content
    assert (done.json()["state"], done.json()["version"]) == ("cancelled", 2)
    again = as_user("ed").post(url)
    assert (again.status_code, again.json()["error"]["details"]["reason"]) == (409, "not_planned")
    assert as_user("ed").post(f"{P}/deployments/999999/cancel").status_code == 404


def test_a_live_deployment_cannot_be_cancelled(people, prompt, as_user):
    live = Deployment.objects.get(prompt=prompt)
    response = as_user("ed").post(f"{P}/deployments/{live.pk}/cancel")
    assert (response.status_code, response.json()["error"]["details"]["reason"]) == (
        409,
        "not_planned",
    )


def test_only_reviewers_cancel_a_plan_for_a_protected_environment(people, prompt, as_user):
    review.add_comment(people["rita"], prompt.latest_version, body="ok", verdict="approve")
    later = timezone.now() + timedelta(hours=1)
    planned = deployments.deploy(
        people["rita"], prompt, env(prompt, "production"), prompt.latest_version, when=later
    )
    url = f"{P}/deployments/{planned.pk}/cancel"
    refused = as_user("ed").post(url)
    assert (refused.status_code, refused.json()["error"]["details"]["reason"]) == (
        403,
        "protected_environment",
    )
    assert as_user("rita").post(url).status_code == 200


# ---------------------------------------------------------------- activate_deployments


def plan(people, prompt, slug: str, seconds: float) -> Deployment:
    version = services.add_version(people["ed"], prompt, template=f"{slug} {{{{ ticket_text }}}}")
    when = timezone.now() + timedelta(seconds=seconds)
    return deployments.deploy(people["ed"], prompt, env(prompt, slug), version, when=when)


def test_activation_marks_due_plans_once_and_announces_each_once(people, prompt, announced):
    due = plan(people, prompt, "development", 0.5)
    not_yet = plan(people, prompt, "staging", 3600)
    cancelled = plan(people, prompt, "staging", 0.5)
    deployments.cancel(people["ed"], cancelled)
    announced.clear()
    assert deployments.activate_due() == []  # nothing is due yet
    wait_until(due.effective_at)
    activated = deployments.activate_due()
    assert [d.pk for d in activated] == [due.pk]
    assert announced == [(events.DEPLOYMENT_ACTIVATED, due.pk)]
    assert deployments.activate_due() == []
    assert announced == [(events.DEPLOYMENT_ACTIVATED, due.pk)]
    due.refresh_from_db()
    not_yet.refresh_from_db()
    cancelled.refresh_from_db()
    assert due.activated_at is not None
    assert (not_yet.activated_at, cancelled.activated_at) == (None, None)
    assert due.history.first().history_change_reason == "planned deployment went live"


def test_a_planned_rollback_kind_is_announced_as_a_rollback(people, prompt, announced):
    due = plan(people, prompt, "development", 0.3)
    Deployment.objects.filter(pk=due.pk).update(kind=Deployment.Kind.ROLLBACK)
    wait_until(due.effective_at)
    deployments.activate_due()
    assert announced[-1] == (events.DEPLOYMENT_ROLLED_BACK, due.pk)


def test_the_command_reports_what_went_live(people, prompt, announced):
    due = plan(people, prompt, "development", 0.3)
    wait_until(due.effective_at)
    out = StringIO()
    call_command("activate_deployments", stdout=out)
    assert "support/ticket-classifier v2 is live in development since" in out.getvalue()
    out = StringIO()
    call_command("activate_deployments", stdout=out)
    assert out.getvalue() == ""
    assert [kind for kind, _ in announced].count(events.DEPLOYMENT_ACTIVATED) == 1


@pytest.mark.django_db(transaction=True)
def test_activation_run_by_several_processes_at_once_announces_each_once(people, prompt, announced):
    planned = [plan(people, prompt, slug, 0.5) for slug in ("development", "staging")]
    more = services.create_prompt(
        people["ed"], people["support"], name="Other", template="Other {{ x }}"
    )
    for slug in ("development", "staging"):
        when = timezone.now() + timedelta(seconds=0.5)
        planned.append(
            deployments.deploy(people["ed"], more, env(more, slug), more.latest_version, when=when)
        )
    announced.clear()
    wait_until(max(d.effective_at for d in planned))
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            deployments.activate_due()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(pk for _, pk in announced) == sorted(d.pk for d in planned)
    assert not Deployment.objects.filter(pk__in=[d.pk for d in planned], activated_at=None).exists()


def test_a_deploy_now_is_announced_at_once_and_never_again(people, prompt, announced):
    v2 = services.add_version(people["ed"], prompt, template="v2 {{ ticket_text }}")
    now = deployments.deploy(people["ed"], prompt, env(prompt, "staging"), v2)
    assert announced[-1] == (events.DEPLOYMENT_ACTIVATED, now.pk)
    count = len(announced)
    assert deployments.activate_due() == []
    assert len(announced) == count


def test_a_planned_time_needs_a_zone(people, prompt):
    naive = (timezone.now() + timedelta(hours=1)).replace(tzinfo=None)
    with pytest.raises(Invalid) as caught:
        deployments.deploy(
            people["ed"], prompt, env(prompt, "staging"), prompt.latest_version, when=naive
        )
    assert caught.value.details == {"field": "scheduled_for"}


def test_the_audit_trail_tells_when_a_plan_went_live(people, prompt):
    from audit.trail import Filters, prompt_trail

    due = plan(people, prompt, "development", 0.3)
    wait_until(due.effective_at)
    deployments.activate_due()
    newest = prompt_trail(prompt, Filters(kind="deployment")).entries[0]
    assert (newest.actor, newest.action) == (None, "version 2 went live in development as planned")
