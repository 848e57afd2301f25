"""The sandboxed Jinja environment templates are compiled in: guarded filters, binary
operators, calls, slices and string joins, each refusing to build a value over the
output limit (checked before the value is built), and every list, tuple or mapping the
template builds (literals included) weighed by its logical size (`building`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.filters import make_attrgetter
from jinja2.runtime import markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, pass_environment

from prompts.templating.building import _check_built, _check_combined, _check_literal
from prompts.templating.limits import (
    _ITEM_COST,
    _bounded_range,
    _check_binop,
    _check_method_call,
    _check_printf,
    _check_replace,
    _is_sized,
    _RenderState,
    _sized_total,
    _state,
    _text_size,
)
from prompts.templating.safety import _UNSAFE_ATTRIBUTES

# ------------------------------------------------------------------------------ filters

# Filters that never turn their input into text; every other filter first checks that the
# text form of its arguments fits the limit.
_STRUCTURAL_FILTERS = frozenset(
    {
        "abs", "attr", "batch", "count", "d", "default", "dictsort", "first", "float",
        "groupby", "int", "items", "last", "length", "list", "map", "max", "min", "random",
        "reject", "rejectattr", "reverse", "round", "select", "selectattr", "slice", "sort",
        "sum", "unique",
    }
)  # fmt: skip

# pprint indents nested values (quadratic output) and urlize is a heavy regex pass; prompts
# need neither.
_REMOVED_FILTERS = ("pprint", "urlize")

# Filters returning one of the items they are given, which the template did not build.
_PICKING_FILTERS = frozenset({"attr", "d", "default", "first", "last", "max", "min", "random"})


def _estimate_int_arguments(state: _RenderState, value: Any, *args: Any, **kwargs: Any) -> None:
    for argument in (*args, *kwargs.values()):
        state.check_int(argument)  # center(width), batch(linecount), slice(slices), round(digits)


def _estimate_grouping(
    state: _RenderState, value: Any, count: Any, *args: Any, **kwargs: Any
) -> None:
    """batch(linecount, fill_with) and slice(slices, fill_with) build new lists of up to
    len(value) + count items (the padding in C, fast): account for them up front."""
    _estimate_int_arguments(state, value, count, *args, **kwargs)
    if isinstance(count, int):
        state.charge((abs(count) + (len(value) if _is_sized(value) else 0)) * _ITEM_COST)


def _line_count(text: str) -> int:
    return len(text.splitlines()) + 2  # the same line breaks indent/wordwrap split on


def _estimate_indent(
    state: _RenderState, s: Any, width: Any = 4, first: bool = False, blank: bool = False
) -> None:
    state.check_int(width)
    indentation = len(width) if isinstance(width, str) else width
    if isinstance(indentation, int):
        text = str(s)
        state.check_size(len(text) + _line_count(text) * max(indentation, 0))


def _estimate_wordwrap(
    state: _RenderState, s: Any, width: Any = 79, break_long_words: bool = True,
    wrapstring: Any = None, break_on_hyphens: bool = True,
) -> None:  # fmt: skip
    state.check_int(width)
    if isinstance(width, int) and width > 0:
        text = str(s)
        # Greedy wrapping: two consecutive lines hold more than `width` characters.
        lines = 2 * len(text) // width + _line_count(text)
        state.check_size(len(text) + lines * len(str(wrapstring or "\n")))


def _estimate_format(state: _RenderState, value: Any, *args: Any, **kwargs: Any) -> None:
    _check_printf(state, str(value), kwargs or args)


def _estimate_replace(state: _RenderState, s: Any, old: Any, new: Any, count: Any = None) -> None:
    _check_replace(state, str(s), str(old), str(new), -1 if count is None else count)


_FILTER_ESTIMATES: dict[str, Callable[..., None]] = {
    "center": _estimate_int_arguments,
    "indent": _estimate_indent,
    "wordwrap": _estimate_wordwrap,
    "batch": _estimate_grouping,
    "slice": _estimate_grouping,
    "round": _estimate_int_arguments,
    "format": _estimate_format,
    "replace": _estimate_replace,
}


def _items(environment: Any, value: Any, attribute: Any) -> list:
    if attribute is not None:
        value = map(make_attrgetter(environment, attribute), value)
    return list(value)


@pass_environment
def _join_filter(environment: Any, value: Any, d: Any = "", attribute: Any = None) -> str:
    """`join` measured before joining: separator times items plus the items' text."""
    state, items, separator = _state(), _items(environment, value, attribute), str(d)
    size, budget = len(separator) * max(len(items) - 1, 0), state.max_output
    for item in items:  # no call per string item: calls are traced during a render
        size += len(item) if isinstance(item, str) else _text_size(item, budget)
        if size > budget:
            break
    state.check_size(size)
    return separator.join(map(str, items))


