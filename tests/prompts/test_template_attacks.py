"""Hostile templates: each one is refused, quickly, and leaves nothing behind.

Three kinds of refusal:
* STATIC: `check()` refuses at save time (TemplateUnsafe) — the template never runs.
* SANDBOX: passes `check()` (the dangerous name only exists at runtime) and the sandbox
  refuses while rendering (TemplateUnsafe).
* LIMITS: passes `check()` and is stopped while rendering (RenderLimit).
"""

import sys
import threading
import time

import pytest

from prompts import templating
from prompts.templating import RenderLimit, TemplateUnsafe

HARMLESS = "Hello {{ name }}!"
FAST = 3.0  # seconds; the deadline here is 0.5 s, leaving room for a busy machine

STATIC = [
    # Python internals through attributes.
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ x.__init__.__globals__ }}",
    "{{ (1).__class__ }}",
    "{{ namespace.__init__ }}",
    "{{ dict.__class__ }}",
    "{{ range.__self__ }}",
    "{{ x._private }}",
    "{% for i in items %}{{ loop.__class__ }}{% endfor %}",
    "{% macro m() %}{{ caller.__globals__ }}{% endmacro %}",
    "{{ x['__class__'] }}",
    "{{ x.mro() }}",
    "{{ x.mro }}",
    "{{ x.gi_frame }}",
    # The same through filters taking an attribute name.
    "{{ ()|attr('__class__') }}",
    r"{{ ''|attr('\x5f\x5fclass\x5f\x5f') }}",  # escapes are decoded by the lexer
    "{{ items|map(attribute='__class__')|list }}",
    "{{ items|map('attr', '__class__')|list }}",
    "{{ items|selectattr('__class__')|list }}",
    "{{ items|sort(attribute='x.__class__') }}",
    "{{ items|join(', ', '__class__') }}",
    # str.format can walk attributes ('{0.__class__}') and build huge strings.
    "{{ 'a'.format.__self__ }}",
    "{{ '{0.__class__}'.format('') }}",
    "{{ '{:>999999999}'.format(1) }}",
    "{{ '{x}'.format_map(x) }}",
    "{{ 'a'|attr('format') }}",
    "{{ 'a'.translate({97: 'b'}) }}",
    # Reserved globals and template references.
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum() }}",
    "{{ joiner }}",
    "{{ cycler('a', 'b') }}",
    "{{ self._TemplateReference__context }}",
    "{{ self }}",
    "{% block b %}x{% endblock %}{{ self.b() }}",
    "{% block b %}{{ super() }}{% endblock %}",
    "{{ __builtins__ }}",
    # Other templates.
    "{% include 'x' %}",
    "{% extends 'x' %}",
    "{% import 'x' as y %}",
    "{% from 'x' import y %}",
    "{% include ['a', 'b'] ignore missing %}",
]

SANDBOX = [
    # Attribute names that only exist at runtime.
    ("{{ ''|attr(name) }}", {"name": "__class__"}),
    ("{{ ''[name] }}", {"name": "__class__"}),
    ("{{ x|attr(name) }}", {"name": "mro", "x": str}),
    ("{{ ('{0.__class__}'|attr(name))('') }}", {"name": "format"}),
    ("{{ ('{0.__class__}'|attr(name))('')|length }}", {"name": "format_map"}),
    ("{{ (''|attr(name))({}) }}", {"name": "translate"}),
    ("{% for c in items|map('attr', name) %}{{ c }}{% endfor %}", {"name": "__class__"}),
]

