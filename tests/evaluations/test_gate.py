"""The environment rule "evaluation required": each refusal names what is missing."""

from __future__ import annotations

import pytest

from evaluations import datasets, services
from prompts import services as prompts
from registry_site.errors import Forbidden
from releases import services as releases
from releases.environments import find_environment
from tests.evaluations.conftest import golden_rows, work

ENV = "/api/v1/teams/support/environments/staging"
DEPLOY = "/api/v1/prompts/support/ticket-classifier/deployments"


@pytest.fixture
def gated(as_user, people):
    answer = as_user("alice").patch(
        ENV, {"required_evaluation": {"dataset": "golden", "min_pass_rate": 0.75}}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["required_evaluation"] == {"dataset": "golden", "min_pass_rate": 0.75}
    return find_environment(people["support"], "staging")


def refusal(people, prompt, env, number=1) -> dict:
    version = prompt.versions.get(number=number)
    with pytest.raises(Forbidden) as refused:
        releases.deploy(people["rita"], prompt, env, version)
    assert refused.value.details["reason"] == "evaluation_required"
    return refused.value.details


def evaluate(people, prompt, version=1) -> None:
    services.start_evaluation(
        people["ed"], prompt, dataset="golden", connection="local", version=version
    )
    work()


def test_no_dataset_of_that_name(people, prompt, gated):
    assert refusal(people, prompt, gated)["missing"] == "dataset"


def test_no_evaluation_ran(people, prompt, gated, golden):
    assert refusal(people, prompt, gated)["missing"] == "evaluation"


def test_pass_rate_too_low(people, prompt, gated, golden, connection, fake):
    fake.answers.update({"login broken": "billing", "app crashes": "billing"})
    evaluate(people, prompt)

    details = refusal(people, prompt, gated)
    assert details["missing"] == "pass_rate"
    assert details["pass_rate"] == 0.5 and details["min_pass_rate"] == 0.75


def test_only_an_older_revision_passed(people, prompt, gated, golden, connection, fake):
    evaluate(people, prompt)
    datasets.save_revision(people["ed"], prompt, "golden", rows=golden_rows(), checks=[])

    details = refusal(people, prompt, gated)
    assert details["missing"] == "dataset_revision"
    assert (details["evaluated_revision"], details["dataset_revision"]) == (1, 2)


def test_a_passing_evaluation_of_exactly_that_version_lets_it_through(
    as_user, people, prompt, gated, golden, connection, fake
):
    evaluate(people, prompt)
    prompts.add_version(people["ed"], prompt, template="Classify: {{ ticket_text }} for x")
    assert refusal(people, prompt, gated, number=2)["missing"] == "evaluation"

    answer = as_user("rita").post(DEPLOY, {"environment": "staging", "version": 1}, format="json")
    assert answer.status_code in (200, 201), answer.content


def test_the_api_refuses_with_403_and_null_removes_the_rule(as_user, people, prompt, gated):
    refused = as_user("rita").post(DEPLOY, {"environment": "staging", "version": 1}, format="json")
    assert refused.status_code == 403
    assert refused.json()["error"]["details"]["reason"] == "evaluation_required"

    cleared = as_user("alice").patch(ENV, {"required_evaluation": None}, format="json")
    assert cleared.json()["required_evaluation"] is None
    allowed = as_user("rita").post(DEPLOY, {"environment": "staging", "version": 1}, format="json")
    assert allowed.status_code in (200, 201)


@pytest.mark.parametrize(
    "rule",
    [{"dataset": "golden"}, {"dataset": "Bad Name", "min_pass_rate": 0.5},
     {"dataset": "golden", "min_pass_rate": 1.5}, "golden"],
)  # fmt: skip
def test_a_bad_rule_is_400(as_user, people, rule):
    answer = as_user("alice").patch(ENV, {"required_evaluation": rule}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"]["details"]["field"] == "required_evaluation"


def test_an_admin_sets_the_rule_on_the_environments_page(client, people):
    client.force_login(people["alice"])
    form = {
        "name": "Staging",
        "order": 1,
        "required_approvals": 0,
        "evaluation_dataset": "golden",
        "evaluation_min_pass_rate": "0.8",
    }
    client.post("/teams/support/environments/staging/", form)

    env = find_environment(people["support"], "staging")
    assert env.required_evaluation == {"dataset": "golden", "min_pass_rate": 0.8}
    page = client.get("/teams/support/environments/").content.decode()
    assert 'value="golden"' in page
