"""Checking and rendering prompt templates written by users (Jinja2, sandboxed).

Templates are untrusted input. Defence comes in two layers:

* At save time (`check`), the parsed AST is walked and anything that only serves to reach
  Python internals is refused: include/extends/import, `self`, the lipsum/cycler/joiner
  globals, attributes starting with "_", `mro`, `format`/`format_map`...
* At render time, a sandboxed environment bounds resources: binary operators, calls,
  filters, slices and string joins refuse to build values larger than the output limit
  (checked before the value is built), every render has a deadline enforced by a
  `sys.settrace` tracer (each line of template code, each Python call), and a per-render
  allocation budget stops templates that keep building large values.

Anything that goes wrong surfaces as a domain error (`registry_site.errors`), never as a
raw Jinja or Python exception.
"""

from __future__ import annotations

import functools
import math
import re
import sys
import threading
import time
from collections import abc, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import Any, NamedTuple, TypeVar

from django.conf import settings
from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.compiler import CodeGenerator, Frame, optimizeconst
from jinja2.environment import Template
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.filters import make_attrgetter
from jinja2.runtime import Undefined, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import Namespace, pass_environment

from registry_site.errors import DomainError, Invalid

_T = TypeVar("_T")

VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CHAT_ROLES = ("system", "user", "assistant", "tool")

# Compiled template code carries this filename; the deadline tracer only traces such frames.
_TEMPLATE_FILENAME = "<prompt-template>"
_MAX_RANGE = 100_000  # items one range() may produce (same as Jinja's sandbox)
_MAX_ITERATIONS = 5_000_000  # range items per render, whatever the deadline
_MAX_INT_BITS = 16_384  # about 4,900 decimal digits; Python refuses to print more anyway
# Values a render may build in all, in characters; list items count _ITEM_COST each (a
# pointer and, often, a new object). At least 20 times the output limit.
_ALLOCATION_BUDGET = 20_000_000
_ALLOCATION_FACTOR = 20
_ITEM_COST = 64
_MAX_MESSAGES = 1_000
_ERROR_TEXT = 300  # longest exception text quoted back to the user


# ------------------------------------------------------------------------------- errors


class TemplateSyntaxProblem(Invalid):
    code = "template_syntax"


class TemplateUnsafe(Invalid):
    code = "template_unsafe"


class RenderLimit(Invalid):
    code = "render_limit"


class MissingVariables(Invalid):
    code = "missing_variables"


class _NotRendering(Exception):
    """Raised by the guards outside a render. Jinja's constant folding treats any exception
    as "not constant", so filters and operators are never evaluated at compile time."""


# ------------------------------------------------------------------------- render state