LIMITS = [
    # Repetition and power: refused before anything is allocated.
    ("{{ 'A' * 10**9 }}", "size"),
    ("{{ 10**9 * 'A' }}", "size"),
    ("{{ [1] * 10**9 }}", "size"),
    ("{{ (1,) * 10**9 }}", "size"),
    ("{{ 9**(9**9) }}", "size"),
    ("{{ 10**(10**10) }}", "size"),
    ("{% set n = 10**4000 %}{{ n * n * n * n }}", "size"),
    ("{% set s = 'a' * 300000 %}{{ s + s }}", "size"),
    ("{% set s = 'a' * 300000 %}{{ s ~ s }}", "size"),
    (
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}"
        "{% endfor %}",
        "size",
    ),
    (
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}"
        "{% endfor %}",
        "size",
    ),
    (
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = [ns.s, ns.s]|join %}"
        "{% endfor %}",
        "size",
    ),
    # Calls and filters with huge numeric arguments.
    ("{{ 'x'.ljust(10**9) }}", "size"),
    ("{{ 'x'.center(10**9, '*') }}", "size"),
    ("{{ 'x'.zfill(10**9) }}", "size"),
    ("{{ (5).to_bytes(10**9, 'big') }}", "size"),
    ("{{ 'x'|center(999999999) }}", "size"),
    ("{{ 'x'|indent(10**8) }}", "size"),
    ("{{ 'x\ny'|indent('x' * 400000, true, true) }}", "size"),
    ("{{ 'x'|wordwrap(10**9) }}", "size"),
    ("{{ 'ab ab'|wordwrap(1, wrapstring='x' * 400000) }}", "size"),
    ("{{ '%999999999s'|format(1) }}", "size"),
    ("{{ '%.999999999f'|format(1.5) }}", "size"),
    ("{{ '%999999999s' % 1 }}", "size"),
    ("{{ '%*s' % (10**9, 'x') }}", "size"),
    ("{{ '%(a)s%(a)s'|format(a='x' * 400000) }}", "size"),
    ("{{ 5|round(-999999999) }}", "size"),
    ("{{ items|batch(10**9, 'x')|list }}", "size"),
    ("{{ items|slice(10**9)|list }}", "size"),
    # Multiplying one large string by another.
    ("{% set s = 'a' * 400000 %}{{ s|replace('a', s) }}", "size"),
    ("{% set s = 'a' * 400000 %}{{ s.replace('a', s) }}", "size"),
    ("{% set s = 'a' * 400000 %}{{ s.join(['a'] * 1000) }}", "size"),
    ("{% set s = 'a' * 400000 %}{{ ([s] * 1000)|join }}", "size"),
    ("{% set s = '\t' * 400000 %}{{ s.expandtabs(400000) }}", "size"),
    ("{% set a = range(100000)|list %}{{ ([a] * 6)|sum(start=[]) }}", "size"),
    ("{% set a = range(100000)|list %}{{ ([a] * 400000)|sum(start=[]) }}", "memory"),
    # One string referenced many times, then turned into text.
    ("{% set s = 'a' * 400000 %}{{ [s] * 1000 }}", "size"),
    (
        "{% set s = 'a' * 400000 %}{% set a = [s, s, s, s, s, s, s, s, s, s] %}"
        "{% set b = [a, a, a, a, a, a, a, a, a, a] %}{{ b|string|length }}",
        "size",
    ),
    ("{% set s = 'a' * 400000 %}{% set a = [s, s, s, s] %}{{ a|tojson|length }}", "size"),
    ("{% set s = 'a' * 400000 %}{% set a = [s, s, s, s] %}{{ 'x' ~ a }}", "size"),
    ("{% set s = 'a' * 400000 %}{% set a = [s, s, s, s] %}{{ '%s' % a }}", "size"),
    ("{% set s = 'a' * 400000 %}{% set a = {'k': [s, s]} %}{{ a|upper }}", "size"),
    # Buffered output: {% set %} blocks and macros join what they produce.
    (
        "{% set s = 'a' * 100000 %}{% set x %}{% for i in range(100) %}{{ s }}{% endfor %}"
        "{% endset %}{{ x|length }}",
        "size",
    ),
    (
        "{% set s = 'a' * 100000 %}{% macro m() %}{% for i in range(100) %}{{ s }}{% endfor %}"
        "{% endmacro %}{{ m()|length }}",
        "size",
    ),
    # Keeping many large new values alive.
    (
        "{% set s = 'a' * 400000 %}{% set ns = namespace(l=[]) %}{% for i in range(100000) %}"
        "{% set ns.l = ns.l + [s[i:]] %}{% endfor %}",
        "memory",
    ),
    (
        "{% set s = 'a' * 400000 %}{% set x %}{% for i in range(100000) %}{{ s ~ i }}{% endfor %}"
        "{% endset %}",
        "memory",
    ),
    (
        "{% set s = 'a' * 400000 %}{% set ns = namespace(l=[]) %}{% for i in range(100000) %}"
        "{% set ns.l = ns.l + [s|replace('a', 'b')] %}{% endfor %}",
        "memory",
    ),
    # Time.
    ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "time"),
    (
        "{% set x = range(99999)|list %}{% for a in x %}{% for b in x %}{% endfor %}{% endfor %}",
        "time",
    ),
    ("{% set x = 'a' * 99999 %}{% for a in x %}{% for b in x %}{% endfor %}{% endfor %}", "time"),
    (
        "{% set x = range(99999)|list %}{% for a in x %}{% for b in x if b < 0 %}{% endfor %}"
        "{% endfor %}",
        "time",
    ),
    (
        "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
        "{{ f(40) }}",
        "time",
    ),
    (
        # Slow filter work in every iteration; the values are valid, so only time stops it.
        "{% set s = (range(50000)|list) %}{% for i in range(100000) %}"
        "{{ s|sort(reverse=true)|first }}{% endfor %}",
        "time",
    ),
    (
        "{% set s = 'a ' * 200000 %}{% for i in range(100) %}{{ s|wordwrap(100000)|length }}"
        "{% endfor %}",
        "time",
    ),
    ("{% for i in range(10**9) %}{% endfor %}", "range"),
    ("{{ range(10**9)|list }}", "range"),
    # Recursion.
    ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion"),
    ("{% for i in items recursive %}{{ loop([i, i]) }}{% endfor %}", "recursion"),
    (
        "{% set ns = namespace(x=[]) %}{% for i in range(5000) %}{% set ns.x = [ns.x] %}"
        "{% endfor %}{{ ns.x }}",
        "recursion",
    ),
]


