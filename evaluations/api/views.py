"""REST endpoints of a prompt's datasets and evaluations."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from evaluations import datasets, services
from evaluations.api import serializers as s
from prompts.services import find_prompt
from registry_site.api import ERRORS, RegistryView, checked
from registry_site.errors import Invalid

TAGS = ["evaluations"]
MAX_LISTED = 100


def _rows(actor, prompt, data: dict) -> list:
    """Rows from exactly one of rows, rows_csv, rows_jsonl or from_samples."""
    given = [k for k in ("rows", "rows_csv", "rows_jsonl", "from_samples") if data.get(k)]
    if len(given) > 1:
        raise Invalid(
            "Send one of rows, rows_csv, rows_jsonl or from_samples.", {"field": given[1]}
        )
    if "rows_csv" in given:
        return datasets.rows_from_csv(data["rows_csv"])
    if "rows_jsonl" in given:
        return datasets.rows_from_jsonl(data["rows_jsonl"])
    if "from_samples" in given:
        return datasets.rows_from_samples(actor, prompt)
    return data.get("rows", [])


class DatasetList(RegistryView):
    @extend_schema(tags=TAGS, responses={200: s.DatasetSummaryOut(many=True), **ERRORS})
    def get(self, request: Request, team: str, slug: str) -> Response:
        prompt = find_prompt(request.user, team, slug)
        found = datasets.datasets_of(request.user, prompt)
        return Response([s.dataset_summary_out(r) for r in found])

    @extend_schema(
        tags=TAGS,
        request=s.DatasetIn,
        responses={201: s.DatasetOut, **ERRORS},
        description="Editors and above; the dataset starts at revision 1. A check that "
        "cannot work (bad regex or schema) is a 400.",
    )
    def post(self, request: Request, team: str, slug: str) -> Response:
        prompt = find_prompt(request.user, team, slug)
        data = checked(s.DatasetIn, request.data)
        revision = datasets.create_dataset(
            request.user,
            prompt,
            name=data["name"],
            rows=_rows(request.user, prompt, data),
            checks=data.get("checks"),
        )
        return Response(s.dataset_out(revision), status=status.HTTP_201_CREATED)


class DatasetDetail(RegistryView):
    @extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("rows", str, enum=["csv", "jsonl"])],
        responses={200: s.DatasetOut, **ERRORS},
        description="The latest revision; `?rows=csv` or `?rows=jsonl` answers its rows as a "
        "file (DRF keeps `format` for itself).",
    )
    def get(self, request: Request, team: str, slug: str, name: str) -> Response | HttpResponse:
        prompt = find_prompt(request.user, team, slug)
        revision = datasets.find_dataset(request.user, prompt, name)
        wanted = request.query_params.get("rows", "")
        if wanted == "csv":
            return _file(datasets.rows_to_csv(revision.rows), "text/csv", f"{name}.csv")
        if wanted == "jsonl":
            body = datasets.rows_to_jsonl(revision.rows)
            return _file(body, "application/jsonl", f"{name}.jsonl")
        return Response(s.dataset_out(revision))

    @extend_schema(
        tags=TAGS,
        request=s.RowsIn,
        responses={200: s.DatasetOut, **ERRORS},
        description="A new revision with these rows and checks; earlier revisions stay.",
    )
    def put(self, request: Request, team: str, slug: str, name: str) -> Response:
        prompt = find_prompt(request.user, team, slug)
        data = checked(s.RowsIn, request.data)
        revision = datasets.save_revision(
            request.user,
            prompt,
            name,
            rows=_rows(request.user, prompt, data),
            checks=data.get("checks"),
        )
        return Response(s.dataset_out(revision))


def _file(text: str, content_type: str, filename: str) -> HttpResponse:
    answer = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
    answer["Content-Disposition"] = f'attachment; filename="{filename}"'
    return answer


class EvaluationList(RegistryView):
    @extend_schema(
        tags=TAGS,
        parameters=[OpenApiParameter("version", int)],
        responses={200: s.EvaluationOut(many=True), **ERRORS},
        description=f"Newest first (at most {MAX_LISTED}), without rows.",
    )
    def get(self, request: Request, team: str, slug: str) -> Response:
        prompt = find_prompt(request.user, team, slug)
        found = services.evaluations_of(request.user, prompt, request.query_params.get("version"))
        return Response([s.evaluation_out(e) for e in found[:MAX_LISTED]])

    @extend_schema(
        tags=TAGS,
        request=s.EvaluationIn,
        responses={202: s.EvaluationOut, **ERRORS},
        description="Editors and above: queue an evaluation of a version (or what is live "
        "in an environment, or the latest) on the dataset's latest revision; "
        "`manage.py worker` runs it.",
    )
    def post(self, request: Request, team: str, slug: str) -> Response:
        prompt = find_prompt(request.user, team, slug)
        data = checked(s.EvaluationIn, request.data)
        evaluation = services.start_evaluation(request.user, prompt, **data)
        return Response(s.evaluation_out(evaluation), status=status.HTTP_202_ACCEPTED)


class EvaluationDetail(RegistryView):
    @extend_schema(tags=TAGS, responses={200: s.EvaluationOut, **ERRORS})
    def get(self, request: Request, team: str, slug: str, evaluation_id: int) -> Response:
        prompt = find_prompt(request.user, team, slug)
        found = services.find_evaluation(request.user, prompt, evaluation_id)
        return Response(s.evaluation_out(found, rows=True))


class EvaluationCancel(RegistryView):
    @extend_schema(tags=TAGS, request=None, responses={200: s.EvaluationOut, **ERRORS})
    def post(self, request: Request, team: str, slug: str, evaluation_id: int) -> Response:
        prompt = find_prompt(request.user, team, slug)
        found = services.find_evaluation(request.user, prompt, evaluation_id)
        return Response(s.evaluation_out(services.cancel_evaluation(request.user, found)))