@pass_environment
def _sum_filter(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    """`sum` refusing to concatenate lists into one over the limit (quadratic in C)."""
    state, items = _state(), _items(environment, iterable, attribute)
    state.check_size(_sized_total((start, *items), state.max_output))
    return sum(items, start)


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    # Filters marked @pass_environment/@pass_context/... get that object first.
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
    stringifies = name not in _STRUCTURAL_FILTERS
    estimate = _FILTER_ESTIMATES.get(name)
    builds = name not in _PICKING_FILTERS

    @functools.wraps(func)  # keeps jinja_pass_arg, so Jinja still passes the environment
    def guarded(*args: Any, **kwargs: Any) -> Any:
        state, data = _state(), args[skip:]
        if stringifies:
            for argument in (*data, *kwargs.values()):
                state.check_text(argument)
        if estimate is not None:
            estimate(state, *data, **kwargs)
        value = state.result(func(*args, **kwargs), *data)
        return _check_built(state, value, *data) if builds else value

    return guarded


def _finalize(value: Any) -> Any:
    """Runs on every {{ expression }} before str(): measures containers first."""
    if not isinstance(value, str):
        state = _state()
        size = _text_size(value, state.max_output)
        state.check_size(size)
        state.charge(size)
    return value


# -------------------------------------------------------------------------- environment


class _CodeGenerator(CodeGenerator):
    """Routes the operations Jinja compiles to plain Python through the environment:
    `a ~ b` (string concatenation), slices `x[a:b]` and list, tuple and dict literals."""

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self.write("environment.built(")
        super().visit_List(node, frame)
        self.write(")")

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # a target, as in {% for key, value in ... %}
            super().visit_Tuple(node, frame)
            return
        self.write("environment.built(")
        super().visit_Tuple(node, frame)
        self.write(")")

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self.write("environment.built(")
        super().visit_Dict(node, frame)
        self.write(")")

    @optimizeconst
    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.join_parts((")
        for part in node.nodes:
            self.visit(part, frame)
            self.write(", ")
        self.write("))")

    @optimizeconst
    def visit_Getitem(self, node: nodes.Getitem, frame: Frame) -> None:
        if not isinstance(node.arg, nodes.Slice):
            super().visit_Getitem(node, frame)
            return
        self.write("environment.getitem(")
        self.visit(node.node, frame)
        self.write(", slice(")
        for part in (node.arg.start, node.arg.stop, node.arg.step):
            if part is None:
                self.write("None")
            else:
                self.visit(part, frame)
            self.write(", ")
        self.write("))")


class _PromptEnvironment(ImmutableSandboxedEnvironment):
    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return attr not in _UNSAFE_ATTRIBUTES and super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:
        # str.format is refused outright (is_safe_attribute) instead of sandboxed: its
        # format specs ('{:>999999999}') can build huge strings.
        return None

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        state = _state()
        _check_binop(state, operator, left, right)
        value = state.result(super().call_binop(context, operator, left, right), left, right)
        return _check_combined(state, operator, left, right, value)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        state = _state()
        if not hasattr(obj, "__self__"):
            # Macros, range(), dict(), namespace(): their own work is guarded already,
            # their nesting is counted here.
            state.enter_call()
            try:
                return _check_built(state, super().call(context, obj, *args, **kwargs))
            finally:
                state.depth -= 1
        args = _check_method_call(state, obj, args, kwargs)
        value = state.result(super().call(context, obj, *args, **kwargs), obj)
        if getattr(obj, "__name__", "") == "get":  # an item of a mapping, not built
            return value
        return _check_built(state, value, obj.__self__)

    def getitem(self, obj: Any, argument: Any) -> Any:
        value = super().getitem(obj, argument)
        if isinstance(argument, slice):
            return _state().result(value, obj)
        return value

    def built(self, value: Any) -> Any:
        """A list, tuple or dict literal, just built."""
        return _check_literal(value)

    def join_parts(self, parts: tuple) -> str:
        """`a ~ b ~ c`."""
        state = _state()
        size = 0
        for part in parts:
            size += len(part) if isinstance(part, str) else _text_size(part, state.max_output)
        state.check_size(size)
        join = str_join
        for part in parts:
            if hasattr(part, "__html__"):
                join = markup_join
        return state.result(join(parts))

    def concat(self, parts: Any) -> str:  # type: ignore[override]
        """Joins buffered output: {% set %} blocks, macro bodies, {% filter %} blocks."""
        parts = list(parts)
        state = _state()
        state.check_size(sum(map(len, parts)))
        return state.result("".join(parts))


def _make_environment() -> _PromptEnvironment:
    environment = _PromptEnvironment(
        undefined=StrictUndefined,
        autoescape=False,  # prompts are plain text, not HTML
        keep_trailing_newline=True,
        finalize=_finalize,
    )
    environment.globals = {"range": _bounded_range, "dict": dict, "namespace": Namespace}
    filters = dict(environment.filters, join=_join_filter, sum=_sum_filter)
    for name in _REMOVED_FILTERS:
        filters.pop(name, None)
    environment.filters = {name: _guard_filter(name, func) for name, func in filters.items()}
    return environment


ENVIRONMENT = _make_environment()
