"""Shapes of the connection and run endpoints: types checked here, rules in
runs.services; output built by plain functions and described by the serializers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from runs.connections import HEADER_VALUE_CHARS, KEY_CHARS, MAX_HEADERS, MODEL_CHARS, URL_CHARS
from runs.models import Connection, Provider, Run

SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"


class StrictText(serializers.CharField):
    """A string, never a number or boolean turned into one."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ConnectionPatch(serializers.Serializer):
    name = serializers.RegexField(SLUG, required=False)
    provider = serializers.ChoiceField(choices=Provider.values, required=False)
    base_url = StrictText(
        max_length=URL_CHARS,
        required=False,
        help_text="e.g. https://api.openai.com/v1 or https://api.anthropic.com",
    )
    api_key = StrictText(
        max_length=KEY_CHARS,
        required=False,
        write_only=True,
        help_text="write-only; a new key replaces the old one",
    )
    models = serializers.ListField(
        child=StrictText(max_length=MODEL_CHARS), max_length=100, required=False
    )
    headers = serializers.DictField(
        child=StrictText(max_length=HEADER_VALUE_CHARS, allow_blank=True),
        required=False,
        help_text=f"extra request headers (at most {MAX_HEADERS}); write-only, like the key",
    )


class ConnectionIn(ConnectionPatch):
    name = serializers.RegexField(SLUG)
    provider = serializers.ChoiceField(choices=Provider.values)
    base_url = StrictText(max_length=URL_CHARS)
    api_key = StrictText(max_length=KEY_CHARS, write_only=True)


class ConnectionOut(serializers.Serializer):
    name = serializers.CharField()
    provider = serializers.ChoiceField(choices=Provider.values)
    base_url = serializers.CharField()
    models = serializers.ListField(child=serializers.CharField())
    key_hint = serializers.CharField(help_text="the key's first and last characters")
    header_names = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class RunIn(serializers.Serializer):
    connection = serializers.RegexField(SLUG, help_text="the name of one of the team's connections")
    variables = serializers.DictField(required=False)
    version = serializers.IntegerField(required=False, min_value=1, max_value=10**9)
    environment = serializers.RegexField(SLUG, required=False)
    text = StrictText(
        required=False,
        trim_whitespace=False,
        max_length=100_000,
        help_text="unsaved template text to run instead of a version",
    )
    model = StrictText(required=False, max_length=MODEL_CHARS)
    config = serializers.DictField(
        required=False, help_text="parameters that override the version's config"
    )


class RunUsageOut(serializers.Serializer):
    input_tokens = serializers.IntegerField(allow_null=True)
    output_tokens = serializers.IntegerField(allow_null=True)


class RunMessageOut(serializers.Serializer):
    role = serializers.CharField()
    content = serializers.CharField()


class RunErrorOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class RunOut(serializers.Serializer):
    id = serializers.IntegerField()
    output = serializers.CharField(allow_blank=True)
    model = serializers.CharField()
    version = serializers.IntegerField(allow_null=True, help_text="null: unsaved text")
    environment = serializers.CharField(allow_null=True)
    connection = serializers.CharField()
    messages = RunMessageOut(many=True)
    usage = RunUsageOut()
    latency_ms = serializers.IntegerField()
    finish_reason = serializers.CharField(allow_blank=True)
    cost = serializers.DecimalField(max_digits=14, decimal_places=8, allow_null=True)
    error = RunErrorOut(allow_null=True)
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


def _time(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def connection_out(connection: Connection) -> dict:
    return {
        "name": connection.name,
        "provider": connection.provider,
        "base_url": connection.base_url,
        "models": connection.model_names,
        "key_hint": connection.key_hint,
        "header_names": connection.header_names,
        "created_at": _time(connection.created_at),
        "updated_at": _time(connection.updated_at),
    }


def run_out(run: Run) -> dict:
    error = None
    if run.failed:
        error = {"code": run.error_code, "message": run.error_message, "details": run.error_details}
    return {
        "id": run.pk,
        "output": run.output,
        "model": run.model,
        "version": run.version.number if run.version_id else None,
        "environment": run.environment or None,
        "connection": run.connection_name,
        "messages": run.messages,
        "usage": {"input_tokens": run.input_tokens, "output_tokens": run.output_tokens},
        "latency_ms": run.latency_ms,
        "finish_reason": run.finish_reason,
        "cost": str(run.cost) if run.cost is not None else None,
        "error": error,
        "created_by": run.created_by.get_username() if run.created_by_id else None,
        "created_at": _time(run.created_at),
    }
