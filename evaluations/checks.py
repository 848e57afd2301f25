"""Checks of a dataset: how each is validated when saved and judged on an output.

``clean_checks`` refuses (400) any check that cannot work (unknown type, bad regex,
bad JSON schema); ``verdict`` judges one output and never raises: a check that cannot
decide (no expected output to compare with) fails with its reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import jsonschema
from referencing.exceptions import Unresolvable

from registry_site.errors import Invalid

TYPES = ("equals", "contains", "not_contains", "regex", "json", "json_schema", "max_chars", "judge")
MAX_CHECKS = 20
VALUE_CHARS = 10_000
RUBRIC_CHARS = 10_000
MAX_SCHEMA_BYTES = 50_000
REASON_CHARS = 500
# How long one regex may take on one output is bounded by the output's size: outputs
# are capped by the model, and patterns by VALUE_CHARS.
_FIELDS = {"type", "value", "schema", "rubric", "connection", "model"}

# A judge: (check, output, row) -> (passed, reason); the runner supplies it.
Judge = Callable[[dict, str, dict], tuple[bool, str]]


def _bad(index: int, message: str, **details: Any) -> Invalid:
    return Invalid(f"Check {index + 1}: {message}", {"field": "checks", "index": index, **details})


def _text(check: dict, key: str, index: int, limit: int, required: bool) -> str | None:
    value = check.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise _bad(index, f"{key} is text of at most {limit} characters.")
    return value


def _clean_one(check: Any, index: int) -> dict:
    if not isinstance(check, dict):
        raise _bad(index, "a check is an object with a type.")
    unknown = sorted(set(check) - _FIELDS)
    if unknown:
        raise _bad(index, f"unknown field(s) {', '.join(unknown)}.")
    kind = check.get("type")
    if kind not in TYPES:
        raise _bad(index, f"type is one of {', '.join(TYPES)}.", allowed=list(TYPES))
    cleaned: dict[str, Any] = {"type": kind}
    if kind in ("equals", "contains"):
        value = _text(check, "value", index, VALUE_CHARS, required=False)
        if value is not None:
            cleaned["value"] = value
    elif kind in ("not_contains", "regex"):
        cleaned["value"] = _text(check, "value", index, VALUE_CHARS, required=True)
        if kind == "regex":
            try:
                re.compile(cleaned["value"])
            except re.error as exc:
                raise _bad(index, f"the regular expression does not compile: {exc}.") from None
    elif kind == "max_chars":
        value = check.get("value")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 10**7:
            raise _bad(index, "value is a whole number of characters from 1 to 10,000,000.")
        cleaned["value"] = value
    elif kind == "json_schema":
        cleaned["schema"] = _clean_schema(check.get("schema"), index)
    elif kind == "judge":
        cleaned["rubric"] = _text(check, "rubric", index, RUBRIC_CHARS, required=True)
        for key in ("connection", "model"):
            value = _text(check, key, index, 200, required=False)
            if value:
                cleaned[key] = value
    return cleaned


def _clean_schema(schema: Any, index: int) -> dict:
    if not isinstance(schema, dict) or len(json.dumps(schema)) > MAX_SCHEMA_BYTES:
        raise _bad(index, f"schema is a JSON Schema object of at most {MAX_SCHEMA_BYTES} bytes.")
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise _bad(index, f"the schema is not valid: {exc.message}.") from None
    for ref in _refs(schema):
        if not ref.startswith("#"):
            # The worker fetches nothing: a schema refers only to its own parts.
            raise _bad(index, f"the schema may refer only to itself ('#...'), not {ref[:80]!r}.")
    return schema


# Keywords whose values are data, not schemas: a "$ref" inside them is no reference.
_DATA_KEYWORDS = {"const", "enum", "default", "examples"}


def _refs(schema: Any) -> list[str]:
    found = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str):
                found.append(value)
            elif key not in _DATA_KEYWORDS:
                found += _refs(value)
    elif isinstance(schema, list):
        for item in schema:
            found += _refs(item)
    return found


def clean_checks(checks: Any) -> list[dict]:
    if checks is None:
        return []
    if not isinstance(checks, list) or len(checks) > MAX_CHECKS:
        raise Invalid(f"checks is a list of at most {MAX_CHECKS} checks.", {"field": "checks"})
    return [_clean_one(check, index) for index, check in enumerate(checks)]


# ------------------------------------------------------------------ judging an output


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _expected(check: dict, row: dict) -> str | None:
    value = check.get("value")
    return value if value is not None else row.get("expected")


def _parsed(output: str) -> tuple[bool, Any, str]:
    try:
        return True, json.loads(output), ""
    except ValueError as exc:
        return False, None, f"not JSON: {exc}"


def _schema_verdict(check: dict, output: str) -> tuple[bool, str]:
    ok, data, reason = _parsed(output)
    if not ok:
        return False, reason
    validator = jsonschema.validators.validator_for(check["schema"])(check["schema"])
    try:
        error = jsonschema.exceptions.best_match(validator.iter_errors(data))
    except Unresolvable as exc:  # a "#..." part the schema does not have
        return False, f"the schema's $ref does not resolve: {_short(str(exc))}"
    if error is not None:
        return False, f"does not match the schema: {error.message}"
    return True, "matches the schema"


def _verdict(check: dict, output: str, row: dict, judge: Judge | None) -> tuple[bool, str]:
    kind = check["type"]
    if kind in ("equals", "contains"):
        wanted = _expected(check, row)
        if wanted is None:
            return False, "no value and no expected output to compare with"
        if kind == "equals":
            same = output.strip() == wanted.strip()
            return same, "equal" if same else f"differs from {_short(wanted)!r}"
        found = wanted in output
        return found, f"{'contains' if found else 'does not contain'} {_short(wanted)!r}"
    if kind == "not_contains":
        found = check["value"] in output
        return (
            not found,
            f"{'contains' if found else 'does not contain'} {_short(check['value'])!r}",
        )
    if kind == "regex":
        found = re.search(check["value"], output) is not None
        return found, "matches" if found else f"does not match {_short(check['value'])!r}"
    if kind == "json":
        ok, _, reason = _parsed(output)
        return ok, "parses as JSON" if ok else reason
    if kind == "json_schema":
        return _schema_verdict(check, output)
    if kind == "max_chars":
        fits = len(output) <= check["value"]
        return fits, f"{len(output)} of at most {check['value']} characters"
    if judge is None:
        return False, "no judge available"
    return judge(check, output, row)


def verdicts(checks: list[dict], output: str, row: dict, judge: Judge | None) -> list[dict]:
    """Each check's {type, passed, reason} on ``output``."""
    found = []
    for check in checks:
        passed, reason = _verdict(check, output, row, judge)
        found.append({"type": check["type"], "passed": passed, "reason": reason[:REASON_CHARS]})
    return found
