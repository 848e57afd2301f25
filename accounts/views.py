"""Team pages: members and roles, environments, tokens.

Included at ``/teams/``. Every page needs a signed-in user; a team the user may not
see is a 404 (team_or_404), member management is for team admins only (403 for
other members). Writes go through accounts.services and accounts.tokens; their
DomainErrors become form errors or flash messages.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Case, IntegerField, Value, When
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import services, tokens
from accounts.forms import AddMemberForm, RoleForm, TokenForm
from accounts.lookups import team_or_404
from accounts.models import ROLE_ORDER, ApiToken, Membership, Role, Team
from accounts.permissions import can
from registry_site.errors import DomainError, Forbidden, NotFound
from registry_site.pages import form_error
from releases.environments import environments_of

# ---------------------------------------------------------------- overview


def _members(user: Any, team: Team) -> list[Membership]:
    """The team's members, admins first, then by username: one query, whatever the size."""
    rank = Case(
        *[When(role=role, then=Value(i)) for i, role in enumerate(ROLE_ORDER)],
        default=Value(-1),
        output_field=IntegerField(),
    )
    return list(
        services.members_of(user, team)
        .select_related("user")
        .annotate(rank=rank)
        .order_by("-rank", "user__username")
    )


def _render_team(
    request: HttpRequest, team: Team, add_form: AddMemberForm | None = None, status: int = 200
) -> HttpResponse:
    is_admin = can(request.user, "admin", team)
    members = _members(request.user, team)
    my_role = next((m.role for m in members if m.user_id == request.user.pk), None)
    context = {
        "team": team,
        "members": members,
        "my_role": my_role,
        "environments": list(environments_of(team)),
        "is_admin": is_admin,
        "roles": Role.choices,
        "add_form": (add_form or AddMemberForm()) if is_admin else None,
    }
    return render(request, "accounts/team.html", context, status=status)


def _whole_team_or_404(request: HttpRequest, slug: str) -> Team:
    """The team, if the user sees it as a whole: a grant on one of its prompts shows
    that prompt, not the team's page and members."""
    team = team_or_404(request, slug)
    try:
        services.members_of(request.user, team)
    except NotFound:
        raise Http404("No such team.") from None
    return team


@login_required
@require_GET
def team_page(request: HttpRequest, team: str) -> HttpResponse:
    return _render_team(request, _whole_team_or_404(request, team))


# ---------------------------------------------------------------- members


def _admin_team_or_403(request: HttpRequest, slug: str) -> Team:
    """The team, if the user may see it (else 404) and administer it (else 403)."""
    team = _whole_team_or_404(request, slug)
    if not can(request.user, "admin", team):
        raise PermissionDenied("Only team admins manage members.")
    return team


def _flash_error(request: HttpRequest, error: DomainError) -> None:
    if isinstance(error, Forbidden):
        raise PermissionDenied(error.message)
    messages.error(request, error.message)


def _member_or_404(team: Team, username: str) -> Membership:
    membership = (
        Membership.objects.filter(team=team, user__username=username).select_related("user").first()
    )
    if membership is None:
        raise Http404("No such member.")
    return membership


def _after_change(request: HttpRequest, team: Team) -> HttpResponse:
    """Back to the team page, or home if the user just lost sight of the team."""
    if can(request.user, "view", team):
        return redirect("team", team.slug)
    return redirect("/")


@login_required
@require_POST
def add_member(request: HttpRequest, team: str) -> HttpResponse:
    team_obj = _admin_team_or_403(request, team)
    form = AddMemberForm(request.POST)
    if form.is_valid():
        username, role = form.cleaned_data["username"], form.cleaned_data["role"]
        if Membership.objects.filter(team=team_obj, user__username=username).exists():
            form.add_error(
                "username", f"{username} is already a member; change their role in the list."
            )
        else:
            try:
                services.set_role(request.user, team_obj, username, role)
            except Forbidden as error:
                raise PermissionDenied(error.message) from None
            except DomainError as error:
                if isinstance(error, NotFound) and "field" not in error.details:
                    form.add_error("username", error.message)
                else:
                    form_error(form, error)
            else:
                messages.success(
                    request, f"{username} joined {team_obj.name} as {Role(role).label.lower()}."
                )
                return redirect("team", team_obj.slug)
    return _render_team(request, team_obj, form)


