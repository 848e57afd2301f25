"""A team's model connections: list and add, edit, rotate the key, delete.

Included at ``/teams/``. Team admins only (a team one may not see is a 404, a member
who is no admin gets a 403). Keys are never shown, only their hint.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from registry_site.errors import DomainError, Forbidden, NotFound
from registry_site.pages import form_error
from runs import connections, crypto
from runs.forms import ConnectionEditForm, ConnectionForm, KeyForm
from runs.models import Connection
from runs.views.common import admin_team, private


def _connection(request: HttpRequest, team: str, name: str) -> Connection:
    try:
        return connections.find_connection(request.user, admin_team(request, team), name)
    except NotFound:
        raise Http404("No such connection.") from None


def _not_configured(request: HttpRequest, team) -> HttpResponse:
    context = {"team": team, "message": crypto.NOT_CONFIGURED}
    return private(render(request, "runs/not_configured.html", context, status=409))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def connection_list(request: HttpRequest, team: str) -> HttpResponse:
    team_obj = admin_team(request, team)
    if not crypto.is_configured():
        return _not_configured(request, team_obj)
    form = ConnectionForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            connection = connections.create_connection(request.user, team_obj, **form.cleaned_data)
        except Forbidden as error:
            raise PermissionDenied(error.message) from None
        except DomainError as error:
            form_error(form, error)
        else:
            messages.success(request, f"Connection {connection.name} added.")
            return redirect("connections", team_obj.slug)
    context = {
        "team": team_obj,
        "connections": list(connections.connections_of(request.user, team_obj)),
        "form": form,
    }
    return private(render(request, "runs/connections.html", context))


def _initial(connection: Connection) -> dict:
    return {
        "name": connection.name,
        "provider": connection.provider,
        "base_url": connection.base_url,
        "models": "\n".join(connection.model_names),
    }


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def connection_page(request: HttpRequest, team: str, name: str) -> HttpResponse:
    if not crypto.is_configured():
        return _not_configured(request, admin_team(request, team))
    connection = _connection(request, team, name)
    if request.method != "POST":
        form = ConnectionEditForm(initial=_initial(connection))
    else:
        form = ConnectionEditForm(request.POST)
        if form.is_valid():
            try:
                connections.update_connection(request.user, connection, **form.changes())
            except Forbidden as error:
                raise PermissionDenied(error.message) from None
            except DomainError as error:
                form_error(form, error)
                connection.refresh_from_db()
            else:
                messages.success(request, "Connection saved.")
                return redirect("connection", connection.team.slug, connection.name)
    context = {
        "team": connection.team,
        "connection": connection,
        "form": form,
        "key_form": KeyForm(),
    }
    return private(render(request, "runs/connection.html", context))


@login_required
@require_POST
def rotate_key(request: HttpRequest, team: str, name: str) -> HttpResponse:
    connection = _connection(request, team, name)
    form = KeyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter the new key.")
    else:
        try:
            connections.update_connection(
                request.user, connection, api_key=form.cleaned_data["api_key"]
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Key replaced; it ends in {connection.key_hint[-4:]}.")
    return redirect("connection", connection.team.slug, connection.name)


@login_required
@require_POST
def delete_connection(request: HttpRequest, team: str, name: str) -> HttpResponse:
    connection = _connection(request, team, name)
    try:
        connections.delete_connection(request.user, connection)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("connection", connection.team.slug, connection.name)
    messages.success(request, f"Connection {connection.name} deleted; its runs stay listed.")
    return redirect("connections", connection.team.slug)


urlpatterns = [
    path("<str:team>/connections/", connection_list, name="connections"),
    path("<str:team>/connections/<str:name>/", connection_page, name="connection"),
    path("<str:team>/connections/<str:name>/key/", rotate_key, name="connection-key"),
    path("<str:team>/connections/<str:name>/delete/", delete_connection, name="connection-delete"),
]
