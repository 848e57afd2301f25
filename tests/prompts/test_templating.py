"""Prompt templates: variables are detected, declared, filled and rendered as the contract says."""

import pytest

from prompts import templating
from prompts.templating import (
    MissingVariables,
    RenderLimit,
    TemplateSyntaxProblem,
    TemplateUnsafe,
)
from registry_site.errors import Invalid


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.REGISTRY_MAX_TEMPLATE_CHARS = 100_000
    settings.REGISTRY_MAX_OUTPUT_CHARS = 500_000
    settings.REGISTRY_RENDER_SECONDS = 1.0


# ---------------------------------------------------------------- detection


def test_variables_come_in_order_of_first_appearance():
    source = (
        "{{ b }} {{ a }} {{ b }}{% if c %}{{ d }}{% endif %}"
        "{% for x in e %}{{ x }}{{ f }}{% endfor %}"
    )
    assert templating.check(source) == ["b", "a", "c", "d", "e", "f"]


def test_a_conditional_expression_lists_its_names_in_source_order():
    assert templating.check("{{ a if b else c }}") == ["a", "b", "c"]


def test_a_for_loop_filter_comes_before_the_body():
    source = "{% for x in items if x > limit %}{{ x }}{{ suffix }}{% endfor %}"
    assert templating.check(source) == ["items", "limit", "suffix"]


@pytest.mark.parametrize("source", ["{{name}}", "{{ name }}", "{{   name   }}", "{{-name-}}"])
def test_whitespace_inside_the_braces_is_optional(source):
    assert templating.check(source) == ["name"]
    assert templating.render_text(source, {"name": "Ada"}) == "Ada"


def test_names_set_in_the_template_are_not_variables():
    source = (
        "{% set greeting = 'Hi' %}{{ greeting }} {{ user }}"
        "{% for item in items %}{{ loop.index }}{{ item }}{% endfor %}"
        "{% with shout = user|upper %}{{ shout }}{% endwith %}"
        "{% macro tag(label) %}<{{ label }}>{% endmacro %}{{ tag('x') }}"
        "{% set block %}text{% endset %}{{ block }}"
    )
    assert templating.check(source) == ["user", "items"]


def test_raw_blocks_are_text_not_variables():
    source = "{% raw %}{{ not_a_variable }}{% endraw %}{{ real }}"
    assert templating.check(source) == ["real"]
    assert templating.render_text(source, {"real": 1}) == "{{ not_a_variable }}1"


def test_the_globals_are_not_variables():
    source = "{% for i in range(2) %}{{ i }}{% endfor %}{{ dict(a=1) }}{{ namespace(b=2).b }}"
    assert templating.check(source) == []
    assert templating.render_text(source, {}) == "01{'a': 1}2"


def test_names_used_only_inside_a_macro_are_variables():
    assert templating.check("{% macro f() %}{{ inner }}{% endmacro %}{{ f() }}") == ["inner"]


def test_request_like_names_are_just_variables():
    assert templating.check("{{ request }} {{ settings }} {{ os }}") == [
        "request",
        "settings",
        "os",
    ]


def test_a_variable_name_outside_the_allowed_pattern_is_refused():
    with pytest.raises(TemplateSyntaxProblem) as caught:
        templating.check("ok\n{{ café }}")
    assert caught.value.details["line"] == 2
    assert "café" in caught.value.message


def test_the_variable_name_pattern():
    assert templating.VARIABLE_NAME.match("_ticket_2")
    assert not templating.VARIABLE_NAME.match("2tickets")
    assert not templating.VARIABLE_NAME.match("ticket-text")
    assert templating.CHAT_ROLES == ("system", "user", "assistant", "tool")


# ---------------------------------------------------------------- check errors


def test_a_syntax_error_carries_its_line_number():
    with pytest.raises(TemplateSyntaxProblem) as caught:
        templating.check("line one\nline two\n{% if x %}never closed")
    error = caught.value
    assert error.code == "template_syntax"
    assert error.details["line"] == 3
    assert isinstance(error.details["message"], str) and error.details["message"]
    assert error.message.startswith("Line 3:")


def test_an_unclosed_expression_is_a_syntax_error():
    with pytest.raises(TemplateSyntaxProblem) as caught:
        templating.check("first\n{{ x\n")
    assert caught.value.details["line"] == 2


