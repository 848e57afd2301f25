"""compose(): the text with its snippets in place, merged variables, the graph."""

import pytest

from composition.errors import CompositionFailed
from composition.models import Reference
from composition.services import compose
from prompts import services, templating
from prompts.models import Version
from serving.services import Resolved, render_payload
from tests.composition.conftest import add, deploy, make


def parent_of(people, template, slug="parent", **extra):
    return make(people["ed"], people["support"], slug, template, **extra).latest_version


def test_a_follow_reference_takes_the_latest_without_an_environment(people, safety):
    version = parent_of(people, 'Start. {% include "support/safety" %} End.')
    composed = compose(version)
    assert composed.template == "Start. Be very safe, {{ name }}! End."
    assert composed.dependencies == [
        {"address": "support/safety", "version": 2, "environment": None}
    ]


def test_a_follow_reference_takes_what_is_live_in_the_environment_resolved(people, safety):
    version = parent_of(people, 'Start. {% include "support/safety" %}')
    composed = compose(version, "development")
    assert composed.template == "Start. Be safe, {{ name }}."
    assert composed.dependencies == [
        {"address": "support/safety", "version": 1, "environment": "development"}
    ]
    deploy(people["ed"], safety, "development", safety.latest_version)
    assert compose(version, "development").template == "Start. Be very safe, {{ name }}!"


def test_a_snippet_not_live_where_it_is_followed_fails_clearly(people, safety):
    version = parent_of(people, '{% include "support/safety" %}')
    with pytest.raises(CompositionFailed) as caught:
        compose(version, "staging")
    assert caught.value.status == 409
    assert caught.value.details == {
        "reference": "support/safety",
        "why": "not_live",
        "environment": "staging",
    }


def test_a_pinned_version_is_always_that_version(people, safety):
    version = parent_of(people, '{% include "support/safety@1" %}')
    deploy(people["ed"], safety, "development", safety.latest_version)
    for environment in [None, "development"]:
        composed = compose(version, environment)
        assert composed.template == "Be safe, {{ name }}."
        assert composed.dependencies == [
            {"address": "support/safety", "version": 1, "environment": None}
        ]
        assert composed.graph == {}


def test_a_named_environment_is_followed_whatever_is_resolved(people, safety):
    version = parent_of(people, '{% include "support/safety@development" %}')
    for environment in [None, "production"]:
        assert compose(version, environment).template == "Be safe, {{ name }}."
    add(people["ed"], safety, "Third")
    deploy(people["ed"], safety, "development", safety.versions.get(number=3))
    assert compose(version).template == "Third"


def test_pinned_snippets_override_what_follows(people, safety):
    version = parent_of(people, '{% include "support/safety" %}')
    first = safety.versions.get(number=1)
    composed = compose(version, None, {safety.pk: first.pk})
    assert composed.template == "Be safe, {{ name }}."
    # The graph names what to pin to compose exactly this again.
    before = compose(version, "development")
    assert before.graph == {safety.pk: first.pk}
    add(people["ed"], safety, "Moved on")
    deploy(people["ed"], safety, "development", safety.versions.get(number=3))
    assert compose(version, "development").template == "Moved on"
    again = compose(version, "development", before.graph)
    assert again.template == "Be safe, {{ name }}."
    assert again.content_hash == before.content_hash


def test_snippets_nest_and_the_graph_lists_every_part(people, safety, tone):
    middle = make(
        people["ed"], people["support"], "middle", 'M[{% include "support/tone" %}]',
        variables=[{"name": "topic", "default": "refunds"}],
    )  # fmt: skip
    version = parent_of(people, '{% include "support/middle" %} {% include "support/safety@1" %}')
    composed = compose(version)
    assert composed.template == "M[Speak kindly about {{ topic }}.] Be safe, {{ name }}."
    assert composed.dependencies == [
        {"address": "support/middle", "version": 1, "environment": None},
        {"address": "support/tone", "version": 1, "environment": None},
        {"address": "support/safety", "version": 1, "environment": None},
    ]
    assert composed.graph == {middle.pk: middle.latest_version_id, tone.pk: tone.latest_version_id}