def tower(levels: int, leaf: str = "[0] * 10", level: str = "[{}] * 10") -> str:
    """A value nested `levels` deep, ten references to the same value at each level: a
    few characters that describe 10**levels items."""
    expression = leaf
    for _ in range(levels - 1):
        expression = level.format(expression)
    return expression


def doubling(build: str, start: str = "0", use: str = "{{ ns.a == ns.b }}") -> str:
    """Two values that double in logical size on each of 40 turns of a loop."""
    step = "".join(f"{{% set ns.{n} = {build.format(f'ns.{n}')} %}}" for n in "ab")
    return (
        f"{{% set ns = namespace(a={start}, b={start}) %}}"
        f"{{% for i in range(40) %}}{step}{{% endfor %}}{use}"
    )


TOWERS = f"{{% set a = {tower(10)} %}}{{% set b = {tower(10)} %}}"

# Values built out of shared references: tiny templates describing billions of items,
# which comparing, hashing, sorting or printing would walk in C, out of the deadline
# tracer's reach. What a template builds is weighed as it is built, references counted.
BUILDING = [
    *(
        (TOWERS + use, "size")
        for use in (
            "{{ a == b }}",
            "{% if a != b %}x{% endif %}",
            "{{ a }}",
            "{{ a|string|length }}",
            "{{ a|tojson|length }}",
            "{{ b in [a] }}",
            "{{ a is in [b] }}",
            "{{ [b].count(a) }}",
            "{{ [a, b]|sort|length }}",
            "{{ [a, b]|max|length }}",
            "{{ a|sum(start=[])|length }}",
            "{{ a|join|length }}",
            "{{ {'k': a} == {'k': b} }}",
            "{{ (a + b)|length }}",
            "{{ (a * 2)|length }}",
            "{{ range(3)|batch(2, a)|list|length }}",
            "{{ range(3)|slice(2, a)|list|length }}",
        )
    ),
    # Tuples hash by walking every item (and cache nothing).
    (f"{{% set t = {tower(10, '(0,) * 10', '({},) * 10')} %}}{{{{ t in {{}} }}}}", "size"),
    # Each way of combining: +, list, tuple and dict literals.
    (doubling("[{0}] + [{0}]"), "size"),
    (doubling("[{0}, {0}]"), "size"),
    (doubling("({0}, {0})", use="{{ ns.a in {} }}"), "size"),
    (doubling("{{'x': {0}, 'y': {0}}}"), "size"),
    # Calls and filters that repeat one value many times.
    (
        "{% set a = [0] * 100000 %}{% set b = [0] * 100000 %}"
        "{{ dict.fromkeys(range(10000), a) == dict.fromkeys(range(10000), b) }}",
        "size",
    ),
    (
        "{% set a = [0] * 10000 %}{% set b = [0] * 10000 %}"
        "{{ (range(1)|batch(100000, a)|list) == (range(1)|batch(100000, b)|list) }}",
        "size",
    ),
    (
        "{% set a = [0] * 100000 %}{% set b = [0] * 100000 %}"
        "{{ (range(1)|slice(10000, a)|list) == (range(1)|slice(10000, b)|list) }}",
        "size",
    ),
    # Equal long strings compare character by character.
    (
        "{% set s = 'a' * 400000 %}{% set t = 'a' * 400000 %}{{ [s] * 100000 == [t] * 100000 }}",
        "size",
    ),
]
LIMITS += BUILDING

