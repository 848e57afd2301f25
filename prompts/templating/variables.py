"""Template variables: the ones a template uses (in order of first appearance), merged
with the declared ones, and the values filled in for them at render time."""

from __future__ import annotations

import math
import re
from typing import Any

from jinja2 import meta, nodes

from prompts.templating.environment import ENVIRONMENT
from prompts.templating.errors import _missing, _syntax_problem
from prompts.templating.safety import _walk
from registry_site.errors import Invalid

VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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


def _check_declared(index: int, item: object, seen: set[str]) -> dict[str, Any]:
    def refuse(text: str, key: str) -> Invalid:
        return Invalid(
            f"variables[{index}]: {text}", {"field": "variables", "index": index, "key": key}
        )

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
