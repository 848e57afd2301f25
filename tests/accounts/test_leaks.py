"""Data in two teams: nothing of one ever shows in the other's visible()."""

import pytest

from accounts import services as accounts
from accounts.models import Membership, Team
from accounts.permissions import visible
from prompts.models import Prompt, Version
from releases import services as deployments
from releases.models import Deployment, Environment
from reviews.models import Comment, Review

MODELS = [Team, Membership, Environment, Prompt, Version, Deployment, Comment, Review]


@pytest.fixture
def two_teams(people, prompt, billing_prompt):
    Comment.objects.create(version=prompt.latest_version, author=people["rita"], body="a")
    Comment.objects.create(version=billing_prompt.latest_version, author=people["oscar"], body="b")
    Review.objects.create(version=prompt.latest_version, status="in_review")
    Review.objects.create(version=billing_prompt.latest_version, status="in_review")
    staging = billing_prompt.team.environments.get(slug="staging")
    deployments.deploy(people["oscar"], billing_prompt, staging, billing_prompt.latest_version)
    return people


def team_of(obj):
    for path in ["team", "prompt.team", "version.prompt.team"]:
        current = obj
        try:
            for part in path.split("."):
                current = getattr(current, part)
        except AttributeError:
            continue
        return current
    return obj


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("persona", ["alice", "rita", "ed", "vic"])
def test_support_people_never_see_billing(two_teams, model, persona):
    seen = visible(two_teams[persona], model.objects.all())
    assert seen.exists()
    assert {team_of(obj).slug for obj in seen} == {"support"}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_billing_people_never_see_support(two_teams, model):
    seen = visible(two_teams["oscar"], model.objects.all())
    assert {team_of(obj).slug for obj in seen} == {"billing"}


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_someone_without_a_team_sees_nothing(two_teams, model):
    assert visible(two_teams["gina"], model.objects.all()).count() == 0


def test_a_single_prompt_grant_shows_that_prompt_only(two_teams, prompt):
    from prompts import services

    other = services.create_prompt(
        two_teams["ed"], two_teams["support"], name="Other", template="x"
    )
    accounts.grant_on_prompt(two_teams["alice"], prompt, "gina", "viewer")
    gina = two_teams["gina"]
    assert list(visible(gina, Prompt.objects.all())) == [prompt]
    assert set(visible(gina, Version.objects.all()).values_list("prompt_id", flat=True)) == {
        prompt.pk
    }
    assert other not in visible(gina, Prompt.objects.all())
    assert list(visible(gina, Team.objects.all())) == [two_teams["support"]]
    accounts.revoke_on_prompt(two_teams["alice"], prompt, "gina")
    assert visible(gina, Prompt.objects.all()).count() == 0