@login_required
@require_POST
def change_role(request: HttpRequest, team: str, username: str) -> HttpResponse:
    team_obj = _admin_team_or_403(request, team)
    membership = _member_or_404(team_obj, username)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles: " + ", ".join(ROLE_ORDER) + ".")
        return redirect("team", team_obj.slug)
    role = form.cleaned_data["role"]
    if role == membership.role:
        messages.info(request, f"{username} already is {Role(role).label.lower()}.")
        return redirect("team", team_obj.slug)
    try:
        services.set_role(request.user, team_obj, username, role)
    except DomainError as error:
        _flash_error(request, error)
    else:
        messages.success(request, f"{username} is now {Role(role).label.lower()}.")
    return _after_change(request, team_obj)


@login_required
@require_POST
def remove_member(request: HttpRequest, team: str, username: str) -> HttpResponse:
    team_obj = _admin_team_or_403(request, team)
    _member_or_404(team_obj, username)
    try:
        services.remove_member(request.user, team_obj, username)
    except DomainError as error:
        _flash_error(request, error)
    else:
        messages.success(request, f"{username} was removed from {team_obj.name}.")
    return _after_change(request, team_obj)


# ---------------------------------------------------------------- tokens


def _render_tokens(
    request: HttpRequest,
    team: Team,
    form: TokenForm,
    *,
    created: ApiToken | None = None,
    raw: str | None = None,
) -> HttpResponse:
    context: dict[str, Any] = {
        "team": team,
        "tokens": list(
            ApiToken.objects.filter(user=request.user, team=team).order_by("-created_at", "-pk")
        ),
        "form": form,
        "created": created,
        "raw": raw,
        "now": timezone.now(),
    }
    response = render(request, "accounts/team_tokens.html", context)
    # The list is private; the page that shows a raw token must never be cached.
    add_never_cache_headers(response)
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def team_tokens(request: HttpRequest, team: str) -> HttpResponse:
    team_obj = team_or_404(request, team)
    if request.method != "POST":
        return _render_tokens(request, team_obj, TokenForm())
    form = TokenForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            token, raw = tokens.issue(
                request.user,
                name=data["name"],
                scopes=data["scopes"],
                team=team_obj,
                expires_days=data["expires_days"],
            )
        except DomainError as error:
            form_error(form, error)
        else:
            # Shown in this response only: never stored, never shown again.
            return _render_tokens(request, team_obj, TokenForm(), created=token, raw=raw)
    return _render_tokens(request, team_obj, form)


@login_required
@require_POST
def revoke_token(request: HttpRequest, team: str, token_id: int) -> HttpResponse:
    team_obj = team_or_404(request, team)
    if not ApiToken.objects.filter(pk=token_id, user=request.user, team=team_obj).exists():
        raise Http404("No such token.")
    try:
        token = tokens.revoke(request.user, token_id)
    except NotFound:
        raise Http404("No such token.") from None
    label = f"“{token.name}” ({token.prefix}…)" if token.name else f"{token.prefix}…"
    messages.success(request, f"Token {label} is revoked.")
    return redirect("team-tokens", team_obj.slug)


urlpatterns = [
    path("<str:team>/", team_page, name="team"),
    path("<str:team>/members/", add_member, name="team-members"),
    # Usernames made in a shell may hold "/" (and anything else): path, not str.
    path("<str:team>/members/<path:username>/role/", change_role, name="team-member-role"),
    path("<str:team>/members/<path:username>/remove/", remove_member, name="team-member-remove"),
    path("<str:team>/tokens/", team_tokens, name="team-tokens"),
    path("<str:team>/tokens/<int:token_id>/revoke/", revoke_token, name="team-token-revoke"),
]
