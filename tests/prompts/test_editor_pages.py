"""The editor (new prompt, new version), its preview, prompt settings and sample inputs."""

from __future__ import annotations

import json

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, path, reverse

from accounts import services as accounts
from prompts import samples, services
from prompts.models import Prompt, PromptAddress, SampleInput, Version
from registry_site import urls as site_urls
from releases.live import live_deployment
from releases.models import Deployment, Environment

# The site's URLs. base.html links to pages other modules provide; until they do, a
# stand-in answers each name so these pages render on their own.
urlpatterns = list(site_urls.urlpatterns)
for _name, _route in [("prompt-list", "prompts/"), ("team", "teams/<str:team>/")]:
    try:
        reverse(_name, urlconf=site_urls, kwargs={"team": "x"} if "team" in _route else None)
    except NoReverseMatch:
        urlpatterns.append(path(_route, lambda request, **kw: HttpResponse("stub"), name=_name))
handler404 = site_urls.handler404
handler403 = site_urls.handler403

pytestmark = pytest.mark.urls(__name__)

ADDRESS = "/p/support/ticket-classifier/"
NEW = "/prompts/new/?team=support"
VERSION_NEW = ADDRESS + "versions/new/"
SETTINGS = ADDRESS + "settings/"
SAMPLES = ADDRESS + "samples/"


def signed_in(people, username: str, **options) -> Client:
    client = Client(**options)
    client.force_login(people[username])
    return client


def rows(prefix: str, items: list[dict]) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(items)),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "200",
    }
    for index, item in enumerate(items):
        for key, value in item.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def version_data(
    *,
    template: str = "Classify: {{ ticket_text }} for {{ product }}, urgently",
    kind: str = "text",
    messages: list[dict] | None = None,
    variables: list[dict] | None = None,
    config: str = '{"model": "gpt-4o", "temperature": 0.2}',
    note: str = "sharper wording",
    action: str = "save",
    **extra,
) -> dict:
    data = {
        "kind": kind,
        "template": template,
        "config": config,
        "change_note": note,
        "action": action,
        **rows("messages", messages or []),
        **rows(
            "variables",
            [{"name": "product", "default": "Acme"}] if variables is None else variables,
        ),
    }
    data.update(extra)
    return data


def new_prompt_data(**extra) -> dict:
    base = {
        "team": "",
        "name": "Greeter",
        "slug": "",
        "description": "Says hello",
        "tags": "Onboarding, email",
    }
    fields = {**base, **{k: v for k, v in extra.items() if k in base}}
    rest = {k: v for k, v in extra.items() if k not in base}
    rest.setdefault("template", "Hello {{ name }}")
    rest.setdefault("variables", [])
    return {**fields, **version_data(**rest)}


def flashed(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def counts() -> tuple[int, int, int]:
    return Prompt.objects.count(), Version.objects.count(), Deployment.objects.count()


@pytest.fixture
def support_pk(people):
    return str(people["support"].pk)


# ------------------------------------------------------------------------ permissions

PAGES = [NEW, VERSION_NEW, SETTINGS, SAMPLES]


@pytest.mark.parametrize("url", [*PAGES, "/preview/"])
def test_anonymous_is_sent_to_sign_in(prompt, url):
    response = Client().get(url) if url != "/preview/" else Client().post(url, {})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")


def test_anonymous_htmx_preview_asks_for_a_full_page_sign_in(prompt):
    response = Client().post(
        "/preview/", {}, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL="http://testserver/x/"
    )
    assert response["HX-Redirect"].startswith(reverse("login") + "?next=")


@pytest.mark.parametrize("url", [NEW, VERSION_NEW, SETTINGS])
def test_a_viewer_is_refused_the_editors(people, prompt, url):
    assert signed_in(people, "vic").get(url).status_code == 403


@pytest.mark.parametrize("url", [NEW, VERSION_NEW, SETTINGS, SAMPLES])
def test_a_viewer_may_not_post_to_the_editors(people, prompt, url, support_pk):
    before = counts()
    data = new_prompt_data(team=support_pk) if url == NEW else version_data(name="x")
    assert signed_in(people, "vic").post(url, data).status_code == 403
    assert counts() == before
    assert not SampleInput.objects.exists()


def test_a_viewer_reads_samples_but_gets_no_form(people, prompt):
    samples.save_sample(people["ed"], prompt, "refund case", {"ticket_text": "Refund!"})
    response = signed_in(people, "vic").get(SAMPLES)
    assert response.status_code == 200
    assert b"refund case" in response.content
    assert b'name="values"' not in response.content
    assert b"Delete" not in response.content


@pytest.mark.parametrize("username", ["ed", "rita", "alice"])
@pytest.mark.parametrize("url", PAGES)
def test_editors_reviewers_and_admins_reach_every_page(people, prompt, username, url):
    response = signed_in(people, username).get(url)
    assert response.status_code == 200
    assert b"<form" in response.content


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("username", ["oscar", "gina"])
def test_an_outsider_gets_not_found(people, prompt, url, username):
    assert signed_in(people, username).get(url).status_code == 404


@pytest.mark.parametrize("url", [VERSION_NEW, SETTINGS, SAMPLES])
def test_an_outsider_cannot_post_either(people, prompt, url):
    before = counts()
    assert signed_in(people, "oscar").post(url, version_data(name="x")).status_code == 404
    assert counts() == before


def test_a_prompt_grant_opens_that_prompts_editor_but_creates_nothing_in_its_team(
    people, prompt, support_pk
):
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "editor")
    gina = signed_in(people, "gina")
    assert gina.get(VERSION_NEW).status_code == 200
    assert gina.get(NEW).status_code == 403
    assert gina.get("/prompts/new/").status_code == 403


