"""Shapes of resolve and render: input checked for types here, rules in services."""

from rest_framework import serializers

from prompts.shapes import MessageSerializer, VariableSerializer
from registry_site.fields import SLUG


class RenderIn(serializers.Serializer):
    variables = serializers.DictField(required=False)
    version = serializers.IntegerField(required=False, min_value=1, max_value=10**9)
    environment = serializers.RegexField(SLUG, required=False)


class DependencyOut(serializers.Serializer):
    address = serializers.CharField()
    version = serializers.IntegerField()
    environment = serializers.CharField(allow_null=True)


class ResolveOut(serializers.Serializer):
    team = serializers.CharField()
    slug = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField()
    version = serializers.IntegerField()
    environment = serializers.CharField(allow_null=True)
    template = serializers.CharField()
    messages = MessageSerializer(many=True)
    variables = VariableSerializer(many=True)
    config = serializers.DictField()
    content_hash = serializers.CharField()
    dependencies = DependencyOut(many=True)


class RenderOut(serializers.Serializer):
    rendered = serializers.CharField(required=False)
    messages = MessageSerializer(many=True, required=False)
    version = serializers.IntegerField()
    environment = serializers.CharField(allow_null=True)
