"""Shapes of the API: input checked for types here, rules checked in services;
output built by plain functions (fast) and described by serializers (schema)."""

from __future__ import annotations

from rest_framework import serializers

from prompts.models import Prompt, Version
from prompts.shapes import MessageSerializer, VariableSerializer
from registry_site.fields import SLUG, StrictChar, Text, name_of, time_of
from releases.models import Deployment


class VersionIn(serializers.Serializer):
    template = Text(required=False, max_length=100_000)
    messages = serializers.ListField(child=serializers.DictField(), required=False, max_length=200)
    variables = serializers.ListField(child=serializers.DictField(), required=False, max_length=200)
    config = serializers.DictField(required=False)
    change_note = Text(required=False, max_length=2000)
    deploy_to = serializers.RegexField(SLUG, required=False, allow_null=True)
    force = serializers.BooleanField(
        required=False, help_text="with deploy_to: deploy even if it is a breaking change"
    )


class PromptIn(VersionIn):
    team = serializers.RegexField(SLUG)
    name = StrictChar(max_length=200)
    slug = serializers.RegexField(SLUG, required=False)
    description = Text(required=False, max_length=10_000)
    tags = serializers.ListField(child=StrictChar(max_length=40), required=False, max_length=50)


class ArchiveIn(serializers.Serializer):
    force = serializers.BooleanField(
        required=False,
        default=False,
        help_text="archive even though live prompts include this one (409 snippet_in_use)",
    )


class PromptPatch(serializers.Serializer):
    name = StrictChar(max_length=200, required=False)
    description = Text(required=False, max_length=10_000)
    tags = serializers.ListField(child=StrictChar(max_length=40), required=False, max_length=50)
    slug = serializers.RegexField(SLUG, required=False)


class DeployIn(serializers.Serializer):
    environment = serializers.RegexField(SLUG)
    version = serializers.IntegerField(min_value=1, max_value=10**9)
    scheduled_for = serializers.DateTimeField(required=False, allow_null=True)
    note = Text(required=False, max_length=2000)
    force = serializers.BooleanField(
        required=False,
        help_text="deploy even though the version requires a variable the live one did not",
    )


class RollbackIn(serializers.Serializer):
    environment = serializers.RegexField(SLUG)
    note = Text(required=False, max_length=2000)


# ---------------------------------------------------------------- output


class PromptOut(serializers.Serializer):
    team = serializers.CharField()
    slug = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    tags = serializers.ListField(child=serializers.CharField())
    latest_version = serializers.IntegerField(allow_null=True)
    deployments = serializers.DictField(child=serializers.IntegerField())
    archived = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class VersionOut(serializers.Serializer):
    number = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Version.Kind.choices)
    template = serializers.CharField()
    messages = MessageSerializer(many=True)
    variables = VariableSerializer(many=True)
    config = serializers.DictField()
    change_note = serializers.CharField()
    author = serializers.CharField(
        allow_null=True, help_text="who wrote it here; for an imported version, who imported it"
    )
    created_at = serializers.DateTimeField(help_text="when it was written or imported here")
    content_hash = serializers.CharField()
    status = serializers.CharField()
    approvals = serializers.IntegerField(help_text="reviewers whose latest verdict approves")
    imported_author = serializers.CharField(
        allow_null=True,
        help_text="an imported version's author as its files named them (any text, not "
        "checked against the users here); null when not imported or the files named nobody",
    )
    imported_at = serializers.DateTimeField(
        allow_null=True,
        help_text="an imported version's time as its files gave it; null when not imported",
    )


class DeploymentOut(serializers.Serializer):
    id = serializers.IntegerField()
    environment = serializers.CharField()
    version = serializers.IntegerField()
    kind = serializers.CharField()
    state = serializers.ChoiceField(choices=["planned", "active", "superseded", "cancelled"])
    scheduled_for = serializers.DateTimeField(allow_null=True)
    activated_at = serializers.DateTimeField(allow_null=True)
    effective_at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True)
    note = serializers.CharField()
    created_at = serializers.DateTimeField()
    dependencies = serializers.ListField(
        child=serializers.DictField(),
        allow_null=True,
        help_text="the snippet versions the deployment's version included when it went "
        "live: [{address, version, environment}] (environment: where it was taken from; "
        "null for a version pinned where written); null when not recorded (made before "
        "graphs were kept, not composable then, or planned and not announced yet)",
    )
    exact = serializers.BooleanField(
        help_text="composes with exactly these snippet versions (a rollback) instead of "
        "following the snippets"
    )


def prompt_out(prompt: Prompt, live: dict[str, int]) -> dict:
    latest = prompt.latest_version
    return {
        "team": prompt.team.slug,
        "slug": prompt.slug,
        "name": prompt.name,
        "description": prompt.description,
        "tags": prompt.tags,
        "latest_version": latest.number if latest else None,
        "deployments": live,
        "archived": prompt.is_archived,
        "created_at": time_of(prompt.created_at),
        "updated_at": time_of(prompt.updated_at),
    }


def version_out(version: Version, approvals: int = 0) -> dict:
    return {
        "number": version.number,
        "kind": version.kind,
        "template": version.template,
        "messages": version.messages,
        "variables": version.variables,
        "config": version.config,
        "change_note": version.change_note,
        "author": name_of(version.author),
        "created_at": time_of(version.created_at),
        "content_hash": version.content_hash,
        "status": version.status,
        "approvals": approvals,
        "imported_author": version.imported_author or None,
        "imported_at": time_of(version.imported_at),
    }


def deployment_out(deployment: Deployment, state: str) -> dict:
    return {
        "id": deployment.pk,
        "environment": deployment.environment.slug,
        "version": deployment.version.number,
        "kind": deployment.kind,
        "state": state,
        "scheduled_for": time_of(deployment.scheduled_for),
        "activated_at": time_of(deployment.activated_at),
        "effective_at": time_of(deployment.effective_at),
        "actor": name_of(deployment.actor),
        "note": deployment.note,
        "created_at": time_of(deployment.created_at),
        "dependencies": None
        if deployment.graph is None
        else [
            {k: part[k] for k in ("address", "version", "environment")}
            for part in deployment.dependencies
        ],
        "exact": deployment.exact,
    }


class UsageOut(serializers.Serializer):
    caller = serializers.CharField()
    token = serializers.CharField(allow_null=True)
    user = serializers.CharField(allow_null=True)
    environment = serializers.CharField(allow_null=True)
    version = serializers.IntegerField()
    kind = serializers.CharField()
    count = serializers.IntegerField()
    last_seen = serializers.DateTimeField()
