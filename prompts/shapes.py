"""Shapes of a version's parts in the API, shared by the endpoints of prompts and of
serving (the schema names each once: ``Variable``, ``Message``)."""

from rest_framework import serializers

from registry_site.fields import Text


class VariableSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True, required=False)
    default = serializers.JSONField(required=False, allow_null=True)
    required = serializers.BooleanField(required=False)


class MessageSerializer(serializers.Serializer):
    role = serializers.CharField()
    content = Text()