def test_the_team_choice_holds_only_teams_where_one_may_edit(people, prompt):
    accounts.set_role(people["alice"], people["support"], "oscar", "viewer")
    response = signed_in(people, "oscar").get("/prompts/new/")
    choices = [str(team) for team in response.context["meta"].fields["team"].queryset]
    assert choices == ["billing"]


def test_posting_a_team_one_may_not_edit_is_a_form_error(people, prompt, support_pk):
    before = counts()
    response = signed_in(people, "oscar").post("/prompts/new/", new_prompt_data(team=support_pk))
    assert response.status_code == 200
    assert "team" in response.context["meta"].errors
    assert counts() == before


@pytest.mark.parametrize("url", [NEW, VERSION_NEW, SETTINGS, SAMPLES, "/preview/"])
def test_posts_need_the_csrf_token(people, prompt, url, support_pk):
    client = signed_in(people, "alice", enforce_csrf_checks=True)
    before = counts()
    data = new_prompt_data(team=support_pk) if url == NEW else version_data(name="x")
    assert client.post(url, data).status_code == 403
    assert counts() == before


def test_the_editor_sends_its_token_to_htmx_and_posts_to_the_preview(people, prompt):
    html = signed_in(people, "ed").get(VERSION_NEW).content.decode()
    assert "X-CSRFToken" in html  # base.html's hx-headers
    assert 'hx-post="/preview/"' in html
    assert 'hx-trigger="keyup changed delay:400ms' in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert "js/editor.js" in html


# ---------------------------------------------------------------------- new prompt


def test_creating_a_prompt_writes_one_prompt_and_version_1(people, support_pk):
    before = counts()
    response = signed_in(people, "ed").post(
        "/prompts/new/", new_prompt_data(team=support_pk, note="first draft")
    )
    assert response.status_code == 302
    assert response["Location"] == "/p/support/greeter/"
    assert counts() == (before[0] + 1, before[1] + 1, before[2])
    prompt = Prompt.objects.get(slug="greeter")
    assert (prompt.name, prompt.description, prompt.tags) == (
        "Greeter",
        "Says hello",
        ["email", "onboarding"],
    )
    version = prompt.latest_version
    assert (version.number, version.author, version.change_note) == (1, people["ed"], "first draft")
    assert version.template == "Hello {{ name }}"
    assert version.config == {"model": "gpt-4o", "temperature": 0.2}
    assert [v["name"] for v in version.variables] == ["name"]
    assert "Saved version 1 of support/greeter." in flashed(response)


def test_the_team_in_the_address_is_preselected(people):
    response = signed_in(people, "ed").get(NEW)
    assert response.context["meta"]["team"].value() == people["support"].pk


def test_a_given_slug_is_used(people, support_pk):
    response = signed_in(people, "ed").post(
        "/prompts/new/", new_prompt_data(team=support_pk, slug="hello-v2")
    )
    assert response["Location"] == "/p/support/hello-v2/"


