"""Shapes of the composition endpoints."""

from rest_framework import serializers


class DependentVersionOut(serializers.Serializer):
    version = serializers.IntegerField()
    latest = serializers.BooleanField()
    environments = serializers.ListField(child=serializers.CharField())
    references = serializers.ListField(child=serializers.CharField())


class DependentOut(serializers.Serializer):
    address = serializers.CharField()
    name = serializers.CharField()
    # Its latest and live versions that include the prompt (none: only older ones do).
    versions = DependentVersionOut(many=True)