def test_an_unknown_filter_is_a_syntax_error():
    with pytest.raises(TemplateSyntaxProblem) as caught:
        templating.check("{{ x|no_such_filter }}")
    assert "no_such_filter" in caught.value.message


@pytest.mark.parametrize("name", ["pprint", "urlize"])
def test_filters_prompts_do_not_need_are_removed(name):
    with pytest.raises(TemplateSyntaxProblem):
        templating.check("{{ x|" + name + " }}")


def test_a_template_over_the_length_limit_is_refused(settings):
    settings.REGISTRY_MAX_TEMPLATE_CHARS = 100
    templating.check("x" * 100)
    with pytest.raises(Invalid) as caught:
        templating.check("x" * 101)
    assert caught.value.code == "invalid"
    assert caught.value.details["limit"] == 100


def test_nul_characters_are_refused():
    with pytest.raises(Invalid) as caught:
        templating.check("a\x00b")
    assert caught.value.code == "invalid"
    assert "NUL" in caught.value.message


@pytest.mark.parametrize("source", [None, 42, b"bytes", ["{{ x }}"]])
def test_a_template_must_be_a_string(source):
    with pytest.raises(Invalid) as caught:
        templating.check(source)
    assert caught.value.code == "invalid"


def test_pathologically_nested_templates_are_refused_cleanly():
    with pytest.raises(TemplateSyntaxProblem):
        templating.check("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}")
    with pytest.raises(TemplateSyntaxProblem):
        templating.check("{% for a in b %}" * 25 + "{% endfor %}" * 25)
    with pytest.raises(TemplateSyntaxProblem):
        templating.check("{{ " + "9" * 5000 + " }}")


# ---------------------------------------------------------------- cache


def test_compiled_templates_are_cached_by_source():
    source = "cached {{ thing }} " + "x" * 10
    first = templating._compile(source)
    assert templating._compile(source) is first
    hits = templating._compile.cache_info().hits
    templating.render_text(source, {"thing": 1})
    assert templating._compile.cache_info().hits == hits + 1
    assert templating._compile.cache_info().maxsize == 1024


def test_check_returns_a_fresh_list_each_time():
    source = "{{ a }}{{ b }}"
    templating.check(source).append("mutated")
    assert templating.check(source) == ["a", "b"]


# ---------------------------------------------------------------- merge_variables


def test_declared_variables_come_first_then_detected_ones():
    declared = [
        {"name": "tone", "description": "How to sound", "default": "friendly"},
        {"name": "ticket", "description": "The ticket text"},
        {"name": "unused", "required": False},
    ]
    merged = templating.merge_variables(declared, ["ticket", "product", "tone", "customer"])
    assert merged == [
        {"name": "tone", "description": "How to sound", "default": "friendly", "required": False},
        {"name": "ticket", "description": "The ticket text", "default": None, "required": True},
        {"name": "unused", "description": "", "default": None, "required": False},
        {"name": "product", "description": "", "default": None, "required": True},
        {"name": "customer", "description": "", "default": None, "required": True},
    ]


@pytest.mark.parametrize("default", [0, 0.5, False, True, "", "text"])
def test_defaults_are_stored_as_given_and_make_a_variable_optional(default):
    [merged] = templating.merge_variables([{"name": "v", "default": default}], [])
    assert merged["default"] is default
    assert merged["required"] is False


def test_a_default_wins_over_required_true():
    [merged] = templating.merge_variables([{"name": "v", "default": "x", "required": True}], [])
    assert merged["required"] is False


def test_a_null_default_keeps_the_variable_required():
    [merged] = templating.merge_variables([{"name": "v", "default": None}], ["v"])
    assert merged == {"name": "v", "description": "", "default": None, "required": True}


def test_nothing_declared_means_every_detected_variable_is_required():
    assert templating.merge_variables([], ["a"]) == [
        {"name": "a", "description": "", "default": None, "required": True}
    ]
    assert templating.merge_variables(None, []) == []