@dataclass
class _RenderState:
    max_output: int
    seconds: float
    deadline: float
    produced: int = 0
    allocated: int = 0
    iterations: int = 0

    @classmethod
    def from_settings(cls) -> _RenderState:
        seconds = float(getattr(settings, "REGISTRY_RENDER_SECONDS", 1.0))
        max_output = int(getattr(settings, "REGISTRY_MAX_OUTPUT_CHARS", 500_000))
        return cls(max_output=max_output, seconds=seconds, deadline=time.monotonic() + seconds)

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderLimit(
                f"Rendering took longer than the limit of {self.seconds:g} seconds.",
                {"limit": "time", "seconds": self.seconds},
            )

    def count_output(self, size: int) -> None:
        self.produced += size
        if self.produced > self.max_output:
            raise RenderLimit(
                f"The rendered prompt is longer than the limit of {self.max_output} characters.",
                {"limit": "output", "max": self.max_output},
            )

    def check_size(self, size: int) -> None:
        """Refuse to build one value (string, list, number of digits...) over the limit."""
        if size > self.max_output:
            raise RenderLimit(
                f"The template tried to build a value of about {size} characters or items; "
                f"the limit is {self.max_output}.",
                {"limit": "size", "max": self.max_output},
            )

    def check_int(self, value: Any) -> None:
        """Numeric arguments (widths, counts, lengths) above the output limit are refused."""
        if isinstance(value, int) and not isinstance(value, bool):
            self.check_size(abs(value))

    def check_text(self, value: Any) -> None:
        """Refuse values whose text form would exceed the limit (e.g. a list holding the
        same long string many times) before anything converts them to text."""
        if not isinstance(value, str):
            self.check_size(_text_size(value, self.max_output))

    def charge(self, size: int) -> None:
        # Each value is bounded by check_size; this bounds how many of them a render keeps
        # building, e.g. a loop appending large new strings to a namespace list.
        self.allocated += size
        budget = max(_ALLOCATION_BUDGET, self.max_output * _ALLOCATION_FACTOR)
        if self.allocated > budget:
            raise RenderLimit(
                f"The template built more than {budget} characters of intermediate values.",
                {"limit": "memory", "max": budget},
            )

    def result(self, value: Any, *inputs: Any) -> Any:
        """Check and account for a value a guarded operation just built."""
        if not _is_sized(value):
            return value
        for given in inputs:
            if value is given:
                return value
        self.check_size(len(value))
        self.charge(len(value) * _ITEM_COST if isinstance(value, list | tuple) else len(value))
        return value

    def tick(self) -> None:
        self.iterations += 1
        if self.iterations > _MAX_ITERATIONS:
            raise RenderLimit(
                f"The template's loops ran more than {_MAX_ITERATIONS} iterations.",
                {"limit": "iterations", "max": _MAX_ITERATIONS},
            )
        if not self.iterations & 63:
            self.check_time()


_LOCAL = threading.local()


def _state() -> _RenderState:
    """The current render's state; every guard also checks the deadline here, which still
    works should the tracer have been switched off."""
    state = getattr(_LOCAL, "state", None)
    if state is None:
        raise _NotRendering
    state.check_time()
    return state


def _text_size(value: Any, budget: int) -> int:
    """Estimate len(str(value)) without building it; stops counting once over budget.

    Iterative so deeply nested values cannot exhaust the stack. Strings inside containers
    count their quotes, as their repr is what str() of the container shows."""
    if isinstance(value, str):
        return len(value)
    total, stack = 0, [value]
    while stack and total <= budget:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 2
        elif isinstance(item, bytes | bytearray):
            total += 4 * len(item) + 3
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() * 3 // 10 + 2
        elif isinstance(item, abc.Mapping | abc.ItemsView):
            items = item.items() if isinstance(item, abc.Mapping) else item
            total += 2 + 4 * len(item)
            if total <= budget:
                for key, val in items:
                    stack += (key, val)
        elif isinstance(
            item, list | tuple | set | frozenset | deque | abc.KeysView | abc.ValuesView
        ):
            total += 2 + 2 * len(item)
            if total <= budget:
                stack.extend(item)
        elif isinstance(item, Namespace):
            stack.append(item._Namespace__attrs)  # our code, not the template's: allowed
        elif not isinstance(item, Undefined):
            total += 24  # numbers, None, macros, loop objects: short reprs
    return total


# -------------------------------------------------------------------------- size checks

_PRINTF_SPEC = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?"
    r"[hlL]?(?P<conversion>.)",
    re.DOTALL,
)


def _check_printf(state: _RenderState, fmt: Any, args: Any) -> None:
    """Estimate the size of `fmt % args`: widths, precisions and the text of each argument
    (a %(key)s repeated many times counts every time)."""
    if isinstance(fmt, bytes | bytearray):
        fmt = bytes(fmt).decode("latin-1")
    if not isinstance(fmt, str):
        return
    mapping = args if isinstance(args, abc.Mapping) else None
    positional = args if isinstance(args, tuple) else (args,)
    size, index = len(fmt), 0
    for spec in _PRINTF_SPEC.finditer(fmt):
        if spec["conversion"] == "%":
            continue
        for number in (spec["width"], spec["precision"]):
            if number == "*":
                raise RenderLimit(
                    "Format widths given as '*' are not supported in prompts.",
                    {"limit": "size", "max": state.max_output},
                )
            if number:
                size += int(number) if len(number) < 10 else state.max_output + 1
        if spec["key"] is not None and mapping is not None:
            argument = mapping.get(spec["key"], "")
        else:
            argument = positional[index] if index < len(positional) else ""
            index += 1
        size += _text_size(argument, state.max_output)
        state.check_size(size)


