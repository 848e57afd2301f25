"""The version, compare and audit pages: who may open them, what they show, that user
text is always escaped, and that their query counts do not grow with the data."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import services as accounts
from prompts import services
from prompts.samples import save_sample
from releases import services as deployments
from reviews.services import add_comment, request_review

P = "/p/support/ticket-classifier"
PAGES = [f"{P}/v/1/", f"{P}/compare/", f"{P}/audit/", "/teams/support/audit/"]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(people, who: str, url: str) -> str:
    response = signed_in(people[who]).get(url)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


@pytest.fixture
def v2(people, prompt):
    """Version 2: one word changed, `product` swapped for `language`, config added."""
    return services.add_version(
        people["ed"],
        prompt,
        template="Categorize: {{ ticket_text }} for {{ language }}",
        variables=[{"name": "language", "default": "English", "description": "Reply language"}],
        config={"model": "gpt-4o", "temperature": 0.2},
        change_note="clearer verb",
    )


# ---------------------------------------------------------------------- who may see


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(prompt, url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("who", ["vic", "ed", "rita", "alice"])
@pytest.mark.parametrize("url", PAGES)
def test_every_member_of_the_team_may_open_the_pages(people, prompt, who, url):
    assert signed_in(people[who]).get(url).status_code == 200


@pytest.mark.parametrize("who", ["oscar", "gina"])
@pytest.mark.parametrize("url", PAGES)
def test_outsiders_get_a_404(people, prompt, who, url):
    assert signed_in(people[who]).get(url).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/p/billing/invoice-reminder/v/1/",
        "/p/billing/invoice-reminder/compare/",
        "/p/billing/invoice-reminder/audit/",
        "/teams/billing/audit/",
    ],
)
def test_support_members_cannot_open_billing_pages(people, prompt, billing_prompt, url):
    assert signed_in(people["alice"]).get(url).status_code == 404


def test_someone_granted_one_prompt_sees_its_pages_but_not_the_team_audit(people, prompt):
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "viewer")
    gina = signed_in(people["gina"])
    for url in PAGES[:3]:
        assert gina.get(url).status_code == 200
    assert gina.get("/teams/support/audit/").status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        f"{P}/v/2/",
        f"{P}/v/0/",
        f"{P}/v/99999999999999999999999/",
        "/p/support/nothing-here/v/1/",
        "/p/nowhere/ticket-classifier/v/1/",
        "/p/support/nothing-here/compare/",
        "/teams/nowhere/audit/",
    ],
)
def test_what_does_not_exist_is_a_404(people, prompt, url):
    assert signed_in(people["vic"]).get(url).status_code == 404


# ---------------------------------------------------------------------- version page


def test_the_version_page_shows_the_template_with_anchored_line_numbers(people, prompt):
    html = page(people, "vic", f"{P}/v/1/")
    assert 'id="L1"' in html and 'href="#L1"' in html
    assert "Classify: {{ ticket_text }} for {{ product }}" in html


def test_the_version_page_shows_variables_config_and_facts(people, prompt, v2):
    html = page(people, "vic", f"{P}/v/2/")
    assert "<code>language</code>" in html and "Reply language" in html
    assert "<code>English</code>" in html
    assert "<code>ticket_text</code>" in html
    assert "&quot;temperature&quot;: 0.2" in html  # pretty JSON
    assert "clearer verb" in html and ">ed<" in html
    assert v2.content_hash in html
    assert "Draft" in html


def test_the_version_page_renders_with_typed_values_and_defaults(people, prompt):
    html = page(people, "vic", f"{P}/v/1/?var_ticket_text=Printer+on+fire")
    assert "Classify: Printer on fire for Acme" in html
    html = page(people, "vic", f"{P}/v/1/?var_ticket_text=Printer&var_product=Zeta")
    assert "Classify: Printer for Zeta" in html
    assert 'value="Zeta"' in html  # the inputs keep what was typed


def test_the_version_page_lists_missing_values(people, prompt):
    html = page(people, "vic", f"{P}/v/1/?var_ticket_text=")
    assert "Missing values" in html
    assert "<li><code>ticket_text</code></li>" in html
    assert 'value="Acme"' in html  # inputs are prefilled with defaults


def test_the_version_page_shows_a_render_error(people, prompt):
    services.add_version(people["ed"], prompt, template="ok {{ 1 / n }}")
    html = page(people, "vic", f"{P}/v/2/?var_n=0")
    assert "Could not render" in html


def test_the_version_page_renders_with_a_saved_sample(people, prompt):
    save_sample(people["ed"], prompt, "printer", {"ticket_text": "Paper jam"})
    html = page(people, "vic", f"{P}/v/1/")
    assert '<option value="printer">printer</option>' in html
    html = page(people, "vic", f"{P}/v/1/?sample=printer")
    assert "Classify: Paper jam for Acme" in html


def test_without_saved_samples_the_page_offers_only_typed_values(people, prompt):
    html = page(people, "vic", f"{P}/v/1/")
    assert 'name="sample"' not in html and 'name="var_ticket_text"' in html


def test_the_compare_page_renders_both_versions_with_a_saved_sample(people, prompt, v2):
    save_sample(people["ed"], prompt, "printer", {"ticket_text": "Paper jam"})
    html = page(people, "vic", f"{P}/compare/?from=1&to=2&sample=printer")
    assert '<option value="printer" selected>printer</option>' in html
    assert "Classify: Paper jam for Acme" in html.replace("<del>", "").replace("</del>", "")
    assert "Categorize: Paper jam for English" in html.replace("<ins>", "").replace("</ins>", "")


def test_a_chat_version_shows_its_messages_and_renders_them(people):
    services.create_prompt(
        people["ed"],
        people["support"],
        name="Chat",
        slug="chat",
        messages=[
            {"role": "system", "content": "You help with {{ topic }}."},
            {"role": "user", "content": "Hello"},
        ],
    )
    html = page(people, "vic", "/p/support/chat/v/1/?var_topic=billing")
    assert "[system]" in html and 'id="L3"' in html
    assert "You help with billing." in html


def test_the_version_page_shows_comment_threads_with_lines_and_verdicts(people, prompt, v2):
    thread = add_comment(people["ed"], v2, body="Is this clear?", line=1)
    add_comment(people["rita"], v2, body="Yes.", parent=thread)
    add_comment(people["rita"], v2, body="Ship it", verdict="approve")
    html = page(people, "vic", f"{P}/v/2/")
    assert '<a href="#L1">on line 1</a>' in html
    assert "Is this clear?" in html and "Yes." in html
    assert "Approved" in html
    assert html.index("Is this clear?") < html.index("Yes.") < html.index("Ship it")


def test_the_version_page_shows_its_deployments(people, prompt, v2):
    staging = prompt.team.environments.get(slug="staging")
    deployments.deploy(people["rita"], prompt, staging, v2, note="to staging")
    html = page(people, "vic", f"{P}/v/2/")
    assert "Staging" in html and ">rita<" in html and "to staging" in html
    assert ">active<" in html
    assert "Development" not in html.split('id="deployments"')[1]  # that was version 1
    html = page(people, "vic", f"{P}/v/1/")
    assert "Development" in html.split('id="deployments"')[1]


def test_the_version_page_links_back_and_to_the_previous_version(people, prompt, v2):
    first = page(people, "vic", f"{P}/v/1/")
    assert 'href="/p/support/ticket-classifier/"' in first
    assert "Compare with previous" not in first
    second = page(people, "vic", f"{P}/v/2/")
    assert f'href="{P}/compare/?from=1&amp;to=2"' in second


# ---------------------------------------------------------------------- compare page


def test_compare_defaults_to_the_previous_and_the_latest_version(people, prompt, v2):
    html = page(people, "vic", f"{P}/compare/")
    assert '<option value="1" selected>' in html and '<option value="2" selected>' in html


def test_compare_highlights_the_changed_word(people, prompt, v2):
    html = page(people, "vic", f"{P}/compare/?from=1&to=2")
    assert "<del>Classify:</del>" in html
    assert "<ins>Categorize:</ins>" in html


def test_compare_has_a_unified_layout_too(people, prompt, v2):
    html = page(people, "vic", f"{P}/compare/?from=1&to=2&layout=unified")
    assert "<del>Classify:</del>" in html and 'class="diff split"' not in html


def test_compare_lists_added_and_removed_variables_and_config(people, prompt, v2):
    html = page(people, "vic", f"{P}/compare/?from=1&to=2")
    added = html.split('badge">added</span></td><td><code>')
    assert any(part.startswith("language<") for part in added[1:])
    removed = html.split('badge">removed</span></td><td><code>')
    assert any(part.startswith("product<") for part in removed[1:])
    assert "<code>model</code>" in html and "&quot;gpt-4o&quot;" in html


def test_compare_shows_a_changed_config_value(people, prompt, v2):
    services.add_version(
        people["ed"],
        prompt,
        template=v2.template,
        variables=v2.variables,
        config={"model": "gpt-4o", "temperature": 0.5},
    )
    html = page(people, "vic", f"{P}/compare/?from=2&to=3")
    assert "<code>temperature</code>" in html
    assert "<del>0.2</del>" in html and "<ins>0.5</ins>" in html
    assert "The templates are identical." in html
    assert "The variables are the same." in html


def test_compare_renders_both_versions_with_the_same_values(people, prompt, v2):
    html = page(people, "vic", f"{P}/compare/?from=1&to=2&var_ticket_text=Printer")
    # Each version falls back to its own defaults, and the outputs are diffed.
    assert "<del>Acme</del>" in html and "<ins>English</ins>" in html
    assert 'value="Acme"' not in html  # a default is not one value both share
    assert "Printer" in html.split('id="render"')[1]


def test_compare_shows_why_a_version_did_not_render(people, prompt, v2):
    html = page(people, "vic", f"{P}/compare/?from=1&to=2")
    assert html.count("Missing values") == 2
    services.add_version(people["ed"], prompt, template="Oops {{ 1 / n }} {{ ticket_text }}")
    html = page(people, "vic", f"{P}/compare/?from=2&to=3&var_ticket_text=x&var_n=0")
    assert "Could not render" in html
    assert "Categorize: x for English" in html  # the other side still shows its output


@pytest.mark.parametrize(
    "query, message",
    [
        ("from=abc", "Give a version number."),
        ("from=9", "Pick a version from 1 to 2."),
        ("from=0", "Pick a version from 1 to 2."),
        ("to=-1", "Pick a version from 1 to 2."),
        ("to=99999999999999999999999999", "Pick a version from 1 to 2."),
        ("layout=sideways", "Select a valid choice."),
    ],
)
def test_bad_version_numbers_are_form_errors(people, prompt, v2, query, message):
    html = page(people, "vic", f"{P}/compare/?{query}")
    assert message in html
    assert "<del>" not in html


def test_compare_only_reaches_versions_of_its_own_prompt(people, prompt):
    services.create_prompt(
        people["ed"], people["support"], name="Other", slug="other", template="OTHER TEXT"
    )
    other = services.find_prompt(people["ed"], "support", "other")
    services.add_version(people["ed"], other, template="OTHER TEXT 2")
    html = page(people, "vic", f"{P}/compare/?from=1&to=2")
    assert "Pick a version from 1 to 1." in html and "OTHER" not in html


# ---------------------------------------------------------------------- escaping

XSS = "<script>alert(1)</script> <b>bold</b> {{ name }}"


@pytest.fixture
def hostile(people):
    prompt = services.create_prompt(
        people["ed"],
        people["support"],
        name="<script>alert(1)</script>",
        slug="hostile",
        template=XSS,
        variables=[{"name": "name", "description": "<script>alert(1)</script>"}],
        config={"<script>alert(1)</script>": "<b>x</b>"},
        change_note="<script>alert(1)</script>",
    )
    services.add_version(
        people["ed"], prompt, template=XSS + " <script>alert(1)</script>", change_note="<b>two"
    )
    add_comment(people["ed"], prompt.latest_version, body="<script>alert(1)</script>")
    return prompt


@pytest.mark.parametrize(
    "url",
    [
        "/p/support/hostile/v/1/?var_name=<script>alert(1)</script>",
        "/p/support/hostile/v/2/",
        "/p/support/hostile/compare/?from=1&to=2&var_name=<b>me</b>",
        "/p/support/hostile/compare/?from=1&to=2&layout=unified",
        "/p/support/hostile/audit/",
        "/teams/support/audit/",
    ],
)
def test_user_text_is_escaped_everywhere(people, hostile, url):
    html = page(people, "vic", url)
    assert "<script>alert(1)" not in html
    assert "<b>" not in html
    assert "&lt;script&gt;" in html


def test_escaped_text_is_still_highlighted(people, hostile):
    html = page(people, "vic", "/p/support/hostile/compare/?from=1&to=2")
    assert "<ins> &lt;script&gt;alert(1)&lt;/script&gt;</ins>" in html


# ---------------------------------------------------------------------- query counts


def queries_of(client: Client, url: str) -> int:
    client.get(url)  # warms the cached rights
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def add_history(people, prompt, n: int) -> None:
    staging = prompt.team.environments.get(slug="staging")
    for i in range(n):
        version = services.add_version(
            people["ed"], prompt, template=f"Line {i}\nClassify {{{{ ticket_text }}}}"
        )
        deployments.deploy(people["ed"], prompt, staging, version, note=f"n{i}")
        deployments.deploy(people["ed"], prompt, staging, prompt.versions.get(number=2))
        thread = add_comment(people["ed"], prompt.versions.get(number=2), body=f"c{i}", line=1)
        add_comment(people["rita"], prompt.versions.get(number=2), body="r", parent=thread)
        request_review(people["ed"], version)
        accounts.set_role(people["alice"], prompt.team, "vic", "editor" if i % 2 else "viewer")


@pytest.mark.parametrize(
    "url",
    [
        f"{P}/v/2/?var_ticket_text=x",
        f"{P}/compare/?from=1&to=2&var_ticket_text=x",
        f"{P}/audit/",
        f"{P}/audit/?kind=review&actor=rita",
        "/teams/support/audit/",
    ],
)
def test_query_counts_do_not_grow_with_history(people, prompt, v2, url):
    alice = signed_in(people["alice"])
    add_history(people, prompt, 2)
    small = queries_of(alice, url)
    add_history(people, prompt, 8)
    assert queries_of(alice, url) == small
