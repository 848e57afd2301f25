"""REST endpoints of a team's model connections and of a prompt's runs."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.services import find_team
from prompts.services import find_prompt
from registry_site.api import ERRORS, Pages, RegistryView, checked, paginated
from runs import connections, services
from runs.api import serializers as s

TAGS = ["connections"]
CONNECTION_ERRORS = {**ERRORS, 409: OpenApiResponse(description="conflict, or not_configured")}
RUN_ERRORS = {
    **CONNECTION_ERRORS,
    502: OpenApiResponse(description="provider_error: details {status, message, run}"),
    504: OpenApiResponse(description="provider_timeout: no answer in PROVIDER_TIMEOUT_SECONDS"),
}


class ConnectionList(RegistryView):
    @extend_schema(
        tags=TAGS,
        responses={200: s.ConnectionOut(many=True), **CONNECTION_ERRORS},
        operation_id="connections_list",
        description="The team's connections (members). Keys are never shown, only a hint.",
    )
    def get(self, request: Request, team: str) -> Response:
        found = connections.connections_of(request.user, find_team(request.user, team))
        return Response([s.connection_out(c) for c in found])

    @extend_schema(
        tags=TAGS,
        request=s.ConnectionIn,
        responses={201: s.ConnectionOut, **CONNECTION_ERRORS},
        description="Team admins. The base URL must not be a loopback, private or "
        "link-local address unless OUTBOUND_ALLOWED_NETWORKS lets it through.",
    )
    def post(self, request: Request, team: str) -> Response:
        found = find_team(request.user, team)
        data = checked(s.ConnectionIn, request.data)
        connection = connections.create_connection(request.user, found, **data)
        return Response(s.connection_out(connection), status=status.HTTP_201_CREATED)


class ConnectionDetail(RegistryView):
    def _connection(self, request: Request, team: str, name: str):
        return connections.find_connection(request.user, find_team(request.user, team), name)

    @extend_schema(tags=TAGS, responses={200: s.ConnectionOut, **CONNECTION_ERRORS})
    def get(self, request: Request, team: str, name: str) -> Response:
        return Response(s.connection_out(self._connection(request, team, name)))

    @extend_schema(
        tags=TAGS,
        request=s.ConnectionPatch,
        responses={200: s.ConnectionOut, **CONNECTION_ERRORS},
        description="Team admins; a new api_key rotates the key.",
    )
    def patch(self, request: Request, team: str, name: str) -> Response:
        connection = self._connection(request, team, name)
        data = checked(s.ConnectionPatch, request.data)
        updated = connections.update_connection(request.user, connection, **data)
        return Response(s.connection_out(updated))

    @extend_schema(tags=TAGS, responses={204: None, **CONNECTION_ERRORS})
    def delete(self, request: Request, team: str, name: str) -> Response:
        connections.delete_connection(request.user, self._connection(request, team, name))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RunPrompt(RegistryView):
    @extend_schema(
        tags=["runs"],
        request=s.RunIn,
        responses={200: s.RunOut, **RUN_ERRORS},
        operation_id="prompt_run",
        description="Render the prompt (a version, the one live in an environment, the "
        "latest, or unsaved text) and send it to a model; editors and above, with a "
        "`write` token. A failed run is recorded too; its id is in `details.run`.",
    )
    def post(self, request: Request, team: str, slug: str) -> Response:
        prompt = find_prompt(request.user, team, slug)
        data = checked(s.RunIn, request.data)
        run = services.run_prompt(request.user, prompt, **data)
        return Response(s.run_out(run))


class RunList(RegistryView):
    @extend_schema(
        tags=["runs"],
        parameters=[
            OpenApiParameter("version", int),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: paginated(s.RunOut), **ERRORS},
        operation_id="prompt_runs_list",
        description="Newest first; whoever may see the prompt sees its runs.",
    )
    def get(self, request: Request, team: str, slug: str) -> Response:
        prompt = find_prompt(request.user, team, slug)
        found = services.runs_of(request.user, prompt, request.query_params.get("version"))
        pages = Pages()
        page = pages.paginate_queryset(found, request, view=self)
        return pages.get_paginated_response([s.run_out(r) for r in page])
