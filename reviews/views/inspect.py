"""Pages that look at what exists: one version, and two versions compared. Read-only
(the audit trail pages are ``audit``'s).

Rendering uses the same function the API's render endpoint uses; the diff comes from
``prompts.diffing``. User text is only ever escaped: the diff's rows are written by
``prompts.diff_markup``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from composition.services import Composed, compose
from evaluations import services as evaluating
from prompts import diffing, services
from prompts.diff_markup import diff_view
from prompts.lookups import prompt_or_404
from prompts.models import Prompt, Version
from prompts.samples import samples_for
from prompts.templating import MissingVariables
from registry_site.errors import DomainError
from registry_site.pages import prompt_path
from releases.live import live_ids, state_of
from releases.models import Deployment
from releases.panel import deploy_panel, environments_of
from reviews import panel as review_panel
from reviews.models import ReviewStatus
from reviews.views.dependents import dependents_part
from serving.services import Resolved, payload_of, render_payload

# Version numbers are PositiveIntegerFields: anything larger exists nowhere, and asking
# the database for it would overflow on some backends.
MAX_NUMBER = 2**31 - 1
DEPLOYMENTS_SHOWN = 100
EVALUATIONS_SHOWN = 20
# Above this many versions the compare page asks for numbers instead of listing them all.
SELECT_LIMIT = 500
MIN_DATE, MAX_DATE = date(1900, 1, 1), date(9998, 12, 31)


# ---------------------------------------------------------------------- lookups


def _version_or_404(prompt: Prompt, number: int) -> Version:
    if not 1 <= number <= MAX_NUMBER:
        raise Http404("No such version.")
    try:
        return services.find_version(prompt, number)
    except DomainError:
        raise Http404("No such version.") from None


# ---------------------------------------------------------------------- sample values


def _samples_of(prompt: Prompt) -> list:
    """The prompt's saved sample inputs."""
    return list(samples_for(prompt))


@dataclass
class SampleInput:
    """The values a page renders with: a saved sample's, then those typed as
    ``?var_<name>=``. An empty field counts as not given, so the default applies."""

    samples: list
    chosen: str
    given: dict
    fields: list[dict] = field(default_factory=list)


def _sample_input(
    request: HttpRequest, prompt: Prompt, variables: list[dict], *, show_defaults: bool = True
) -> SampleInput:
    """``show_defaults``: prefill the inputs with the defaults. Off where two versions
    render with the same values, as each falls back to its own default."""
    samples = _samples_of(prompt)
    chosen = request.GET.get("sample", "")
    given: dict[str, Any] = {}
    for sample in samples:
        if sample.name == chosen and isinstance(sample.values, dict):
            given.update(sample.values)
    fields = []
    for variable in variables:
        name = variable["name"]
        typed = request.GET.get(f"var_{name}", "")
        if typed != "":
            given[name] = typed
        default = variable.get("default")
        value = given.get(name, "" if default is None or not show_defaults else default)
        fields.append(
            {
                "name": name,
                "param": f"var_{name}",
                "value": value if isinstance(value, str) else json.dumps(value, default=str),
                "description": variable.get("description") or "",
                "required": bool(variable.get("required", True)) and default is None,
                "default": default,
            }
        )
    return SampleInput(samples=samples, chosen=chosen, given=given, fields=fields)


def _all_variables(*versions: Version | Composed | DomainError) -> list[dict]:
    """Every variable of the versions (composed: their snippets' too), once, in order
    of first appearance."""
    seen: dict[str, dict] = {}
    for version in versions:
        for variable in getattr(version, "variables", None) or []:
            seen.setdefault(variable["name"], variable)
    return list(seen.values())


# ---------------------------------------------------------------------- rendering


@dataclass(frozen=True)
class Rendering:
    text: str | None = None
    messages: list | None = None
    missing: list[str] | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.text is not None or self.messages is not None

    def as_text(self) -> str:
        """The output in the form the diff compares (a chat as ``[role]`` lines)."""
        if self.messages is not None:
            return diffing.text_of(Version(kind=Version.Kind.CHAT, messages=self.messages))
        return self.text or ""


