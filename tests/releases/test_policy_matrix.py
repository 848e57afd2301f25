"""The release policy as a matrix, in services, the API and the deploy form.

Every combination of who deploys (a role in the team, or a grant on the one prompt) ×
whether staging is protected × the approvals it requires and those the version has ×
whether the author approved their own version × "live in the previous environment
first" (off, unmet, met) is either allowed or refused naming one rule. ``expected``
states the rules once; the services run every case, the API and the page a generated
subset that holds every outcome of every persona.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from accounts import services as accounts
from prompts import services
from registry_site.errors import Forbidden
from releases import services as deployments
from releases.live import live_deployment
from releases.models import Deployment, Environment
from reviews import services as review
from reviews.models import Comment
from tests.conftest import make_user

# persona -> (username, may edit, may review); gina's rights come from a grant on the
# prompt alone, not from the team.
PERSONAS = {
    "viewer": ("vic", False, False),
    "editor": ("ed", True, False),
    "reviewer": ("rita", True, True),
    "admin": ("alice", True, True),
    "grant-editor": ("gina", True, False),
    "grant-reviewer": ("gina", True, True),
}
# (approvals staging requires, approvals the version has from others)
APPROVALS = [(0, 0), (1, 0), (1, 1), (2, 1)]
PREVIOUS = ["off", "unmet", "met"]

MESSAGES = {
    "role": "Only editors deploy.",
    "protected_environment": "a protected environment",
    "approvals_required": "approval(s) from someone other than the author",
    "previous_environment": "were live in development first",
}


@dataclass(frozen=True)
class Case:
    persona: str
    protected: bool
    required: int
    approvals: int
    self_approved: bool
    previous: str

    @property
    def id(self) -> str:
        return (
            f"{self.persona}-{'protected' if self.protected else 'open'}-"
            f"needs{self.required}-has{self.approvals}-"
            f"{'self' if self.self_approved else 'noself'}-previous_{self.previous}"
        )


def expected(case: Case) -> str | None:
    """The rule that refuses the case, checked in this order, or None: allowed."""
    _, may_edit, may_review = PERSONAS[case.persona]
    if not may_edit:
        return "role"
    if case.protected and not may_review:
        return "protected_environment"
    if case.approvals < case.required:  # the author's own approval never counts
        return "approvals_required"
    if case.previous == "unmet":
        return "previous_environment"
    return None


MATRIX = [
    Case(persona, protected, required, approvals, self_approved, previous)
    for persona, protected, (required, approvals), self_approved, previous in itertools.product(
        PERSONAS, [False, True], APPROVALS, [False, True], PREVIOUS
    )
]


def _subset() -> list[Case]:
    """For each persona, each outcome it can meet, once with and once without the
    author's own approval where both exist; plus every case where that approval alone
    would make up the count (it must not)."""
    chosen: dict[tuple, Case] = {}
    for case in MATRIX:
        chosen.setdefault((case.persona, expected(case), case.self_approved), case)
    shortfall = [
        c
        for c in MATRIX
        if c.self_approved and c.approvals + 1 == c.required and c.previous == "met"
    ]
    return list({c.id: c for c in [*chosen.values(), *shortfall]}.values())


SUBSET = _subset()


def test_the_subset_meets_every_rule_for_every_persona():
    outcomes = {(c.persona, expected(c)) for c in MATRIX}
    assert outcomes == {(c.persona, expected(c)) for c in SUBSET}
    assert {expected(c) for c in SUBSET} == {None, *MESSAGES}


# ---------------------------------------------------------------- arranging a case


@pytest.fixture
def world(people, prompt):
    """rex, a second reviewer who gives the approvals; staging with no rules yet."""
    make_user("rex")
    accounts.set_role(people["alice"], people["support"], "rex", "reviewer")
    return {**people, "rex": get_user_model().objects.get(username="rex")}


def arrange(world, prompt, case: Case):
    """Staging with the case's rules, and version 2 in the state the case asks for.
    Returns (the acting user, staging, version 2)."""
    username, may_edit, _ = PERSONAS[case.persona]
    actor = world[username]
    if case.persona.startswith("grant-"):
        role = "reviewer" if case.persona == "grant-reviewer" else "editor"
        accounts.grant_on_prompt(world["alice"], prompt, username, role)
    author = actor if may_edit else world["ed"]
    v2 = services.add_version(author, prompt, template="Sort: {{ ticket_text }}")
    if case.self_approved:
        # What review.add_comment refuses to write; as if a verdict slipped in anyway.
        Comment.objects.create(version=v2, author=author, body="mine is fine", verdict="approve")
    approvers = [world["rex"], world["rita"] if author != world["rita"] else world["alice"]]
    for reviewer in approvers[: case.approvals]:
        review.add_comment(reviewer, v2, body="Looks right", verdict="approve")
    if case.previous == "met":
        development = Environment.objects.get(team=prompt.team, slug="development")
        deployments.deploy(world["ed"], prompt, development, v2)
    Environment.objects.filter(team=prompt.team, slug="staging").update(
        protected=case.protected,
        required_approvals=case.required,
        requires_previous=case.previous != "off",
    )
    staging = Environment.objects.get(team=prompt.team, slug="staging")
    return actor, staging, v2


def live_in_staging(prompt) -> int:
    return Deployment.objects.filter(prompt=prompt, environment__slug="staging").count()


# ---------------------------------------------------------------- services


@pytest.mark.parametrize("case", MATRIX, ids=[c.id for c in MATRIX])
def test_the_policy_in_services(world, prompt, case):
    actor, staging, v2 = arrange(world, prompt, case)
    reason = expected(case)
    if reason is None:
        made = deployments.deploy(actor, prompt, staging, v2)
        assert live_deployment(prompt, staging) == made
        return
    with pytest.raises(Forbidden) as refused:
        deployments.deploy(actor, prompt, staging, v2)
    assert refused.value.details["reason"] == reason
    assert MESSAGES[reason] in refused.value.message
    assert live_in_staging(prompt) == 0


# ---------------------------------------------------------------- API


@pytest.mark.parametrize("case", SUBSET, ids=[c.id for c in SUBSET])
def test_the_policy_through_the_api(world, prompt, as_user, case):
    actor, _, _ = arrange(world, prompt, case)
    response = as_user(actor.username).post(
        "/api/v1/prompts/support/ticket-classifier/deployments",
        {"environment": "staging", "version": 2},
        format="json",
    )
    reason = expected(case)
    if reason is None:
        assert response.status_code == 201, response.content
        assert (response.json()["state"], response.json()["version"]) == ("active", 2)
        return
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert (error["code"], error["details"]["reason"]) == ("forbidden", reason)
    assert live_in_staging(prompt) == 0


# ---------------------------------------------------------------- the deploy form


@pytest.mark.parametrize("case", SUBSET, ids=[c.id for c in SUBSET])
def test_the_policy_through_the_deploy_form(world, prompt, case):
    actor, _, _ = arrange(world, prompt, case)
    client = Client()
    client.force_login(actor)
    response = client.post(
        "/p/support/ticket-classifier/deploy/",
        {"environment": "staging", "version": "2", "note": "kept on refusal"},
    )
    reason = expected(case)
    if reason is None:
        assert response.status_code == 302
        assert live_in_staging(prompt) == 1
        return
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-reason="{reason}"' in html
    assert MESSAGES[reason] in html.replace("&#x27;", "'")
    assert "kept on refusal" in html  # nothing typed is lost
    assert live_in_staging(prompt) == 0
