"""The editor's live preview, apart from HTTP: the draft as posted, the sample values
typed as the variables declare, and what the page shows (the rendering, or each
problem on its field).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prompts import templating
from prompts.forms import (
    VersionForm,
    newlines,
)
from prompts.models import Version
from registry_site.errors import DomainError

MAX_VALUE_INPUTS = 500  # sample value inputs read from one request
MAX_SAMPLE_JSON = 200_000  # characters of the posted sample set kept for typed values


@dataclass
class Draft:
    """What the editor holds, read as posted (the preview needs no valid form)."""

    kind: str
    template: str
    messages: list[dict]
    declared: list[dict]
    message_forms: list = field(default_factory=list)  # the row form of each message
    variable_forms: list = field(default_factory=list)  # the row form of each declared one


def draft_of(version: VersionForm, message_set: Any, variable_set: Any) -> Draft:
    kind = version["kind"].value()
    kind = kind if kind in Version.Kind.values else Version.Kind.TEXT
    draft = Draft(
        kind=kind, template=newlines(version["template"].value()), messages=[], declared=[]
    )
    for form in message_set.forms:
        content = newlines(form["content"].value())
        if content.strip():
            draft.messages.append({"role": form["role"].value(), "content": content})
            draft.message_forms.append(form)
    for form in variable_set.forms:
        name = (form["name"].value() or "").strip()
        if not name:
            continue
        default = newlines(form["default"].value())
        draft.declared.append(
            {
                "name": name,
                "description": newlines(form["description"].value()),
                "default": default if default != "" else None,
                "required": not form["optional"].value(),
            }
        )
        draft.variable_forms.append(form)
    return draft


def shown_variables(text: Any) -> list[str]:
    names = (text or "").split(",")[:MAX_VALUE_INPUTS] if isinstance(text, str) else []
    return [n for n in names if templating.VARIABLE_NAME.match(n)]


def display(value: Any) -> str:
    """A sample value as its input shows it: text as is, anything else as compact JSON
    (as editor.js writes it with JSON.stringify)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _typed(name: str, text: str, sample: dict) -> Any:
    """A value input's text; a sample's number, list... if the text still shows it."""
    if name in sample and not isinstance(sample[name], str) and text == display(sample[name]):
        return sample[name]
    return text


def posted_texts(data: Any) -> dict[str, str]:
    texts = {}
    for key in list(data.keys())[: MAX_VALUE_INPUTS * 4]:
        name = key[6:] if key.startswith("value-") else ""
        if name and templating.VARIABLE_NAME.match(name):
            texts[name] = newlines(data.get(key))
    return texts


def posted_sample(data: Any) -> dict:
    text = data.get("sample_values") or ""
    if not text or len(text) > MAX_SAMPLE_JSON:
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


_TITLES = {
    "template_syntax": "Template syntax error",
    "template_unsafe": "Not allowed in a prompt",
    "render_limit": "Rendering stopped",
    "render_error": "Rendering failed",
    "bad_reference": "Cannot include",
    "composition_failed": "Cannot include",
}


def _describe(error: DomainError, title: str | None = None) -> dict:
    details = error.details
    index = details.get("index") if details.get("field") == "messages" else None
    return {
        "title": title or _TITLES.get(error.code, "Cannot preview"),
        "code": error.code,
        # The title says where; the text need not repeat it.
        "message": templating.reason_of(error),
        "line": details.get("line"),
        "message_number": index + 1 if isinstance(index, int) else None,
    }


def _names_only(declared: list[dict], detected: list[str]) -> list[dict]:
    """Variables to offer inputs for when the declared ones do not check out."""
    seen: dict[str, dict] = {}
    for item in declared:
        name = item.get("name")
        if isinstance(name, str) and templating.VARIABLE_NAME.match(name) and name not in seen:
            seen[name] = {**item, "default": item.get("default")}
    for name in detected:
        seen.setdefault(name, {"name": name, "description": "", "default": None, "required": True})
    return list(seen.values())


# What composes a draft when the page offers it (composition's compose_draft, given by
# the views: prompts may not import it): (kind, template, messages) -> (the composed
# template, the composed messages, the variables its snippets add).
Composer = Callable[[str, str, list], tuple[str, list, list]]


def compute_preview(
    draft: Draft,
    texts: dict[str, str],
    sample: dict,
    shown: list[str] | None = None,
    compose: Composer | None = None,
) -> dict:
    """The preview of a draft with sample values: its variables (with the text of each
    value input), and the rendered text or messages, or the missing variables, or the
    template's error with its line. With ``compose``, what the draft includes is
    rendered in place, and the snippets' variables are offered too."""
    result: dict[str, Any] = {
        "kind": draft.kind,
        "error": None,
        "missing": [],
        "rendered": None,
        "chat": None,
        "detected": [],
        "empty": False,
    }
    if draft.kind == Version.Kind.CHAT:
        result["empty"] = not draft.messages
    else:
        result["empty"] = not draft.template.strip()
    detected: list[str] | None = None
    template, messages, added = draft.template, draft.messages, []
    if not result["empty"]:
        try:
            if compose is not None:
                template, messages, added = compose(draft.kind, draft.template, draft.messages)
            if draft.kind == Version.Kind.CHAT:
                detected = templating.check_messages(messages)
            else:
                detected = templating.check(template)
        except DomainError as error:
            result["error"] = _describe(error)
    result["detected"] = detected or []
    declared_names = {item.get("name") for item in draft.declared}
    declared = [*draft.declared, *(v for v in added if v["name"] not in declared_names)]
    try:
        variables = templating.merge_variables(declared, detected or [])
    except DomainError as error:
        variables = _names_only(declared, detected or [])
        result["error"] = result["error"] or _describe(error, "Declared variables")
    if detected is None:
        # While the template does not parse, keep the inputs the page already shows.
        known = {v["name"] for v in variables}
        variables += [
            {"name": n, "description": "", "default": None, "required": True}
            for n in (shown or [])
            if n not in known
        ]
    given: dict[str, Any] = {}
    inputs = []
    for variable in variables:
        name = variable["name"]
        text = texts.get(name, display(sample[name]) if name in sample else "")
        if text != "":
            given[name] = _typed(name, text, sample)
        inputs.append({**variable, "text": text, "detected": name in result["detected"]})
    result["variables"] = inputs
    result["names"] = ",".join(v["name"] for v in inputs)
    result["detected_names"] = ",".join(result["detected"])
    if result["error"] is None and not result["empty"]:
        try:
            values = templating.resolve_values(variables, given)
            if draft.kind == Version.Kind.CHAT:
                result["chat"] = templating.render_messages(messages, values)
            else:
                result["rendered"] = templating.render_text(template, values)
        except templating.MissingVariables as error:
            result["missing"] = list(error.details.get("missing", []))
        except DomainError as error:
            result["error"] = _describe(error)
    return result
