"""Pages: the editor (a new prompt, a new version), its live preview, a prompt's
settings and its sample inputs.

Every write goes through ``prompts.services`` or ``prompts.samples``; their
DomainErrors come back as form errors and nothing is written. The preview renders
with the same templating functions as the API (check, merge_variables,
resolve_values, render_text / render_messages), which bound time and size.

Everything works without JavaScript: "Add message", "Remove" and "Preview" are submit
buttons that re-render the editor without saving. With htmx the preview follows the
typing (POST /preview/), and static/js/editor.js adds and removes rows in place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods

from accounts.lookups import team_or_404
from accounts.models import Team
from accounts.permissions import can, visible
from composition.impact import impacts
from composition.services import draft_composer
from prompts import samples as sample_inputs
from prompts import services, templating, writing
from prompts.forms import (
    MessageFormSet,
    NewPromptForm,
    VariableFormSet,
    VersionForm,
    formset_data,
    message_rows,
    rows_data,
    variable_rows,
)
from prompts.lookups import prompt_or_404
from prompts.models import Prompt, Version
from prompts.preview import (
    Draft,
    compute_preview,
    display,
    draft_of,
    posted_sample,
    posted_texts,
    shown_variables,
)
from prompts.views.preview import preview_allowed
from registry_site.errors import DomainError
from registry_site.pages import form_error, prompt_path

DEPLOY_TARGET = "development"
SAMPLES_IN_EDITOR = 100  # sample sets offered in the editor's select


def _editor_of(request: HttpRequest, team: str, slug: str, *, archived: bool = False) -> Prompt:
    """The prompt if the user may edit it: 404 if they may not see it, 403 if they only
    may see it."""
    prompt = prompt_or_404(request, team, slug, archived=archived)
    if not can(request.user, "edit", prompt):
        raise PermissionDenied("Only editors of this prompt may do this.")
    return prompt


def editable_teams(user: Any) -> QuerySet[Team]:
    """Teams where the user may create prompts (a grant on one prompt of a team shows
    the team but does not allow creating prompts in it)."""
    seen = visible(user, Team.objects.all(), "edit").order_by("name")
    return Team.objects.filter(pk__in=[t.pk for t in seen if can(user, "edit", t)]).order_by("name")


# ------------------------------------------------------------------------------- editor


@dataclass
class Editor:
    meta: NewPromptForm | None
    version: VersionForm
    messages: Any
    variables: Any
    action: str = ""

    def all_valid(self) -> bool:
        forms = [self.version, self.messages, self.variables]
        if self.meta is not None:
            forms.insert(0, self.meta)
        return all([form.is_valid() for form in forms])  # every form, to show every error


_NEW_MESSAGE = {"role": "user", "content": ""}
_NEW_VARIABLE = {"name": "", "description": "", "default": "", "optional": False}


def _rows_after(action: str, prefix: str, rows: list[dict], blank: dict) -> list[dict]:
    if action == f"add-{prefix}":
        return [*rows, dict(blank)]
    if action.startswith(f"remove-{prefix}-"):
        try:
            index = int(action.rsplit("-", 1)[1])
        except ValueError:
            return rows
        return [row for i, row in enumerate(rows) if i != index]
    return rows


def _editor_forms(
    request: HttpRequest, prompt: Prompt | None, teams: QuerySet | None, team: Team | None
) -> Editor:
    if request.method == "POST":
        data = request.POST
        action = str(data.get("action", ""))[:40]
        message_data = _rows_after(action, "messages", rows_data(data, "messages"), _NEW_MESSAGE)
        variable_data = _rows_after(
            action, "variables", rows_data(data, "variables"), _NEW_VARIABLE
        )
        return Editor(
            meta=NewPromptForm(data, teams=teams) if prompt is None else None,
            version=VersionForm(data),
            messages=MessageFormSet(formset_data("messages", message_data), prefix="messages"),
            variables=VariableFormSet(formset_data("variables", variable_data), prefix="variables"),
            action=action,
        )
    latest = prompt.latest_version if prompt is not None else None
    if latest is not None:
        detected = _detected(latest)
        initial = {
            "kind": latest.kind,
            "template": latest.template,
            "config": latest.config or {},
        }
        chat = message_rows(latest.messages) if latest.kind == Version.Kind.CHAT else []
        variables = variable_rows(latest.variables, detected=detected)
    else:
        initial, chat, variables = {"kind": Version.Kind.TEXT, "config": {}}, [], []
    chat = chat or [{"role": "system", "content": ""}, dict(_NEW_MESSAGE)]
    variables = variables or [dict(_NEW_VARIABLE)]
    meta = None
    if prompt is None:
        meta = NewPromptForm(initial={"team": team}, teams=teams)
    return Editor(
        meta=meta,
        version=VersionForm(initial=initial),
        messages=MessageFormSet(formset_data("messages", chat), prefix="messages"),
        variables=VariableFormSet(formset_data("variables", variables), prefix="variables"),
    )


def _detected(version: Version) -> list[str]:
    try:
        if version.kind == Version.Kind.CHAT:
            return templating.check_messages(writing.checkable_messages(version.messages))
        return templating.check(writing.checkable(version.template, {"field": "template"}))
    except DomainError:
        return []


_VARIABLE_FIELDS = {
    "name": "name",
    "description": "description",
    "default": "default",
    "required": "optional",
}


def _attach(editor: Editor, draft: Draft, error: DomainError) -> None:
    """Show a service's refusal where it belongs: a message row, a variable row, a
    field of the prompt or the version, or the top of the form."""
    details = error.details
    where = details.get("field")
    index = details.get("index")
    key = details.get("key")  # the field of a message or variable row
    if where == "messages" and isinstance(index, int) and 0 <= index < len(draft.message_forms):
        row = draft.message_forms[index]
        row.add_error(key if key in ("role", "content") else "content", error.message)
        editor.version.add_error(None, f"Message {index + 1}: {error.message}")
        return
    if where == "variables" and isinstance(index, int):
        if 0 <= index < len(draft.variable_forms):
            draft.variable_forms[index].add_error(_VARIABLE_FIELDS.get(key), error.message)
        editor.version.add_error(None, f"Declared variables: {error.message}")
        return
    if error.code == "breaking_change":
        # The deploy page is where a breaking change is confirmed, with the variables named.
        editor.version.add_error(
            None,
            f"{error.message} Nothing was saved. Save without deploying, then deploy it "
            "from the prompt page with “Deploy anyway” once its callers send "
            f"{', '.join(details.get('variables', []))}.",
        )
        return
    if error.code == "environment_not_found":
        editor.version.add_error(
            None,
            f"This team has no “{DEPLOY_TARGET}” environment, so nothing was saved. "
            "Save without deploying, or ask a team admin to add the environment.",
        )
        return
    if editor.meta is not None and where in ("name", "slug", "description", "tags"):
        form_error(editor.meta, error)
        return
    if where in ("template", "config", "change_note"):
        form_error(editor.version, error)
        return
    if error.code.startswith("template_") and draft.kind == Version.Kind.TEXT:
        editor.version.add_error("template", error.message)
        return
    editor.version.add_error(None, error.message)


def _save(request: HttpRequest, editor: Editor, prompt: Prompt | None) -> HttpResponse | None:
    """Save the editor's version (and the prompt, if new) through the services; a
    redirect to the prompt page, or None with the errors on the forms."""
    if not editor.all_valid():
        return None
    draft = draft_of(editor.version, editor.messages, editor.variables)
    chat = draft.kind == Version.Kind.CHAT
    content = {
        "template": None if chat else draft.template,
        "messages": draft.messages if chat else None,
        "variables": draft.declared,
        "config": editor.version.cleaned_data["config"],
        "change_note": editor.version.cleaned_data["change_note"],
        "deploy_to": DEPLOY_TARGET if editor.action == "deploy" else None,
    }
    try:
        if prompt is None:
            meta = editor.meta.cleaned_data
            prompt = services.create_prompt(
                request.user,
                meta["team"],
                name=meta["name"],
                slug=meta["slug"] or None,
                description=meta["description"],
                tags=meta["tags"],
                **content,
            )
            number = 1
        else:
            version = services.add_version(request.user, prompt, **content)
            number = version.number
    except DomainError as error:
        _attach(editor, draft, error)
        return None
    text = f"Saved version {number} of {prompt.address}"
    if content["deploy_to"]:
        text += f" and deployed it to {DEPLOY_TARGET}"
    messages.success(request, text + ".")
    if number > 1:
        _ask_to_look(request, prompt, version)
    return redirect(prompt_path(prompt))


def _ask_to_look(request: HttpRequest, prompt: Prompt, version: Version) -> None:
    """A new version of a prompt others include: name the live ones whose composed
    text it changes, and link to compare, which shows each one's composed diff."""
    affected = impacts(prompt, version, actor=request.user)
    if not affected:
        return
    parts = []
    for impact in affected:
        part = f"{impact.address} in {impact.environment}"
        if impact.newly_required:
            part += f" (its callers would need {', '.join(impact.newly_required)})"
        parts.append(part)
    compare = f"{prompt_path(prompt)}compare/?from={version.number - 1}&to={version.number}"
    messages.warning(
        request,
        format_html(
            "Prompts that include {} change with it once it is what they take: {}. "
            '<a href="{}#dependents">Look at them</a>.',
            prompt.address,
            "; ".join(parts),
            compare,
        ),
    )


