"""REST endpoints for teams, members, environments and the caller's tokens."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts import services, tokens
from accounts.api import serializers as s
from accounts.models import ApiToken, Membership, Team
from accounts.permissions import visible
from accounts.services import find_team
from registry_site.api import ERRORS, RegistryView, checked
from releases import environments
from releases.models import Environment


def _time(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


class TeamList(RegistryView):
    @extend_schema(responses={200: s.TeamOut(many=True), **ERRORS})
    def get(self, request: Request) -> Response:
        memberships = {m.team_id: m.role for m in Membership.objects.filter(user=request.user)}
        teams = visible(
            request.user,
            Team.objects.filter(pk__in=list(memberships))
            if not request.user.is_superuser
            else Team.objects.all(),
        )
        return Response(
            [{"slug": t.slug, "name": t.name, "role": memberships.get(t.pk)} for t in teams]
        )

    @extend_schema(request=s.TeamIn, responses={201: s.TeamOut, **ERRORS})
    def post(self, request: Request) -> Response:
        data = checked(s.TeamIn, request.data)
        team = services.create_team(request.user, data["slug"], data["name"])
        return Response(
            {"slug": team.slug, "name": team.name, "role": "admin"}, status=status.HTTP_201_CREATED
        )


class MemberList(RegistryView):
    @extend_schema(responses={200: s.MemberOut(many=True), **ERRORS})
    def get(self, request: Request, team: str) -> Response:
        found = find_team(request.user, team)
        members = (
            services.members_of(request.user, found)
            .select_related("user")
            .order_by("user__username")
        )
        return Response([{"username": m.user.get_username(), "role": m.role} for m in members])


class MemberDetail(RegistryView):
    @extend_schema(request=s.RoleIn, responses={200: s.MemberOut, **ERRORS})
    def put(self, request: Request, team: str, username: str) -> Response:
        found = find_team(request.user, team)
        data = checked(s.RoleIn, request.data)
        membership = services.set_role(request.user, found, username, data["role"])
        return Response({"username": username, "role": membership.role})

    @extend_schema(responses={204: None, **ERRORS})
    def delete(self, request: Request, team: str, username: str) -> Response:
        services.remove_member(request.user, find_team(request.user, team), username)
        return Response(status=status.HTTP_204_NO_CONTENT)


def environment_out(env: Environment) -> dict:
    return {
        "slug": env.slug,
        "name": env.name,
        "order": env.order,
        "protected": env.protected,
        "required_approvals": env.required_approvals,
        "is_default": env.is_default,
        "requires_previous": env.requires_previous,
        "required_evaluation": env.required_evaluation,
    }


def _environment(user: Any, team: str, slug: str) -> Environment:
    found = find_team(user, team)
    env = environments.find_environment(found, slug or "-")
    env.team = found
    return env


class EnvironmentList(RegistryView):
    @extend_schema(responses={200: s.EnvironmentOut(many=True), **ERRORS})
    def get(self, request: Request, team: str) -> Response:
        found = find_team(request.user, team)
        envs = environments.environments_of(found)
        return Response([environment_out(e) for e in envs])

    @extend_schema(
        request=s.EnvironmentIn,
        responses={201: s.EnvironmentOut, **ERRORS},
        description="Team admins add an environment; without `order` it comes last.",
    )
    def post(self, request: Request, team: str) -> Response:
        found = find_team(request.user, team)
        data = dict(checked(s.EnvironmentIn, request.data))
        env = environments.create_environment(request.user, found, **data)
        return Response(environment_out(env), status=status.HTTP_201_CREATED)


class EnvironmentDetail(RegistryView):
    @extend_schema(
        request=s.EnvironmentPatch,
        responses={200: s.EnvironmentOut, **ERRORS},
        description="Team admins change an environment's rules; `is_default: true` moves "
        "the default here (the default cannot be unmarked, only moved).",
    )
    def patch(self, request: Request, team: str, environment: str) -> Response:
        env = _environment(request.user, team, environment)
        data = dict(checked(s.EnvironmentPatch, request.data))
        updated = environments.update_environment(request.user, env, **data)
        return Response(environment_out(updated))

    @extend_schema(
        responses={204: None, **ERRORS},
        description="Team admins delete an environment nothing was deployed to (else 409).",
    )
    def delete(self, request: Request, team: str, environment: str) -> Response:
        environments.delete_environment(request.user, _environment(request.user, team, environment))
        return Response(status=status.HTTP_204_NO_CONTENT)


def token_out(token: ApiToken, raw: str | None = None) -> dict:
    out = {
        "id": token.pk,
        "name": token.name,
        "prefix": token.prefix,
        "scopes": token.scopes,
        "team": token.team.slug if token.team else None,
        "expires_at": _time(token.expires_at),
        "revoked_at": _time(token.revoked_at),
        "last_used_at": _time(token.last_used_at),
        "created_at": _time(token.created_at),
    }
    if raw is not None:
        out["token"] = raw
    return out


MANAGING_THROUGH_A_CREDENTIAL = (
    "Through a token, only with the `tokens` scope (never among the defaults), and within "
    "its reach: a team's token sees and revokes its team's tokens only, and creates "
    "none with another team, a scope it lacks or a later expiry (403, `details.reason` "
    "`tokens_scope`, `token_team`, `token_scopes` or `token_expiry`)."
)


class TokenList(RegistryView):
    @extend_schema(
        responses={200: s.TokenOut(many=True), **ERRORS},
        description="The caller's tokens. " + MANAGING_THROUGH_A_CREDENTIAL,
    )
    def get(self, request: Request) -> Response:
        return Response([token_out(t) for t in tokens.tokens_of(request.user)])

    @extend_schema(
        request=s.TokenIn,
        responses={201: s.TokenOut, **ERRORS},
        description="A new token for the caller; no `scopes`: read, write and deploy "
        "(through a token: those of them it holds; no `expires_days`: its expiry). "
        + MANAGING_THROUGH_A_CREDENTIAL,
    )
    def post(self, request: Request) -> Response:
        data = checked(s.TokenIn, request.data)
        team = find_team(request.user, data["team"]) if data.get("team") else None
        token, raw = tokens.issue(
            request.user,
            name=data.get("name", ""),
            scopes=data.get("scopes"),
            team=team,
            expires_days=data.get("expires_days"),
        )
        return Response(token_out(token, raw), status=status.HTTP_201_CREATED)


class TokenDetail(RegistryView):
    @extend_schema(
        responses={204: None, **ERRORS},
        description="Revokes one of the caller's tokens. " + MANAGING_THROUGH_A_CREDENTIAL,
    )
    def delete(self, request: Request, token_id: int) -> Response:
        tokens.revoke(request.user, token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WhoAmI(RegistryView):
    """Who the credentials belong to: a cheap check for scripts and monitoring."""

    @extend_schema(responses={200: s.WhoAmIOut, **ERRORS})
    def get(self, request: Request) -> Response:
        token = getattr(request.user, "registry_token", None)
        return Response(
            {
                "username": request.user.get_username(),
                "token": {"scopes": sorted(token.scopes), "team_id": token.team_id}
                if token
                else None,
            }
        )
