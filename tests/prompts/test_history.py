"""Each service write leaves exactly one history record, with its user and reason."""

import pytest
from django.utils import timezone

from accounts import services as accounts
from prompts import services
from prompts.models import Prompt
from releases import services as deployments
from releases.models import Deployment


def records(model, **filters):
    return list(model.history.filter(**filters).order_by("history_id"))


def test_creating_a_prompt_leaves_one_record(people):
    p = services.create_prompt(
        people["ed"], people["support"], name="x", template="Hi", change_note="because"
    )
    [record] = records(Prompt, id=p.pk)
    assert (record.history_user, record.history_change_reason, record.history_type) == (
        people["ed"],
        "because",
        "+",
    )


@pytest.mark.parametrize(
    "write, reason",
    [
        (
            lambda p, u: services.add_version(u["ed"], p, template="B {{ x }}", change_note="tone"),
            "tone",
        ),
        (lambda p, u: services.update_prompt(u["ed"], p, description="d", reason="docs"), "docs"),
        (lambda p, u: services.update_prompt(u["ed"], p, slug="renamed"), "renamed to renamed"),
        (lambda p, u: services.archive_prompt(u["alice"], p, reason="unused"), "unused"),
    ],
)
def test_each_prompt_write_leaves_one_record(people, prompt, write, reason):
    before = Prompt.history.filter(id=prompt.pk).count()
    write(prompt, people)
    new = records(Prompt, id=prompt.pk)[before:]
    assert len(new) == 1
    assert new[0].history_user in {people["ed"], people["alice"]}
    assert new[0].history_change_reason == reason


def test_a_deployment_leaves_one_record(people, prompt):
    staging = prompt.team.environments.get(slug="staging")
    d = deployments.deploy(people["ed"], prompt, staging, prompt.latest_version, note="ship")
    [record] = records(Deployment, id=d.pk)
    assert (record.history_user, record.history_change_reason) == (people["ed"], "ship")


def test_a_planned_deployment_and_its_cancellation_leave_one_record_each(people, prompt):
    staging = prompt.team.environments.get(slug="staging")
    later = timezone.now() + timezone.timedelta(hours=1)
    d = deployments.deploy(people["ed"], prompt, staging, prompt.latest_version, when=later)
    deployments.cancel(people["ed"], d)
    reasons = [r.history_change_reason for r in records(Deployment, id=d.pk)]
    assert reasons == ["deploy version 1 to staging", "planned deployment cancelled"]


def test_a_role_change_leaves_one_membership_record(people):
    from accounts.models import Membership

    m = Membership.objects.get(team=people["support"], user=people["vic"])
    before = Membership.history.filter(id=m.pk).count()
    accounts.set_role(people["alice"], people["support"], "vic", "editor")
    new = records(Membership, id=m.pk)[before:]
    assert [(r.history_user, r.history_change_reason, r.role) for r in new] == [
        (people["alice"], "role set to editor", "editor")
    ]