def _composed(version: Version) -> Composed | DomainError:
    """The version composed with the latest of what it includes, or why it cannot be."""
    try:
        return compose(version)
    except DomainError as error:
        return error


def render_version(
    prompt: Prompt, version: Version, given: dict, composed: Composed | DomainError | None = None
) -> Rendering:
    """Render as the API's render endpoint does, what the version includes composed in
    (its latest versions); a refusal becomes part of the answer."""
    composed = composed if composed is not None else _composed(version)
    if isinstance(composed, DomainError):
        return Rendering(error=composed.message)
    payload = {
        **payload_of(version, prompt),
        "template": composed.template,
        "messages": composed.messages,
        "variables": composed.variables,
    }
    resolved = Resolved(payload, None, prompt.pk, version.pk)
    try:
        answer = render_payload(resolved, given)
    except MissingVariables as error:
        return Rendering(missing=list(error.details.get("missing", [])))
    except DomainError as error:
        return Rendering(error=error.message)
    if "messages" in answer:
        return Rendering(messages=answer["messages"])
    return Rendering(text=answer["rendered"])


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


# ---------------------------------------------------------------------- version page


def _listing(version: Version) -> list[dict]:
    """The numbered lines comments refer to; a chat's ``[role]`` lines are marked."""
    headers: set[int] = set()
    if version.kind == Version.Kind.CHAT:
        at = 1
        for message in version.messages:
            headers.add(at)
            content = message.get("content", "")
            at += 1 + len(diffing.lines_of(content if isinstance(content, str) else str(content)))
    lines = diffing.lines_of(diffing.text_of(version))
    return [
        {"number": n, "text": line, "role": n in headers} for n, line in enumerate(lines, start=1)
    ]


def _deployments_of(prompt: Prompt, version: Version) -> list[tuple[Deployment, str]]:
    """The version's entries in the release log, newest first, with their state now."""
    rows = list(
        Deployment.objects.filter(prompt=prompt, version=version)
        .select_related("environment", "actor")
        .order_by("-effective_at", "-id")[:DEPLOYMENTS_SHOWN]
    )
    if not rows:
        return []
    now = timezone.now()
    live = live_ids(prompt, now)
    return [(deployment, state_of(deployment, live, now)) for deployment in rows]


def _status_label(status: str) -> str:
    return ReviewStatus(status).label if status in ReviewStatus.values else status


@login_required
def version_page(request: HttpRequest, team: str, slug: str, number: int) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug, archived=True)
    version = _version_or_404(prompt, number)
    return render_version_page(request, prompt, version)


def render_version_page(
    request: HttpRequest, prompt: Prompt, version: Version, *, bound: Any = None, status: int = 200
) -> HttpResponse:
    """The version page; ``bound``: a review form that was posted and refused, shown with
    its errors and what was typed (see prompts.views.review_panel)."""
    composed = _composed(version)
    variables = version.variables if isinstance(composed, DomainError) else composed.variables
    sample = _sample_input(request, prompt, variables or [])
    review_status = version.status
    latest = prompt.latest_version.number if prompt.latest_version else version.number
    context = {
        "prompt": prompt,
        "version": version,
        "prompt_path": prompt_path(prompt),
        "lines": _listing(version),
        "variables": version.variables or [],
        "config": _pretty(version.config or {}),
        "status": review_status,
        "status_label": _status_label(review_status),
        "sample": sample,
        "rendering": render_version(prompt, version, sample.given, composed),
        "includes": [] if isinstance(composed, DomainError) else composed.dependencies,
        "deployments": _deployments_of(prompt, version),
        "evaluations": evaluating.evaluations_of(request.user, prompt).filter(version=version)[
            :EVALUATIONS_SHOWN
        ],
        "deploy_form": deploy_panel(request.user, prompt, environments_of(prompt), version),
        "previous": version.number - 1 if version.number > 1 else None,
        "next": version.number + 1 if version.number < latest else None,
        "latest": latest,
    }
    # Threads, line notes, review state and the review forms.
    context.update(review_panel.context(request, prompt, version, context["lines"], bound))
    return render(request, "prompts/version.html", context, status=status)


