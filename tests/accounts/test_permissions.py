"""Every service function against every role, an outsider and a single-prompt grant."""

import pytest
from guardian.shortcuts import get_perms

from accounts import services as accounts
from accounts.permissions import ROLE_ACTIONS, can, team_permissions, visible
from prompts import services
from prompts.models import Prompt, Version
from registry_site.errors import Forbidden, NotFound
from releases import policy
from releases import services as deployments
from releases.models import Deployment, Environment
from reviews.models import Comment
from serving import services as resolve

ALLOWED, FORBIDDEN, HIDDEN = "allowed", "forbidden", "hidden"


def role_of(user, team):
    """The highest role whose permissions guardian holds for the user on the team."""
    held = set(get_perms(user, team))
    roles = [role for role in ROLE_ACTIONS if set(team_permissions(role)) <= held]
    return roles[-1] if roles else None


def approve(people, version):
    Comment.objects.create(version=version, author=people["rita"], body="ok", verdict="approve")


def env(prompt, slug):
    return Environment.objects.get(team=prompt.team, slug=slug)


ACTIONS = {
    "create_prompt": lambda u, p, ppl: services.create_prompt(
        u, ppl["support"], name="New one", template="Hi {{ x }}"
    ),
    "add_version": lambda u, p, ppl: services.add_version(u, p, template="v2 {{ x }}"),
    "update_prompt": lambda u, p, ppl: services.update_prompt(u, p, description="changed"),
    "rename": lambda u, p, ppl: services.update_prompt(u, p, slug="renamed"),
    "archive": lambda u, p, ppl: services.archive_prompt(u, p),
    "restore": lambda u, p, ppl: services.restore_prompt(u, p),
    "deploy_unprotected": lambda u, p, ppl: deployments.deploy(
        u, p, env(p, "staging"), p.latest_version
    ),
    "deploy_protected": lambda u, p, ppl: (
        approve(ppl, p.latest_version),
        deployments.deploy(u, p, env(p, "production"), p.latest_version),
    ),
    "rollback": lambda u, p, ppl: (
        services.add_version(
            ppl["ed"], p, template="v2 {{ ticket_text }}", deploy_to="development"
        ),
        deployments.rollback(u, p, env(p, "development")),
    ),
    "resolve": lambda u, p, ppl: resolve.resolve(
        u, "support", "ticket-classifier", environment="development"
    ),
    "render": lambda u, p, ppl: resolve.render(
        u, "support", "ticket-classifier", {"ticket_text": "hi"}, environment="development"
    ),
}

EXPECTED = {
    #                     viewer     editor     reviewer   admin      outsider  grant
    "create_prompt": (FORBIDDEN, ALLOWED, ALLOWED, ALLOWED, HIDDEN, HIDDEN),
    "add_version": (FORBIDDEN, ALLOWED, ALLOWED, ALLOWED, HIDDEN, ALLOWED),
    "update_prompt": (FORBIDDEN, ALLOWED, ALLOWED, ALLOWED, HIDDEN, ALLOWED),
    "rename": (FORBIDDEN, ALLOWED, ALLOWED, ALLOWED, HIDDEN, ALLOWED),
    "archive": (FORBIDDEN, FORBIDDEN, FORBIDDEN, ALLOWED, HIDDEN, FORBIDDEN),
    "restore": (FORBIDDEN, FORBIDDEN, FORBIDDEN, ALLOWED, HIDDEN, FORBIDDEN),
    "deploy_unprotected": (FORBIDDEN, ALLOWED, ALLOWED, ALLOWED, HIDDEN, ALLOWED),
    "deploy_protected": (FORBIDDEN, FORBIDDEN, ALLOWED, ALLOWED, HIDDEN, FORBIDDEN),
    "rollback": (FORBIDDEN, ALLOWED, ALLOWED, ALLOWED, HIDDEN, ALLOWED),
    "resolve": (ALLOWED, ALLOWED, ALLOWED, ALLOWED, HIDDEN, ALLOWED),
    "render": (ALLOWED, ALLOWED, ALLOWED, ALLOWED, HIDDEN, ALLOWED),
}
PERSONAS = ["vic", "ed", "rita", "alice", "oscar", "gina"]


def cases() -> list:
    found = []
    for action, outcomes in EXPECTED.items():
        for persona, outcome in zip(PERSONAS, outcomes, strict=True):
            found.append(pytest.param(action, persona, outcome, id=f"{action}-{persona}"))
    return found


