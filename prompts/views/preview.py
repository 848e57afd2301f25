"""The live preview endpoint the editor posts to (htmx), throttled per user."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect
from rest_framework.throttling import SimpleRateThrottle

from composition.services import draft_composer
from prompts.forms import (
    MessageFormSet,
    VariableFormSet,
    VersionForm,
    formset_data,
    rows_data,
)
from prompts.preview import compute_preview, draft_of, posted_sample, posted_texts, shown_variables


class PreviewThrottle(SimpleRateThrottle):
    """Previews per signed-in user, counted in the shared cache (REGISTRY_PREVIEW_RATE)."""

    scope = "preview"

    def get_rate(self) -> str:
        return getattr(settings, "REGISTRY_PREVIEW_RATE", "120/min")

    def get_cache_key(self, request: Any, view: Any) -> str:
        return f"throttle:preview:user:{request.user.pk}"


def preview_allowed(request: HttpRequest) -> bool:
    return PreviewThrottle().allow_request(request, None)


@require_POST
def preview(request: HttpRequest) -> HttpResponse:
    """The editor's live preview (an htmx partial): works on the posted form only, reads
    no prompt; needs a signed-in user and is rated per user."""
    if not request.user.is_authenticated:
        if request.htmx:
            # A redirect would be followed by the browser and the sign-in page swapped
            # into the preview: ask htmx to send the whole page to sign in instead.
            back = request.htmx.current_url_abs_path or "/"
            return HttpResponseClientRedirect(redirect_to_login(back).url)
        return redirect_to_login(request.get_full_path())
    if not preview_allowed(request):
        context = {"preview": {"throttled": True}}
        return render(request, "partials/preview.html", context, status=429)
    data = request.POST
    draft = draft_of(
        VersionForm(data),
        MessageFormSet(formset_data("messages", rows_data(data, "messages")), prefix="messages"),
        VariableFormSet(
            formset_data("variables", rows_data(data, "variables")), prefix="variables"
        ),
    )
    shown = shown_variables(data.get("shown_variables"))
    result = compute_preview(
        draft, posted_texts(data), posted_sample(data), shown, draft_composer(request.user)
    )
    # The value inputs are swapped only when the variables change, so typing in them
    # never replaces the field being typed in.
    result["swap_variables"] = result["error"] is None and (
        result["names"] != (data.get("shown_variables") or "")
        or result["detected_names"] != (data.get("shown_detected") or "")
    )
    return render(request, "partials/preview.html", {"preview": result})


urlpatterns = [
    path("preview/", preview, name="preview"),
]
