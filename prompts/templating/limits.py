"""Render-time resource limits: the per-render state (deadline, output and allocation
budgets, iteration count), the size checks made before an operation builds a value, the
bounded range() given to templates and the `sys.settrace` deadline tracer."""

from __future__ import annotations

import re
import sys
import threading
import time
from collections import abc, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, TypeVar

from django.conf import settings
from jinja2.runtime import Undefined
from jinja2.utils import Namespace

from prompts.templating.errors import RenderLimit, _NotRendering

_T = TypeVar("_T")

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


# ------------------------------------------------------------------------- render state


@dataclass
class _RenderState:
    max_output: int
    seconds: float
    deadline: float
    produced: int = 0
    allocated: int = 0
    iterations: int = 0
    depth: int = 0
    # Containers the template built, by id: (container, logical size, depth) (`building`).
    weights: dict[int, tuple[Any, int, int]] = field(default_factory=dict)
    remembered: int = 0

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

    def enter_call(self) -> None:
        """Macro and loop calls nest; stop them long before Python's own recursion limit,
        whose C stack may be smaller than it assumes in a server's worker thread."""
        self.depth += 1
        if self.depth > MAX_CALL_DEPTH:
            raise RenderLimit(
                f"The template nests macro or loop calls more than {MAX_CALL_DEPTH} deep.",
                {"limit": "recursion", "max": MAX_CALL_DEPTH},
            )

    def tick(self) -> None:
        self.iterations += 1
        if self.iterations > _MAX_ITERATIONS:
            raise RenderLimit(
                f"The template's loops ran more than {_MAX_ITERATIONS} iterations.",
                {"limit": "iterations", "max": _MAX_ITERATIONS},
            )
        if not self.iterations & 63:
            self.check_time()


MAX_CALL_DEPTH = 50

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


# ---------------------------------------------------------------------------- range()


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


# ----------------------------------------------------------------- deadline and tracer


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
    a trace function also turns tracing off, so cleanup code runs untraced.
    A call the interpreter makes on its own inside the render (a garbage-collector or
    weakref callback, a finalizer) may be where the deadline is found passed; the
    interpreter swallows that exception ("Exception ignored in ...") and tracing stops.
    Loops do not depend on tracing: every iteration is counted (``tick``) and checks the
    clock every 64 iterations, which raises again where nothing swallows it."""
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
