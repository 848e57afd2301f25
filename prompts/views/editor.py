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
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect
from rest_framework.throttling import SimpleRateThrottle

from accounts.lookups import team_or_404
from accounts.models import Team
from accounts.permissions import can, visible
from prompts import samples as sample_inputs
from prompts import services, templating
from prompts.forms import (
    ArchiveForm,
    MessageFormSet,
    NewPromptForm,
    SampleForm,
    SettingsForm,
    VariableFormSet,
    VersionForm,
    formset_data,
    message_rows,
    newlines,
    rows_data,
    show_json,
    variable_rows,
)
from prompts.lookups import prompt_or_404
from prompts.models import Prompt, PromptAddress, Version
from registry_site.errors import DomainError
from registry_site.pages import form_error, prompt_path

DEPLOY_TARGET = "development"
MAX_VALUE_INPUTS = 500  # sample value inputs read from one request
MAX_SAMPLE_JSON = 200_000  # characters of the posted sample set kept for typed values
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


# ------------------------------------------------------------------------------ preview


class PreviewThrottle(SimpleRateThrottle):
    """Previews per signed-in user, counted in the shared cache (REGISTRY_PREVIEW_RATE)."""

    scope = "preview"

    def get_rate(self) -> str:
        return getattr(settings, "REGISTRY_PREVIEW_RATE", "120/min")

    def get_cache_key(self, request: Any, view: Any) -> str:
        return f"throttle:preview:user:{request.user.pk}"


def _preview_allowed(request: HttpRequest) -> bool:
    return PreviewThrottle().allow_request(request, None)


@dataclass
class Draft:
    """What the editor holds, read as posted (the preview needs no valid form)."""

    kind: str
    template: str
    messages: list[dict]
    declared: list[dict]
    message_forms: list = field(default_factory=list)  # the row form of each message
    variable_forms: list = field(default_factory=list)  # the row form of each declared one


def draft_of(version: VersionForm, message_set: Any, variable_set: Any) -> Draft:
    kind = version["kind"].value()
    kind = kind if kind in Version.Kind.values else Version.Kind.TEXT
    draft = Draft(
        kind=kind, template=newlines(version["template"].value()), messages=[], declared=[]
    )
    for form in message_set.forms:
        content = newlines(form["content"].value())
        if content.strip():
            draft.messages.append({"role": form["role"].value(), "content": content})
            draft.message_forms.append(form)
    for form in variable_set.forms:
        name = (form["name"].value() or "").strip()
        if not name:
            continue
        default = newlines(form["default"].value())
        draft.declared.append(
            {
                "name": name,
                "description": newlines(form["description"].value()),
                "default": default if default != "" else None,
                "required": not form["optional"].value(),
            }
        )
        draft.variable_forms.append(form)
    return draft


def _shown(text: Any) -> list[str]:
    names = (text or "").split(",")[:MAX_VALUE_INPUTS] if isinstance(text, str) else []
    return [n for n in names if templating.VARIABLE_NAME.match(n)]