@pytest.mark.parametrize(
    ("declared", "field", "words"),
    [
        ([{"name": "ok"}, "nope"], "variable", "object"),
        ([{"description": "no name"}], "name", "variable name"),
        ([{"name": "has-dash"}], "name", "variable name"),
        ([{"name": "9lives"}], "name", "variable name"),
        ([{"name": 7}], "name", "variable name"),
        ([{"name": "a"}, {"name": "a"}], "name", "declared twice"),
        ([{"name": "a", "description": 5}], "description", "string"),
        ([{"name": "a", "default": [1]}], "default", "string, a number"),
        ([{"name": "a", "default": {"x": 1}}], "default", "string, a number"),
        ([{"name": "a", "default": float("nan")}], "default", "finite"),
        ([{"name": "a", "required": "yes"}], "required", "true or false"),
        ([{"name": "a", "colour": "red"}], "colour", "unknown"),
    ],
)
def test_bad_declarations_are_refused_with_a_clear_error(declared, field, words):
    with pytest.raises(Invalid) as caught:
        templating.merge_variables(declared, [])
    error = caught.value
    assert error.code == "invalid"
    assert error.details["field"] == "variables"
    assert error.details["key"] == field
    assert error.details["index"] == len(declared) - 1
    assert words in error.message
    assert error.message.startswith(f"variables[{len(declared) - 1}]")


@pytest.mark.parametrize("declared", ["tone", {"name": "tone"}, 5])
def test_declared_variables_must_be_a_list(declared):
    with pytest.raises(Invalid):
        templating.merge_variables(declared, [])


# ---------------------------------------------------------------- resolve_values

VARIABLES = templating.merge_variables(
    [
        {"name": "tone", "default": "friendly"},
        {"name": "ticket"},
        {"name": "product", "required": False},
        {"name": "limit", "default": 0},
        {"name": "customer"},
    ],
    [],
)


def test_given_values_win_then_defaults_then_empty_for_optional():
    values = templating.resolve_values(VARIABLES, {"ticket": "T", "customer": "C", "tone": "dry"})
    assert values == {"tone": "dry", "ticket": "T", "product": "", "limit": 0, "customer": "C"}


def test_one_error_lists_every_missing_variable_in_declaration_order():
    with pytest.raises(MissingVariables) as caught:
        templating.resolve_values(VARIABLES, {"tone": "dry"})
    error = caught.value
    assert error.code == "missing_variables"
    assert error.details == {"missing": ["ticket", "customer"]}
    assert "ticket" in error.message and "customer" in error.message


def test_extra_given_values_are_passed_through():
    values = templating.resolve_values(VARIABLES, {"ticket": 1, "customer": 2, "extra": [3]})
    assert values["extra"] == [3]


def test_a_given_none_counts_as_given():
    values = templating.resolve_values(VARIABLES, {"ticket": None, "customer": None})
    assert values["ticket"] is None


@pytest.mark.parametrize("given", [None, [], "ticket=1", {1: "x"}, {("a",): 1}])
def test_values_must_be_a_dict_with_string_keys(given):
    with pytest.raises(Invalid) as caught:
        templating.resolve_values(VARIABLES, given)
    assert caught.value.code == "invalid"


# ---------------------------------------------------------------- render_text


def test_render_text_fills_the_template():
    source = "Dear {{ customer }},\n{% for item in items %}- {{ item|upper }}\n{% endfor %}"
    rendered = templating.render_text(source, {"customer": "Ada", "items": ["tea", "cake"]})
    assert rendered == "Dear Ada,\n- TEA\n- CAKE\n"


def test_output_is_plain_text_not_html_escaped():
    assert templating.render_text("{{ x }}", {"x": "<b>&'\"</b>"}) == "<b>&'\"</b>"


def test_the_trailing_newline_is_kept():
    assert templating.render_text("Hi {{ n }}\n", {"n": 1}) == "Hi 1\n"


def test_common_filters_and_operators_work():
    source = (
        "{{ items|join(', ') }}|{{ [1, 2, 3]|sum }}|{{ 'a-b'|replace('-', '+') }}|"
        "{{ '%s=%d'|format('n', 3) }}|{{ 'ab'|center(4) }}|{{ 'a\nb'|indent(2) }}|"
        "{{ 'x' ~ 1 ~ 'y' }}|{{ 'abc'[1:] }}|{{ 'ab' * 2 }}|{{ 2 ** 8 }}|{{ '%s!' % 'hi' }}|"
        "{{ range(3)|list }}|{{ range(5)|length }}|{{ 'Hello'.upper() }}|{{ ','.join(items) }}|"
        "{{ items|first }}|{{ items|sort|last }}|{{ {'k': 1}|tojson }}|{{ 10 // 3 }}|{{ 7 % 4 }}"
    )
    expected = (
        'x, y|6|a+b|n=3| ab |a\n  b|x1y|bc|abab|256|hi!|[0, 1, 2]|5|HELLO|x,y|x|y|{"k": 1}|3|3'
    )
    assert templating.render_text(source, {"items": ["x", "y"]}) == expected


