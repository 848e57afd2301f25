"""The evaluation pages: one evaluation's totals and rows (a progress bar while it runs,
refreshed by htmx every 2 s from ``progress/``), and two evaluations of the same
dataset compared row by row with the outputs' word diff.

Whoever may see the prompt reads them; editors cancel (evaluations.services decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from accounts.permissions import can
from evaluations import services
from evaluations.forms import CompareForm
from evaluations.models import Evaluation, RowResult
from prompts import diffing
from prompts.diff_markup import DiffView, diff_view
from prompts.lookups import prompt_or_404
from prompts.models import Prompt
from registry_site.errors import Conflict, Forbidden, NotFound
from registry_site.pages import prompt_path

ROWS_PER_PAGE = 50
# Rows compared on one page; each row's diff costs time, so longer datasets are paged.
COMPARED_PER_PAGE = 50
POLL_SECONDS = 2


def _evaluation_or_404(request: HttpRequest, prompt: Prompt, evaluation_id: Any) -> Evaluation:
    try:
        return services.find_evaluation(request.user, prompt, evaluation_id)
    except NotFound:
        raise Http404("No such evaluation.") from None


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", 1)), 10**6))
    except ValueError:
        return 1


# ---------------------------------------------------------------------- one evaluation


def _summary(prompt: Prompt, evaluation: Evaluation) -> dict:
    return {
        "prompt": prompt,
        "evaluation": evaluation,
        "poll_url": f"{prompt_path(prompt)}evaluations/{evaluation.pk}/progress/",
        "poll_seconds": POLL_SECONDS,
    }


@login_required
@require_GET
def evaluation_page(request: HttpRequest, team: str, slug: str, evaluation_id: int) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug, archived=True)
    evaluation = _evaluation_or_404(request, prompt, evaluation_id)
    failed_only = request.GET.get("failed") == "1"
    results = RowResult.objects.filter(evaluation=evaluation).order_by("index")
    if failed_only:
        results = results.filter(passed=False)
    rows = Paginator(results, ROWS_PER_PAGE).get_page(_page_number(request))
    others = services.evaluations_of(request.user, prompt).filter(
        revision__dataset_id=evaluation.revision.dataset_id
    )
    context = {
        **_summary(prompt, evaluation),
        "prompt_path": prompt_path(prompt),
        "dataset": evaluation.revision.dataset,
        "rows": rows,
        "failed_only": failed_only,
        "may_cancel": not evaluation.finished and can(request.user, "edit", prompt),
        "others": others.exclude(pk=evaluation.pk)[:20],
    }
    return render(request, "evaluations/evaluation.html", context)


@login_required
@require_GET
def evaluation_progress(
    request: HttpRequest, team: str, slug: str, evaluation_id: int
) -> HttpResponse:
    """The totals and progress bar. Once the evaluation finished, htmx is told to load
    the whole page again, so its rows show (and the polling, now absent, stops)."""
    prompt = prompt_or_404(request, team, slug, archived=True)
    evaluation = _evaluation_or_404(request, prompt, evaluation_id)
    response = render(request, "evaluations/partials/progress.html", _summary(prompt, evaluation))
    if evaluation.finished and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def cancel(request: HttpRequest, team: str, slug: str, evaluation_id: int) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug, archived=True)
    evaluation = _evaluation_or_404(request, prompt, evaluation_id)
    try:
        services.cancel_evaluation(request.user, evaluation)
    except Forbidden as error:
        raise PermissionDenied(error.message) from None
    except Conflict:
        pass  # it finished meanwhile: the page shows how
    return redirect(f"{prompt_path(prompt)}evaluations/{evaluation.pk}/")


# ---------------------------------------------------------------------- two compared


@dataclass(frozen=True)
class ComparedRow:
    index: int
    variables: dict
    left: RowResult | None
    right: RowResult | None
    diff: DiffView | None


def _compared(left: list[RowResult], right: list[RowResult]) -> list[ComparedRow]:
    by_index = {r.index: r for r in right}
    rows = []
    for one in left:
        other = by_index.pop(one.index, None)
        lines = diffing.diff_lines(one.output, other.output) if other else None
        diff = diff_view(lines, "split") if lines is not None else None
        rows.append(ComparedRow(one.index, one.variables, one, other, diff))
    rows += [ComparedRow(r.index, r.variables, None, r, None) for r in by_index.values()]
    return sorted(rows, key=lambda row: row.index)


def _results_page(evaluation: Evaluation, page: int) -> list[RowResult]:
    start = (page - 1) * COMPARED_PER_PAGE
    found = RowResult.objects.filter(
        evaluation=evaluation, index__gte=start, index__lt=start + COMPARED_PER_PAGE
    )
    return list(found.order_by("index"))


@login_required
@require_GET
def compare_page(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug, archived=True)
    form = CompareForm(request.GET)
    if not form.is_valid():
        raise Http404("Name two evaluations: ?a=…&b=….")
    left = _evaluation_or_404(request, prompt, form.cleaned_data["a"])
    right = _evaluation_or_404(request, prompt, form.cleaned_data["b"])
    if left.revision.dataset_id != right.revision.dataset_id:
        raise Http404("Only evaluations of the same dataset compare.")
    page = _page_number(request)
    longest = max(left.total, right.total, 1)
    pages = Paginator(range(longest), COMPARED_PER_PAGE).get_page(page)
    context = {
        "prompt": prompt,
        "prompt_path": prompt_path(prompt),
        "left": left,
        "right": right,
        "dataset": left.revision.dataset,
        "same_revision": left.revision_id == right.revision_id,
        "rows": _compared(_results_page(left, pages.number), _results_page(right, pages.number)),
        "pages": pages,
        "left_title": f"#{left.pk} (v{left.version.number})",
        "right_title": f"#{right.pk} (v{right.version.number})",
    }
    return render(request, "evaluations/compare.html", context)


P = "p/<str:team>/<str:slug>/evaluations"

urlpatterns = [
    path(f"{P}/compare/", compare_page, name="evaluation-compare"),
    path(f"{P}/<int:evaluation_id>/", evaluation_page, name="evaluation"),
    path(f"{P}/<int:evaluation_id>/progress/", evaluation_progress, name="evaluation-progress"),
    path(f"{P}/<int:evaluation_id>/cancel/", cancel, name="evaluation-cancel"),
]