def test_variables_merge_with_defaults_carried_and_the_parent_winning(people, safety, tone):
    version = parent_of(
        people,
        '{{ greeting }} {% include "support/tone" %} {% include "support/safety@1" %}',
        variables=[{"name": "topic", "description": "what about", "default": "billing"}],
    )
    composed = compose(version)
    assert {v["name"]: v["default"] for v in composed.variables} == {
        "topic": "billing",  # the parent's declaration wins over the snippet's none
        "greeting": None,
        "name": "friend",  # safety v1's default, carried over
    }
    assert [v["name"] for v in composed.variables] == ["topic", "greeting", "name"]


def test_a_render_lists_every_missing_variable_across_three_levels(people):
    make(people["ed"], people["support"], "inner", "{{ inner_one }} {{ inner_two }}")
    make(
        people["ed"], people["support"], "middle", '{{ middle_one }} {% include "support/inner" %}'
    )
    version = parent_of(people, '{{ top_one }} {% include "support/middle" %}')
    composed = compose(version)
    with pytest.raises(templating.MissingVariables) as caught:
        templating.resolve_values(composed.variables, {"middle_one": "m"})
    assert caught.value.details["missing"] == ["top_one", "inner_one", "inner_two"]
    # Rendered as the API renders a payload:
    payload = {"kind": "text", "version": 1, "template": composed.template, "messages": [],
               "variables": composed.variables}  # fmt: skip
    with pytest.raises(templating.MissingVariables) as caught:
        render_payload(Resolved(payload, None, 0, 0), {})
    assert len(caught.value.details["missing"]) == 4
    answer = render_payload(
        Resolved(payload, None, 0, 0),
        {"top_one": "T", "middle_one": "M", "inner_one": "I", "inner_two": "J"},
    )
    assert answer["rendered"] == "T M I J"


def test_chat_messages_compose_each_content(people, safety):
    parent = services.create_prompt(
        people["ed"], people["support"], name="chat",
        messages=[{"role": "system", "content": '{% include "support/safety@1" %} Go.'},
                  {"role": "user", "content": "{{ question }}"}],
    )  # fmt: skip
    composed = compose(parent.latest_version)
    assert composed.messages == [
        {"role": "system", "content": "Be safe, {{ name }}. Go."},
        {"role": "user", "content": "{{ question }}"},
    ]
    assert [v["name"] for v in composed.variables] == ["question", "name"]


def test_a_version_without_references_composes_to_itself_without_a_query(
    people, prompt, django_assert_num_queries
):
    version = prompt.latest_version
    with django_assert_num_queries(0):
        composed = compose(version)
    assert (composed.template, composed.content_hash) == (version.template, version.content_hash)
    assert composed.dependencies == []


def test_the_composed_hash_changes_with_any_part(people, safety):
    version = parent_of(people, '{% include "support/safety" %}')
    before = compose(version).content_hash
    assert before != version.content_hash
    add(people["ed"], safety, "Changed")
    assert compose(version).content_hash != before


def test_an_archived_snippet_fails_to_compose(people, safety):
    version = parent_of(people, '{% include "support/safety" %}')
    services.archive_prompt(people["alice"], safety)
    with pytest.raises(CompositionFailed) as caught:
        compose(version)
    assert caught.value.details["why"] == "archived"


def test_composing_guards_cycles_and_depth_again(people, safety):
    """Rows written past the save check (by hand here) never make compose loop."""
    a = parent_of(people, '{% include "support/safety@1" %}', slug="a")
    # safety v3 includes a: a -> safety@1 is fine, but a row making safety v1 include a
    # is what only a direct write could do.
    Reference.objects.create(version=safety.versions.get(number=1), target=a.prompt, written="x")
    forged = Version.objects.create(
        prompt=safety, number=3, template='{% include "support/a" %}', content_hash="x"
    )
    Reference.objects.create(version=forged, target=a.prompt, written="support/a")
    safety.latest_version = forged
    safety.save()
    b = parent_of(people, "plain", slug="b")
    Reference.objects.create(version=b, target=safety, written="support/safety")
    with pytest.raises(CompositionFailed) as caught:
        compose(Version(prompt=b.prompt, kind="text", template='{% include "support/safety" %}',
                        variables=[], config={}, content_hash=""))  # fmt: skip
    assert caught.value.details["why"] in {"cycle", "too_deep"}