def test_a_chat_prompt_is_created_from_message_rows(people, support_pk):
    data = new_prompt_data(
        team=support_pk,
        name="Support bot",
        kind="chat",
        template="ignored for chat",
        messages=[
            {"role": "system", "content": "You help with {{ product }}."},
            {"role": "user", "content": "Customer: {{ question }}"},
            {"role": "user", "content": "   "},  # an empty row is ignored
        ],
        variables=[{"name": "product", "default": "Acme", "description": "What we sell"}],
    )
    response = signed_in(people, "ed").post("/prompts/new/", data)
    assert response.status_code == 302, response.context and response.context["form"].errors
    version = Prompt.objects.get(slug="support-bot").latest_version
    assert version.kind == "chat"
    assert version.template == ""
    assert version.messages == [
        {"role": "system", "content": "You help with {{ product }}."},
        {"role": "user", "content": "Customer: {{ question }}"},
    ]
    assert [(v["name"], v["default"], v["required"]) for v in version.variables] == [
        ("product", "Acme", False),
        ("question", None, True),
    ]


def test_windows_line_breaks_are_stored_as_plain_ones(people, support_pk):
    data = new_prompt_data(team=support_pk, template="Hello\r\n{{ name }}\r\n")
    signed_in(people, "ed").post("/prompts/new/", data)
    assert Prompt.objects.get(slug="greeter").latest_version.template == "Hello\n{{ name }}\n"


def test_an_optional_variable_and_an_empty_config(people, support_pk):
    data = new_prompt_data(
        team=support_pk,
        config="   ",
        variables=[{"name": "name", "optional": "on"}, {"name": "", "description": ""}],
    )
    response = signed_in(people, "ed").post("/prompts/new/", data)
    assert response.status_code == 302
    version = Prompt.objects.get(slug="greeter").latest_version
    assert version.config == {}
    assert version.variables == [
        {"name": "name", "description": "", "default": None, "required": False}
    ]


# ---------------------------------------------------------------------- bad input


def assert_refused(response, before, text: str):
    assert response.status_code == 200
    assert counts() == before
    assert "Nothing was saved" in response.content.decode()
    assert text in response.content.decode(), response.content.decode()[-4000:]


@pytest.mark.parametrize(
    "template, text",
    [
        ("Hello\n{% if name %}\nno end", "Line 2"),
        ("a\nb\n{{ name | }}", "Line 3"),
        ("one\n{{ name ", "Line 2"),
        ("{{ name.__class__ }}", "not allowed in prompts"),
        ("{% include 'x' %}", "cannot include"),
        ("   ", "A template is required"),
        ("bad \x00 byte", "Null characters"),
    ],
)
def test_a_bad_template_writes_nothing(people, support_pk, template, text):
    before = counts()
    response = signed_in(people, "ed").post(
        "/prompts/new/", new_prompt_data(team=support_pk, template=template)
    )
    assert_refused(response, before, text)
    assert response.context["form"].errors.get("template")


def test_a_bad_template_in_a_new_version_writes_nothing(people, prompt):
    before = counts()
    response = signed_in(people, "ed").post(
        VERSION_NEW, version_data(template="ok\nstill ok\n{{ ticket_text | }}")
    )
    assert_refused(response, before, "Line 3")
    assert prompt.versions.count() == 1


