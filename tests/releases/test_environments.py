"""A team's environments, managed by its admins (releases.environments)."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from registry_site.errors import Conflict, Forbidden, Invalid, NotFound
from releases import environments, live
from releases.models import Environment
from serving import services as resolve


def env(team, slug: str) -> Environment:
    return Environment.objects.get(team=team, slug=slug)


def slugs(team) -> list[str]:
    return list(Environment.objects.filter(team=team).values_list("slug", flat=True))


def default_of(team) -> list[str]:
    return list(
        Environment.objects.filter(team=team, is_default=True).values_list("slug", flat=True)
    )


def test_an_admin_adds_an_environment_last_by_default(people):
    made = environments.create_environment(
        people["alice"],
        people["support"],
        slug="canary",
        name="Canary",
        protected=True,
        required_approvals=2,
        requires_previous=True,
    )
    assert slugs(people["support"]) == ["development", "staging", "production", "canary"]
    assert (made.order, made.protected, made.required_approvals, made.requires_previous) == (
        3,
        True,
        2,
        True,
    )
    record = made.history.first()
    assert (record.history_user, record.history_change_reason) == (
        people["alice"],
        "environment canary added",
    )


def test_an_admin_changes_the_rules_and_history_says_what(people):
    staging = env(people["support"], "staging")
    environments.update_environment(
        people["alice"], staging, protected=True, required_approvals=1, reason="audit asked"
    )
    staging.refresh_from_db()
    assert (staging.protected, staging.required_approvals) == (True, 1)
    assert staging.history.first().history_change_reason == "audit asked"
    environments.update_environment(people["alice"], staging, name="Pre-production")
    assert staging.history.first().history_change_reason == "changed name"


def test_moving_the_default_leaves_exactly_one(people):
    team = people["support"]
    environments.update_environment(people["alice"], env(team, "staging"), is_default=True)
    assert default_of(team) == ["staging"]
    production = env(team, "production")
    assert production.history.first().history_change_reason == "default moved to staging"
    environments.create_environment(people["alice"], team, slug="live", is_default=True)
    assert default_of(team) == ["live"]


def test_the_default_cannot_be_unmarked_or_deleted_only_moved(people):
    production = env(people["support"], "production")
    with pytest.raises(Conflict) as caught:
        environments.update_environment(people["alice"], production, is_default=False)
    assert caught.value.details["reason"] == "default_required"
    with pytest.raises(Conflict):
        environments.delete_environment(people["alice"], production)
    assert default_of(people["support"]) == ["production"]


def test_resolve_follows_a_moved_default_at_once(people, prompt):
    vic = people["vic"]
    with pytest.raises(NotFound):  # nothing live in production, the default
        resolve.resolve(vic, "support", "ticket-classifier")
    environments.update_environment(
        people["alice"], env(people["support"], "development"), is_default=True
    )
    assert resolve.resolve(vic, "support", "ticket-classifier").environment == "development"
    resolve.resolve(vic, "support", "ticket-classifier")  # cached now
    environments.update_environment(
        people["alice"], env(people["support"], "staging"), is_default=True
    )
    with pytest.raises(NotFound) as caught:
        resolve.resolve(vic, "support", "ticket-classifier")
    assert caught.value.code == "not_deployed"


def test_an_unused_environment_can_be_deleted_a_used_one_cannot(people, prompt):
    team = people["support"]
    environments.delete_environment(people["alice"], env(team, "staging"))
    assert slugs(team) == ["development", "production"]
    with pytest.raises(Conflict) as caught:
        environments.delete_environment(people["alice"], env(team, "development"))
    assert caught.value.details["reason"] == "in_use"
    assert live.live_deployment(prompt, env(team, "development")) is not None


@pytest.mark.parametrize("username", ["rita", "ed", "vic"])
def test_members_who_are_not_admins_are_refused_with_the_rule(people, username):
    staging = env(people["support"], "staging")
    for act in (
        lambda: environments.create_environment(people[username], people["support"], slug="x"),
        lambda: environments.update_environment(people[username], staging, protected=True),
        lambda: environments.delete_environment(people[username], staging),
    ):
        with pytest.raises(Forbidden) as caught:
            act()
        assert caught.value.details["reason"] == "role"
    assert slugs(people["support"]) == ["development", "staging", "production"]


def test_outsiders_are_told_nothing_exists(people):
    with pytest.raises(NotFound):
        environments.create_environment(people["oscar"], people["support"], slug="x")
    with pytest.raises(NotFound):
        environments.update_environment(
            people["oscar"], env(people["support"], "staging"), protected=True
        )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"required_approvals": -1}, "required_approvals"),
        ({"required_approvals": 21}, "required_approvals"),
        ({"required_approvals": True}, "required_approvals"),
        ({"required_approvals": "2"}, "required_approvals"),
        ({"order": -5}, "order"),
        ({"protected": "yes"}, "protected"),
        ({"is_default": 1}, "is_default"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"slug": "renamed"}, "slug"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_rules_are_refused_and_change_nothing(people, changes, field):
    staging = env(people["support"], "staging")
    with pytest.raises(Invalid) as caught:
        environments.update_environment(people["alice"], staging, **changes)
    assert caught.value.details["field"] == field
    assert env(people["support"], "staging").history.count() == 1


def test_a_taken_or_malformed_slug_is_refused(people):
    with pytest.raises(Conflict) as caught:
        environments.create_environment(people["alice"], people["support"], slug="staging")
    assert caught.value.details == {"field": "slug"}
    with pytest.raises(Invalid):
        environments.create_environment(people["alice"], people["support"], slug="Not A Slug")
    # Another team's slug is its own business.
    environments.create_environment(people["oscar"], people["billing"], slug="canary")
    environments.create_environment(people["alice"], people["support"], slug="canary")


@pytest.mark.django_db(transaction=True)
def test_admins_moving_the_default_at_once_leave_one_default(people):
    team = people["support"]
    targets = ["development", "staging", "development", "staging", "production", "staging"]
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def move(slug: str) -> None:
        try:
            barrier.wait()
            environments.update_environment(people["alice"], env(team, slug), is_default=True)
        except Conflict:
            pass  # lost the race after its retries: refused, nothing half-written
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=move, args=(slug,)) for slug in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(default_of(team)) == 1
