"""A prompt's sample inputs: named variable values to try its versions with."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods

from accounts.permissions import can
from prompts import samples as sample_inputs
from prompts.forms import (
    SampleForm,
    show_json,
)
from prompts.lookups import prompt_or_404
from prompts.models import Prompt
from registry_site.errors import DomainError
from registry_site.pages import form_error

# ------------------------------------------------------------------------------ samples


def _sample_skeleton(prompt: Prompt) -> dict:
    latest = prompt.latest_version
    variables = latest.variables if latest is not None else []
    return {v["name"]: v["default"] if v.get("default") is not None else "" for v in variables}


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def samples_page(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    """A prompt's sample inputs: anyone who may see the prompt reads them, editors keep them."""
    prompt = prompt_or_404(request, team, slug)
    may_edit = can(request.user, "edit", prompt)
    here = reverse("samples", args=[prompt.team.slug, prompt.slug])
    form = None
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied("Only editors keep sample inputs.")
        if request.POST.get("action") == "delete":
            name = request.POST.get("name", "")
            try:
                sample_inputs.delete_sample(request.user, prompt, name)
            except DomainError as error:
                messages.error(request, error.message)
            else:
                messages.success(request, f"Deleted the sample “{name}”.")
            return redirect(here)
        form = SampleForm(request.POST)
        if form.is_valid():
            try:
                sample = sample_inputs.save_sample(
                    request.user, prompt, form.cleaned_data["name"], form.cleaned_data["values"]
                )
            except DomainError as error:
                form_error(form, error)
            else:
                messages.success(request, f"Saved the sample “{sample.name}”.")
                return redirect(here)
    elif may_edit:
        editing = sample_inputs.get_sample(prompt, request.GET.get("edit"))
        if editing is not None:
            form = SampleForm(initial={"name": editing.name, "values": editing.values})
        else:
            form = SampleForm(initial={"values": _sample_skeleton(prompt)})
    page = Paginator(sample_inputs.samples_for(prompt), 50).get_page(request.GET.get("page"))
    rows = [
        {
            "sample": sample,
            "json": show_json(sample.values),
            "try_url": reverse("version-new", args=[prompt.team.slug, prompt.slug])
            + "?"
            + urlencode({"sample": sample.name}),
            "edit_url": here + "?" + urlencode({"edit": sample.name}),
        }
        for sample in page
    ]
    context = {
        "prompt": prompt,
        "form": form,
        "may_edit": may_edit,
        "page": page,
        "rows": rows,
        "editing": form is not None
        and sample_inputs.get_sample(prompt, form["name"].value()) is not None,
        "variables": prompt.latest_version.variables if prompt.latest_version else [],
    }
    return render(request, "prompts/samples.html", context)


urlpatterns = [
    path("p/<str:team>/<str:slug>/samples/", samples_page, name="samples"),
]