def test_block_filters_macros_and_call_blocks_work():
    source = (
        "{% filter upper %}shout{% endfilter %} "
        "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}"
        "{% call wrap('b') %}bold{% endcall %} "
        "{% set ns = namespace(total=0) %}{% for n in [1, 2, 3] %}{% set ns.total = ns.total + n %}"
        "{% endfor %}{{ ns.total }}"
    )
    assert templating.render_text(source, {}) == "SHOUT <b>bold</b> 6"


def test_reading_a_key_named_like_a_refused_attribute_works_with_brackets():
    assert templating.render_text("{{ file['format'] }}", {"file": {"format": "pdf"}}) == "pdf"


def test_render_text_refuses_missing_variables_all_at_once():
    with pytest.raises(MissingVariables) as caught:
        templating.render_text("{{ a }}{{ b }}{{ c }}", {"b": 1})
    assert caught.value.details == {"missing": ["a", "c"]}


@pytest.mark.parametrize("values", [None, [], "x", {1: 2}])
def test_render_text_refuses_values_that_are_not_a_dict(values):
    with pytest.raises(Invalid) as caught:
        templating.render_text("{{ a }}", values)
    assert caught.value.code == "invalid"


def test_render_text_checks_the_template_too():
    with pytest.raises(TemplateUnsafe):
        templating.render_text("{{ x.__class__ }}", {"x": 1})
    with pytest.raises(TemplateSyntaxProblem):
        templating.render_text("{% if %}", {})


@pytest.mark.parametrize(
    ("source", "values", "words"),
    [
        ("{{ user.missing }}", {"user": {"name": "a"}}, "missing"),
        ("ok\n{{ 1 / n }}", {"n": 0}, "division by zero"),
        ("{{ n + 'x' }}", {"n": 1}, "unsupported operand"),
        ("{{ n() }}", {"n": "text"}, "not callable"),
        ("{{ items[5] }}", {"items": [1]}, "has no element 5"),
    ],
)
def test_runtime_errors_become_render_errors(source, values, words):
    with pytest.raises(Invalid) as caught:
        templating.render_text(source, values)
    error = caught.value
    assert error.code == "render_error"
    assert words in error.message
    assert error.details["line"] == source.count("\n") + 1
    assert type(error) is Invalid


def test_output_up_to_the_limit_is_fine_and_one_more_is_refused(settings):
    settings.REGISTRY_MAX_OUTPUT_CHARS = 100
    assert len(templating.render_text("{{ 'x' * n }}", {"n": 100})) == 100
    with pytest.raises(RenderLimit) as caught:
        templating.render_text("{{ 'x' * n }}!", {"n": 100})
    assert caught.value.details["limit"] == "output"


def test_values_are_not_modified_by_rendering():
    values = {"items": [3, 1, 2]}
    templating.render_text("{{ items|sort }}{{ items|reverse|list }}", values)
    assert values == {"items": [3, 1, 2]}


# ---------------------------------------------------------------- chat messages

CHAT = [
    {"role": "system", "content": "You help with {{ product }}."},
    {"role": "user", "content": "{{ ticket }} (from {{ customer }}, about {{ product }})"},
    {"role": "assistant", "content": "Noted."},
]


def test_check_messages_returns_the_union_of_variables_in_order():
    assert templating.check_messages(CHAT) == ["product", "ticket", "customer"]


def test_render_messages_renders_every_message():
    rendered = templating.render_messages(
        CHAT, {"product": "Kettle", "ticket": "Broken", "customer": "Ada"}
    )
    assert rendered == [
        {"role": "system", "content": "You help with Kettle."},
        {"role": "user", "content": "Broken (from Ada, about Kettle)"},
        {"role": "assistant", "content": "Noted."},
    ]


def test_render_messages_refuses_missing_variables_all_at_once():
    with pytest.raises(MissingVariables) as caught:
        templating.render_messages(CHAT, {"ticket": "x"})
    assert caught.value.details == {"missing": ["product", "customer"]}