VALUES = {"x": "text", "items": [{"x": 1}, {"x": 2}], "name": "Ada"}


@pytest.fixture(autouse=True)
def _limits(settings):
    settings.REGISTRY_MAX_TEMPLATE_CHARS = 100_000
    settings.REGISTRY_MAX_OUTPUT_CHARS = 500_000
    settings.REGISTRY_RENDER_SECONDS = 0.5


@pytest.fixture
def clean_afterwards():
    """Whatever the attack, tracing is restored and a harmless template still renders."""
    tracer = sys.gettrace()
    started = time.monotonic()
    yield
    assert time.monotonic() - started < FAST
    assert sys.gettrace() is tracer
    assert templating.render_text(HARMLESS, {"name": "Ada"}) == "Hello Ada!"
    assert sys.gettrace() is tracer


def test_the_corpus_is_large_enough():
    assert len(STATIC) + len(SANDBOX) + len(LIMITS) >= 30
    assert len(set(STATIC)) == len(STATIC)
    assert len({source for source, _ in LIMITS}) == len(LIMITS)


@pytest.mark.parametrize("source", STATIC)
def test_static_attacks_are_refused_at_save_time(source, clean_afterwards):
    with pytest.raises(TemplateUnsafe) as caught:
        templating.check(source)
    error = caught.value
    assert error.code == "template_unsafe"
    assert error.details["line"] == 1
    assert error.details["reason"]
    # Rendering goes through the same check, so such a template never runs.
    with pytest.raises(TemplateUnsafe):
        templating.render_text(source, VALUES)


@pytest.mark.parametrize(("source", "values"), SANDBOX)
def test_runtime_attribute_attacks_are_refused_by_the_sandbox(source, values, clean_afterwards):
    templating.check(source)
    with pytest.raises(TemplateUnsafe) as caught:
        templating.render_text(source, {**VALUES, **values})
    assert caught.value.code == "template_unsafe"
    assert "<class" not in caught.value.message  # nothing of the object leaks


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ x.__init__.__globals__ }}",
        "{{ ''|attr('__class__') }}",
        "{{ x.format('{0.__class__}') }}",
        "{{ x.format_map({}) }}",
        "{{ x.translate({}) }}",
        "{{ (x|attr('__class__')).mro() }}",
    ],
)
def test_the_sandbox_refuses_even_what_slipped_past_the_static_check(source, clean_afterwards):
    """Defence in depth: compile without check() and render; the sandbox still refuses."""
    template = templating.ENVIRONMENT.from_string(source)
    with pytest.raises(TemplateUnsafe):
        templating._run(lambda state: templating._render(template, VALUES, state))


# A callback the interpreter runs inside the render (gc, weakref) may be where the
# deadline is found passed: that raise is swallowed and reported as unraisable, and the
# next template line stops the render (see the test below).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize(("source", "limit"), LIMITS)
def test_resource_attacks_are_stopped_while_rendering(source, limit, clean_afterwards):
    templating.check(source)
    with pytest.raises(RenderLimit) as caught:
        templating.render_text(source, VALUES)
    error = caught.value
    assert error.code == "render_limit"
    assert error.details["limit"] == limit
    assert len(error.message) < 300  # no rendered output leaks into the error


def test_an_output_flood_is_stopped_at_the_output_limit(settings, clean_afterwards):
    settings.REGISTRY_MAX_OUTPUT_CHARS = 10_000
    source = "{% for i in range(99999) %}{{ 'x' * 100 }}{% endfor %}"
    with pytest.raises(RenderLimit) as caught:
        templating.render_text(source, {})
    assert caught.value.details == {"limit": "output", "max": 10_000}
    assert "xxxx" not in caught.value.message


def test_an_output_flood_of_static_text_is_stopped_too(settings, clean_afterwards):
    settings.REGISTRY_MAX_OUTPUT_CHARS = 10_000
    with pytest.raises(RenderLimit):
        templating.render_text("{% for i in range(99999) %}static text{% endfor %}", {})


def test_the_deadline_follows_the_setting(settings, clean_afterwards):
    settings.REGISTRY_RENDER_SECONDS = 0.2
    source = "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}"
    started = time.monotonic()
    with pytest.raises(RenderLimit) as caught:
        templating.render_text(source, {})
    assert time.monotonic() - started < 0.6
    assert caught.value.details == {"limit": "time", "seconds": 0.2}


