from rest_framework import serializers

SLUG = r"^[a-z0-9][a-z0-9-]{0,63}$"


class TeamIn(serializers.Serializer):
    slug = serializers.RegexField(SLUG)
    name = serializers.CharField(max_length=200)


class TeamOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField(allow_null=True)


class MemberOut(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField()


class RoleIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=["viewer", "editor", "reviewer", "admin"])


class EnvironmentOut(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    order = serializers.IntegerField()
    protected = serializers.BooleanField()
    required_approvals = serializers.IntegerField()
    is_default = serializers.BooleanField()
    requires_previous = serializers.BooleanField()
    required_evaluation = serializers.DictField(
        allow_null=True, help_text="{dataset, min_pass_rate} or null"
    )


class Strict(serializers.Serializer):
    """Refuses fields it does not know, so a misspelt rule is an error, not a no-op."""

    def validate(self, attrs):
        unknown = sorted(set(self.initial_data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


class StrictBoolean(serializers.BooleanField):
    """true or false only: no "yes", 1 or "on"."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class EnvironmentPatch(Strict):
    name = serializers.CharField(max_length=100, required=False)
    order = serializers.IntegerField(min_value=0, max_value=10_000, required=False)
    protected = StrictBoolean(required=False)
    required_approvals = serializers.IntegerField(min_value=0, max_value=20, required=False)
    is_default = StrictBoolean(required=False, help_text="moves the default here")
    requires_previous = StrictBoolean(
        required=False, help_text="a version must have been live in the previous environment"
    )
    required_evaluation = serializers.JSONField(
        required=False,
        allow_null=True,
        help_text='{"dataset": name, "min_pass_rate": 0..1}: a version goes live only after '
        "an evaluation of it on that dataset's latest revision passed; null removes it",
    )


class EnvironmentIn(EnvironmentPatch):
    slug = serializers.RegexField(SLUG)


class TokenIn(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=["read", "write", "deploy", "tokens"]),
        required=False,
        max_length=4,
        help_text="default: read, write and deploy; tokens (managing tokens) only when named",
    )
    team = serializers.RegexField(SLUG, required=False, allow_null=True)
    expires_days = serializers.IntegerField(
        min_value=1, max_value=3650, required=False, allow_null=True
    )


class TokenOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    team = serializers.CharField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    token = serializers.CharField(required=False, help_text="the raw token, shown once")


class WhoAmIOut(serializers.Serializer):
    username = serializers.CharField()
    token = serializers.DictField(allow_null=True)