@pytest.mark.parametrize(
    ("messages", "words"),
    [
        ("You are helpful", "list"),
        ({"role": "user", "content": "x"}, "list"),
        ([], "at least one"),
    ],
)
def test_chat_messages_must_be_a_non_empty_list(messages, words):
    with pytest.raises(Invalid) as caught:
        templating.check_messages(messages)
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        ("just text", "message", "object"),
        ({"role": "robot", "content": "x"}, "role", "system, user, assistant, tool"),
        ({"role": None, "content": "x"}, "role", "role must be"),
        ({"content": "x"}, "role", "role must be"),
        ({"role": "user", "content": 5}, "content", "string"),
        ({"role": "user"}, "content", "string"),
        ({"role": "user", "content": "x", "name": "bob"}, "name", "unknown"),
    ],
)
def test_each_message_must_have_a_known_role_and_a_string_content(bad, field, words):
    with pytest.raises(Invalid) as caught:
        templating.check_messages([{"role": "system", "content": "ok"}, bad])
    error = caught.value
    assert error.details == {"field": "messages", "index": 1, "message_index": 1, "key": field}
    assert words in error.message
    assert error.message.startswith("messages[1]:")


def test_a_syntax_error_in_a_message_carries_its_index_and_line():
    messages = [{"role": "system", "content": "fine"}, {"role": "user", "content": "a\n{% for %}"}]
    with pytest.raises(TemplateSyntaxProblem) as caught:
        templating.check_messages(messages)
    error = caught.value
    assert error.code == "template_syntax"
    assert error.details["message_index"] == 1
    assert (error.details["field"], error.details["index"], error.details["line"]) == (
        "messages",
        1,
        2,
    )
    assert "message" in error.details


def test_an_error_s_reason_leaves_out_the_place_its_details_give():
    messages = [{"role": "system", "content": "fine"}, {"role": "user", "content": "a\n{% for %}"}]
    with pytest.raises(TemplateSyntaxProblem) as caught:
        templating.check_messages(messages)
    assert caught.value.message.startswith("messages[1]: Line 2: ")
    reason = templating.reason_of(caught.value)
    assert reason == caught.value.message.removeprefix("messages[1]: Line 2: ")
    assert reason and not reason.startswith(("messages", "Line"))
    with pytest.raises(Invalid) as caught:
        templating.merge_variables([{"name": "a"}, {"name": "a"}], [])
    assert templating.reason_of(caught.value) == "the variable 'a' is declared twice."


def test_an_unsafe_message_carries_its_index():
    messages = [{"role": "user", "content": "{{ self }}"}]
    with pytest.raises(TemplateUnsafe) as caught:
        templating.check_messages(messages)
    assert caught.value.details["message_index"] == 0


def test_a_render_error_in_a_message_carries_its_index():
    messages = [{"role": "system", "content": "fine"}, {"role": "user", "content": "{{ 1 / n }}"}]
    with pytest.raises(Invalid) as caught:
        templating.render_messages(messages, {"n": 0})
    assert caught.value.code == "render_error"
    assert caught.value.details["message_index"] == 1


def test_the_output_limit_covers_the_whole_chat(settings):
    settings.REGISTRY_MAX_OUTPUT_CHARS = 100
    messages = [{"role": "user", "content": "x" * 60}, {"role": "user", "content": "y" * 60}]
    with pytest.raises(RenderLimit) as caught:
        templating.render_messages(messages, {})
    assert caught.value.details["message_index"] == 1


def test_the_length_limit_covers_all_messages_together(settings):
    settings.REGISTRY_MAX_TEMPLATE_CHARS = 100
    messages = [{"role": "user", "content": "x" * 60}, {"role": "user", "content": "y" * 60}]
    with pytest.raises(Invalid) as caught:
        templating.check_messages(messages)
    assert caught.value.details == {
        "limit": 100,
        "field": "messages",
        "index": 1,
        "message_index": 1,
    }


def test_a_chat_prompt_has_a_bounded_number_of_messages():
    templating.check_messages([{"role": "user", "content": ""}] * 1000)
    with pytest.raises(Invalid) as caught:
        templating.check_messages([{"role": "user", "content": ""}] * 1001)
    assert caught.value.details == {"limit": 1000}
