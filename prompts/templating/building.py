"""Bounds on the values a template builds: lists, tuples and mappings are weighed as they
are built, by their logical size, and refused past the limit.

List repetition and literals share references: `[[[0] * 10] * 10] * 10`, nested ten
levels, is a few dozen characters describing 10**10 items. Comparing, hashing, sorting
or printing such a value walks every item inside C, where the deadline tracer cannot
stop it. So every container a template builds (literals, `+` and `*`, filters and calls
that return one) is weighed when it is built: its own items, plus the logical size of
each container it holds every time it holds it (ten references to one million-item list
weigh ten million), plus an item per 64 characters of its strings, since comparing
equal strings reads them whole. A value over the output limit, or nested more than
MAX_NESTING deep, is refused (`render_limit`). Whatever compares, hashes, sorts or
prints a value the template built then walks at most that many items, which C does in
milliseconds; comparisons need no bound of their own.

Values given to the render are not weighed until the template builds something out of
them: they come from a request or a stored sample, whose size is bounded already.

Weights of heavy values are remembered per render by object identity (the object is
kept, so its id cannot be reused), so building on them costs only the new container's
own items. Walks are iterative and stop as soon as a limit is passed.
"""

from __future__ import annotations

from collections import abc, deque
from typing import Any

from prompts.templating.errors import RenderLimit, _NotRendering
from prompts.templating.limits import _LOCAL, _RenderState

MAX_NESTING = 100  # far beyond any prompt's data, far below what C recursion tolerates
_CHARS_PER_ITEM = 64  # comparing strings reads them whole: one item per cache line
# Values remembered at once per render, and their items: past either, the render forgets.
_REMEMBERED_VALUES = 4_096
_REMEMBERED_ITEMS = 1_000_000
# Lighter values are not remembered: weighing them again costs less than remembering.
_REMEMBER_FROM = 256
_SMALL = 16  # a literal this long is weighed without a walk when it holds flat values

_CONTAINERS = (list, tuple, set, frozenset, deque, abc.Mapping, abc.MappingView)
_SCALARS = frozenset({int, float, bool, type(None)})
_FLAT = _SCALARS | {str}
_LITERALS = frozenset({list, tuple, dict})
_TEXT = (str, bytes, bytearray)
_is_str = str.__instancecheck__  # a C function: filter() calls it without Python code


def _is_container(value: Any) -> bool:
    return type(value) not in _SCALARS and isinstance(value, _CONTAINERS)


def _too_large(limit: int) -> RenderLimit:
    return RenderLimit(
        f"The template tried to build a list or mapping of more than {limit} items, "
        f"counting the items of nested values each time they are included; "
        f"the limit is {limit}.",
        {"limit": "size", "max": limit},
    )


def _too_deep() -> RenderLimit:
    return RenderLimit(
        f"The template tried to nest lists or mappings more than {MAX_NESTING} deep.",
        {"limit": "recursion", "max": MAX_NESTING},
    )


# Every Python call made while rendering is seen by the deadline tracer, which costs more
# than the call itself, and literals are built in loops: the functions below do their
# work inline, in as few calls as possible, and loop without generators (each resume of a
# generator is a call).


def _quick_weight(state: _RenderState, node: Any) -> tuple[int, int] | None:
    """(weight, depth) of what most containers are, or None: one holding only numbers
    and strings (measured by C functions, no Python code per item), or a small list,
    tuple or dict holding those, values already weighed and small flat lists."""
    items = [*node.keys(), *node.values()] if isinstance(node, abc.Mapping) else node
    kinds = set(map(type, items))
    if kinds <= _SCALARS:
        return len(node), 1
    if kinds <= _FLAT:
        return len(node) + sum(map(len, filter(_is_str, items))) // _CHARS_PER_ITEM, 1
    if len(node) > _SMALL or type(node) not in _LITERALS:
        return None
    remembered = state.weights
    weight, depth, characters = len(node), 0, 0
    for item in items:
        kind = type(item)
        if kind in _SCALARS:
            continue
        if kind is str:
            characters += len(item)
            continue
        entry = remembered.get(id(item))
        if entry is not None and entry[0] is item:
            weight, depth = weight + entry[1], max(depth, entry[2])
            continue
        if (kind is not tuple and kind is not list) or len(item) > _SMALL:
            return None
        weight, depth = weight + len(item), max(depth, 1)
        for leaf in item:
            if type(leaf) is str:
                characters += len(leaf)
            elif type(leaf) not in _SCALARS:
                return None
    return weight + characters // _CHARS_PER_ITEM, depth + 1


