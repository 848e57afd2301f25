"""Forms of the webhook pages. They only parse input; webhooks.services decides what is
allowed and reports refusals as DomainErrors."""

from __future__ import annotations

from django import forms

from webhooks.events import DESCRIPTIONS, EVENTS


class WebhookForm(forms.Form):
    url = forms.CharField(
        label="Payload URL",
        max_length=2000,
        widget=forms.TextInput(attrs={"inputmode": "url", "placeholder": "https://"}),
        help_text="We POST each event here as JSON, signed with the webhook's secret.",
    )
    description = forms.CharField(
        max_length=200,
        required=False,
        help_text="Optional: what listens there.",
    )
    events = forms.MultipleChoiceField(
        choices=[(event, f"{event}: {DESCRIPTIONS[event]}") for event in EVENTS],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one event."},
    )


class WebhookEditForm(WebhookForm):
    active = forms.BooleanField(
        required=False,
        help_text="A paused webhook queues nothing new; what is queued waits until it is active.",
    )