def _display(value: Any) -> str:
    """A sample value as its input shows it: text as is, anything else as compact JSON
    (as editor.js writes it with JSON.stringify)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _typed(name: str, text: str, sample: dict) -> Any:
    """A value input's text; a sample's number, list... if the text still shows it."""
    if name in sample and not isinstance(sample[name], str) and text == _display(sample[name]):
        return sample[name]
    return text


def posted_texts(data: Any) -> dict[str, str]:
    texts = {}
    for key in list(data.keys())[: MAX_VALUE_INPUTS * 4]:
        name = key[6:] if key.startswith("value-") else ""
        if name and templating.VARIABLE_NAME.match(name):
            texts[name] = newlines(data.get(key))
    return texts


def posted_sample(data: Any) -> dict:
    text = data.get("sample_values") or ""
    if not text or len(text) > MAX_SAMPLE_JSON:
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


_TITLES = {
    "template_syntax": "Template syntax error",
    "template_unsafe": "Not allowed in a prompt",
    "render_limit": "Rendering stopped",
    "render_error": "Rendering failed",
}


def _describe(error: DomainError, title: str | None = None) -> dict:
    details = error.details
    index = details.get("message_index")
    line = details.get("line")
    # The title says where; the text need not repeat it.
    message = error.message
    if isinstance(index, int):
        message = message.removeprefix(f"messages[{index}]: ")
    if line:
        message = message.removeprefix(f"Line {line}: ")
    return {
        "title": title or _TITLES.get(error.code, "Cannot preview"),
        "code": error.code,
        "message": message,
        "line": details.get("line"),
        "message_number": index + 1 if isinstance(index, int) else None,
    }


def _names_only(declared: list[dict], detected: list[str]) -> list[dict]:
    """Variables to offer inputs for when the declared ones do not check out."""
    seen: dict[str, dict] = {}
    for item in declared:
        name = item.get("name")
        if isinstance(name, str) and templating.VARIABLE_NAME.match(name) and name not in seen:
            seen[name] = {**item, "default": item.get("default")}
    for name in detected:
        seen.setdefault(name, {"name": name, "description": "", "default": None, "required": True})
    return list(seen.values())


def compute_preview(
    draft: Draft, texts: dict[str, str], sample: dict, shown: list[str] | None = None
) -> dict:
    """The preview of a draft with sample values: its variables (with the text of each
    value input), and the rendered text or messages, or the missing variables, or the
    template's error with its line."""
    result: dict[str, Any] = {
        "kind": draft.kind,
        "error": None,
        "missing": [],
        "rendered": None,
        "chat": None,
        "detected": [],
        "empty": False,
    }
    if draft.kind == Version.Kind.CHAT:
        result["empty"] = not draft.messages
    else:
        result["empty"] = not draft.template.strip()
    detected: list[str] | None = None
    if not result["empty"]:
        try:
            if draft.kind == Version.Kind.CHAT:
                detected = templating.check_messages(draft.messages)
            else:
                detected = templating.check(draft.template)
        except DomainError as error:
            result["error"] = _describe(error)
    result["detected"] = detected or []
    try:
        variables = templating.merge_variables(draft.declared, detected or [])
    except DomainError as error:
        variables = _names_only(draft.declared, detected or [])
        result["error"] = result["error"] or _describe(error, "Declared variables")
    if detected is None:
        # While the template does not parse, keep the inputs the page already shows.
        known = {v["name"] for v in variables}
        variables += [
            {"name": n, "description": "", "default": None, "required": True}
            for n in (shown or [])
            if n not in known
        ]
    given: dict[str, Any] = {}
    inputs = []
    for variable in variables:
        name = variable["name"]
        text = texts.get(name, _display(sample[name]) if name in sample else "")
        if text != "":
            given[name] = _typed(name, text, sample)
        inputs.append({**variable, "text": text, "detected": name in result["detected"]})
    result["variables"] = inputs
    result["names"] = ",".join(v["name"] for v in inputs)
    result["detected_names"] = ",".join(result["detected"])
    if result["error"] is None and not result["empty"]:
        try:
            values = templating.resolve_values(variables, given)
            if draft.kind == Version.Kind.CHAT:
                result["chat"] = templating.render_messages(draft.messages, values)
            else:
                result["rendered"] = templating.render_text(draft.template, values)
        except templating.MissingVariables as error:
            result["missing"] = list(error.details.get("missing", []))
        except DomainError as error:
            result["error"] = _describe(error)
    return result


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
    if not _preview_allowed(request):
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
    shown = _shown(data.get("shown_variables"))
    result = compute_preview(draft, posted_texts(data), posted_sample(data), shown)
    # The value inputs are swapped only when the variables change, so typing in them
    # never replaces the field being typed in.
    result["swap_variables"] = result["error"] is None and (
        result["names"] != (data.get("shown_variables") or "")
        or result["detected_names"] != (data.get("shown_detected") or "")
    )
    return render(request, "partials/preview.html", {"preview": result})


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
            return templating.check_messages(version.messages)
        return templating.check(version.template)
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
    index = details.get("message_index")
    if isinstance(index, int) and 0 <= index < len(draft.message_forms):
        row = draft.message_forms[index]
        row.add_error(where if where in ("role", "content") else "content", error.message)
        editor.version.add_error(None, f"Message {index + 1}: {error.message}")
        return
    index = details.get("index")
    if isinstance(index, int) and error.message.startswith("variables["):
        if 0 <= index < len(draft.variable_forms):
            row_field = _VARIABLE_FIELDS.get(where)
            draft.variable_forms[index].add_error(row_field, error.message)
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
            number = services.add_version(request.user, prompt, **content).number
    except DomainError as error:
        _attach(editor, draft, error)
        return None
    text = f"Saved version {number} of {prompt.address}"
    if content["deploy_to"]:
        text += f" and deployed it to {DEPLOY_TARGET}"
    messages.success(request, text + ".")
    return redirect(prompt_path(prompt))


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
            texts = {**texts, **{k: _display(v) for k, v in sample_values.items()}}
    draft = draft_of(editor.version, editor.messages, editor.variables)
    if _preview_allowed(request):
        result = compute_preview(draft, texts, sample_values, _shown(data.get("shown_variables")))
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
            if archive_form.is_valid():
                return _archive(request, prompt, here, archive_form.cleaned_data["reason"])
            messages.error(request, "Tick the confirmation to archive the prompt.")
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


def _archive(request: HttpRequest, prompt: Prompt, here: str, reason: str) -> HttpResponse:
    if prompt.is_archived:
        messages.info(request, f"{prompt.address} is already archived.")
        return redirect(here)
    try:
        services.archive_prompt(request.user, prompt, reason)
    except DomainError as error:
        messages.error(request, error.message)
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
    path("prompts/new/", prompt_new, name="prompt-new"),
    path("preview/", preview, name="preview"),
    path("p/<str:team>/<str:slug>/versions/new/", version_new, name="version-new"),
    path("p/<str:team>/<str:slug>/settings/", prompt_settings, name="prompt-edit"),
    path("p/<str:team>/<str:slug>/samples/", samples_page, name="samples"),
]