def _editor_page(
    request: HttpRequest,
    *,
    prompt: Prompt | None = None,
    teams: QuerySet | None = None,
    team: Team | None = None,
) -> HttpResponse:
    editor = _editor_forms(request, prompt, teams, team)
    if request.method == "POST" and editor.action in ("save", "deploy"):
        saved = _save(request, editor, prompt)
        if saved is not None:
            return saved
    data = request.POST if request.method == "POST" else request.GET
    texts = posted_texts(data) if request.method == "POST" else {}
    chosen = str(data.get("sample", ""))[: sample_inputs.MAX_NAME + 1]
    sample_values: dict = posted_sample(data) if request.method == "POST" else {}
    offered: list = []
    if prompt is not None:
        offered = list(sample_inputs.samples_for(prompt)[:SAMPLES_IN_EDITOR])
        if chosen != data.get("sample_loaded", ""):
            sample = next((s for s in offered if s.name == chosen), None)
            if sample is None and chosen:
                sample = sample_inputs.get_sample(prompt, chosen)
            sample_values = sample.values if sample is not None else {}
            # A newly picked sample fills the value inputs (what editor.js does in place).
            texts = {**texts, **{k: display(v) for k, v in sample_values.items()}}
    draft = draft_of(editor.version, editor.messages, editor.variables)
    if preview_allowed(request):
        result = compute_preview(
            draft,
            texts,
            sample_values,
            shown_variables(data.get("shown_variables")),
            draft_composer(request.user),
        )
    else:
        result = {"throttled": True, **compute_preview(Draft("text", "", [], []), {}, {})}
    context = {
        "prompt": prompt,
        "editor": editor,
        "meta": editor.meta,
        "form": editor.version,
        "message_set": editor.messages,
        "variable_set": editor.variables,
        "preview": result,
        "samples": [
            {"name": s.name, "json": json.dumps(s.values, ensure_ascii=False)} for s in offered
        ],
        "chosen_sample": chosen,
        "sample_json": json.dumps(sample_values, ensure_ascii=False) if sample_values else "",
        "deploy_target": DEPLOY_TARGET,
        "latest": prompt.latest_version if prompt is not None else None,
    }
    return render(request, "prompts/editor.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def prompt_new(request: HttpRequest) -> HttpResponse:
    """A new prompt with its version 1, in a team where the user may edit (?team= picks one)."""
    team = None
    wanted = request.GET.get("team")
    if wanted:
        team = team_or_404(request, wanted)
        if not can(request.user, "edit", team):
            raise PermissionDenied("Only editors create prompts in this team.")
    teams = editable_teams(request.user)
    if not teams.exists():
        raise PermissionDenied("You may not create prompts in any team.")
    return _editor_page(request, teams=teams, team=team)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def version_new(request: HttpRequest, team: str, slug: str) -> HttpResponse:
    """The prompt's next version, prefilled with its latest one."""
    return _editor_page(request, prompt=_editor_of(request, team, slug))


urlpatterns = [
    path("prompts/new/", prompt_new, name="prompt-new"),
    path("p/<str:team>/<str:slug>/versions/new/", version_new, name="version-new"),
]
