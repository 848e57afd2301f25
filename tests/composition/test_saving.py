"""References are checked when a version is saved (services, pages and API alike), and
written with it: nothing is left behind by a refusal."""

import pytest

from accounts import services as accounts
from composition.errors import BadReference
from composition.models import Reference
from prompts import services
from prompts.models import Prompt, Version
from tests.composition.conftest import add, make


def new(people, source, slug="p", **extra):
    return make(people["ed"], people["support"], slug, source, **extra)


def refused(call):
    before = (Prompt.objects.count(), Version.objects.count(), Reference.objects.count())
    with pytest.raises(BadReference) as caught:
        call()
    assert (Prompt.objects.count(), Version.objects.count(), Reference.objects.count()) == before
    return caught.value


def test_the_three_kinds_of_reference_are_written_with_the_version(people, safety):
    parent = make(
        people["ed"],
        people["support"],
        "parent",
        '{% include "support/safety" %}\n{% include "support/safety@1" %}\n'
        '{% include "support/safety@staging" %}\n{% include "support/safety" %}',
    )
    rows = Reference.objects.filter(version=parent.latest_version).order_by("written")
    assert [(r.written, r.target_id, r.mode) for r in rows] == [
        ("support/safety", safety.pk, "follow"),
        ("support/safety@1", safety.pk, "version"),
        ("support/safety@staging", safety.pk, "environment"),
    ]
    assert rows[1].pinned.number == 1
    assert rows[2].environment == "staging"
    # The version's own variables: none of its text uses one (the snippet's come when
    # composed).
    assert parent.latest_version.variables == []


def test_references_in_chat_messages_are_written_too(people, safety):
    parent = services.create_prompt(
        people["ed"],
        people["support"],
        name="Chat",
        messages=[
            {"role": "system", "content": '{% include "support/safety" %}'},
            {"role": "user", "content": "{{ question }}"},
        ],
    )
    assert [r.written for r in parent.latest_version.references.all()] == ["support/safety"]
    assert [v["name"] for v in parent.latest_version.variables] == ["question"]


@pytest.mark.parametrize(
    ("written", "why", "text"),
    [
        ("support/nothing", "not_found", "there is no prompt support/nothing to include"),
        ("nowhere/safety", "not_found", "there is no prompt nowhere/safety to include"),
        ("support/safety@9", "no_version", "support/safety has no version 9"),
        ("support/safety@99999999999", "no_version", "has no version 99999999999"),
        ("support/safety@moon", "no_environment", "support has no environment moon"),
    ],
)
def test_a_reference_to_what_does_not_exist_is_refused(people, safety, written, why, text):
    error = refused(lambda: new(people, f'Hi\n{{% include "{written}" %}}'))
    assert error.code == "bad_reference"
    assert error.details == {"field": "template", "reference": written, "why": why, "line": 2}
    assert text in error.message


def test_an_invisible_prompt_is_refused_exactly_as_a_missing_one(people, legal):
    hidden = refused(lambda: new(people, '{% include "billing/legal" %}'))
    missing = refused(lambda: new(people, '{% include "billing/none" %}'))
    assert hidden.details["why"] == missing.details["why"] == "not_found"
    assert hidden.message.replace("legal", "X") == missing.message.replace("none", "X")


def test_a_snippet_of_another_team_is_included_when_the_author_may_read_it(people, legal):
    accounts.set_role(people["oscar"], people["billing"], "ed", "viewer")
    parent = new(people, '{% include "billing/legal" %}')
    assert parent.latest_version.references.get().target == legal


def test_a_grant_on_the_snippet_alone_is_enough(people, safety, legal):
    """oscar (billing) may see support/safety through a grant on it alone."""
    refused(lambda: make(people["oscar"], people["billing"], "p", '{% include "support/safety" %}'))
    accounts.grant_on_prompt(people["alice"], safety, "oscar", "viewer")
    parent = make(people["oscar"], people["billing"], "p", '{% include "support/safety" %}')
    assert parent.latest_version.references.get().target == safety


def test_an_archived_snippet_cannot_be_included(people, safety):
    services.archive_prompt(people["alice"], safety)
    error = refused(lambda: new(people, '{% include "support/safety" %}'))
    assert error.details["why"] == "not_found"


def test_a_chat_prompt_cannot_be_included(people):
    services.create_prompt(
        people["ed"], people["support"], name="chat", messages=[{"role": "user", "content": "x"}]
    )
    error = refused(lambda: new(people, '{% include "support/chat" %}'))
    assert error.details["why"] == "chat"


def test_a_reference_in_a_message_names_the_message(people):
    error = refused(
        lambda: services.create_prompt(
            people["ed"],
            people["support"],
            name="chat",
            messages=[
                {"role": "system", "content": "fine"},
                {"role": "user", "content": '{% include "support/gone" %}'},
            ],
        )
    )
    assert (error.details["field"], error.details["index"]) == ("messages", 1)


def test_another_form_of_include_is_refused_at_save_as_the_sandbox_refuses_it(people, safety):
    from prompts.templating import TemplateUnsafe

    for source in ['{% include "support/safety" ignore missing %}', "{% include 'x' %}"]:
        with pytest.raises(TemplateUnsafe) as caught:
            new(people, source)
        assert caught.value.details["reason"] == "include"
    assert not Prompt.objects.filter(slug="p").exists()


