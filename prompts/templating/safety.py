"""The static check made at save time: the parsed AST is walked and anything that only
serves to reach Python internals is refused (include/extends/import, `self`, the
lipsum/cycler/joiner globals, attributes starting with "_", `mro`, `format`...)."""

from __future__ import annotations

from collections.abc import Iterator

from jinja2 import nodes

from prompts.templating.errors import TemplateUnsafe

# Refused both here and at runtime by the sandboxed environment (is_safe_attribute).
_UNSAFE_ATTRIBUTES = frozenset({"mro", "format", "format_map", "translate", "maketrans"})
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