def _check_binop(state: _RenderState, operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        _check_repeat(state, left, right)
        _check_repeat(state, right, left)
        if _is_int(left) and _is_int(right):
            _check_bits(left.bit_length() + right.bit_length())
    elif operator == "**":
        if _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
            _check_bits(left.bit_length() * right)
    elif operator == "+":
        if _is_sized(left) and _is_sized(right):
            state.check_size(len(left) + len(right))
    elif operator == "%":
        _check_printf(state, left, right)


def _check_repeat(state: _RenderState, sequence: Any, count: Any) -> None:
    if _is_sized(sequence) and _is_int(count) and count > 0:
        state.check_size(len(sequence) * count)


def _check_bits(bits: int) -> None:
    if bits > _MAX_INT_BITS:
        raise RenderLimit(
            f"The template tried to compute a number of about {bits} bits; "
            f"the limit is {_MAX_INT_BITS}.",
            {"limit": "size", "max": _MAX_INT_BITS},
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _is_sized(value: Any) -> bool:
    return isinstance(value, str | bytes | bytearray | list | tuple)


def _sized_total(values: Any, budget: int) -> int:
    """Total length of the sized values, counting stops once over budget. Written as one
    loop without calls per item: while rendering every Python call is seen by the tracer."""
    total = 0
    for value in values:
        if isinstance(value, str | bytes | bytearray | list | tuple):
            total += len(value)
            if total > budget:
                break
    return total


def _check_method_call(state: _RenderState, method: Any, args: tuple, kwargs: dict) -> tuple:
    """Checks before a builtin method of a str/bytes/number runs, returning the arguments
    to call it with (an iterator given to join() is materialised so it can be measured)."""
    owner = getattr(method, "__self__", None)
    if not isinstance(owner, str | bytes | bytearray | int | float) or isinstance(owner, bool):
        return args
    name = getattr(method, "__name__", "")
    if name == "join" and args:
        args = (list(args[0]), *args[1:])
    for argument in (*args, *kwargs.values()):
        state.check_int(argument)  # ljust/center/zfill/to_bytes(10**9)...
        state.check_text(argument)
    if isinstance(owner, str | bytes | bytearray):
        _check_str_method(state, owner, name, args, kwargs)
    return args


def _check_str_method(
    state: _RenderState, owner: Any, name: str, args: tuple, kwargs: dict
) -> None:
    if name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        _check_replace(state, owner, args[0], args[1], count)
    elif name == "join" and args:
        items = args[0]
        size = len(owner) * max(len(items) - 1, 0)
        state.check_size(size + _sized_total(items, state.max_output))
    elif name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        if _is_int(tabsize):
            tab = "\t" if isinstance(owner, str) else b"\t"
            state.check_size(len(owner) + owner.count(tab) * max(tabsize, 0))


def _check_replace(state: _RenderState, text: Any, old: Any, new: Any, count: Any) -> None:
    for kind in (str, bytes):
        if isinstance(text, kind) and isinstance(old, kind) and isinstance(new, kind):
            break
    else:
        return
    hits = text.count(old) if old else len(text) + 1
    if _is_int(count) and count >= 0:
        hits = min(hits, count)
    state.check_size(len(text) + hits * max(len(new) - len(old), 0))


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

    @functools.wraps(func)  # keeps jinja_pass_arg, so Jinja still passes the environment
    def guarded(*args: Any, **kwargs: Any) -> Any:
        state, data = _state(), args[skip:]
        if stringifies:
            for argument in (*data, *kwargs.values()):
                state.check_text(argument)
        if estimate is not None:
            estimate(state, *data, **kwargs)
        return state.result(func(*args, **kwargs), *data)

    return guarded


# ------------------------------------------------------------------------------ globals


class _BoundedRange:
    """range() for templates: at most _MAX_RANGE items, and iterating it counts against the
    render's iteration budget and deadline."""

    __slots__ = ("_range",)

    def __init__(self, rng: range) -> None:
        self._range = rng

    def __len__(self) -> int:
        return len(self._range)

    def __iter__(self) -> Iterator[int]:
        return _metered(self._range)

    def __reversed__(self) -> Iterator[int]:
        return _metered(reversed(self._range))

    def __contains__(self, item: object) -> bool:
        return item in self._range

    def __getitem__(self, index: Any) -> Any:
        item = self._range[index]
        return _BoundedRange(item) if isinstance(item, range) else item

    def __repr__(self) -> str:
        return repr(self._range)


def _metered(numbers: Any) -> Iterator[int]:
    state = _state()
    for number in numbers:
        state.tick()
        yield number


def _bounded_range(*args: int) -> _BoundedRange:
    rng = range(*args)
    if len(rng) > _MAX_RANGE:
        raise RenderLimit(
            f"range() may produce at most {_MAX_RANGE} numbers; this one has {len(rng)}.",
            {"limit": "range", "max": _MAX_RANGE},
        )
    return _BoundedRange(rng)


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
    """Routes the two operations Jinja compiles to plain Python through the environment:
    `a ~ b` (string concatenation) and slices `x[a:b]`."""

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


# Runtime counterpart of the static attribute check (see _attribute_problem).
_UNSAFE_ATTRIBUTES = frozenset({"mro", "format", "format_map", "translate", "maketrans"})


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
        return state.result(super().call_binop(context, operator, left, right), left, right)

    def call(self, context: Any, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        state = _state()
        if not hasattr(obj, "__self__"):
            # Macros, range(), dict(), namespace(): their own work is guarded already.
            return super().call(context, obj, *args, **kwargs)
        args = _check_method_call(state, obj, args, kwargs)
        return state.result(super().call(context, obj, *args, **kwargs), obj)

    def getitem(self, obj: Any, argument: Any) -> Any:
        value = super().getitem(obj, argument)
        if isinstance(argument, slice):
            return _state().result(value, obj)
        return value

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


# ------------------------------------------------------------------------ static checks

_RESERVED_NAMES = frozenset({"self", "super", "cycler", "joiner", "lipsum"})
_STATIC_UNSAFE_ATTRIBUTES = _UNSAFE_ATTRIBUTES | {
    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "f_globals",
    "f_locals", "f_builtins", "f_back", "f_code", "tb_frame", "tb_next", "func_globals",
    "func_code",
}  # fmt: skip
_REFUSED_STATEMENTS = {
    nodes.Include: "include",
    nodes.Extends: "extends",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
}
# Filters taking an attribute name, and the position of that argument.
_ATTRIBUTE_ARGUMENT = {
    "attr": 0, "selectattr": 0, "rejectattr": 0, "groupby": 0, "sum": 0, "join": 1,
    "unique": 1, "min": 1, "max": 1, "sort": 2,
}  # fmt: skip
# Child order for nodes whose fields are not stored in source order.
_SOURCE_ORDER = {
    nodes.CondExpr: ("expr1", "test", "expr2"),
    nodes.For: ("target", "iter", "test", "body", "else_"),
    nodes.FilterBlock: ("filter", "body"),
}


def _children(node: nodes.Node) -> Iterator[nodes.Node]:
    fields = _SOURCE_ORDER.get(type(node))
    if fields is None:
        yield from node.iter_child_nodes()
        return
    for field in fields:
        value = getattr(node, field, None)
        if isinstance(value, nodes.Node):
            yield value
        elif isinstance(value, list):
            yield from (item for item in value if isinstance(item, nodes.Node))


def _walk(root: nodes.Node) -> Iterator[nodes.Node]:
    """Pre-order, in source order, iterative (deep templates must not overflow the stack)."""
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(list(_children(node))))


def _unsafe(node: nodes.Node, reason: str, name: str, message: str) -> TemplateUnsafe:
    line = node.lineno
    return TemplateUnsafe(f"Line {line}: {message}", {"line": line, "reason": reason, "name": name})


def _attribute_problem(node: nodes.Node, attr: str) -> TemplateUnsafe | None:
    if attr.startswith("_"):
        return _unsafe(
            node, "private_attribute", attr,
            f"attributes starting with an underscore ({attr!r}) are not allowed in prompts.",
        )  # fmt: skip
    if attr in _STATIC_UNSAFE_ATTRIBUTES:
        return _unsafe(
            node, "unsafe_attribute", attr,
            f"the attribute {attr!r} is not allowed in prompts "
            f"(to read a key with that name write value[{attr!r}]).",
        )  # fmt: skip
    return None


def _attribute_arguments(node: nodes.Filter) -> Iterator[str]:
    """Constant attribute names given to attr(), map(attribute=...), selectattr()..."""
    arguments = [kw.value for kw in node.kwargs if kw.key == "attribute"]
    position = _ATTRIBUTE_ARGUMENT.get(node.name)
    if position is not None and position < len(node.args):
        arguments.append(node.args[position])
    if node.name == "map" and len(node.args) > 1:  # map('attr', '__class__')
        first = node.args[0]
        if isinstance(first, nodes.Const) and first.value == "attr":
            arguments.append(node.args[1])
    for argument in arguments:
        if isinstance(argument, nodes.Const) and isinstance(argument.value, str):
            yield from argument.value.split(".")


def _is_reserved_name(node: nodes.Node) -> bool:
    if not isinstance(node, nodes.Name) or node.ctx != "load":
        return False
    return node.name in _RESERVED_NAMES or node.name.startswith("__")


def _node_problem(node: nodes.Node) -> TemplateUnsafe | None:
    statement = _REFUSED_STATEMENTS.get(type(node))
    if statement is not None:
        message = f"prompts cannot include, extend or import other templates ({statement})."
        return _unsafe(node, statement.split()[0], statement, message)
    if _is_reserved_name(node):
        return _unsafe(
            node, "reserved_name", node.name,
            f"the name {node.name!r} is reserved and cannot be used in prompts.",
        )  # fmt: skip
    if isinstance(node, nodes.Getattr):
        return _attribute_problem(node, node.attr)
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        key = node.arg.value
        if isinstance(key, str) and key.startswith("__"):
            return _attribute_problem(node, key)
    if isinstance(node, nodes.Filter):
        for attr in _attribute_arguments(node):
            problem = _attribute_problem(node, attr)
            if problem is not None:
                return problem
    return None


def _check_safety(ast: nodes.Template) -> None:
    for node in _walk(ast):
        problem = _node_problem(node)
        if problem is not None:
            raise problem


def _variables(ast: nodes.Template) -> list[str]:
    """Names the template reads but never sets, in order of first appearance."""
    undeclared = meta.find_undeclared_variables(ast) - set(ENVIRONMENT.globals)
    found: dict[str, int] = {}
    for node in _walk(ast):
        if isinstance(node, nodes.Name) and node.name in undeclared:
            found.setdefault(node.name, node.lineno)
    for name in sorted(undeclared - set(found)):
        found[name] = 1
    for name, line in found.items():
        if not VARIABLE_NAME.match(name):
            raise _syntax_problem(
                line, f"{name!r} is not a valid variable name (use letters A-Z, digits, '_')."
            )
    return list(found)


def _syntax_problem(line: int, message: str) -> TemplateSyntaxProblem:
    return TemplateSyntaxProblem(f"Line {line}: {message}", {"line": line, "message": message})


class _Compiled(NamedTuple):
    template: Template
    variables: list[str]


@functools.lru_cache(maxsize=1024)
def _compile(source: str) -> _Compiled:
    """Parse, check, compile. Cached by source text: stored versions never change."""
    try:
        ast = ENVIRONMENT.parse(source)
        _check_safety(ast)
        variables = _variables(ast)
        code = ENVIRONMENT.compile(ast, filename=_TEMPLATE_FILENAME)
    except TemplateSyntaxError as exc:
        raise _syntax_problem(exc.lineno, exc.message or "invalid template syntax.") from exc
    except RecursionError as exc:
        raise _syntax_problem(1, "the template is nested too deeply.") from exc
    except (MemoryError, SyntaxError, ValueError, OverflowError) as exc:
        # Pathological input: an integer literal of 5,000 digits, blocks nested past
        # Python's limit of 20...
        reason = str(exc)[:_ERROR_TEXT] or type(exc).__name__
        raise _syntax_problem(1, f"the template cannot be compiled: {reason}") from exc
    template = ENVIRONMENT.template_class.from_code(
        ENVIRONMENT, code, ENVIRONMENT.make_globals(None)
    )
    return _Compiled(template, variables)


def _checked(source: object) -> _Compiled:
    if not isinstance(source, str):
        raise Invalid("A template must be a string.", {"type": type(source).__name__})
    limit = int(getattr(settings, "REGISTRY_MAX_TEMPLATE_CHARS", 100_000))
    if len(source) > limit:
        raise Invalid(
            f"The template is {len(source)} characters long; the limit is {limit}.",
            {"limit": limit, "length": len(source)},
        )
    if "\x00" in source:
        raise Invalid("Templates cannot contain NUL characters.", {"reason": "nul"})
    return _compile(source)


# --------------------------------------------------------------------- public: checking


def check(source: str) -> list[str]:
    """Validate a text template at save time; return the variables it uses, in order of
    first appearance."""
    return list(_checked(source).variables)


def _with_index(error: DomainError, index: int) -> DomainError:
    details = {**error.details, "message_index": index}
    return type(error)(f"messages[{index}]: {error.message}", details, code=error.code)


def _check_message_shape(index: int, message: object) -> None:
    def refuse(text: str, field: str) -> Invalid:
        return Invalid(f"messages[{index}]: {text}", {"message_index": index, "field": field})

    if not isinstance(message, dict):
        raise refuse("each message must be an object with a role and a content.", "message")
    unknown = sorted(str(key) for key in message if key not in ("role", "content"))
    if unknown:
        raise refuse(f"unknown fields {unknown}; a message has only role and content.", unknown[0])
    role = message.get("role")
    if not isinstance(role, str) or role not in CHAT_ROLES:
        raise refuse(f"the role must be one of {', '.join(CHAT_ROLES)}; got {role!r}.", "role")
    if not isinstance(message.get("content"), str):
        raise refuse("the content must be a string (the message's template).", "content")


def check_messages(messages: object) -> list[str]:
    """Validate a chat prompt (a list of {"role", "content"}); return the union of the
    variables its messages use, in order of first appearance."""
    if not isinstance(messages, list):
        raise Invalid("Chat messages must be a list of {role, content} objects.")
    if not messages:
        raise Invalid("A chat prompt needs at least one message.")
    if len(messages) > _MAX_MESSAGES:
        raise Invalid(
            f"A chat prompt may have at most {_MAX_MESSAGES} messages.", {"limit": _MAX_MESSAGES}
        )
    limit = int(getattr(settings, "REGISTRY_MAX_TEMPLATE_CHARS", 100_000))
    variables: dict[str, None] = {}
    total = 0
    for index, message in enumerate(messages):
        _check_message_shape(index, message)
        total += len(message["content"])
        if total > limit:
            raise Invalid(
                f"messages[{index}]: the messages together exceed the limit of {limit} characters.",
                {"limit": limit, "message_index": index},
            )
        try:
            variables.update(dict.fromkeys(_checked(message["content"]).variables))
        except DomainError as error:
            raise _with_index(error, index) from error
    return list(variables)


def _check_declared(index: int, item: object, seen: set[str]) -> dict[str, Any]:
    def refuse(text: str, field: str) -> Invalid:
        return Invalid(f"variables[{index}]: {text}", {"index": index, "field": field})

    if not isinstance(item, dict):
        raise refuse("each variable must be an object with at least a name.", "variable")
    unknown = sorted(
        str(key) for key in item if key not in ("name", "description", "default", "required")
    )
    if unknown:
        raise refuse(f"unknown fields {unknown}.", unknown[0])
    name = item.get("name")
    if not isinstance(name, str) or not VARIABLE_NAME.match(name):
        raise refuse(f"{name!r} is not a valid variable name (letters A-Z, digits, '_').", "name")
    if name in seen:
        raise refuse(f"the variable {name!r} is declared twice.", "name")
    description = item.get("description")
    if description is None:
        description = ""
    if not isinstance(description, str):
        raise refuse("the description must be a string.", "description")
    default = item.get("default")
    if isinstance(default, float) and not math.isfinite(default):
        raise refuse("the default must be a finite number.", "default")
    if default is not None and not isinstance(default, str | int | float | bool):
        raise refuse("the default must be a string, a number, true, false or null.", "default")
    required = item.get("required", True)
    if not isinstance(required, bool):
        raise refuse("required must be true or false.", "required")
    required = required and default is None
    return {"name": name, "description": description, "default": default, "required": required}


def merge_variables(declared: object, detected: list[str]) -> list[dict]:
    """Declared variables first, in their order, then detected-but-undeclared ones."""
    if declared is None:
        declared = []
    if not isinstance(declared, list):
        raise Invalid("Variables must be a list of {name, description, default, required}.")
    seen: set[str] = set()
    merged = []
    for index, item in enumerate(declared):
        variable = _check_declared(index, item, seen)
        seen.add(variable["name"])
        merged.append(variable)
    for name in detected:
        if name not in seen:
            seen.add(name)
            merged.append({"name": name, "description": "", "default": None, "required": True})
    return merged


def _require_values(given: object) -> dict:
    if not isinstance(given, dict):
        raise Invalid("Values must be an object mapping variable names to values.")
    bad = [key for key in given if not isinstance(key, str)]
    if bad:
        raise Invalid(f"Value names must be strings; got {bad[0]!r}.", {"name": repr(bad[0])})
    return given


def resolve_values(variables: list[dict], given: object) -> dict:
    """Given values win, then declared defaults; optional variables without one become "".
    Raises one MissingVariables naming every required variable still missing."""
    given = _require_values(given)
    values: dict[str, Any] = {}
    missing = []
    for variable in variables:
        name = variable["name"]
        if name in given:
            values[name] = given[name]
        elif variable.get("default") is not None:
            values[name] = variable["default"]
        elif not variable.get("required", True):
            values[name] = ""
        else:
            missing.append(name)
    if missing:
        raise _missing(missing)
    return {**values, **{key: value for key, value in given.items() if key not in values}}


def _missing(names: list[str]) -> MissingVariables:
    return MissingVariables(f"Missing values for: {', '.join(names)}.", {"missing": list(names)})


# -------------------------------------------------------------------- public: rendering


def _run(render: Callable[[_RenderState], _T]) -> _T:
    """Run `render` with a fresh render state and the deadline tracer (this thread only).

    Deliberately not a context manager: an __exit__ method is a Python call, which the
    tracer could interrupt right at the deadline before tracing is restored. Here nothing
    but C calls run between the render and the `finally`."""
    state = _RenderState.from_settings()
    previous = sys.gettrace()
    _LOCAL.state = state
    sys.settrace(_tracer(state))
    try:
        return render(state)
    finally:
        sys.settrace(previous)
        _LOCAL.state = None


def _tracer(state: _RenderState) -> Callable[..., Any]:
    """A sys.settrace tracer enforcing the deadline.

    * Every line of compiled template code is checked: loops with empty bodies run
      entirely in template frames, making no calls.
    * Every Python call is checked on entry: a filter looping in Python over a large value
      (groupby's key function, textwrap...) calls functions all the time.
    Other frames get no line tracing (returning None), which keeps them cheap. Raising from
    a trace function also turns tracing off, so cleanup code runs untraced."""
    deadline, clock = state.deadline, time.monotonic

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if clock() > deadline:  # runs for every template line: kept minimal
            state.check_time()
        return local

    def on_call(frame: FrameType, event: str, arg: Any) -> Any:
        if clock() > deadline:
            state.check_time()
        return local if frame.f_code.co_filename == _TEMPLATE_FILENAME else None

    return on_call


def _render(template: Template, values: dict, state: _RenderState) -> str:
    """Stream the template, counting output as it comes. Calls root_render_func (what
    Template.generate wraps) directly: generate() rewrites tracebacks on errors, compiling
    code per frame, which is slow after deep recursion and pointless here."""
    chunks = []
    stream = template.root_render_func(template.new_context(dict(values)))
    try:
        for chunk in stream:
            state.count_output(len(chunk))
            chunks.append(chunk)
    except DomainError:
        raise
    except Exception as exc:
        raise _translate(exc, template) from exc
    finally:
        stream.close()
    return "".join(chunks)


def _template_line(traceback: TracebackType | None, template: Template) -> int | None:
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == _TEMPLATE_FILENAME:
            line = template.get_corresponding_lineno(traceback.tb_lineno)
        traceback = traceback.tb_next
    return line


_LIMIT_ERRORS = {
    RecursionError: ("recursion", "The template nests macros, loops or values too deeply."),
    MemoryError: ("memory", "The template needs too much memory to render."),
    OverflowError: ("size", "The template computed a number too large to handle."),
}


def _translate(exc: Exception, template: Template) -> DomainError:
    line = _template_line(exc.__traceback__, template)
    where = f"Line {line}: " if line else ""
    for kind, (limit, message) in _LIMIT_ERRORS.items():
        if isinstance(exc, kind):
            return RenderLimit(f"{where}{message}", {"limit": limit, "line": line})
    text = str(exc)[:_ERROR_TEXT] or type(exc).__name__
    details = {"line": line, "message": text}
    if isinstance(exc, SecurityError):
        return TemplateUnsafe(f"{where}{text}", {**details, "reason": "sandbox"})
    if isinstance(exc, UndefinedError):
        return Invalid(f"{where}{text}", details, code="render_error")
    return Invalid(f"{where}rendering failed: {text}", details, code="render_error")


def _require_present(variables: list[str], values: dict) -> None:
    missing = [name for name in variables if name not in values]
    if missing:
        raise _missing(missing)


def render_text(source: str, values: dict) -> str:
    """Render a text template; every variable it uses must be in `values`."""
    values = _require_values(values)
    compiled = _checked(source)
    _require_present(compiled.variables, values)
    return _run(lambda state: _render(compiled.template, values, state))


def render_messages(messages: list[dict], values: dict) -> list[dict]:
    """Render every message; one deadline and one output budget cover the whole chat."""
    _require_present(check_messages(messages), _require_values(values))
    return _run(lambda state: _render_chat(messages, values, state))


def _render_chat(messages: list[dict], values: dict, state: _RenderState) -> list[dict]:
    rendered = []
    for index, message in enumerate(messages):
        try:
            content = _render(_checked(message["content"]).template, values, state)
        except DomainError as error:
            raise _with_index(error, index) from error
        rendered.append({"role": message["role"], "content": content})
    return rendered
