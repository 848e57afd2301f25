"""Archived prompts through the API: found and read by those who may restore them.

Who sees an archived prompt is who may restore it: team admins, and someone granted
admin rights on that one prompt. Everyone else finds nothing, as if it were gone: an
empty archived list (no error: it is a filter of what one may see) and a 404 on the
prompt. A token sees them only with the scope restoring needs (write).
"""

import pytest

from accounts import services as accounts
from prompts import services

P = "/api/v1/prompts/support/ticket-classifier"
ARCHIVED = "/api/v1/prompts?archived=true"


@pytest.fixture
def archived(people, prompt, billing_prompt):
    services.create_prompt(
        people["ed"], people["support"], name="Still here", template="Hi {{ x }}"
    )
    services.archive_prompt(people["alice"], prompt)
    services.archive_prompt(people["oscar"], billing_prompt)
    return prompt


def addresses(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [f"{p['team']}/{p['slug']}" for p in response.json()["results"]]


def test_a_team_admin_lists_the_archived_prompts_of_the_team(as_user, archived):
    response = as_user("alice").get(ARCHIVED)
    assert addresses(response) == ["support/ticket-classifier"]
    (body,) = response.json()["results"]
    assert body["archived"] is True and body["latest_version"] == 1
    assert response.json()["count"] == 1


def test_the_plain_list_still_leaves_archived_prompts_out(as_user, archived):
    for url in ["/api/v1/prompts", "/api/v1/prompts?archived=false"]:
        assert addresses(as_user("alice").get(url)) == ["support/still-here"]


@pytest.mark.parametrize("username", ["vic", "ed", "rita", "gina"])
def test_members_who_may_not_restore_list_no_archived_prompt(as_user, archived, username):
    assert addresses(as_user(username).get(ARCHIVED)) == []


def test_an_admin_of_another_team_lists_only_their_own(as_user, archived):
    assert addresses(as_user("oscar").get(ARCHIVED)) == ["billing/invoice-reminder"]


def test_an_admin_grant_on_one_prompt_lists_that_prompt(as_user, people, archived):
    accounts.grant_on_prompt(people["alice"], archived, "gina", "admin")
    assert addresses(as_user("gina").get(ARCHIVED)) == ["support/ticket-classifier"]
    assert as_user("gina").get(P).json()["archived"] is True


def test_a_read_token_of_an_admin_does_not_reach_archived_prompts(as_user, archived):
    reader = as_user("alice", scopes=["read"])
    assert addresses(reader.get(ARCHIVED)) == []
    assert reader.get(P).status_code == 404


def test_the_archived_list_takes_the_other_filters(as_user, archived):
    alice = as_user("alice")
    assert addresses(alice.get(f"{ARCHIVED}&q=classifier&team=support")) == [
        "support/ticket-classifier"
    ]
    assert addresses(alice.get(f"{ARCHIVED}&q=nothing-like-it")) == []
    assert addresses(alice.get(f"{ARCHIVED}&tag=triage")) == ["support/ticket-classifier"]


@pytest.mark.parametrize("value", ["yes", "", "2", "TRUEish"])
def test_a_malformed_archived_flag_is_a_400(as_user, archived, value):
    response = as_user("alice").get(f"/api/v1/prompts?archived={value}")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "archived"


def test_a_team_admin_reads_an_archived_prompt_and_restores_it(as_user, archived):
    alice = as_user("alice")
    body = alice.get(P).json()
    assert (body["slug"], body["archived"]) == ("ticket-classifier", True)
    restored = alice.post(f"{P}/restore")
    assert restored.status_code == 200 and restored.json()["archived"] is False
    assert alice.get(P).json()["archived"] is False
    assert addresses(alice.get(ARCHIVED)) == []


def test_a_former_address_of_an_archived_prompt_answers_its_admin(as_user, people, prompt):
    services.update_prompt(people["ed"], prompt, slug="classifier")
    services.archive_prompt(people["alice"], prompt)
    body = as_user("alice").get(P).json()
    assert (body["slug"], body["archived"]) == ("classifier", True)


@pytest.mark.parametrize("username", ["vic", "ed", "rita", "oscar", "gina"])
def test_an_archived_prompt_is_a_404_to_everyone_else(as_user, archived, username):
    response = as_user(username).get(P)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_an_archived_prompt_stays_out_of_its_other_endpoints(as_user, archived):
    alice = as_user("alice")
    assert alice.get(f"{P}/versions").status_code == 404
    assert alice.get(f"{P}/resolve?environment=development").status_code == 404
    assert alice.patch(P, {"description": "x"}, format="json").status_code == 404
