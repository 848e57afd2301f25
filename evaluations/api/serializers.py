"""Shapes of the dataset and evaluation endpoints: types here, rules in the services."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from evaluations.models import DatasetRevision, Evaluation

NAME = r"^[a-z0-9][a-z0-9_-]{0,63}$"
SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"


class RowsIn(serializers.Serializer):
    rows = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="[{variables, expected?}]"
    )
    rows_csv = serializers.CharField(
        required=False, trim_whitespace=False, help_text="instead of rows: CSV with a header"
    )
    rows_jsonl = serializers.CharField(
        required=False, trim_whitespace=False, help_text="instead of rows: JSON Lines"
    )
    from_samples = serializers.BooleanField(
        required=False, help_text="instead of rows: the prompt's sample inputs"
    )
    checks = serializers.ListField(child=serializers.JSONField(), required=False)


class DatasetIn(RowsIn):
    name = serializers.RegexField(NAME)


class CheckOut(serializers.Serializer):
    type = serializers.CharField()
    value = serializers.JSONField(required=False)
    schema = serializers.DictField(required=False)
    rubric = serializers.CharField(required=False)
    connection = serializers.CharField(required=False)
    model = serializers.CharField(required=False)


class DatasetSummaryOut(serializers.Serializer):
    name = serializers.CharField()
    revision = serializers.IntegerField()
    rows = serializers.IntegerField(help_text="how many rows")


class DatasetOut(serializers.Serializer):
    name = serializers.CharField()
    revision = serializers.IntegerField()
    rows = serializers.ListField(child=serializers.DictField())
    checks = CheckOut(many=True)
    created_at = serializers.DateTimeField()


class EvaluationIn(serializers.Serializer):
    dataset = serializers.RegexField(NAME)
    connection = serializers.RegexField(SLUG)
    version = serializers.IntegerField(required=False, min_value=1, max_value=10**9)
    environment = serializers.RegexField(SLUG, required=False)
    model = serializers.CharField(required=False, max_length=200)


class VerdictOut(serializers.Serializer):
    type = serializers.CharField()
    passed = serializers.BooleanField()
    reason = serializers.CharField()


class RowOut(serializers.Serializer):
    index = serializers.IntegerField()
    variables = serializers.DictField()
    expected = serializers.CharField(allow_null=True)
    output = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_null=True)
    passed = serializers.BooleanField()
    checks = VerdictOut(many=True)
    input_tokens = serializers.IntegerField(allow_null=True)
    output_tokens = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=8, allow_null=True)


class EvaluationOut(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.ChoiceField(choices=Evaluation.State.values)
    version = serializers.IntegerField()
    environment = serializers.CharField(allow_null=True)
    dataset = serializers.CharField()
    dataset_revision = serializers.IntegerField()
    connection = serializers.CharField()
    model = serializers.CharField()
    total = serializers.IntegerField()
    passed = serializers.IntegerField()
    failed = serializers.IntegerField()
    errors = serializers.IntegerField()
    pass_rate = serializers.FloatField(allow_null=True)
    input_tokens = serializers.IntegerField()
    output_tokens = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=8, allow_null=True)
    rows = RowOut(many=True, required=False, help_text="in the detail only")
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


def _time(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def dataset_summary_out(revision: DatasetRevision) -> dict:
    return {"name": revision.dataset.name, "revision": revision.number, "rows": revision.row_count}


def dataset_out(revision: DatasetRevision) -> dict:
    return {
        "name": revision.dataset.name,
        "revision": revision.number,
        "rows": revision.rows,
        "checks": revision.checks,
        "created_at": _time(revision.created_at),
    }


def _money(value: Any) -> str | None:
    return str(value) if value is not None else None


def evaluation_out(evaluation: Evaluation, rows: bool = False) -> dict:
    found = {
        "id": evaluation.pk,
        "state": evaluation.state,
        "version": evaluation.version.number,
        "environment": evaluation.environment or None,
        "dataset": evaluation.revision.dataset.name,
        "dataset_revision": evaluation.revision.number,
        "connection": evaluation.connection_name,
        "model": evaluation.model,
        "total": evaluation.total,
        "passed": evaluation.passed,
        "failed": evaluation.failed,
        "errors": evaluation.errors,
        "pass_rate": evaluation.pass_rate,
        "input_tokens": evaluation.input_tokens,
        "output_tokens": evaluation.output_tokens,
        "cost": _money(evaluation.cost),
        "created_at": _time(evaluation.created_at),
        "finished_at": _time(evaluation.finished_at),
    }
    if rows:
        found["rows"] = [
            {
                "index": r.index,
                "variables": r.variables,
                "expected": r.expected,
                "output": r.output,
                "error": r.error or None,
                "passed": r.passed,
                "checks": r.checks,
                "input_tokens": r.input_tokens,
                "output_tokens": r.output_tokens,
                "latency_ms": r.latency_ms,
                "cost": _money(r.cost),
            }
            for r in evaluation.results.order_by("index")
        ]
    return found
