"""Forms of the editor, settings and sample pages.

They parse what a browser sends (text, comma-separated tags, JSON in a textarea,
rows of chat messages and variables) into the shapes the services take. The rules
themselves (slugs, tags, template checks, variable names, sizes) live in
``prompts.services``, ``prompts.samples`` and ``prompts.templating``; their errors
come back onto these forms through ``registry_site.pages.form_error``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import Team
from prompts.models import Version
from prompts.templating import CHAT_ROLES
from registry_site.middleware import json_is_storable, json_too_deep

MAX_ROWS = 200  # chat messages or declared variables one form may hold


def newlines(text: str | None) -> str:
    """Browsers send textareas with CRLF line breaks; templates keep plain LF."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_object(text: str, what: str) -> dict:
    """A JSON object from a textarea; empty text is {}."""
    text = (text or "").strip()
    if not text:
        return {}
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValidationError(f"{what} is nested too deeply.") from None
    except ValueError as exc:
        raise ValidationError(f"{what} is not valid JSON: {exc}.") from None
    if not isinstance(value, dict):
        raise ValidationError(
            f'{what} must be a JSON object such as {{"model": "gpt-4o", "temperature": 0.2}}, '
            f"not {type(value).__name__ if value is not None else 'null'}."
        )
    if json_too_deep(value):
        raise ValidationError(f"{what} is nested too deeply.")
    if not json_is_storable(value):
        raise ValidationError(f"{what} cannot contain NUL characters or lone surrogates.")
    return value


def show_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


class CodeArea(forms.Textarea):
    """A monospace textarea for templates and JSON."""

    def __init__(self, rows: int = 12, **attrs: Any):
        super().__init__(
            attrs={"class": "code", "rows": rows, "spellcheck": "false", "autocomplete": "off"}
            | attrs
        )


class TextField(forms.CharField):
    """Text kept as typed (no stripping), with LF line breaks."""

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("strip", False)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> str:
        return newlines(super().to_python(value))


class TagsField(forms.CharField):
    """Tags typed as "a, b, c"; the service checks and normalises them."""

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value) or ""
        return [tag.strip() for tag in text.split(",") if tag.strip()]

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list | tuple) else value


class JSONObjectField(forms.CharField):
    """A JSON object typed into a textarea; the cleaned value is a dict."""

    def __init__(self, *, what: str, **kwargs: Any):
        self.what = what
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", CodeArea(rows=6))
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dict:  # type: ignore[override]
        return parse_json_object(super().to_python(value), self.what)

    def prepare_value(self, value: Any) -> Any:
        return show_json(value) if isinstance(value, dict) else value


class Form(forms.Form):
    """Labels without a trailing colon, like the rest of the site."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


# ------------------------------------------------------------------------------ editor


class NewPromptForm(Form):
    """What a new prompt needs besides its first version."""

    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    name = forms.CharField(max_length=200)
    slug = forms.CharField(
        max_length=64,
        required=False,
        help_text="Its address is team/slug. Leave empty to derive it from the name.",
    )
    description = TextField(widget=forms.Textarea(attrs={"rows": 2}), max_length=10_000)
    tags = TagsField(required=False, help_text="Comma-separated, e.g. triage, support:tier1")

    def __init__(self, *args: Any, teams: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams


class VersionForm(Form):
    """A version's content besides its rows: kind, template, model config, note."""

    kind = forms.ChoiceField(choices=Version.Kind.choices, initial=Version.Kind.TEXT)
    template = TextField(
        widget=CodeArea(rows=14),
        help_text="Jinja syntax: {{ variable }}, {% if %}, {% for %}. Templates run sandboxed.",
    )
    config = JSONObjectField(
        what="Model config",
        label="Model config (JSON)",
        help_text='A JSON object, e.g. {"model": "gpt-4o", "temperature": 0.2}.',
    )
    change_note = TextField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2_000,
        help_text="What changed and why; it goes into the history.",
    )


class MessageForm(Form):
    role = forms.ChoiceField(choices=[(role, role) for role in CHAT_ROLES], initial="user")
    content = TextField(widget=CodeArea(rows=4), label="Message")


