"""make run's demo data: two teams, every role, a dozen prompts with history."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Membership, Team
from prompts.models import Prompt, Version
from releases import policy
from releases.models import Deployment
from reviews.models import Comment, ReviewRequest, ReviewStatus
from serving import services as resolve


def test_demo_data_loads_once_and_prints_how_to_sign_in(db, settings):
    settings.DEBUG = True
    out = StringIO()
    call_command("load_demo", stdout=out)
    assert set(Team.objects.values_list("slug", flat=True)) == {"support", "growth"}
    assert set(Membership.objects.values_list("role", flat=True)) == {
        "viewer",
        "editor",
        "reviewer",
        "admin",
    }
    assert Prompt.objects.count() >= 12
    assert Version.objects.count() > Prompt.objects.count()
    assert Deployment.objects.filter(environment__slug="production").count() >= 12
    assert Comment.objects.exists()
    assert "alice / alice-demo" in out.getvalue()
    call_command("load_demo", stdout=StringIO())  # a second run changes nothing
    assert Prompt.objects.count() == 12


def test_the_demo_prompts_resolve_in_production(db, settings):
    from django.contrib.auth import get_user_model

    settings.DEBUG = True
    call_command("load_demo", stdout=StringIO())
    vic = get_user_model().objects.get(username="vic")
    found = resolve.resolve(vic, "support", "ticket-classifier", environment="production")
    assert found.payload["version"] == 3


def test_demo_data_refuses_to_load_in_production(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("load_demo", stdout=StringIO())


def test_every_demo_release_to_production_was_reviewed_as_a_user_would(db, settings):
    settings.DEBUG = True
    call_command("load_demo", stdout=StringIO())
    released = Deployment.objects.filter(environment__slug="production").select_related(
        "environment", "version__prompt"
    )
    assert released.count() == Prompt.objects.count()
    for deployment in released:
        version = deployment.version
        assert version.status == ReviewStatus.APPROVED, version.prompt
        assert policy.approvals(version) >= deployment.environment.required_approvals >= 1
        approvers = Comment.objects.filter(version=version, verdict="approve")
        assert version.author_id not in {c.author_id for c in approvers}
        assert ReviewRequest.objects.filter(version=version).exists()


def test_the_demo_prompt_page_shows_its_release_approved(client, db, settings):
    from django.contrib.auth import get_user_model

    settings.DEBUG = True
    call_command("load_demo", stdout=StringIO())
    client.force_login(get_user_model().objects.get(username="vic"))
    html = client.get("/p/support/ticket-classifier/").content.decode()
    assert '<span class="status-approved">Approved</span>' in html
