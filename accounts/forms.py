"""Forms of the team pages. They only parse input; accounts.services and accounts.tokens
decide what is allowed and report refusals as DomainErrors."""

from __future__ import annotations

from django import forms

from accounts.models import ApiToken, Role


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150, strip=True)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        strip=True,
        help_text="Name it after the service or script that will use it.",
    )
    scopes = forms.MultipleChoiceField(
        choices=[(scope, scope) for scope in ApiToken.SCOPES],
        widget=forms.CheckboxSelectMultiple,
        initial=["read"],
        help_text="read fetches prompts, write changes them, deploy releases them; "
        "tokens lets the token manage your tokens of this team.",
        error_messages={"required": "Choose at least one scope."},
    )
    expires_days = forms.IntegerField(
        label="Expires in (days)",
        min_value=1,
        max_value=3650,
        required=False,
        initial=90,
        help_text="Leave empty for a token that never expires.",
    )
