"""Cached rights follow every change of a user's groups and object permissions, wherever
it is made: the admin's pages, guardian's helpers, or the ORM in a shell."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from guardian.shortcuts import assign_perm, remove_perm

from accounts.permissions import can, visible
from prompts.models import Prompt
from tests.conftest import client_with

P = "/api/v1/prompts/support/ticket-classifier"


def fresh(username: str):
    """The user as a new request would load it: only the cache remembers anything."""
    return get_user_model().objects.get(username=username)


def sees(username: str, prompt: Prompt) -> bool:
    user = fresh(username)
    seen = can(user, "view", prompt)
    assert seen == visible(user, Prompt.objects.filter(pk=prompt.pk)).exists()
    return seen


def viewers_of(team) -> Group:
    return Group.objects.get(name=f"team:{team.pk}:viewer")


@pytest.fixture
def root(people):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw")


@pytest.fixture
def admin_site(root) -> Client:
    client = Client()
    client.force_login(root)
    return client


# ---------------------------------------------------------------- the ORM and guardian


def test_adding_a_user_to_a_group_counts_at_once(people, prompt):
    assert not sees("gina", prompt)  # cached: no rights
    fresh("gina").groups.add(viewers_of(people["support"]))
    assert sees("gina", prompt)


def test_removing_a_user_from_the_other_side_counts_at_once(people, prompt):
    assert sees("vic", prompt)
    viewers_of(people["support"]).user_set.remove(people["vic"])
    assert not sees("vic", prompt)


def test_clearing_a_group_counts_at_once(people, prompt):
    assert sees("vic", prompt)
    viewers_of(people["support"]).user_set.clear()
    assert not sees("vic", prompt)


def test_deleting_a_group_counts_at_once(people, prompt):
    assert sees("vic", prompt)
    viewers_of(people["support"]).delete()
    assert not sees("vic", prompt)


def test_assign_and_remove_perm_count_at_once(people, prompt):
    assert not sees("gina", prompt)
    assign_perm("prompts.view_prompt", fresh("gina"), prompt)
    assert sees("gina", prompt)
    remove_perm("prompts.view_prompt", fresh("gina"), prompt)
    assert not sees("gina", prompt)


def test_assigning_on_many_objects_at_once_counts_too(people, prompt):
    # guardian writes these rows in bulk, which sends no signal
    assert not sees("gina", prompt)
    assign_perm("prompts.view_prompt", fresh("gina"), Prompt.objects.filter(pk=prompt.pk))
    assert sees("gina", prompt)


def test_a_groups_object_permission_taken_away_counts_for_its_members(people, prompt):
    assert sees("vic", prompt)
    remove_perm("accounts.view_prompts", viewers_of(people["support"]), people["support"])
    assert not sees("vic", prompt)


def test_a_token_sees_an_object_permission_at_once(people, prompt, token_of):
    service = client_with(token_of("gina"))
    assert service.get(P).status_code == 404
    assign_perm("prompts.view_prompt", fresh("gina"), prompt)
    assert service.get(P).status_code == 200


# ---------------------------------------------------------------- the admin's pages


def test_guardians_page_granting_a_prompt_counts_at_once(admin_site, people, prompt):
    assert not sees("gina", prompt)
    page = f"/admin/prompts/prompt/{prompt.pk}/permissions/user-manage/{people['gina'].pk}/"
    answer = admin_site.post(page, {"permissions": ["view_prompt"]})
    assert answer.status_code == 302
    assert sees("gina", prompt)
    assert admin_site.post(page, {"_save": "Save"}).status_code == 302  # none ticked
    assert not sees("gina", prompt)


def test_guardians_page_taking_a_groups_team_right_counts_for_its_members(
    admin_site, people, prompt
):
    assert sees("vic", prompt)
    group = viewers_of(people["support"])
    page = f"/admin/accounts/team/{people['support'].pk}/permissions/group-manage/{group.pk}/"
    assert admin_site.post(page, {"_save": "Save"}).status_code == 302  # none ticked
    assert not sees("vic", prompt)


def test_editing_a_users_groups_in_the_admin_counts_at_once(admin_site, people, prompt):
    assert not sees("gina", prompt)
    gina = fresh("gina")
    answer = admin_site.post(
        f"/admin/auth/user/{gina.pk}/change/",
        {
            "username": "gina",
            "email": gina.email,
            "is_active": "on",
            "groups": [viewers_of(people["support"]).pk],
            "date_joined_0": gina.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": gina.date_joined.strftime("%H:%M:%S"),
        },
    )
    assert answer.status_code == 302, answer.content
    assert sees("gina", prompt)


def test_deleting_a_group_in_the_admin_counts_at_once(admin_site, people, prompt):
    assert sees("vic", prompt)
    group = viewers_of(people["support"])
    answer = admin_site.post(f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"})
    assert answer.status_code == 302
    assert not sees("vic", prompt)
