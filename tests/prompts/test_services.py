"""Services: prompts and versions are created, changed and archived as the contract says."""

import pytest

from prompts import services
from prompts.models import Prompt, PromptAddress, Version
from registry_site.errors import Conflict, Invalid, NotFound
from releases.live import live_deployment


def test_it_creates_a_prompt_with_version_one(people, prompt):
    version = prompt.latest_version
    assert (prompt.slug, version.number, version.author, version.change_note) == (
        "ticket-classifier",
        1,
        people["ed"],
        "first",
    )
    assert [v["name"] for v in version.variables] == ["product", "ticket_text"]
    assert {v["name"]: v["required"] for v in version.variables} == {
        "product": False,
        "ticket_text": True,
    }
    assert len(version.content_hash) == 64


def test_the_slug_defaults_to_a_slug_of_the_name(people):
    p = services.create_prompt(
        people["ed"], people["support"], name="Refund Policy Answer!", template="Hi"
    )
    assert p.slug == "refund-policy-answer"


def test_a_taken_slug_is_a_conflict_and_writes_nothing(people, prompt):
    before = (Prompt.objects.count(), Version.objects.count())
    with pytest.raises(Conflict):
        services.create_prompt(
            people["ed"], people["support"], name="Other", slug="ticket-classifier", template="x"
        )
    assert (Prompt.objects.count(), Version.objects.count()) == before


def test_the_same_slug_in_another_team_is_fine(people, prompt):
    other = services.create_prompt(
        people["oscar"], people["billing"], name="x", slug="ticket-classifier", template="x"
    )
    assert other.team == people["billing"]


def test_versions_are_numbered_one_two_three(people, prompt):
    numbers = [
        services.add_version(people["ed"], prompt, template=f"v {{{{ a{i} }}}}").number
        for i in range(3)
    ]
    assert numbers == [2, 3, 4]
    prompt.refresh_from_db()
    assert prompt.latest_version.number == 4


def test_a_new_version_is_not_deployed_unless_asked(people, prompt):
    dev = prompt.team.environments.get(slug="development")
    services.add_version(people["ed"], prompt, template="new {{ x }}")
    assert live_deployment(prompt, dev).version.number == 1
    services.add_version(
        people["ed"], prompt, template="newer {{ ticket_text }}", deploy_to="development"
    )
    assert live_deployment(prompt, dev).version.number == 3


def test_a_bad_template_writes_nothing(people, prompt):
    with pytest.raises(Invalid) as caught:
        services.add_version(people["ed"], prompt, template="{% if %}")
    assert caught.value.code == "template_syntax"
    assert prompt.versions.count() == 1


def test_a_chat_version_keeps_its_messages(people, prompt):
    version = services.add_version(
        people["ed"],
        prompt,
        messages=[
            {"role": "system", "content": "You sort {{ kind }} tickets."},
            {"role": "user", "content": "{{ ticket_text }}"},
        ],
    )
    assert version.kind == "chat"
    assert [v["name"] for v in version.variables] == ["kind", "ticket_text"]


@pytest.mark.parametrize(
    "field, value",
    [
        ("config", "not an object"),
        ("config", {"t": float("nan")}),
        ("variables", [{"name": "1bad"}]),
        ("change_note", "nul\x00byte"),
        ("template", ""),
        ("template", 42),
    ],
)
def test_bad_version_input_is_refused_clearly(people, prompt, field, value):
    kwargs = {"template": "Hello {{ name }}", field: value}
    with pytest.raises(Invalid) as caught:
        services.add_version(people["ed"], prompt, **kwargs)
    assert caught.value.message
    assert prompt.versions.count() == 1


def test_updating_metadata_adds_no_version(people, prompt):
    services.update_prompt(
        people["ed"], prompt, name="Classifier", description="New", tags=["B", "a"]
    )
    prompt.refresh_from_db()
    assert (prompt.name, prompt.description, prompt.tags) == ("Classifier", "New", ["a", "b"])
    assert prompt.versions.count() == 1


def test_a_renamed_prompt_answers_at_both_addresses(people, prompt):
    services.update_prompt(people["ed"], prompt, slug="classifier")
    for slug in ["classifier", "ticket-classifier"]:
        assert services.find_prompt(people["vic"], "support", slug).pk == prompt.pk
    assert set(PromptAddress.objects.filter(prompt=prompt).values_list("slug", flat=True)) == {
        "classifier",
        "ticket-classifier",
    }


def test_an_old_slug_stays_reserved(people, prompt):
    services.update_prompt(people["ed"], prompt, slug="classifier")
    with pytest.raises(Conflict):
        services.create_prompt(
            people["ed"], people["support"], name="x", slug="ticket-classifier", template="x"
        )


def test_renaming_onto_another_prompts_slug_is_a_conflict(people, prompt):
    services.create_prompt(people["ed"], people["support"], name="Other", template="x")
    with pytest.raises(Conflict):
        services.update_prompt(people["ed"], prompt, slug="other")


def test_an_archived_prompt_disappears_and_comes_back(people, prompt):
    services.archive_prompt(people["alice"], prompt)
    with pytest.raises(NotFound):
        services.find_prompt(people["alice"], "support", "ticket-classifier")
    archived = services.find_prompt(people["alice"], "support", "ticket-classifier", archived=True)
    services.restore_prompt(people["alice"], archived)
    assert services.find_prompt(people["vic"], "support", "ticket-classifier").versions.count() == 1


def test_a_new_team_gets_three_ordered_environments(people):
    envs = list(
        people["support"]
        .environments.order_by("order")
        .values_list("slug", "protected", "required_approvals", "is_default")
    )
    assert envs == [
        ("development", False, 0, False),
        ("staging", False, 0, False),
        ("production", True, 1, True),
    ]
