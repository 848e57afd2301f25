"""The deploy panel that the prompt, version and deploy pages show: its form, the
environments a user may release to, and what each environment's buttons need."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from prompts.models import Prompt, Version
from releases import environments, live, policy
from releases.models import Environment

MAX_NUMBER = 2**31 - 1


def environments_of(prompt: Prompt) -> list[Environment]:
    return list(environments.environments_of(prompt.team))


def rules_of(env: Environment) -> str:
    """An environment's rules in a few words, for choices and headers."""
    rules = []
    if env.protected:
        rules.append("protected")
    if env.required_approvals:
        rules.append(
            f"{env.required_approvals} approval{'s' if env.required_approvals > 1 else ''}"
        )
    if env.requires_previous:
        rules.append("after the previous one")
    return ", ".join(rules)


# ---------------------------------------------------------------------- deploy form


class UTCDateTimeField(forms.DateTimeField):
    """A time typed without a zone (a datetime-local input) is read as UTC, whatever the
    server's or the browser's zone: the page says so next to the field."""

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        parsed = value if isinstance(value, datetime) else _parse_time(str(value))
        if parsed is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return parsed.replace(tzinfo=UTC) if timezone.is_naive(parsed) else parsed.astimezone(UTC)


def _parse_time(text: str) -> datetime | None:
    text = text.strip().removesuffix("UTC").strip()
    try:
        return parse_datetime(text[:40])
    except ValueError:  # well formed, but no such day or hour
        return None


class DeployForm(forms.Form):
    environment = forms.ChoiceField(label="Environment")
    version = forms.IntegerField(
        label="Version",
        min_value=1,
        max_value=MAX_NUMBER,
        error_messages={"invalid": "Give a version number."},
    )
    scheduled_for = UTCDateTimeField(
        label="Planned time (UTC)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Leave empty to deploy now. Times are UTC.",
        error_messages={"invalid": "Enter the time as YYYY-MM-DD HH:MM (UTC)."},
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this release; it goes into the release log.",
    )
    force = forms.BooleanField(label="Deploy anyway", required=False)

    def __init__(self, *args: Any, environments: list[Environment], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["environment"].choices = [
            (env.slug, f"{env.name} ({rules_of(env)})" if rules_of(env) else env.name)
            for env in environments
        ]
        self.by_slug = {env.slug: env for env in environments}
        self.breaking: list[str] = []  # set when a breaking change needs confirming
        self.reason = ""  # the rule a refusal named

    def clean_scheduled_for(self) -> datetime | None:
        when = self.cleaned_data.get("scheduled_for")
        if when is not None and when <= timezone.now():
            raise forms.ValidationError(
                "That time has passed; pick a later one, or leave it empty to deploy now."
            )
        return when


def deploy_panel(
    user: Any, prompt: Prompt, environments: list[Environment], version: Version | None = None
) -> DeployForm | None:
    """The deploy form to show on a prompt's or a version's page, or None for people who
    may release to none of the environments."""
    if prompt.is_archived or not any(policy.may_release_to(user, prompt, e) for e in environments):
        return None
    number = version.number if version else getattr(prompt.latest_version, "number", None)
    usable = [e for e in environments if policy.may_release_to(user, prompt, e)]
    return DeployForm(
        environments=environments,
        initial={"version": number, "environment": usable[0].slug},
        auto_id="deploy_%s",
    )


def live_actions(user: Any, prompt: Prompt, items: list[Any]) -> None:
    """Give each environment of a prompt's Live panel what its buttons need: whether the
    user may release there, and the version a rollback would bring back (one query)."""
    targets = live.rollback_targets(prompt)
    for item in items:
        item.may_release = policy.may_release_to(user, prompt, item.environment)
        item.rollback_to = targets.get(item.environment.pk) if item.deployment else None