def test_extends_and_import_are_still_refused_by_the_sandbox(people, safety):
    from prompts.templating import TemplateUnsafe

    for source in ['{% extends "support/safety" %}', '{% import "support/safety" as s %}']:
        with pytest.raises(TemplateUnsafe):
            new(people, source)


def test_a_prompt_cannot_include_itself(people, safety):
    error = refused(lambda: add(people["ed"], safety, 'Me: {% include "support/safety" %}'))
    assert error.details["why"] == "cycle"
    assert error.details["path"] == ["support/safety", "support/safety"]


def test_a_cycle_of_two_is_refused_naming_the_reference(people, safety):
    make(people["ed"], people["support"], "b", '{% include "support/safety" %}')
    error = refused(lambda: add(people["ed"], safety, 'x\n{% include "support/b" %}'))
    assert error.details["why"] == "cycle"
    assert error.details["reference"] == "support/b"
    assert error.details["line"] == 2
    assert error.details["path"] == ["support/safety", "support/b", "support/safety"]
    assert "support/safety -> support/b -> support/safety" in error.message


def test_a_cycle_of_three_is_refused(people, safety):
    make(people["ed"], people["support"], "c", '{% include "support/safety" %}')
    make(people["ed"], people["support"], "b", '{% include "support/c" %}')
    error = refused(lambda: add(people["ed"], safety, '{% include "support/b" %}'))
    assert error.details["path"] == ["support/safety", "support/b", "support/c", "support/safety"]


def test_a_cycle_through_what_is_live_is_refused(people, safety):
    """b's latest no longer includes safety, but its version live in development does."""
    b = make(
        people["ed"],
        people["support"],
        "b",
        '{% include "support/safety" %}',
        deploy_to="development",
    )
    add(people["ed"], b, "nothing included")
    error = refused(lambda: add(people["ed"], safety, '{% include "support/b" %}'))
    assert error.details["why"] == "cycle"


def test_a_cycle_through_a_pinned_version_is_refused(people, safety):
    b = make(people["ed"], people["support"], "b", '{% include "support/safety" %}')
    add(people["ed"], b, "nothing included")
    # b@1 includes safety; b's latest does not.
    error = refused(lambda: add(people["ed"], safety, '{% include "support/b@1" %}'))
    assert error.details["why"] == "cycle"
    assert add(people["ed"], safety, '{% include "support/b@2" %}').number == 3


def chain(people, length):
    """support/n0 <- n1 <- ... : n<k> includes n<k-1>; returns the last."""
    last = make(people["ed"], people["support"], "n0", "the end")
    for k in range(1, length + 1):
        last = make(people["ed"], people["support"], f"n{k}", f'{{% include "support/n{k - 1}" %}}')
    return last


def test_five_levels_of_nesting_are_allowed(people):
    top = chain(people, 4)  # n4 -> n3 -> n2 -> n1 -> n0
    parent = new(people, slug="top", source='{% include "support/n4" %}')
    assert parent.latest_version.number == 1  # five includes deep
    assert top


def test_six_levels_of_nesting_are_refused(people):
    chain(people, 5)
    error = refused(lambda: new(people, slug="top", source='{% include "support/n5" %}'))
    assert error.details["why"] == "too_deep"
    assert error.details["reference"] == "support/n5"
    assert len(error.details["path"]) == 7


def test_the_api_answers_a_bad_reference_with_a_400_naming_it(as_user, safety):
    answer = as_user("ed").post(
        "/api/v1/prompts/support/safety/versions",
        {"template": 'ok {% include "support/missing@2" %}'},
        format="json",
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "bad_reference"
    assert answer.json()["error"]["details"] == {
        "field": "template",
        "reference": "support/missing@2",
        "why": "not_found",
        "line": 1,
    }


def test_the_api_saves_a_reference(as_user, safety):
    answer = as_user("ed").post(
        "/api/v1/prompts",
        {
            "team": "support",
            "name": "With safety",
            "template": 'Hi {% include "support/safety@1" %}',
        },
        format="json",
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["slug"] == "with-safety"


def test_a_composition_longer_than_a_template_may_be_is_refused(people, settings):
    """Each level includes the one below four times: the text grows fourfold a level."""
    settings.REGISTRY_MAX_TEMPLATE_CHARS = 2_000
    make(people["ed"], people["support"], "l0", "x" * 100)
    make(people["ed"], people["support"], "l1", '{% include "support/l0" %}' * 4)
    make(people["ed"], people["support"], "l2", '{% include "support/l1" %}' * 4)  # 1,600
    error = refused(lambda: new(people, 'top\n{% include "support/l2" %}' * 2))
    assert error.details["why"] == "too_large"
    assert error.details["reference"] == "support/l2"
    assert error.details["limit"] == 2_000
    assert (error.details["field"], error.details["line"]) == ("template", 2)


def test_a_snippet_included_many_times_is_composed_once(people, django_assert_max_num_queries):
    from composition.services import compose

    make(people["ed"], people["support"], "l0", "x")
    make(people["ed"], people["support"], "l1", '{% include "support/l0" %}' * 50)
    parent = new(people, '{% include "support/l1" %}' * 50)
    with django_assert_max_num_queries(3):
        composed = compose(parent.latest_version)
    assert composed.template == "x" * 2500
    assert len(composed.choices) == 50 + 50 * 50