class VariableForm(Form):
    name = forms.CharField(max_length=100, required=False)
    description = TextField(max_length=2_000)
    default = TextField(max_length=10_000)
    # Without a default, an optional variable renders as empty text.
    optional = forms.BooleanField(required=False)

    def clean(self) -> dict:
        data = super().clean()
        if not (data.get("name") or "").strip() and (
            (data.get("description") or "").strip() or data.get("default")
        ):
            self.add_error("name", "Give the variable a name, or clear the row.")
        return data


MessageFormSet = forms.formset_factory(
    MessageForm, extra=0, max_num=MAX_ROWS, absolute_max=MAX_ROWS, validate_max=True
)
VariableFormSet = forms.formset_factory(
    VariableForm, extra=0, max_num=MAX_ROWS, absolute_max=MAX_ROWS, validate_max=True
)
ROW_FIELDS = {
    "messages": ["role", "content"],
    "variables": ["name", "description", "default", "optional"],
}


def rows_data(data: Any, prefix: str) -> list[dict[str, Any]]:
    """The rows a formset was posted with, in order of their numbers. Numbers may have
    gaps (rows a script removed). One row more than MAX_ROWS is kept, so the formset
    refuses too many rows instead of their being cut silently."""
    pattern = re.compile(rf"^{prefix}-(\d{{1,9}})-({'|'.join(ROW_FIELDS[prefix])})$")
    indices = sorted({int(m.group(1)) for key in data if (m := pattern.match(key))})
    rows = []
    for index in indices[: MAX_ROWS + 1]:
        keys = {field: f"{prefix}-{index}-{field}" for field in ROW_FIELDS[prefix]}
        rows.append({field: data.get(key) for field, key in keys.items()})
    return rows


def formset_data(prefix: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Bound data of a formset holding ``rows``, numbered from 0."""
    data: dict[str, Any] = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": str(MAX_ROWS),
    }
    for index, row in enumerate(rows):
        for field, value in row.items():
            if field == "optional":
                if value:
                    data[f"{prefix}-{index}-{field}"] = "on"
            elif value is not None:
                data[f"{prefix}-{index}-{field}"] = value
    return data


def message_rows(messages: list[dict]) -> list[dict[str, Any]]:
    return [{"role": m.get("role"), "content": m.get("content", "")} for m in messages]


def variable_rows(variables: list[dict], *, detected: list[str] | None = None) -> list[dict]:
    """Rows for declared variables. A variable that only repeats what detection finds
    (no description, no default, required) is left out when ``detected`` holds it."""
    rows = []
    for variable in variables:
        default = variable.get("default")
        plain = not variable.get("description") and default is None
        if plain and variable.get("required", True) and variable["name"] in (detected or []):
            continue
        rows.append(
            {
                "name": variable["name"],
                "description": variable.get("description") or "",
                "default": ""
                if default is None
                else (default if isinstance(default, str) else json.dumps(default)),
                "optional": not variable.get("required", True) and default is None,
            }
        )
    return rows


# ---------------------------------------------------------------------------- settings


class SettingsForm(Form):
    name = forms.CharField(max_length=200)
    description = TextField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000)
    tags = TagsField(required=False, help_text="Comma-separated, e.g. triage, support:tier1")
    slug = forms.CharField(
        max_length=64,
        label="Address (slug)",
        help_text="Renaming keeps the old address working for services and links; "
        "it stays reserved for this prompt.",
    )
    reason = forms.CharField(
        max_length=2_000, required=False, help_text="Why; it goes into the history."
    )


class ArchiveForm(Form):
    confirm = forms.BooleanField(
        label="Yes, archive this prompt",
        help_text="Services can no longer fetch it; lists and search no longer show it. "
        "Nothing is deleted and it can be restored.",
    )
    reason = forms.CharField(max_length=2_000, required=False)
    force = forms.BooleanField(
        required=False,
        label="Archive even though live prompts include it",
        help_text="Those prompts cannot be composed while it is archived.",
    )


# ----------------------------------------------------------------------------- samples


class SampleForm(Form):
    name = forms.CharField(max_length=100)
    values = JSONObjectField(
        what="Values",
        required=False,
        widget=CodeArea(rows=10),
        help_text='A JSON object of variable values, e.g. {"ticket_text": "My invoice is wrong"}.',
    )
