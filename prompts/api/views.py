"""REST endpoints for prompts: parse, call a service, present."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.services import find_team
from prompts import diffing, services
from prompts.api import serializers as s
from prompts.lookups import PromptScoped
from prompts.models import Version
from prompts.search import find_prompts
from registry_site.api import ERRORS, Pages, RegistryView, checked, paginated
from registry_site.errors import Immutable, Invalid
from releases import environments
from releases import services as deployments
from releases.live import live_ids, live_versions, state_of
from reviews import services as review
from serving import usage

KNOWN_LIST_PARAMS = {"q", "tag", "team", "page", "page_size", "unused_days", "archived"}
FLAGS = {"true": True, "1": True, "false": False, "0": False}


def live_of(prompts: list) -> dict[int, dict[str, int]]:
    return live_versions(prompts)


class PromptList(RegistryView):
    @extend_schema(
        parameters=[
            OpenApiParameter("q", str),
            OpenApiParameter("tag", str, many=True),
            OpenApiParameter("team", str),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
            OpenApiParameter("unused_days", int, description="only prompts nobody fetched lately"),
            OpenApiParameter(
                "archived",
                bool,
                description="true: the archived prompts the caller may restore (team admins) "
                "instead of the others",
            ),
        ],
        responses={200: paginated(s.PromptOut), **ERRORS},
        operation_id="prompts_list",
    )
    def get(self, request: Request) -> Response:
        unknown = set(request.query_params) - KNOWN_LIST_PARAMS
        if unknown:
            raise Invalid(
                f"Unknown query parameter(s): {', '.join(sorted(unknown))}.",
                {"unknown": sorted(unknown)},
            )
        prompts = find_prompts(
            request.user,
            q=request.query_params.get("q"),
            tags=request.query_params.getlist("tag"),
            team=request.query_params.get("team"),
            excluding=usage.fetched_within(_days(request.query_params.get("unused_days"))),
            archived=_flag(request.query_params.get("archived"), "archived"),
        )
        pages = Pages()
        page = pages.paginate_queryset(prompts, request, view=self)
        live = live_of(page)
        return pages.get_paginated_response([s.prompt_out(p, live[p.pk]) for p in page])

    @extend_schema(request=s.PromptIn, responses={201: s.PromptOut, **ERRORS})
    def post(self, request: Request) -> Response:
        data = checked(s.PromptIn, request.data)
        team = find_team(request.user, data.pop("team"))
        prompt = services.create_prompt(request.user, team, **data)
        return Response(
            s.prompt_out(prompt, live_of([prompt])[prompt.pk]), status=status.HTTP_201_CREATED
        )


def _days(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= 3650:
        raise Invalid(
            "unused_days is a whole number of days from 1 to 3650.", {"field": "unused_days"}
        )
    return int(raw)


def _flag(raw: str | None, field: str) -> bool:
    if raw is None:
        return False
    if raw.lower() not in FLAGS:
        raise Invalid(f"{field} is true or false.", {"field": field})
    return FLAGS[raw.lower()]


class PromptDetail(PromptScoped):
    @extend_schema(
        responses={200: s.PromptOut, **ERRORS},
        description="An archived prompt answers those who may restore it, with "
        '`"archived": true`; anyone else gets a 404.',
    )
    def get(self, request: Request, team: str, slug: str) -> Response:
        prompt = services.find_prompt_or_archived(request.user, team, slug)
        return Response(s.prompt_out(prompt, live_of([prompt])[prompt.pk]))

    @extend_schema(request=s.PromptPatch, responses={200: s.PromptOut, **ERRORS})
    def patch(self, request: Request, team: str, slug: str) -> Response:
        prompt = self.prompt(request, team, slug)
        prompt = services.update_prompt(
            request.user, prompt, **checked(s.PromptPatch, request.data)
        )
        return Response(s.prompt_out(prompt, live_of([prompt])[prompt.pk]))

    @extend_schema(
        request=s.ArchiveIn,
        parameters=[OpenApiParameter("force", bool, description="the same as the body field")],
        responses={204: None, **ERRORS},
        description="Archives the prompt. Refused (409 `snippet_in_use`, naming them) while "
        "live prompts include it, unless `force` (body field or query parameter).",
    )
    def delete(self, request: Request, team: str, slug: str) -> Response:
        prompt = self.prompt(request, team, slug)
        force = checked(s.ArchiveIn, request.data or {})["force"]
        if "force" in request.query_params:
            force = force or _flag(request.query_params.get("force"), "force")
        services.archive_prompt(request.user, prompt, force=force)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PromptRestore(PromptScoped):
    @extend_schema(request=None, responses={200: s.PromptOut, **ERRORS})
    def post(self, request: Request, team: str, slug: str) -> Response:
        prompt = services.restore_prompt(
            request.user, self.prompt(request, team, slug, archived=True)
        )
        return Response(s.prompt_out(prompt, live_of([prompt])[prompt.pk]))


class VersionList(PromptScoped):
    @extend_schema(responses={200: paginated(s.VersionOut), **ERRORS}, operation_id="versions_list")
    def get(self, request: Request, team: str, slug: str) -> Response:
        prompt = self.prompt(request, team, slug)
        versions = (
            Version.objects.filter(prompt=prompt)
            .select_related("author", "review")
            .order_by("-number")
        )
        pages = Pages()
        page = pages.paginate_queryset(versions, request, view=self)
        approvals = review.approvals_of(page)
        return pages.get_paginated_response([s.version_out(v, approvals[v.pk]) for v in page])

    @extend_schema(request=s.VersionIn, responses={201: s.VersionOut, **ERRORS})
    def post(self, request: Request, team: str, slug: str) -> Response:
        prompt = self.prompt(request, team, slug)
        version = services.add_version(request.user, prompt, **checked(s.VersionIn, request.data))
        return Response(s.version_out(version), status=status.HTTP_201_CREATED)


class VersionDetail(PromptScoped):
    @extend_schema(responses={200: s.VersionOut, **ERRORS})
    def get(self, request: Request, team: str, slug: str, number: int) -> Response:
        version = services.find_version(self.prompt(request, team, slug), number)
        return Response(s.version_out(version, review.approvals_of([version])[version.pk]))

    @extend_schema(
        request=None, responses={405: OpenApiResponse(description="immutable"), **ERRORS}
    )
    def put(self, request: Request, team: str, slug: str, number: int) -> Response:
        self.prompt(request, team, slug)
        raise Immutable("Versions are immutable: add a new version instead.")

    patch = put
    delete = put


class DeploymentList(PromptScoped):
    @extend_schema(
        parameters=[OpenApiParameter("environment", str)],
        responses={200: paginated(s.DeploymentOut), **ERRORS},
    )
    def get(self, request: Request, team: str, slug: str) -> Response:
        prompt = self.prompt(request, team, slug)
        env_slug = request.query_params.get("environment")
        env = environments.find_environment(prompt.team, env_slug) if env_slug else None
        log = deployments.history(prompt, env)
        live = live_ids(prompt)
        pages = Pages()
        page = pages.paginate_queryset(log, request, view=self)
        return pages.get_paginated_response([s.deployment_out(d, state_of(d, live)) for d in page])

    @extend_schema(request=s.DeployIn, responses={201: s.DeploymentOut, **ERRORS})
    def post(self, request: Request, team: str, slug: str) -> Response:
        prompt = self.prompt(request, team, slug)
        data = checked(s.DeployIn, request.data)
        env = environments.find_environment(prompt.team, data["environment"])
        version = services.find_version(prompt, data["version"])
        made = deployments.deploy(
            request.user,
            prompt,
            env,
            version,
            when=data.get("scheduled_for"),
            note=data.get("note", ""),
            force=data.get("force", False),
        )
        return Response(_deployment(made), status=status.HTTP_201_CREATED)


def _deployment(made) -> dict:
    return s.deployment_out(made, state_of(made, live_ids(made.prompt)))


class Rollback(PromptScoped):
    @extend_schema(request=s.RollbackIn, responses={201: s.DeploymentOut, **ERRORS})
    def post(self, request: Request, team: str, slug: str) -> Response:
        prompt = self.prompt(request, team, slug)
        data = checked(s.RollbackIn, request.data)
        env = environments.find_environment(prompt.team, data["environment"])
        made = deployments.rollback(request.user, prompt, env, note=data.get("note", ""))
        return Response(_deployment(made), status=status.HTTP_201_CREATED)


class DeploymentCancel(PromptScoped):
    @extend_schema(
        request=None,
        responses={200: s.DeploymentOut, **ERRORS},
        description="Cancel a planned deployment before its time (409 `not_planned` after).",
    )
    def post(self, request: Request, team: str, slug: str, deployment_id: int) -> Response:
        prompt = self.prompt(request, team, slug)
        planned = deployments.find_deployment(prompt, deployment_id)
        return Response(_deployment(deployments.cancel(request.user, planned)))


class Compare(PromptScoped):
    @extend_schema(
        parameters=[
            OpenApiParameter("from", int, required=True),
            OpenApiParameter("to", int, required=True),
        ],
        responses={200: dict, **ERRORS},
    )
    def get(self, request: Request, team: str, slug: str) -> Response:
        prompt = self.prompt(request, team, slug)
        old = services.find_version(prompt, request.query_params.get("from"))
        new = services.find_version(prompt, request.query_params.get("to"))
        return Response(diffing.compare(old, new))


class UsageReport(PromptScoped):
    @extend_schema(responses={200: s.UsageOut(many=True), **ERRORS})
    def get(self, request: Request, team: str, slug: str) -> Response:
        return Response(usage.report(self.prompt(request, team, slug)))
