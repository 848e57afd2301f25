"""The dataset pages of a prompt: its datasets, a new one (typed, pasted or filled from
the sample inputs), one dataset's latest revision with its editor, and the form that
starts an evaluation on it.

Whoever may see the prompt reads them; editors and above write and start evaluations
(evaluations.datasets and evaluations.services decide, these pages only show).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import can
from evaluations import datasets, services
from evaluations.forms import DatasetForm, StartForm, initial_of
from evaluations.models import DatasetRevision
from prompts.lookups import prompt_or_404
from prompts.models import Prompt, Version
from registry_site.errors import DomainError, Forbidden, NotFound
from registry_site.pages import form_error, prompt_path
from releases.models import Environment
from runs import crypto
from runs.models import Connection

ROWS_SHOWN = 100
EVALUATIONS_SHOWN = 20
RECENT_VERSIONS = 50


def sources(prompt: Prompt) -> list[tuple[str, str]]:
    """What an evaluation may run: the latest version, a version, or what is live."""
    numbers = Version.objects.filter(prompt=prompt).order_by("-number")
    environments = Environment.objects.filter(team_id=prompt.team_id).order_by("order", "slug")
    return [
        ("latest", "The latest version"),
        *[
            (f"v:{n}", f"Version {n}")
            for n in numbers.values_list("number", flat=True)[:RECENT_VERSIONS]
        ],
        *[(f"env:{e.slug}", f"Live in {e.name}") for e in environments],
    ]


def connection_choices(prompt: Prompt) -> list[tuple[str, str]]:
    if not crypto.is_configured():
        return []
    found = Connection.objects.filter(team_id=prompt.team_id).order_by("name")
    return [
        (name, f"{name} ({provider})") for name, provider in found.values_list("name", "provider")
    ]


def start_form(prompt: Prompt, data=None) -> StartForm:
    return StartForm(data, sources=sources(prompt), connections=connection_choices(prompt))


def _write(form: DatasetForm, save) -> tuple[DatasetRevision | None, int]:
    """Parse the form and save through ``save(rows, checks)``; refusals go on the form.
    The revision saved, or None and the status of the refusal."""
    if not form.is_valid():
        return None, 400
    try:
        rows, checks = form.parsed()
        return save(rows, checks), 200
    except Forbidden as error:
        raise PermissionDenied(error.message) from None
    except DomainError as error:
        form_error(form, error)
        return None, error.status


def _may_edit(request: HttpRequest, prompt: Prompt) -> bool:
    """Whether the page offers its forms (an archived prompt's are read-only)."""
    return not prompt.is_archived and can(request.user, "edit", prompt)


def _dataset_url(prompt: Prompt, name: str) -> str:
    return f"{prompt_path(prompt)}datasets/{name}/"


# ---------------------------------------------------------------------- the list


def _list_page(request: HttpRequest, prompt: Prompt, form: DatasetForm, status: int = 200):
    context = {
        "prompt": prompt,
        "prompt_path": prompt_path(prompt),
        "datasets": datasets.datasets_of(request.user, prompt),
        "form": form,
        "may_edit": _may_edit(request, prompt),
    }
    return render(request, "evaluations/datasets.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def dataset_list(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug, archived=True)
    if request.method != "POST":
        initial = {"rows_format": "jsonl", "checks": "[]"}
        if request.GET.get("from") == "samples":
            initial["rows"] = datasets.rows_to_jsonl(
                datasets.rows_from_samples(request.user, prompt)
            )
        return _list_page(request, prompt, DatasetForm(initial=initial))
    form = DatasetForm(request.POST)
    created, status = _write(
        form,
        lambda rows, checks: datasets.create_dataset(
            request.user, prompt, name=form.cleaned_data["name"], rows=rows, checks=checks
        ),
    )
    if created is None:
        return _list_page(request, prompt, form, status=status)
    return redirect(_dataset_url(prompt, created.dataset.name))


# ---------------------------------------------------------------------- one dataset


def _revision_or_404(request: HttpRequest, prompt: Prompt, name: str) -> DatasetRevision:
    try:
        return datasets.find_dataset(request.user, prompt, name)
    except NotFound:
        raise Http404("No such dataset.") from None


def _dataset_page(
    request: HttpRequest,
    prompt: Prompt,
    revision: DatasetRevision,
    *,
    form: DatasetForm | None = None,
    start: StartForm | None = None,
    status: int = 200,
) -> HttpResponse:
    may_edit = _may_edit(request, prompt)
    initial = initial_of(revision.rows, revision.checks) if may_edit and form is None else None
    evaluations = services.evaluations_of(request.user, prompt).filter(
        revision__dataset_id=revision.dataset_id
    )
    context = {
        "prompt": prompt,
        "prompt_path": prompt_path(prompt),
        "revision": revision,
        "dataset": revision.dataset,
        "rows": revision.rows[:ROWS_SHOWN],
        "more_rows": max(len(revision.rows) - ROWS_SHOWN, 0),
        "checks": revision.checks,
        "may_edit": may_edit,
        "form": form or DatasetForm(initial=initial, editing=True),
        "start": start or start_form(prompt),
        "configured": crypto.is_configured(),
        "evaluations": evaluations[:EVALUATIONS_SHOWN],
    }
    return render(request, "evaluations/dataset.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def dataset_page(request: HttpRequest, team: str, slug: str, name: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug, archived=True)
    revision = _revision_or_404(request, prompt, name)
    if request.method != "POST":
        return _dataset_page(request, prompt, revision)
    form = DatasetForm(request.POST, editing=True)
    saved, status = _write(
        form,
        lambda rows, checks: datasets.save_revision(
            request.user, prompt, name, rows=rows, checks=checks
        ),
    )
    if saved is None:
        return _dataset_page(request, prompt, revision, form=form, status=status)
    return redirect(_dataset_url(prompt, name))


@login_required
@require_POST
def start_evaluation(request: HttpRequest, team: str, slug: str, name: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug, archived=True)
    revision = _revision_or_404(request, prompt, name)
    form = start_form(prompt, request.POST)
    status = 400
    if form.is_valid():
        try:
            evaluation = services.start_evaluation(
                request.user, prompt, dataset=name, **form.start_arguments()
            )
        except Forbidden as error:
            raise PermissionDenied(error.message) from None
        except DomainError as error:
            form_error(form, error)
            status = error.status
        else:
            return redirect(f"{prompt_path(prompt)}evaluations/{evaluation.pk}/")
    return _dataset_page(request, prompt, revision, start=form, status=status)


P = "p/<str:team>/<str:slug>"

urlpatterns = [
    path(f"{P}/datasets/", dataset_list, name="datasets"),
    path(f"{P}/datasets/<str:name>/", dataset_page, name="dataset"),
    path(f"{P}/datasets/<str:name>/evaluate/", start_evaluation, name="dataset-evaluate"),
]
