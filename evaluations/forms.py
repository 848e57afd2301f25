"""Forms of the dataset and evaluation pages. They parse input only: evaluations.datasets
and evaluations.services decide what is allowed and report refusals as DomainErrors."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from evaluations import datasets
from registry_site.errors import Invalid

ROWS_HELP = (
    'JSON Lines: one {"variables": {...}, "expected": "..."} per line. '
    "CSV: a header naming the variables (and expected), then one row per line."
)
CHECKS_HELP = (
    'A JSON list, e.g. [{"type": "contains"}, {"type": "max_chars", "value": 200}]. '
    "Types: equals, contains, not_contains, regex, json, json_schema, max_chars, judge."
)


class DatasetForm(forms.Form):
    name = forms.CharField(max_length=64, help_text="Lowercase letters, digits, '-' or '_'.")
    rows_format = forms.ChoiceField(
        label="Format of the rows",
        choices=[("jsonl", "JSON Lines"), ("csv", "CSV")],
        initial="jsonl",
    )
    rows = forms.CharField(
        required=False,
        max_length=2_000_000,
        widget=forms.Textarea(attrs={"rows": 12, "class": "mono", "spellcheck": "false"}),
        help_text=ROWS_HELP,
    )
    checks = forms.CharField(
        required=False,
        max_length=200_000,
        initial="[]",
        widget=forms.Textarea(attrs={"rows": 5, "class": "mono", "spellcheck": "false"}),
        help_text=CHECKS_HELP,
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:  # a dataset keeps its name; each save is its next revision
            del self.fields["name"]

    def parsed(self) -> tuple[list, Any]:
        """(rows, checks) as the services take them; raises Invalid naming the field."""
        text = self.cleaned_data.get("rows", "")
        if self.cleaned_data.get("rows_format") == "csv":
            rows = datasets.rows_from_csv(text) if text.strip() else []
        else:
            rows = datasets.rows_from_jsonl(text)
        try:
            checks = json.loads(self.cleaned_data.get("checks") or "[]")
        except ValueError:
            raise Invalid("Checks are a JSON list.", {"field": "checks"}) from None
        return rows, checks


def initial_of(rows: list[dict], checks: list) -> dict:
    return {
        "rows_format": "jsonl",
        "rows": datasets.rows_to_jsonl(rows),
        "checks": json.dumps(checks, indent=2, ensure_ascii=False),
    }


class StartForm(forms.Form):
    """Which version (a number, or what is live in an environment), connection and model."""

    source = forms.ChoiceField(label="Evaluate")
    connection = forms.ChoiceField()
    model = forms.CharField(
        required=False, max_length=200, help_text="Empty: the version's model, else the first."
    )

    def __init__(
        self,
        *args: Any,
        sources: list[tuple[str, str]],
        connections: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].choices = sources
        self.fields["connection"].choices = connections

    def start_arguments(self) -> dict:
        source = self.cleaned_data["source"]
        kind, _, value = source.partition(":")
        return {
            "connection": self.cleaned_data["connection"],
            "model": self.cleaned_data.get("model") or None,
            "version": value if kind == "v" else None,
            "environment": value if kind == "env" else None,
        }


class CompareForm(forms.Form):
    a = forms.IntegerField(min_value=1, max_value=2**62, label="Evaluation")
    b = forms.IntegerField(min_value=1, max_value=2**62, label="Compared with")