# ---------------------------------------------------------------------- compare page


class CompareForm(forms.Form):
    layout = forms.ChoiceField(
        required=False, choices=[("split", "Side by side"), ("unified", "Unified")]
    )

    def __init__(self, data: Any, latest: int) -> None:
        super().__init__(data)
        messages = {
            "invalid": "Give a version number.",
            "min_value": f"Pick a version from 1 to {latest}.",
            "max_value": f"Pick a version from 1 to {latest}.",
        }
        for name, label in (("from", "From version"), ("to", "To version")):
            self.fields[name] = forms.IntegerField(
                required=False, min_value=1, max_value=latest, label=label, error_messages=messages
            )


def _variable_changes(old: Version, new: Version, changes: dict) -> dict:
    before = {variable["name"]: variable for variable in old.variables or []}
    after = {variable["name"]: variable for variable in new.variables or []}
    return {
        "added": [after[name] for name in changes["added"]],
        "removed": [before[name] for name in changes["removed"]],
        "changed": changes["changed"],
        "any": any(changes[key] for key in ("added", "removed", "changed")),
    }


def _config_changes(changes: dict) -> dict:
    return {
        "added": [(key, _pretty(value)) for key, value in changes["added"].items()],
        "removed": [(key, _pretty(value)) for key, value in changes["removed"].items()],
        "changed": [
            (key, _pretty(change["from"]), _pretty(change["to"]))
            for key, change in changes["changed"].items()
        ],
        "any": any(changes[key] for key in ("added", "removed", "changed")),
    }


@login_required
def compare_page(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug, archived=True)
    if prompt.latest_version is None:
        raise Http404("No versions.")
    latest = prompt.latest_version.number
    form = CompareForm(request.GET, latest)
    form.is_valid()
    chosen = form.cleaned_data  # only the valid fields
    to_number = chosen.get("to") or latest
    from_number = chosen.get("from") or max(to_number - 1, 1)
    layout = chosen.get("layout") or "split"
    context: dict[str, Any] = {
        "prompt": prompt,
        "prompt_path": prompt_path(prompt),
        "form": form,
        "latest": latest,
        "numbers": range(latest, 0, -1) if latest <= SELECT_LIMIT else None,
        "from_number": from_number,
        "to_number": to_number,
        "layout": layout,
        "comparison": None,
    }
    if form.errors:
        return render(request, "prompts/compare.html", context)
    old = _version_or_404(prompt, from_number)
    new = _version_or_404(prompt, to_number)
    changes = diffing.compare(old, new)
    composed_old, composed_new = _composed(old), _composed(new)
    variables = _all_variables(old, new, composed_old, composed_new)
    sample = _sample_input(request, prompt, variables, show_defaults=False)
    rendered_old = render_version(prompt, old, sample.given, composed_old)
    rendered_new = render_version(prompt, new, sample.given, composed_new)
    output_diff = None
    if rendered_old.ok and rendered_new.ok:
        lines = diffing.diff_lines(rendered_old.as_text(), rendered_new.as_text())
        output_diff = diff_view(lines, layout)
    context["comparison"] = {
        "old": old,
        "new": new,
        "old_title": f"v{old.number}",
        "new_title": f"v{new.number}",
        "template": diff_view(
            changes["template"], layout, *review_panel.line_notes(prompt, old, new)
        ),
        "variables": _variable_changes(old, new, changes["variables"]),
        "config": _config_changes(changes["config"]),
        "sample": sample,
        "rendered_old": rendered_old,
        "rendered_new": rendered_new,
        "output_diff": output_diff,
    }
    context["used_by"] = dependents_part(request, prompt, old, new, layout)
    return render(request, "prompts/compare.html", context)


# ---------------------------------------------------------------------- audit pages


urlpatterns = [
    path("p/<str:team>/<str:slug>/v/<int:number>/", version_page, name="version"),
    path("p/<str:team>/<str:slug>/compare/", compare_page, name="compare"),
]