def _weigh(state: _RenderState, root: Any) -> tuple[int, int]:
    """(logical size, nesting depth) of a container: an iterative walk, post-order,
    that weighs each container once however often it is referenced, uses the weights
    remembered by the render, and stops as soon as a limit is passed."""
    remembered, limit = state.weights, state.max_output
    entry = remembered.get(id(root))
    if entry is not None and entry[0] is root:
        return entry[1], entry[2]
    weighed: dict[int, tuple[int, int]] = {}  # this walk's containers, shared ones once
    path: set[int] = set()  # containers opened and not yet weighed: the current branch
    kept = []  # every list of children, so no id seen in this walk is reused during it
    opened = 0  # items of the containers opened so far: never more than the weight
    stack: list[tuple[Any, list | None]] = [(root, None)]
    while stack:
        node, children = stack.pop()
        key = id(node)
        if children is None:  # first visit: weigh it at once, or open it
            if key in weighed:
                continue
            if key in path or len(path) >= MAX_NESTING:  # a cycle is infinitely deep
                raise _too_deep()
            opened += len(node)
            if opened > limit:
                raise _too_large(limit)
            quick = _quick_weight(state, node)
            if quick is not None:  # as cheap to weigh again as to remember
                weighed[key] = quick
                continue
            # A mapping holds its keys and values; its items() view, (key, value) pairs.
            is_mapping = isinstance(node, abc.Mapping)
            children = [*node.keys(), *node.values()] if is_mapping else [*node]
            kept.append(children)
            path.add(key)
            stack.append((node, children))
            for child in children:
                if type(child) in _SCALARS or id(child) in weighed:
                    continue
                if isinstance(child, _CONTAINERS):
                    entry = remembered.get(id(child))
                    if entry is not None and entry[0] is child:
                        weighed[id(child)] = (entry[1], entry[2])
                    else:
                        stack.append((child, None))
            continue
        path.discard(key)  # second visit: everything it holds is weighed
        weight, depth, characters = len(node), 0, 0
        for child in children:
            if type(child) in _SCALARS:
                continue
            found = weighed.get(id(child))
            if found is not None:
                weight, depth = weight + found[0], max(depth, found[1])
                if weight > limit:
                    raise _too_large(limit)
            elif isinstance(child, _TEXT):
                characters += len(child)
        weight += characters // _CHARS_PER_ITEM
        if weight > limit:
            raise _too_large(limit)
        if depth >= MAX_NESTING:
            raise _too_deep()
        weighed[key] = (weight, depth + 1)
        if weight >= _REMEMBER_FROM:  # parts too: what was forgotten is learnt again
            _remember(state, node, weight, depth + 1)
    return weighed[id(root)]


def _remember(state: _RenderState, value: Any, weight: int, depth: int) -> None:
    """Keep the weight of a value that was costly to weigh (walked, or combined from
    operands that were) with the value itself, so its id cannot be reused."""
    state.remembered += len(value)
    if state.remembered > _REMEMBERED_ITEMS or len(state.weights) >= _REMEMBERED_VALUES:
        # Forgetting only costs a walk later, and bounds what a render keeps alive.
        state.weights.clear()
        state.remembered = len(value)
    state.weights[id(value)] = (value, weight, depth)


def _refuse_past_limits(state: _RenderState, weight: int, depth: int) -> None:
    if weight > state.max_output:
        raise _too_large(state.max_output)
    if depth > MAX_NESTING:
        raise _too_deep()


def _check_built(state: _RenderState, value: Any, *inputs: Any) -> Any:
    """Weigh a value an operation returned, unless it is not a container or is one of
    the operation's inputs; refuse it past the limits."""
    if type(value) in _SCALARS or not isinstance(value, _CONTAINERS):
        return value
    for given in inputs:
        if value is given:
            return value
    entry = state.weights.get(id(value))
    if entry is not None and entry[0] is value:
        return value
    _refuse_past_limits(state, *(_quick_weight(state, value) or _weigh(state, value)))
    return value


def _check_literal(value: Any) -> Any:
    """A list, tuple or dict literal, just built. The deadline was checked on the way in
    (by the tracer): no other call is made for the common case."""
    state = getattr(_LOCAL, "state", None)
    if state is None:
        raise _NotRendering
    weight, depth = _quick_weight(state, value) or _weigh(state, value)
    if weight > state.max_output or depth > MAX_NESTING:
        _refuse_past_limits(state, weight, depth)
    return value


def _check_combined(state: _RenderState, operator: str, left: Any, right: Any, value: Any) -> Any:
    """`a + b` and `a * n` weigh what their operands weigh, added or multiplied: known
    at once when the operands were built by the template."""
    if type(value) in _SCALARS or not isinstance(value, _CONTAINERS):
        return value
    if value is left or value is right:
        return value
    if operator == "*":
        sequence, count = (left, right) if _is_container(left) else (right, left)
        weight, depth = _weigh(state, sequence)
        weight *= max(count, 0)
    elif operator == "+":
        (left_weight, left_depth), (right_weight, depth) = (
            _weigh(state, left),
            _weigh(state, right),
        )
        weight, depth = left_weight + right_weight, max(left_depth, depth)
    else:
        return _check_built(state, value)
    _refuse_past_limits(state, weight, depth)
    if weight >= _REMEMBER_FROM:
        _remember(state, value, weight, depth)
    return value
