"""Webhook pages: a team's webhooks, and one webhook with its delivery log.

A webhook's secret is shown once: on the page right after it was made or rotated.

Included at ``/teams/``. Team admins only: a team the user may not see is a 404, a
member who is not an admin gets a 403. Writes go through webhooks.services; their
DomainErrors become form errors or flash messages.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_http_methods, require_POST

from accounts.lookups import team_or_404
from accounts.models import Team
from accounts.permissions import can
from registry_site.errors import DomainError, Forbidden, NotFound
from registry_site.pages import form_error
from webhooks import services
from webhooks.events import DESCRIPTIONS
from webhooks.forms import WebhookEditForm, WebhookForm
from webhooks.models import Webhook

LOG_PAGE_SIZE = 20
# Where a new secret waits, server-side, for the one page that shows it.
JUST_MADE = "webhook-just-made"


def _admin_team(request: HttpRequest, slug: str) -> Team:
    """The team, if the user may see it (else 404) and administer it (else 403)."""
    team = team_or_404(request, slug)
    if not can(request.user, "admin", team):
        raise PermissionDenied("Only team admins manage webhooks.")
    return team


def _webhook(request: HttpRequest, team: str, webhook_id: int) -> Webhook:
    try:
        return services.find_webhook(request.user, _admin_team(request, team), webhook_id)
    except NotFound:
        raise Http404("No such webhook.") from None


def _private(response: HttpResponse) -> HttpResponse:
    # These pages show secrets: no cache anywhere may keep them.
    add_never_cache_headers(response)
    return response


def _show_secret_once(request: HttpRequest, webhook: Webhook) -> None:
    request.session[JUST_MADE] = {"webhook": webhook.pk, "secret": webhook.secret}


def _new_secret(request: HttpRequest, webhook: Webhook) -> str | None:
    """The webhook's secret if it was just made, taken so that no later page shows it."""
    held = request.session.get(JUST_MADE)
    if not isinstance(held, dict) or held.get("webhook") != webhook.pk:
        return None
    del request.session[JUST_MADE]
    return held.get("secret")


def _refused(request: HttpRequest, error: DomainError) -> None:
    if isinstance(error, Forbidden):
        raise PermissionDenied(error.message)
    messages.error(request, error.message)


# ---------------------------------------------------------------- the list


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_list(request: HttpRequest, team: str) -> HttpResponse:
    team_obj = _admin_team(request, team)
    form = WebhookForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            webhook = services.create_webhook(request.user, team_obj, **form.cleaned_data)
        except Forbidden as error:
            raise PermissionDenied(error.message) from None
        except DomainError as error:
            form_error(form, error)
        else:
            _show_secret_once(request, webhook)
            messages.success(
                request, "Webhook added. Give its secret to the receiver to check signatures."
            )
            return redirect("webhook", team_obj.slug, webhook.pk)
    context = {
        "team": team_obj,
        "webhooks": list(services.webhooks_of(request.user, team_obj)),
        "form": form,
        "descriptions": DESCRIPTIONS,
    }
    return _private(render(request, "webhooks/list.html", context))


# ---------------------------------------------------------------- one webhook


def _initial(webhook: Webhook) -> dict[str, Any]:
    return {
        "url": webhook.url,
        "description": webhook.description,
        "events": webhook.events,
        "active": webhook.active,
    }


def _render_webhook(request: HttpRequest, webhook: Webhook, form: WebhookEditForm) -> HttpResponse:
    log = Paginator(services.deliveries_of(webhook), LOG_PAGE_SIZE)
    context = {
        "team": webhook.team,
        "webhook": webhook,
        "new_secret": _new_secret(request, webhook),
        "form": form,
        "deliveries": log.get_page(request.GET.get("page")),
    }
    return _private(render(request, "webhooks/detail.html", context))


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def webhook_page(request: HttpRequest, team: str, webhook_id: int) -> HttpResponse:
    webhook = _webhook(request, team, webhook_id)
    if request.method != "POST":
        return _render_webhook(request, webhook, WebhookEditForm(initial=_initial(webhook)))
    form = WebhookEditForm(request.POST)
    if form.is_valid():
        try:
            services.update_webhook(request.user, webhook, **form.cleaned_data)
        except Forbidden as error:
            raise PermissionDenied(error.message) from None
        except DomainError as error:
            form_error(form, error)
        else:
            messages.success(request, "Webhook saved.")
            return redirect("webhook", webhook.team.slug, webhook.pk)
    webhook.refresh_from_db()  # the page shows what is saved, beside the refused form
    return _render_webhook(request, webhook, form)


@login_required
@require_POST
def rotate_secret(request: HttpRequest, team: str, webhook_id: int) -> HttpResponse:
    webhook = _webhook(request, team, webhook_id)
    try:
        services.rotate_secret(request.user, webhook)
    except DomainError as error:
        _refused(request, error)
    else:
        _show_secret_once(request, webhook)
        messages.success(request, "New secret made. Deliveries from now on are signed with it.")
    return redirect("webhook", webhook.team.slug, webhook.pk)


@login_required
@require_POST
def delete_webhook(request: HttpRequest, team: str, webhook_id: int) -> HttpResponse:
    webhook = _webhook(request, team, webhook_id)
    try:
        services.delete_webhook(request.user, webhook)
    except DomainError as error:
        _refused(request, error)
        return redirect("webhook", webhook.team.slug, webhook.pk)
    messages.success(request, f"The webhook to {webhook.url} is deleted.")
    return redirect("webhooks", webhook.team.slug)


@login_required
@require_POST
def send_test(request: HttpRequest, team: str, webhook_id: int) -> HttpResponse:
    webhook = _webhook(request, team, webhook_id)
    try:
        services.send_test(request.user, webhook)
    except DomainError as error:
        _refused(request, error)
    else:
        note = "" if webhook.active else " It is sent once the webhook is active again."
        messages.success(request, "A test event is queued; its delivery shows below." + note)
    return redirect("webhook", webhook.team.slug, webhook.pk)


@login_required
@require_POST
def redeliver(request: HttpRequest, team: str, webhook_id: int, delivery_id: int) -> HttpResponse:
    webhook = _webhook(request, team, webhook_id)
    try:
        delivery = services.find_delivery(webhook, delivery_id)
    except NotFound:
        raise Http404("No such delivery.") from None
    try:
        services.redeliver(request.user, delivery)
    except DomainError as error:
        _refused(request, error)
    else:
        messages.success(request, f"Delivery {delivery.pk} is queued to be sent again.")
    return redirect("webhook", webhook.team.slug, webhook.pk)


urlpatterns = [
    path("<str:team>/webhooks/", webhook_list, name="webhooks"),
    path("<str:team>/webhooks/<int:webhook_id>/", webhook_page, name="webhook"),
    path("<str:team>/webhooks/<int:webhook_id>/secret/", rotate_secret, name="webhook-secret"),
    path("<str:team>/webhooks/<int:webhook_id>/delete/", delete_webhook, name="webhook-delete"),
    path("<str:team>/webhooks/<int:webhook_id>/test/", send_test, name="webhook-test"),
    path(
        "<str:team>/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver/",
        redeliver,
        name="webhook-redeliver",
    ),
]
