"""A prompt's settings page: name, description, tags, slug; archive and restore."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from accounts.permissions import can
from prompts import services
from prompts.forms import (
    ArchiveForm,
    SettingsForm,
)
from prompts.models import Prompt, PromptAddress
from prompts.views.editor import _editor_of
from registry_site.errors import DomainError
from registry_site.pages import form_error

# ----------------------------------------------------------------------------- settings


def _normal_tags(tags: list[str]) -> list[str]:
    return sorted({tag.strip().lower() for tag in tags if tag.strip()})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def prompt_settings(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    """Name, description, tags and address of a prompt (editors); archive and restore
    (admins). Archived prompts keep this page, so they can be restored."""
    prompt = _editor_of(request, team, slug, archived=True)
    is_admin = can(request.user, "admin", prompt)
    here = reverse("prompt-edit", args=[prompt.team.slug, prompt.slug])
    initial = {
        "name": prompt.name,
        "description": prompt.description,
        "tags": prompt.tags,
        "slug": prompt.slug,
    }
    form = SettingsForm(initial=initial)
    archive_form = ArchiveForm()
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action in ("archive", "restore"):
            if not is_admin:
                raise PermissionDenied("Only team admins archive and restore prompts.")
            if action == "restore":
                return _restore(request, prompt, here)
            archive_form = ArchiveForm(request.POST)
            if not archive_form.is_valid():
                messages.error(request, "Tick the confirmation to archive the prompt.")
            else:
                done = _archive(request, prompt, here, archive_form)
                if done is not None:
                    return done
        else:
            form = SettingsForm(request.POST)
            if form.is_valid():
                done = _update(request, prompt, form)
                if done is not None:
                    return done
    former = PromptAddress.objects.filter(prompt=prompt).exclude(slug=prompt.slug).order_by("slug")
    context = {
        "prompt": prompt,
        "form": form,
        "archive_form": archive_form,
        "is_admin": is_admin,
        "former_addresses": [f"{prompt.team.slug}/{a.slug}" for a in former[:50]],
    }
    return render(request, "prompts/settings.html", context)


def _update(request: HttpRequest, prompt: Prompt, form: SettingsForm) -> HttpResponse | None:
    data = form.cleaned_data
    changes: dict[str, Any] = {}
    if data["name"] != prompt.name:
        changes["name"] = data["name"]
    if data["description"] != prompt.description:
        changes["description"] = data["description"]
    if _normal_tags(data["tags"]) != _normal_tags(prompt.tags):
        changes["tags"] = data["tags"]
    if data["slug"] != prompt.slug:
        changes["slug"] = data["slug"]
    if not changes:
        messages.info(request, "Nothing changed.")
        return redirect(reverse("prompt-edit", args=[prompt.team.slug, prompt.slug]))
    old = prompt.address
    try:
        updated = services.update_prompt(request.user, prompt, reason=data["reason"], **changes)
    except DomainError as error:
        form_error(form, error)
        return None
    if "slug" in changes:
        messages.success(
            request,
            f"Renamed to {updated.address}. The old address {old} keeps working "
            "for services and links, and stays reserved for this prompt.",
        )
    others = sorted(set(changes) - {"slug"})
    if others:
        messages.success(request, f"Saved the {', '.join(others)} of {updated.address}.")
    return redirect(reverse("prompt-edit", args=[updated.team.slug, updated.slug]))


def _archive(
    request: HttpRequest, prompt: Prompt, here: str, form: ArchiveForm
) -> HttpResponse | None:
    """Archive, or None with the refusal on the form (live prompts include it: the
    page shows them and offers to force)."""
    if prompt.is_archived:
        messages.info(request, f"{prompt.address} is already archived.")
        return redirect(here)
    data = form.cleaned_data
    try:
        services.archive_prompt(request.user, prompt, data["reason"], force=data["force"])
    except DomainError as error:
        form_error(form, error)
        return None
    else:
        messages.success(
            request,
            f"Archived {prompt.address}. Services can no longer fetch it; restore it here.",
        )
    return redirect(here)


def _restore(request: HttpRequest, prompt: Prompt, here: str) -> HttpResponse:
    if not prompt.is_archived:
        messages.info(request, f"{prompt.address} is not archived.")
        return redirect(here)
    try:
        services.restore_prompt(request.user, prompt)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Restored {prompt.address}.")
    return redirect(here)


urlpatterns = [
    path("p/<str:team>/<str:slug>/settings/", prompt_settings, name="prompt-edit"),
]
