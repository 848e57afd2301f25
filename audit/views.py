"""The audit trail pages: a prompt's and a team's, filtered by kind, person and day."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path

from accounts.lookups import team_or_404
from accounts.permissions import can
from audit import trail as audit
from prompts.lookups import prompt_or_404
from registry_site.pages import prompt_path

# What a date field accepts: the database stores years 1 to 9999, a page needs no more.
MIN_DATE, MAX_DATE = date(1900, 1, 1), date(9998, 12, 31)


class AuditForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, label="Who (username)")
    kind = forms.ChoiceField(required=False, label="What")
    since = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        label="Since",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the since date as YYYY-MM-DD."},
    )
    until = forms.DateField(
        required=False,
        input_formats=["%Y-%m-%d"],
        label="Until",
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": "Enter the until date as YYYY-MM-DD."},
    )
    page = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=audit.MAX_PAGE,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": "A page is a number.",
            "min_value": "Pages start at 1.",
            "max_value": f"Only the newest {audit.MAX_PAGE} pages are listed; "
            "narrow the dates to reach older entries.",
        },
    )

    def __init__(self, data: Any, kinds: tuple[str, ...]) -> None:
        super().__init__(data)
        self.fields["kind"].choices = [("", "Everything")] + [
            (kind, audit.KINDS[kind]) for kind in kinds
        ]

    def _clean_day(self, name: str) -> date | None:
        day = self.cleaned_data.get(name)
        if day is not None and not MIN_DATE <= day <= MAX_DATE:
            raise forms.ValidationError(f"Pick a {name} date between 1900 and 9998.")
        return day

    def clean_since(self) -> date | None:
        return self._clean_day("since")

    def clean_until(self) -> date | None:
        return self._clean_day("until")

    def clean(self) -> dict:
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The until date is before the since date.")
        return data

    def filters(self) -> audit.Filters:
        """The filters that are valid; an invalid one is reported and left out."""
        data = self.cleaned_data
        return audit.Filters(
            actor=(data.get("actor") or "").strip() or None,
            kind=data.get("kind") or None,
            since=data.get("since"),
            until=data.get("until"),
        )

    def page_number(self) -> int:
        return self.cleaned_data.get("page") or 1


def _audit_page(request: HttpRequest, template: str, kinds: tuple, trail: Any, **context) -> Any:
    form = AuditForm(request.GET, kinds)
    form.is_valid()
    page = trail(form.filters(), form.page_number())
    return render(request, template, {**context, "form": form, "page": page})


@login_required
def prompt_audit(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug, archived=True)
    return _audit_page(
        request,
        "audit/prompt_audit.html",
        audit.PROMPT_KINDS,
        lambda filters, page: audit.prompt_trail(prompt, filters, page),
        prompt=prompt,
        team=prompt.team,
        prompt_path=prompt_path(prompt),
    )


@login_required
def team_audit(request: HttpRequest, team: str) -> HttpResponse:
    found = team_or_404(request, team)
    # Someone granted a single prompt sees that prompt's trail, not the team's.
    if not can(request.user, "view", found):
        raise Http404("No such team.")
    return _audit_page(
        request,
        "audit/team_audit.html",
        audit.TEAM_KINDS,
        lambda filters, page: audit.team_trail(found, filters, page),
        team=found,
    )


urlpatterns = [
    path("p/<str:team>/<str:slug>/audit/", prompt_audit, name="prompt-audit"),
    path("teams/<str:team>/audit/", team_audit, name="team-audit"),
]
