"""The Django admin: every model listed, history read-only, guardian pages, and staff
seeing only what they may see."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from releases import services as deployments
from reviews.models import Comment


@pytest.fixture
def root(people):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw")


def signed_in(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def data(people, prompt, billing_prompt):
    Comment.objects.create(version=prompt.latest_version, author=people["rita"], body="ok")
    staging = prompt.team.environments.get(slug="staging")
    deployments.deploy(people["ed"], prompt, staging, prompt.latest_version)
    return people


@pytest.mark.parametrize(
    "model",
    [
        "accounts/team",
        "accounts/membership",
        "prompts/prompt",
        "prompts/version",
        "releases/environment",
        "releases/deployment",
        "reviews/comment",
        "reviews/review",
        "reviews/reviewrequest",
        "composition/reference",
    ],
)
def test_every_model_has_a_searchable_list(root, data, model):
    response = signed_in(root).get(f"/admin/{model}/?q=support")
    assert response.status_code == 200


def test_prompt_history_is_shown_and_read_only(root, data, prompt):
    c = signed_in(root)
    page = c.get(f"/admin/prompts/prompt/{prompt.pk}/history/")
    assert page.status_code == 200
    assert b"first" in page.content  # the change note of version 1
    record = prompt.history.first()
    revert = c.get(f"/admin/prompts/prompt/{prompt.pk}/history/{record.history_id}/")
    assert revert.status_code == 200
    assert b"Revert" not in revert.content and b'name="_save"' not in revert.content


def test_guardian_object_permission_pages_exist_for_teams_and_prompts(root, data, prompt):
    c = signed_in(root)
    assert c.get(f"/admin/accounts/team/{prompt.team_id}/permissions/").status_code == 200
    assert c.get(f"/admin/prompts/prompt/{prompt.pk}/permissions/").status_code == 200


def test_versions_cannot_be_added_changed_or_deleted_in_the_admin(root, data, prompt):
    c = signed_in(root)
    version = prompt.latest_version
    assert c.get("/admin/prompts/version/add/").status_code == 403
    assert (
        c.post(f"/admin/prompts/version/{version.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    page = c.get(f"/admin/prompts/version/{version.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content


def test_staff_see_only_their_teams_in_the_admin(data, prompt, billing_prompt):
    ed = data["ed"]
    ed.is_staff = True
    ed.save()
    ed.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_prompt", "view_version"])
    )
    c = signed_in(ed)
    listing = c.get("/admin/prompts/prompt/")
    assert listing.status_code == 200
    assert b"ticket-classifier" in listing.content
    assert b"invoice-reminder" not in listing.content
    assert c.get(f"/admin/prompts/prompt/{billing_prompt.pk}/change/").status_code in (302, 404)
    versions = c.get("/admin/prompts/version/")
    assert b"invoice" not in versions.content