def test_a_chat_attack_is_stopped_and_names_its_message(clean_afterwards):
    messages = [
        {"role": "system", "content": "fine"},
        {
            "role": "user",
            "content": "{% for a in range(100000) %}{% for b in range(100000) %}"
            "{% endfor %}{% endfor %}",
        },
    ]
    with pytest.raises(RenderLimit) as caught:
        templating.render_messages(messages, {})
    assert caught.value.details["message_index"] == 1


def test_a_chat_attack_is_refused_at_save_time_with_its_index():
    messages = [{"role": "system", "content": "fine"}, {"role": "user", "content": "{{ self }}"}]
    with pytest.raises(TemplateUnsafe) as caught:
        templating.check_messages(messages)
    assert caught.value.details["message_index"] == 1


def test_a_tracer_installed_before_the_render_is_restored(clean_afterwards):
    def outer_tracer(frame, event, arg):
        return None

    previous = sys.gettrace()
    sys.settrace(outer_tracer)
    try:
        with pytest.raises(RenderLimit):
            templating.render_text(
                "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
                {},
            )
        assert sys.gettrace() is outer_tracer
    finally:
        sys.settrace(previous)


def test_guards_are_inactive_outside_a_render():
    templating.render_text(HARMLESS, {"name": "Ada"})
    with pytest.raises(templating._NotRendering):
        templating._state()


def test_jinja_power_is_left_associative_so_9_9_9_is_small_and_renders(clean_afterwards):
    # In Jinja `9**9**9` means (9**9)**9, a 78-digit number: nothing to refuse. The
    # right-associative reading, 9**(9**9), is in LIMITS.
    assert templating.render_text("{{ 9**9**9 }}", {}) == str((9**9) ** 9)


def test_a_template_that_only_looks_scary_renders(clean_afterwards):
    source = (
        "{{ request }} {{ 'class'|upper }} {{ '__class__'|length }} {{ 'x' * 3 }} "
        "{% for i in range(3) %}{{ i }}{% endfor %} {{ data['format'] }}"
    )
    assert templating.check(source) == ["request", "data"]
    rendered = templating.render_text(source, {"request": "GET", "data": {"format": "md"}})
    assert rendered == "GET CLASS 9 xxx 012 md"


def test_renders_in_other_threads_are_not_affected_by_an_attack(clean_afterwards):
    results = []

    def harmless():
        for _ in range(20):
            results.append(templating.render_text(HARMLESS, {"name": "Bo"}))

    worker = threading.Thread(target=harmless)
    worker.start()
    with pytest.raises(RenderLimit):
        templating.render_text(
            "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", {}
        )
    worker.join()
    assert results == ["Hello Bo!"] * 20


def test_macro_nesting_is_stopped_long_before_the_stack_runs_out(clean_afterwards):
    # A worker thread's C stack can be smaller than Python's recursion limit assumes.
    source = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"
    with pytest.raises(RenderLimit) as caught:
        templating.render_text(source, {})
    assert caught.value.details == {"limit": "recursion", "max": 50}
    nested = "{% macro f(n) %}{% if n %}{{ f(n - 1) }}{% endif %}x{% endmacro %}{{ f(40) }}"
    assert templating.render_text(nested, {}) == "x" * 41


def test_the_deadline_holds_when_a_collector_callback_swallows_it(clean_afterwards):
    # A gc callback runs inside the render past the deadline (where a raise of the
    # tracer would be swallowed); the loop's own clock check stops the render.
    import gc

    from prompts.templating import limits

    reached = []

    def helper():
        reached.append(True)

    def callback(phase, info):
        state = getattr(limits._LOCAL, "state", None)
        if state is not None and phase == "stop":
            state.deadline = time.monotonic() - 1
            helper()  # the traced call that finds the deadline passed

    class Collecting:
        def __iter__(self):
            gc.collect()
            yield 1

    gc.callbacks.append(callback)
    try:
        with pytest.raises(RenderLimit) as caught:
            templating.render_text(
                "{% for x in items %}{% for i in range(100000) %}{{ i }}{% endfor %}{% endfor %}",
                {"items": Collecting()},
            )
    finally:
        gc.callbacks.remove(callback)
    assert caught.value.details["limit"] == "time"
    assert reached == [True]  # the callback ran inside the render, past the deadline
