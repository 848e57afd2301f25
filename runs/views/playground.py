"""The playground of a prompt: run a version, what is live in an environment or unsaved
text against one of the team's connections, and see the prompt's recent runs.

The form works as a plain POST (the run happens, the page shows it). With JavaScript
(static/js/playground.js) the same form is sent to ``stream/``, which answers with
server-sent events: ``chunk`` for each piece of text, then ``done`` with the run. Both
call the same services; whoever may see the prompt sees the page and its runs,
editors and above run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    JsonResponse,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import can
from prompts.forms import newlines, rows_data
from prompts.lookups import prompt_or_404
from prompts.models import Prompt, SampleInput, Version
from prompts.preview import posted_texts
from registry_site.errors import DomainError, Forbidden
from registry_site.pages import form_error
from releases.environments import environments_of
from runs import crypto, services
from runs.forms import PlaygroundForm
from runs.models import Connection, Run

RECENT_RUNS = 20
RECENT_VERSIONS = 50


def sources(prompt: Prompt, *, unsaved: bool = True) -> list[tuple[str, str]]:
    """What may run: the latest version, a version, what is live in an environment and,
    on the playground, the unsaved text."""
    versions = Version.objects.filter(prompt=prompt).order_by("-number")
    environments = environments_of(prompt.team_id)
    return [
        ("", "The latest version"),
        *[
            (f"v:{n}", f"Version {n}")
            for n in versions.values_list("number", flat=True)[:RECENT_VERSIONS]
        ],
        *[(f"env:{e.slug}", f"Live in {e.name}") for e in environments],
        *([("text:", "The text below (unsaved)")] if unsaved else []),
    ]


def connection_choices(prompt: Prompt) -> list[tuple[str, str]]:
    if not crypto.is_configured():
        return []
    found = (
        Connection.objects.filter(team_id=prompt.team_id)
        .order_by("name")
        .values_list("name", "provider")
    )
    return [(name, f"{name} ({provider})") for name, provider in found]


def _form(request: HttpRequest, prompt: Prompt, data=None, initial=None) -> PlaygroundForm:
    return PlaygroundForm(
        data, initial=initial, sources=sources(prompt), connections=connection_choices(prompt)
    )


def _values_json(values: dict) -> str:
    return json.dumps(values, indent=2, ensure_ascii=False)


def _initial(request: HttpRequest, prompt: Prompt) -> dict:
    """What the links of other pages pick: ``?source=v:3`` and ``?sample=name``."""
    name = request.GET.get("sample")
    sample = SampleInput.objects.filter(prompt=prompt, name=name).first() if name else None
    initial = {"variables": _values_json(sample.values if sample else {})}
    source = request.GET.get("source", "")
    if source in dict(sources(prompt, unsaved=False)):
        initial["source"] = source
    return initial


def _draft_initial(data: QueryDict) -> dict:
    """The editor's unsaved text (or chat messages) and the values typed in its preview."""
    typed = {name: value for name, value in posted_texts(data).items() if value != ""}
    initial = {"source": "text:", "variables": _values_json(typed)}
    if data.get("kind") == Version.Kind.CHAT:
        rows = rows_data(data, "messages")
        messages = [
            {"role": row.get("role") or "user", "content": newlines(row.get("content") or "")}
            for row in rows
            if (row.get("content") or "").strip()
        ]
        initial["messages"] = json.dumps(messages, indent=2, ensure_ascii=False)
    else:
        initial["text"] = newlines(data.get("template", ""))
    return initial


def _page(
    request: HttpRequest, prompt: Prompt, form: PlaygroundForm, run: Run | None, status: int = 200
) -> HttpResponse:
    runs = services.runs_of(request.user, prompt)[:RECENT_RUNS]
    context = {
        "prompt": prompt,
        "form": form,
        "run": run,
        "runs": runs,
        "may_run": can(request.user, "edit", prompt),
        "configured": crypto.is_configured(),
        "samples": SampleInput.objects.filter(prompt=prompt).order_by("name"),
        "base": f"/prompts/{prompt.team.slug}/{prompt.slug}/",
    }
    return render(request, "runs/playground.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def playground(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug)
    if request.method != "POST":
        return _page(
            request, prompt, _form(request, prompt, initial=_initial(request, prompt)), None
        )
    form = _form(request, prompt, request.POST)
    run = None
    if form.is_valid():
        try:
            run = services.perform(
                services.prepare_run(request.user, prompt, **form.run_arguments())
            )
        except Forbidden as error:
            raise PermissionDenied(error.message) from None
        except DomainError as error:
            form_error(form, error)
    return _page(request, prompt, form, run, status=200 if form.is_valid() else 400)


@login_required
@require_POST
def playground_draft(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    """The editor's "Run" button: the playground, filled with the unsaved text and the
    values typed, ready to run (nothing runs until a connection is picked)."""
    prompt = prompt_or_404(request, team, slug)
    form = _form(request, prompt, initial=_draft_initial(request.POST))
    return _page(request, prompt, form, None)


def _event(name: str, data: dict) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


def run_summary(run: Run) -> dict:
    return {
        "id": run.pk,
        "output": run.output,
        "model": run.model,
        "input_tokens": run.input_tokens,
        "output_tokens": run.output_tokens,
        "latency_ms": run.latency_ms,
        "finish_reason": run.finish_reason,
        "cost": str(run.cost) if run.cost is not None else None,
        "error": run.error_message or None,
    }


@login_required
@require_POST
def playground_stream(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    prompt = prompt_or_404(request, team, slug)
    form = _form(request, prompt, request.POST)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        return JsonResponse(
            {"error": {"code": "invalid", "message": first, "details": {"fields": form.errors}}},
            status=400,
        )
    try:
        plan = services.prepare_run(request.user, prompt, **form.run_arguments())
    except DomainError as error:
        return JsonResponse(error.as_dict(), status=error.status)

    def events() -> Iterator[str]:
        for item in services.stream_run(plan):
            if isinstance(item, str):
                yield _event("chunk", {"text": item})
            else:
                yield _event("done", run_summary(item))

    response = StreamingHttpResponse(events(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


urlpatterns = [
    path("prompts/<str:team>/<str:slug>/playground/", playground, name="playground"),
    path(
        "prompts/<str:team>/<str:slug>/playground/draft/",
        playground_draft,
        name="playground-draft",
    ),
    path(
        "prompts/<str:team>/<str:slug>/playground/stream/",
        playground_stream,
        name="playground-stream",
    ),
]
