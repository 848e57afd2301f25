"""Finding references in a source, and expanding them as Jinja would include them."""

import pytest

from composition import parsing
from prompts import templating


def written(source):
    return [f.written for f in parsing.find(source, {"field": "template"})]


def test_the_three_forms_are_found_with_either_quote():
    source = '{% include "a/b" %} {%include \'a/b@3\'%} {% include "c-d/e@production" %}'
    found = parsing.find(source)
    assert [f.written for f in found] == ["a/b", "a/b@3", "c-d/e@production"]
    assert [(f.number, f.environment) for f in found] == [(None, ""), (3, ""), (None, "production")]
    assert found[2].address == "c-d/e"


def test_includes_in_raw_blocks_and_comments_are_text():
    source = '{% raw %}{% include "a/b" %}{% endraw %}{# {% include "a/c" %} #}{% include "a/d" %}'
    assert written(source) == ["a/d"]
    assert (
        parsing.checkable(source, {})
        == '{% raw %}{% include "a/b" %}{% endraw %}{# {% include "a/c" %} #}'
    )


def test_an_include_in_a_string_is_text():
    assert written("{{ 'x {% include \"a/b\" %}' }}") == []


@pytest.mark.parametrize(
    "source",
    [
        "{% include name %}",
        "{% include ['a/b', 'a/c'] %}",
        '{% include "a/b" ignore missing %}',
        '{% include "a/b" with context %}',
        '{% include "a/b" without context %}',
    ],
)
def test_any_other_form_of_include_is_refused_naming_its_line(source):
    with pytest.raises(templating.TemplateUnsafe) as caught:
        parsing.find("line one\n" + source, {"field": "messages", "index": 2})
    assert caught.value.code == "template_unsafe"
    assert caught.value.details["reason"] == "include"
    assert "cannot include" in caught.value.message
    assert caught.value.details["line"] == 2
    assert (caught.value.details["field"], caught.value.details["index"]) == ("messages", 2)


@pytest.mark.parametrize("address", ["header.txt", "a/b/c", "A/b", "a/b@", "/b", "a/b@-x"])
def test_an_address_that_is_not_team_slug_is_refused(address):
    with pytest.raises(templating.TemplateUnsafe) as caught:
        parsing.find(f'{{% include "{address}" %}}')
    assert caught.value.details["reference"] == address
    assert address in caught.value.message


def test_checkable_keeps_lines_so_errors_point_at_the_right_one():
    source = 'one\n{% include\n  "a/b" %}\n{{ x._secret }}'
    checkable = parsing.checkable(source, {})
    assert checkable == "one\n\n\n{{ x._secret }}"
    with pytest.raises(templating.TemplateUnsafe) as caught:
        templating.check(checkable)
    assert caught.value.details["line"] == 4


def test_a_source_that_does_not_parse_is_left_to_the_sandbox_to_report():
    source = '{% include "a/b" %}\n{{ broken'
    assert parsing.checkable(source, {}) == source
    with pytest.raises(templating.TemplateSyntaxProblem) as caught:
        templating.check(source)
    assert caught.value.details["line"] == 2


def test_expanding_replaces_each_reference_with_its_text():
    source = 'A {% include "a/b" %} B {% include "a/c" %} C'
    found = parsing.find(source)
    assert parsing.expand(source, found, ["x", "y"]) == "A x B y C"


def test_whitespace_markers_strip_the_source_around_the_reference_as_jinja_does():
    source = 'A  \n {%- include "a/b" -%} \n B {%- include "a/c" %} C'
    found = parsing.find(source)
    expanded = parsing.expand(source, found, [" x ", "y"])
    assert expanded == "A x By C"
    # What Jinja renders with the same markers around blocks holding the same text:
    same = "A  \n {%- if 1 %} x {% endif -%} \n B {%- if 1 %}y{% endif %} C"
    assert templating.render_text(same, {}) == expanded


def test_a_source_without_references_is_left_alone():
    assert parsing.find("{{ include }} includes nothing") == []
    assert parsing.checkable("no references", {}) == "no references"