@pytest.mark.parametrize(
    "config, text",
    [
        ("{not json", "Model config is not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
        ("null", "must be a JSON object"),
        ('{"t": NaN}', "not valid JSON"),
        ('{"a": "\\u0000"}', "NUL"),
        ("[" * 100_000, "nested too deeply"),
    ],
)
def test_bad_model_config_writes_nothing(people, prompt, config, text):
    before = counts()
    response = signed_in(people, "ed").post(VERSION_NEW, version_data(config=config))
    assert_refused(response, before, text)
    assert response.context["form"].errors.get("config")


@pytest.mark.parametrize(
    "variables, text",
    [
        ([{"name": "1bad"}], "not a valid variable name"),
        ([{"name": "product"}, {"name": "product"}], "declared twice"),
        ([{"name": "", "description": "what it is"}], "Give the variable a name"),
    ],
)
def test_a_bad_variable_writes_nothing(people, prompt, variables, text):
    before = counts()
    response = signed_in(people, "ed").post(VERSION_NEW, version_data(variables=variables))
    assert_refused(response, before, text)


@pytest.mark.parametrize(
    "slug, text",
    [
        ("Bad Slug!", "A slug is 1 to 64 lowercase letters"),
        ("-dash", "A slug is 1 to 64 lowercase letters"),
        ("ticket-classifier", "support/ticket-classifier is taken"),
    ],
)
def test_a_bad_or_taken_slug_writes_nothing(people, prompt, support_pk, slug, text):
    before = counts()
    response = signed_in(people, "ed").post(
        "/prompts/new/", new_prompt_data(team=support_pk, slug=slug)
    )
    assert_refused(response, before, text)
    assert response.context["meta"].errors.get("slug")


def test_a_former_slug_stays_taken(people, prompt, support_pk):
    services.update_prompt(people["ed"], prompt, slug="classifier")
    before = counts()
    response = signed_in(people, "ed").post(
        "/prompts/new/", new_prompt_data(team=support_pk, slug="ticket-classifier")
    )
    assert_refused(response, before, "is taken")


def test_bad_tags_and_a_missing_name_write_nothing(people, support_pk):
    before = counts()
    response = signed_in(people, "ed").post(
        "/prompts/new/", new_prompt_data(team=support_pk, tags="ok, not ok!")
    )
    assert_refused(response, before, "A tag is up to 40")
    response = signed_in(people, "ed").post(
        "/prompts/new/", new_prompt_data(team=support_pk, name="  ")
    )
    assert_refused(response, before, "This field is required")


def test_bad_chat_messages_write_nothing(people, prompt):
    before = counts()
    data = version_data(
        kind="chat",
        messages=[
            {"role": "system", "content": "fine"},
            {"role": "user", "content": "line 1\n{{ broken"},
        ],
    )
    response = signed_in(people, "ed").post(VERSION_NEW, data)
    assert_refused(response, before, "Message 2")
    data = version_data(kind="chat", messages=[{"role": "wizard", "content": "hi"}])
    assert_refused(signed_in(people, "ed").post(VERSION_NEW, data), before, "wizard")
    data = version_data(kind="chat", messages=[{"role": "user", "content": ""}])
    assert_refused(
        signed_in(people, "ed").post(VERSION_NEW, data), before, "needs at least one message"
    )


def test_a_broken_management_form_is_ignored_the_posted_rows_count(people, prompt):
    # Rows are read from the fields posted, never from TOTAL_FORMS, so a forged count
    # neither crashes the page nor allocates forms: the version is saved as posted.
    before = counts()
    data = version_data()
    data["messages-TOTAL_FORMS"] = "lots"
    data["variables-TOTAL_FORMS"] = "100000000"
    response = signed_in(people, "ed").post(VERSION_NEW, data)
    assert response.status_code == 302
    assert response["Location"] == "/p/support/ticket-classifier/"
    assert counts() == (before[0], before[1] + 1, before[2])


def test_too_many_rows_are_refused_not_cut(people, prompt):
    before = counts()
    variables = [{"name": f"v{i}"} for i in range(201)]
    response = signed_in(people, "ed").post(VERSION_NEW, version_data(variables=variables))
    assert_refused(response, before, "200")


# ----------------------------------------------------------------------- new version


def test_the_new_version_editor_is_prefilled_with_the_latest_version(people, prompt):
    response = signed_in(people, "ed").get(VERSION_NEW)
    form = response.context["form"]
    assert form["template"].value() == "Classify: {{ ticket_text }} for {{ product }}"
    assert form["kind"].value() == "text"
    rows_shown = [row["name"].value() for row in response.context["variable_set"]]
    assert rows_shown == ["product"]  # ticket_text is found in the template on its own
    assert response.context["variable_set"].forms[0]["default"].value() == "Acme"
    assert "Prefilled with version 1" in response.content.decode()


def test_saving_adds_exactly_one_version_and_redirects(people, prompt):
    before = counts()
    response = signed_in(people, "rita").post(VERSION_NEW, version_data(note="v2 note"))
    assert response.status_code == 302
    assert response["Location"] == ADDRESS
    assert counts() == (before[0], before[1] + 1, before[2])
    version = Version.objects.get(prompt=prompt, number=2)
    assert (version.author, version.change_note) == (people["rita"], "v2 note")
    assert version.template == "Classify: {{ ticket_text }} for {{ product }}, urgently"
    assert version.config == {"model": "gpt-4o", "temperature": 0.2}
    prompt.refresh_from_db()
    assert prompt.latest_version == version
    assert flashed(response) == ["Saved version 2 of support/ticket-classifier."]


def test_save_and_deploy_to_development(people, prompt):
    response = signed_in(people, "ed").post(VERSION_NEW, version_data(action="deploy"))
    assert response.status_code == 302
    development = Environment.objects.get(team=people["support"], slug="development")
    live = live_deployment(prompt, development)
    assert live.version.number == 2
    assert live.actor == people["ed"]
    assert "deployed it to development" in flashed(response)[0]


def test_deploying_where_there_is_no_development_environment_writes_nothing(people, staff):
    ops = accounts.create_team(staff, "ops", "Ops")
    Environment.objects.filter(team=ops, slug="development").delete()
    before = counts()
    response = signed_in(people, "stella").post(
        "/prompts/new/", new_prompt_data(team=str(ops.pk), action="deploy")
    )
    assert_refused(response, before, "This team has no “development” environment")


def test_adding_and_removing_rows_without_javascript_saves_nothing(people, prompt):
    before = counts()
    client = signed_in(people, "ed")
    messages = [{"role": "system", "content": "a"}, {"role": "user", "content": "b"}]
    added = client.post(VERSION_NEW, version_data(messages=messages, action="add-messages"))
    assert added.status_code == 200
    assert len(added.context["message_set"].forms) == 3
    removed = client.post(VERSION_NEW, version_data(messages=messages, action="remove-messages-0"))
    assert [f["content"].value() for f in removed.context["message_set"].forms] == ["b"]
    more = client.post(VERSION_NEW, version_data(action="add-variables"))
    assert len(more.context["variable_set"].forms) == 2
    assert counts() == before


def test_rows_a_script_removed_leave_gaps_that_are_skipped(people, prompt):
    data = version_data(kind="chat", messages=[])
    data.update(
        {
            "messages-TOTAL_FORMS": "3",
            "messages-0-role": "system",
            "messages-0-content": "first",
            "messages-2-role": "user",
            "messages-2-content": "third {{ x }}",
        }
    )
    response = signed_in(people, "ed").post(VERSION_NEW, data)
    assert response.status_code == 302
    assert prompt.versions.get(number=2).messages == [
        {"role": "system", "content": "first"},
        {"role": "user", "content": "third {{ x }}"},
    ]


def test_the_preview_button_renders_without_saving(people, prompt):
    before = counts()
    data = version_data(action="preview", **{"value-ticket_text": "My <b>invoice</b>"})
    response = signed_in(people, "ed").post(VERSION_NEW, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Classify: My &lt;b&gt;invoice&lt;/b&gt; for Acme, urgently" in html
    assert counts() == before


# --------------------------------------------------------------------------- preview


def preview(client: Client, **data) -> HttpResponse:
    base = {"kind": "text", "template": ""}
    return client.post("/preview/", {**base, **data}, HTTP_HX_REQUEST="true")


@pytest.fixture
def anyone(people):
    """A signed-in user of no team: the preview needs nothing else."""
    return signed_in(people, "gina")


def test_preview_renders_the_text(anyone):
    response = preview(anyone, template="Hello {{ name }}!", **{"value-name": "Ann"})
    assert response.status_code == 200
    assert '<pre class="preview-text">Hello Ann!</pre>' in response.content.decode()


def test_preview_lists_every_missing_variable(anyone):
    template = "{{ a }} {{ b }} {{ c }}"
    response = preview(anyone, template=template, **{"value-b": "given"})
    html = response.content.decode()
    assert "Missing values" in html
    assert "<li><code>a</code></li>" in html and "<li><code>c</code></li>" in html
    assert "<li><code>b</code></li>" not in html


def test_preview_shows_a_template_error_with_its_line(anyone):
    response = preview(anyone, template="first\nsecond\n{% for x in items %}never closed")
    html = response.content.decode()
    assert "Template syntax error" in html
    assert "line 3" in html
    assert "preview-text" not in html


def test_preview_shows_unsafe_templates_and_render_errors(anyone):
    html = preview(anyone, template="{{ ''.__class__ }}").content.decode()
    assert "Not allowed in a prompt" in html
    html = preview(anyone, template="a\n{{ 1 / n }}", **{"value-n": "x"}).content.decode()
    assert "Rendering failed" in html and "line 2" in html


def test_preview_is_bounded(anyone, settings):
    settings.REGISTRY_MAX_OUTPUT_CHARS = 1_000
    template = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"
    html = preview(anyone, template=template).content.decode()
    assert "Rendering stopped" in html


def test_preview_escapes_template_output(anyone):
    response = preview(anyone, template="<script>alert(1)</script>{{ v }}", **{"value-v": "<i>"})
    html = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;i&gt;" in html
    assert "<script>alert(1)" not in html


def test_preview_escapes_names_descriptions_and_errors(anyone):
    data = {
        **rows("variables", [{"name": "v", "description": "<b>d</b>", "default": '"><img>'}]),
        "template": "{{ v }}\n{{ '<svg onload=x>' ~ }}",
    }
    html = preview(anyone, **data).content.decode()
    assert "<svg" not in html and "<img>" not in html and "<b>d</b>" not in html


def test_preview_of_a_chat_prompt(anyone):
    data = rows(
        "messages",
        [
            {"role": "system", "content": "You sell {{ product }}."},
            {"role": "user", "content": "{{ question }}"},
        ],
    )
    data.update(rows("variables", [{"name": "product", "default": "Acme"}]))
    response = preview(anyone, kind="chat", **data, **{"value-question": "Price?"})
    html = response.content.decode()
    assert "You sell Acme." in html and "Price?" in html
    assert html.index("system") < html.index("user")


def test_preview_of_a_chat_error_names_the_message(anyone):
    data = rows("messages", [{"role": "user", "content": "ok"}, {"role": "user", "content": "{{"}])
    html = preview(anyone, kind="chat", **data).content.decode()
    assert "in message 2" in html


def test_preview_uses_defaults_and_optional_variables(anyone):
    data = rows(
        "variables", [{"name": "who", "default": "team"}, {"name": "tail", "optional": "on"}]
    )
    html = preview(anyone, template="Hi {{ who }}{{ tail }}.", **data).content.decode()
    assert '<pre class="preview-text">Hi team.</pre>' in html


def test_preview_shows_bad_declared_variables(anyone):
    data = rows("variables", [{"name": "no good"}])
    html = preview(anyone, template="{{ x }}", **data).content.decode()
    assert "Declared variables" in html and "not a valid variable name" in html


def test_preview_swaps_the_value_inputs_only_when_the_variables_change(anyone):
    changed = preview(anyone, template="{{ a }} {{ b }}", shown_variables="a", shown_detected="a")
    assert 'hx-swap-oob="true"' in changed.content.decode()
    assert 'name="value-b"' in changed.content.decode()
    same = preview(anyone, template="{{ a }} {{ b }}", shown_variables="a,b", shown_detected="a,b")
    assert "hx-swap-oob" not in same.content.decode()
    broken = preview(anyone, template="{{ a }} {{", shown_variables="a,b", shown_detected="a,b")
    assert "hx-swap-oob" not in broken.content.decode()


def test_preview_keeps_the_type_of_sample_values(anyone):
    data = {
        "template": "{% for i in items %}{{ i * 2 }};{% endfor %}",
        "sample_values": json.dumps({"items": [1, 2]}),
        "value-items": "[1,2]",
    }
    assert "2;4;" in preview(anyone, **data).content.decode()


def test_preview_reads_no_prompt(anyone, prompt):
    with CaptureQueriesContext(connection) as queries:
        response = preview(anyone, template="{{ ticket_text }}", **{"value-ticket_text": "x"})
    assert response.status_code == 200
    assert not [q for q in queries.captured_queries if "prompts_" in q["sql"]]


def test_preview_is_rated_per_user(people, settings):
    settings.REGISTRY_PREVIEW_RATE = "2/min"
    gina, ed = signed_in(people, "gina"), signed_in(people, "ed")
    assert preview(gina, template="x").status_code == 200
    assert preview(gina, template="x").status_code == 200
    refused = preview(gina, template="x")
    assert refused.status_code == 429
    assert "Too many previews" in refused.content.decode()
    assert preview(ed, template="x").status_code == 200  # another user has their own budget


def test_preview_answers_only_posts(anyone):
    assert anyone.get("/preview/").status_code == 405


def test_preview_survives_garbage(anyone):
    data = {
        "kind": "nonsense",
        "template": "{{ a }}",
        "messages-TOTAL_FORMS": "-5",
        "variables-TOTAL_FORMS": "x",
        "sample_values": "{not json",
        "shown_variables": "a,,b c,__x",
        "value-a": "1",
        "value-": "empty name",
    }
    response = anyone.post("/preview/", data)
    assert response.status_code == 200
    assert "1" in response.content.decode()


# --------------------------------------------------------------------------- samples


def test_the_editor_fills_values_from_a_chosen_sample(people, prompt):
    samples.save_sample(people["ed"], prompt, "refund", {"ticket_text": "Refund please"})
    client = signed_in(people, "ed")
    page = client.get(VERSION_NEW).content.decode()
    assert '<option value="refund"' in page
    chosen = client.get(VERSION_NEW + "?sample=refund").content.decode()
    assert "Classify: Refund please for Acme" in chosen
    # Without JavaScript: pick a sample and press Preview.
    data = version_data(action="preview", sample="refund", sample_loaded="")
    picked = client.post(VERSION_NEW, data).content.decode()
    assert "Classify: Refund please for Acme, urgently" in picked
    # Once loaded, what is typed wins over the sample.
    data = version_data(
        action="preview", sample="refund", sample_loaded="refund", **{"value-ticket_text": "typed"}
    )
    typed = client.post(VERSION_NEW, data).content.decode()
    assert "Classify: typed for Acme, urgently" in typed


def test_an_editor_keeps_samples_on_the_samples_page(people, prompt):
    client = signed_in(people, "ed")
    form = client.get(SAMPLES).context["form"]
    assert json.loads(form["values"].value()) == {"product": "Acme", "ticket_text": ""}
    data = {"action": "save", "name": "refund", "values": '{"ticket_text": "Refund!"}'}
    response = client.post(SAMPLES, data)
    assert response.status_code == 302 and response["Location"] == SAMPLES
    assert flashed(response) == ["Saved the sample “refund”."]
    assert samples.get_sample(prompt, "refund").values == {"ticket_text": "Refund!"}
    listed = client.get(SAMPLES).content.decode()
    assert "refund" in listed and "Try in editor" in listed
    edit = client.get(SAMPLES + "?edit=refund").context["form"]
    assert edit["name"].value() == "refund"
    response = client.post(SAMPLES, {"action": "delete", "name": "refund"})
    assert response.status_code == 302
    assert flashed(response) == ["Deleted the sample “refund”."]
    assert not SampleInput.objects.exists()


@pytest.mark.parametrize(
    "name, values, text",
    [
        ("ok", "{broken", "Values is not valid JSON"),
        ("ok", "[1]", "must be a JSON object"),
        ("ok", '{"not a name": 1}', "is not a variable name"),
        ("", "{}", "This field is required"),
        ("x" * 101, "{}", "at most 100 characters"),
    ],
)
def test_bad_samples_are_form_errors(people, prompt, name, values, text):
    response = signed_in(people, "ed").post(
        SAMPLES, {"action": "save", "name": name, "values": values}
    )
    assert response.status_code == 200
    assert text in response.content.decode()
    assert not SampleInput.objects.exists()


def test_deleting_a_missing_sample_is_a_message(people, prompt):
    response = signed_in(people, "ed").post(SAMPLES, {"action": "delete", "name": "ghost"})
    assert response.status_code == 302
    assert "no sample input" in flashed(response)[0]


# --------------------------------------------------------------------------- settings


def settings_data(**extra) -> dict:
    return {
        "action": "save",
        "name": "Ticket classifier",
        "description": "Sorts tickets",
        "tags": "triage",
        "slug": "ticket-classifier",
        "reason": "",
        **extra,
    }


def test_settings_change_name_description_and_tags(people, prompt):
    response = signed_in(people, "ed").post(
        SETTINGS, settings_data(name="Ticket sorter", description="New", tags="a, b")
    )
    assert response.status_code == 302 and response["Location"] == SETTINGS
    prompt.refresh_from_db()
    assert (prompt.name, prompt.description, prompt.tags) == ("Ticket sorter", "New", ["a", "b"])
    assert flashed(response) == ["Saved the description, name, tags of support/ticket-classifier."]
    assert prompt.versions.count() == 1  # metadata adds no version


def test_settings_with_nothing_changed_say_so(people, prompt):
    response = signed_in(people, "ed").post(SETTINGS, settings_data(tags="Triage"))
    assert flashed(response) == ["Nothing changed."]
    assert prompt.history.count() == 1


def test_renaming_keeps_the_old_address(people, prompt):
    response = signed_in(people, "ed").post(SETTINGS, settings_data(slug="classifier"))
    assert response.status_code == 302
    assert response["Location"] == "/p/support/classifier/settings/"
    text = flashed(response)[0]
    assert (
        "Renamed to support/classifier" in text
        and "support/ticket-classifier keeps working" in text
    )
    assert services.find_prompt(people["ed"], "support", "ticket-classifier").pk == prompt.pk
    page = signed_in(people, "ed").get("/p/support/classifier/settings/").content.decode()
    assert "support/ticket-classifier" in page  # listed as a former address


@pytest.mark.parametrize(
    "slug, text", [("Not OK", "A slug is 1 to 64"), ("other", "support/other is taken")]
)
def test_renaming_to_a_bad_or_taken_slug_changes_nothing(people, prompt, slug, text):
    services.create_prompt(people["ed"], people["support"], name="Other", template="x")
    response = signed_in(people, "ed").post(SETTINGS, settings_data(slug=slug, name="Changed"))
    assert response.status_code == 200
    assert text in response.content.decode()
    prompt.refresh_from_db()
    assert (prompt.slug, prompt.name) == ("ticket-classifier", "Ticket classifier")
    assert PromptAddress.objects.filter(prompt=prompt).count() == 1


def test_settings_show_archive_only_to_admins(people, prompt):
    assert b"Archive this prompt" in signed_in(people, "alice").get(SETTINGS).content
    assert b"Archive this prompt" not in signed_in(people, "ed").get(SETTINGS).content


@pytest.mark.parametrize("username", ["ed", "rita"])
def test_only_admins_archive(people, prompt, username):
    response = signed_in(people, username).post(SETTINGS, {"action": "archive", "confirm": "on"})
    assert response.status_code == 403
    prompt.refresh_from_db()
    assert not prompt.is_archived


def test_archiving_needs_the_confirmation(people, prompt):
    response = signed_in(people, "alice").post(SETTINGS, {"action": "archive"})
    assert response.status_code == 200
    assert "Tick the confirmation" in response.content.decode()
    prompt.refresh_from_db()
    assert not prompt.is_archived


def test_archive_and_restore(people, prompt):
    alice = signed_in(people, "alice")
    response = alice.post(SETTINGS, {"action": "archive", "confirm": "on", "reason": "retired"})
    assert response.status_code == 302 and response["Location"] == SETTINGS
    assert flashed(response)[0].startswith("Archived support/ticket-classifier.")
    prompt.refresh_from_db()
    assert prompt.is_archived
    assert prompt.history.first().history_change_reason == "retired"
    page = alice.get(SETTINGS)  # an archived prompt keeps its settings page
    assert page.status_code == 200 and b"Restore this prompt" in page.content
    assert signed_in(people, "ed").get(VERSION_NEW).status_code == 404
    assert signed_in(people, "vic").get(SETTINGS).status_code == 403
    assert signed_in(people, "oscar").get(SETTINGS).status_code == 404
    response = alice.post(SETTINGS, {"action": "restore"})
    assert flashed(response) == ["Restored support/ticket-classifier."]
    prompt.refresh_from_db()
    assert not prompt.is_archived
    response = alice.post(SETTINGS, {"action": "restore"})
    assert flashed(response)[-1] == "support/ticket-classifier is not archived."


def test_flash_messages_show_on_the_next_page(people, prompt):
    client = signed_in(people, "ed")
    response = client.post(SETTINGS, settings_data(name="Renamed"), follow=True)
    assert response.status_code == 200
    assert "Saved the name of support/ticket-classifier." in response.content.decode()
