"""Side by side: two versions (or models) of a prompt run on its sample inputs, each
pair of outputs shown next to each other with the compare page's word diff.

A plain form post: the runs happen (through ``runs.side_by_side``, a bounded pool per
connection), then the page shows the pairs. Whoever may see the prompt sees the page;
editors and above run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_http_methods

from accounts.permissions import can
from prompts.diff_markup import DiffView, diff_view
from prompts.lookups import prompt_or_404
from prompts.models import Prompt
from prompts.samples import samples_for
from registry_site.errors import DomainError, Forbidden
from registry_site.pages import form_error, prompt_path
from runs import crypto
from runs.forms import SideBySideForm
from runs.models import Run
from runs.side_by_side import Pair, run_side_by_side
from runs.views.playground import connection_choices, sources


@dataclass(frozen=True)
class Shown:
    """One pair as the page shows it."""

    sample: str
    left: Run
    right: Run
    diff: DiffView | None


def _form(prompt: Prompt, sample_names: list[str], data: Any = None) -> SideBySideForm:
    return SideBySideForm(
        data,
        initial=None if data is not None else {},
        sources=sources(prompt, unsaved=False),
        connections=connection_choices(prompt),
        samples=sample_names,
    )


def _picked(request: HttpRequest, form: SideBySideForm) -> None:
    """The compare page's link picks the two versions: ``?from=1&to=2``; every sample."""
    choices = dict(form.fields["left_source"].choices)
    for side, param in (("left", "from"), ("right", "to")):
        value = f"v:{request.GET.get(param, '')}"
        if value in choices:
            form.initial[f"{side}_source"] = value
    form.initial["samples"] = [name for name, _ in form.fields["samples"].choices]


def _shown(pair: Pair) -> Shown:
    diff = diff_view(pair.lines, "split") if pair.lines is not None else None
    return Shown(pair.sample, pair.left, pair.right, diff)


def _title(run: Run) -> str:
    what = f"v{run.version.number}" if run.version else "unsaved"
    return f"{what} · {run.model}"


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def side_by_side(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug)
    sample_names = [sample.name for sample in samples_for(prompt)]
    pairs: list[Shown] = []
    status = 200
    if request.method == "POST":
        form = _form(prompt, sample_names, request.POST)
        if form.is_valid():
            try:
                found = run_side_by_side(
                    request.user,
                    prompt,
                    left=form.side("left"),
                    right=form.side("right"),
                    samples=form.cleaned_data["samples"],
                )
                pairs = [_shown(pair) for pair in found]
            except Forbidden as error:
                raise PermissionDenied(error.message) from None
            except DomainError as error:
                form_error(form, error)
        status = 200 if form.is_valid() else 400
    else:
        form = _form(prompt, sample_names)
        _picked(request, form)
    context = {
        "prompt": prompt,
        "form": form,
        "pairs": pairs,
        "titles": (_title(pairs[0].left), _title(pairs[0].right)) if pairs else None,
        "may_run": can(request.user, "edit", prompt),
        "configured": crypto.is_configured(),
        "base": prompt_path(prompt),
    }
    return render(request, "runs/side_by_side.html", context, status=status)


urlpatterns = [
    path(
        "prompts/<str:team>/<str:slug>/playground/compare/",
        side_by_side,
        name="playground-compare",
    ),
]
