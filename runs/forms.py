"""Forms of the connection and playground pages. They parse input only; runs.services
decides what is allowed and reports refusals as DomainErrors."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from runs.models import Provider


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class ConnectionForm(forms.Form):
    name = forms.SlugField(max_length=64, help_text="Lowercase letters, digits and hyphens.")
    provider = forms.ChoiceField(choices=Provider.choices)
    base_url = forms.CharField(
        label="Base URL",
        max_length=2000,
        widget=forms.TextInput(attrs={"inputmode": "url", "placeholder": "https://"}),
        help_text="OpenAI: https://api.openai.com/v1 · Anthropic: https://api.anthropic.com",
    )
    api_key = forms.CharField(
        label="API key",
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted; never shown again, only its first and last characters.",
    )
    models = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One model per line; the first is the default. Empty: any model.",
    )
    headers = forms.CharField(
        label="Extra headers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "off"}),
        help_text="One 'Name: value' per line. Stored encrypted like the key.",
    )

    def clean_models(self) -> list[str]:
        return _lines(self.cleaned_data["models"])

    def clean_headers(self) -> dict[str, str] | None:
        found = {}
        for line in _lines(self.cleaned_data["headers"]):
            name, colon, value = line.partition(":")
            if not colon:
                raise forms.ValidationError("Write each header as 'Name: value'.")
            found[name.strip()] = value.strip()
        return found


class ConnectionEditForm(ConnectionForm):
    """Blank key or headers keep what is stored (they are never shown)."""

    api_key = forms.CharField(
        label="New API key",
        required=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave blank to keep the current key.",
    )
    clear_headers = forms.BooleanField(required=False, label="Remove the extra headers")

    def changes(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        clear = data.pop("clear_headers")
        if not data["api_key"]:
            data["api_key"] = None
        if not data["headers"]:
            data["headers"] = {} if clear else None
        return data


class KeyForm(forms.Form):
    api_key = forms.CharField(
        label="New API key",
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )


class PlaygroundForm(forms.Form):
    """What to run: a version (``v:3``), what is live in an environment (``env:prod``)
    or the latest version; on which connection and model; with which values."""

    source = forms.ChoiceField(label="Run", required=False)
    connection = forms.ChoiceField()
    model = forms.CharField(
        required=False, max_length=200, help_text="Empty: the version's or the connection's."
    )
    variables = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text='Values as JSON, e.g. {"ticket_text": "…"}.',
    )
    text = forms.CharField(
        label="Unsaved text",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="Run this template instead of a saved version (pick 'the text below').",
    )
    messages = forms.CharField(
        label="Unsaved messages",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text='A chat draft, run instead of the text: [{"role": "system", "content": "…"}, …].',
    )

    def __init__(self, *args, sources: list, connections: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = sources
        self.fields["connection"].choices = connections

    def clean_variables(self) -> dict:
        text = self.cleaned_data["variables"].strip()
        if not text:
            return {}
        try:
            values = json.loads(text)
        except ValueError:
            raise forms.ValidationError("Write the values as a JSON object.") from None
        if not isinstance(values, dict):
            raise forms.ValidationError("Write the values as a JSON object.")
        return values

    def clean_messages(self) -> list[dict] | None:
        text = self.cleaned_data["messages"].strip()
        if not text:
            return None
        wrong = forms.ValidationError(
            'Write the messages as a JSON list of {"role": …, "content": …}.'
        )
        try:
            found = json.loads(text)
        except ValueError:
            raise wrong from None
        if not isinstance(found, list) or not found:
            raise wrong
        for message in found:
            if not isinstance(message, dict) or not all(
                isinstance(message.get(key), str) for key in ("role", "content")
            ):
                raise wrong
        return [{"role": m["role"], "content": m["content"]} for m in found]

    def run_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind, _, value = data["source"].partition(":")
        unsaved = kind == "text"
        chat = unsaved and data["messages"] is not None
        return {
            "connection": data["connection"],
            "variables": data["variables"],
            "version": value if kind == "v" else None,
            "environment": value if kind == "env" else None,
            "text": data["text"] if unsaved and not chat else None,
            "messages": data["messages"] if chat else None,
            "model": data["model"] or None,
        }


class SideBySideForm(forms.Form):
    """Two sides (a version or what is live in an environment, on a connection and a
    model each) and the sample inputs both run on."""

    samples = forms.MultipleChoiceField(
        label="Sample inputs",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Both sides run on each; none: one run each with the defaults.",
    )

    def __init__(self, *args, sources: list, connections: list, samples: list, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for side, title in (("left", "Left"), ("right", "Right")):
            self.fields[f"{side}_source"] = forms.ChoiceField(
                label=f"{title}: run", required=False, choices=sources
            )
            self.fields[f"{side}_connection"] = forms.ChoiceField(
                label=f"{title}: connection", choices=connections
            )
            self.fields[f"{side}_model"] = forms.CharField(
                label=f"{title}: model",
                required=False,
                max_length=200,
                help_text="Empty: the version's or the connection's.",
            )
        self.fields["samples"].choices = [(name, name) for name in samples]
        self.order_fields(
            [
                f"{side}_{name}"
                for side in ("left", "right")
                for name in ("source", "connection", "model")
            ]
        )

    def side(self, side: str) -> dict[str, Any]:
        data = self.cleaned_data
        kind, _, value = data[f"{side}_source"].partition(":")
        return {
            "connection": data[f"{side}_connection"],
            "version": value if kind == "v" else None,
            "environment": value if kind == "env" else None,
            "model": data[f"{side}_model"] or None,
        }