@pytest.mark.parametrize("action, persona, outcome", cases())
def test_service_permissions(people, prompt, action, persona, outcome):
    # gina holds an editor's rights on this one prompt only
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "editor")
    if action == "restore":
        services.archive_prompt(people["alice"], prompt)
        prompt.refresh_from_db()
    user = people[persona]
    counts = (Prompt.objects.count(), Version.objects.count(), Deployment.objects.count())
    run = ACTIONS[action]
    if outcome == ALLOWED:
        run(user, prompt, people)
        return
    expected_error = Forbidden if outcome == FORBIDDEN else NotFound
    with pytest.raises(expected_error):
        run(user, prompt, people)
    if action not in ("deploy_protected", "rollback"):  # these set up data first
        assert (
            Prompt.objects.count(),
            Version.objects.count(),
            Deployment.objects.count(),
        ) == counts


def test_an_editor_is_told_why_production_is_refused(people, prompt):
    with pytest.raises(Forbidden) as caught:
        deployments.deploy(people["ed"], prompt, env(prompt, "production"), prompt.latest_version)
    assert caught.value.details["reason"] == "protected_environment"


def test_production_needs_an_approval_from_someone_else(people, prompt):
    production = env(prompt, "production")
    version = services.add_version(people["rita"], prompt, template="by rita {{ x }}")
    Comment.objects.create(version=version, author=people["rita"], body="me", verdict="approve")
    with pytest.raises(Forbidden) as caught:
        deployments.deploy(people["rita"], prompt, production, version)
    assert caught.value.details == {"reason": "approvals_required", "required": 1, "approvals": 0}
    Comment.objects.create(version=version, author=people["alice"], body="ok", verdict="approve")
    assert deployments.deploy(people["rita"], prompt, production, version).version == version


def test_a_later_request_for_changes_withdraws_an_approval(people, prompt):
    version = prompt.latest_version
    Comment.objects.create(version=version, author=people["rita"], body="ok", verdict="approve")
    Comment.objects.create(
        version=version, author=people["rita"], body="no", verdict="request_changes"
    )
    assert policy.approvals(version) == 0


def test_roles_are_mirrored_into_guardian(people):
    support = people["support"]
    assert [role_of(people[n], support) for n in PERSONAS] == [
        "viewer",
        "editor",
        "reviewer",
        "admin",
        None,
        None,
    ]
    assert people["ed"].has_perm("accounts.edit_prompts", support)
    assert not people["vic"].has_perm("accounts.edit_prompts", support)


def test_a_role_change_takes_effect_at_once(people, prompt):
    assert not can(people["vic"], "edit", prompt)
    accounts.set_role(people["alice"], people["support"], "vic", "editor")
    assert can(people["vic"], "edit", prompt)
    accounts.remove_member(people["alice"], people["support"], "vic")
    assert not can(people["vic"], "view", prompt)


def test_a_team_keeps_an_admin(people):
    from registry_site.errors import Conflict

    with pytest.raises(Conflict):
        accounts.set_role(people["alice"], people["support"], "alice", "viewer")


def test_only_admins_manage_members(people):
    with pytest.raises(Forbidden):
        accounts.set_role(people["rita"], people["support"], "vic", "admin")
    with pytest.raises(NotFound):
        accounts.set_role(people["oscar"], people["support"], "vic", "admin")


def test_only_staff_create_teams(people):
    with pytest.raises(Forbidden):
        accounts.create_team(people["alice"], "new-team", "New")
    team = accounts.create_team(people["stella"], "new-team", "New")
    assert role_of(people["stella"], team) == "admin"


def test_superusers_may_do_anything(people, prompt):
    from django.contrib.auth import get_user_model

    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    assert all(can(root, action, prompt) for action in ["view", "edit", "deploy", "admin"])
    assert visible(root, Prompt.objects.all()).count() == Prompt.objects.count()


def test_inactive_users_may_do_nothing(people, prompt):
    ed = people["ed"]
    ed.is_active = False
    ed.save()
    assert not can(ed, "view", prompt)
    assert visible(ed, Prompt.objects.all()).count() == 0


def test_operators_create_teams_from_the_shell(people):
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("create_team", "research", "Research", "--admin", "vic", stdout=StringIO())
    from accounts.models import Team

    team = Team.objects.get(slug="research")
    assert role_of(people["vic"], team) == "admin"
    assert team.environments.count() == 3
    with pytest.raises(CommandError, match="exists"):
        call_command("create_team", "research", "Again", "--admin", "vic", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("create_team", "x", "X", "--admin", "nobody", stdout=StringIO())
