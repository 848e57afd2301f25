"""REST endpoints of single-prompt grants: a role (viewer, editor, reviewer, admin) on
one prompt only, given and taken by the team's admins. The rule lives in
accounts.services; these parse, call it and present."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services as access
from accounts.models import ROLE_ORDER
from prompts.lookups import PromptScoped
from registry_site.api import ERRORS, checked

WHO = (
    "Team admins only (through a token: with the write scope); others who see the "
    "prompt get 403, everyone else 404."
)


class GrantIn(serializers.Serializer):
    role = serializers.ChoiceField(choices=ROLE_ORDER)


class GrantOut(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField(
        allow_null=True, help_text="null: permissions set by hand in the admin, not a role"
    )


def grant_out(grant: access.PromptGrant) -> dict:
    return {"username": grant.username, "role": grant.role}


class GrantList(PromptScoped):
    @extend_schema(
        responses={200: GrantOut(many=True), **ERRORS},
        description="Who holds a role on this prompt alone, by username. " + WHO,
    )
    def get(self, request: Request, team: str, slug: str) -> Response:
        prompt = self.prompt(request, team, slug)
        return Response([grant_out(g) for g in access.grants_on(request.user, prompt)])


class GrantDetail(PromptScoped):
    @extend_schema(
        request=GrantIn,
        responses={200: GrantOut, **ERRORS},
        description="Gives the user this role on this prompt only, replacing any role "
        "they held on it; recorded in the prompt's history. " + WHO,
    )
    def put(self, request: Request, team: str, slug: str, username: str) -> Response:
        prompt = self.prompt(request, team, slug)
        data = checked(GrantIn, request.data)
        grant = access.grant_on_prompt(request.user, prompt, username, data["role"])
        return Response(grant_out(grant))

    @extend_schema(
        responses={204: None, **ERRORS},
        description="Takes the user's role on this prompt away (404 if they hold none). " + WHO,
    )
    def delete(self, request: Request, team: str, slug: str, username: str) -> Response:
        access.revoke_on_prompt(request.user, self.prompt(request, team, slug), username)
        return Response(status=status.HTTP_204_NO_CONTENT)
