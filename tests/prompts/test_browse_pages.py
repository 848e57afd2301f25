"""The browse pages: home, the prompt list and a prompt's page, for every persona.

vic views, ed edits, rita reviews and alice administers "support"; oscar is admin of
"billing" only (an outsider to support) and gina belongs to no team.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import clear_url_caches, get_resolver, path
from django.utils import timezone

from accounts import services as accounts
from accounts import tokens
from prompts import services
from releases import services as deployments
from releases.models import Environment
from reviews import services as review
from serving.models import Usage

PAGE = "/p/support/ticket-classifier/"
PAGES = ["/", "/prompts/", PAGE]
SUPPORT_STAFF = ["vic", "ed", "rita", "alice"]
EDITORS = ["ed", "rita", "alice"]
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

# URL names that other page modules bring and base.html links to.
OTHER_PAGES = {"team": "teams/<str:team>/"}


@pytest.fixture(autouse=True)
def other_pages(monkeypatch):
    """Until the other page modules are merged, route their names to a stand-in so the
    links of base.html resolve; once they are, this does nothing."""
    from registry_site import urls

    names = get_resolver().reverse_dict
    stand_ins = [
        path(route, lambda request, **kwargs: HttpResponse("stand-in"), name=name)
        for name, route in OTHER_PAGES.items()
        if name not in names
    ]
    if stand_ins:
        monkeypatch.setattr(urls, "urlpatterns", [*urls.urlpatterns, *stand_ins])
        clear_url_caches()
    yield
    monkeypatch.undo()
    clear_url_caches()


def page_of(client, people, username: str | None, url: str):
    if username:
        client.force_login(people[username])
    return client.get(url)


def text(response) -> str:
    return response.content.decode()


def main_of(response) -> str:
    html = text(response)
    return html[html.index("<main") :]


def environment(team, slug: str) -> Environment:
    return Environment.objects.get(team=team, slug=slug)


def release(people, prompt, version) -> None:
    """rita approves ``version`` (ed's) and deploys it to production."""
    review.add_comment(people["rita"], version, body="Looks right", verdict="approve")
    deployments.deploy(people["rita"], prompt, environment(prompt.team, "production"), version)


def ask_review(people, prompt, template: str = "Classify again: {{ ticket_text }}"):
    version = services.add_version(people["ed"], prompt, template=template, change_note="sharper")
    review.request_review(people["ed"], version)
    return version


# ---------------------------------------------------------------------- who may open what


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, prompt, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={url}"


@pytest.mark.parametrize("username", [*SUPPORT_STAFF, "oscar", "gina"])
@pytest.mark.parametrize("url", ["/", "/prompts/"])
def test_every_signed_in_person_has_a_home_and_a_list(client, people, prompt, username, url):
    assert page_of(client, people, username, url).status_code == 200


@pytest.mark.parametrize("username", SUPPORT_STAFF)
def test_members_of_the_team_open_the_prompt_page(client, people, prompt, username):
    response = page_of(client, people, username, PAGE)
    assert response.status_code == 200
    assert "Ticket classifier" in text(response)
    assert "support/ticket-classifier" in text(response)


@pytest.mark.parametrize("username", ["oscar", "gina"])
def test_people_outside_the_team_get_the_same_404_as_for_nothing(client, people, prompt, username):
    hidden = page_of(client, people, username, PAGE)
    missing = client.get("/p/support/no-such-prompt/")
    assert hidden.status_code == missing.status_code == 404
    assert main_of(hidden) == main_of(missing)
    assert "Ticket classifier" not in text(hidden)
    assert "Not found" in text(hidden)


def test_an_unknown_team_is_a_404(client, people, prompt):
    assert page_of(client, people, "vic", "/p/nowhere/ticket-classifier/").status_code == 404


@pytest.mark.parametrize("username", EDITORS)
def test_editors_are_offered_a_new_version_and_the_settings(client, people, prompt, username):
    html = text(page_of(client, people, username, PAGE))
    assert f'href="{PAGE}versions/new/"' in html
    assert f'href="{PAGE}settings/"' in html
    assert "New version" in html


def test_viewers_are_offered_no_action(client, people, prompt):
    html = text(page_of(client, people, "vic", PAGE))
    for action in ("versions/new/", "settings/"):
        assert f'href="{PAGE}{action}"' not in html
    assert "New version" not in html and "Settings" not in html


@pytest.mark.parametrize("username", SUPPORT_STAFF)
def test_everyone_who_sees_the_prompt_may_read_its_samples_and_trail(
    client, people, prompt, username
):
    html = text(page_of(client, people, username, PAGE))
    assert f'href="{PAGE}samples/"' in html
    assert f'href="{PAGE}audit/"' in html


def test_a_grant_on_one_prompt_opens_that_prompt_only(client, people, prompt, billing_prompt):
    other = services.create_prompt(
        people["ed"], people["support"], name="Other support prompt", template="Hi"
    )
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "viewer")
    client.force_login(people["gina"])
    html = text(client.get(PAGE))
    assert "Ticket classifier" in html
    assert "New version" not in html
    assert client.get(f"/p/support/{other.slug}/").status_code == 404
    listed = text(client.get("/prompts/"))
    assert "Ticket classifier" in listed
    assert "Other support prompt" not in listed
    assert "Invoice reminder" not in listed


def test_an_editor_grant_on_one_prompt_offers_a_new_version(client, people, prompt):
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "editor")
    html = text(page_of(client, people, "gina", PAGE))
    assert f'href="{PAGE}versions/new/"' in html


def test_an_archived_prompt_is_a_404_and_leaves_the_lists(client, people, prompt):
    services.archive_prompt(people["alice"], prompt)
    client.force_login(people["alice"])
    assert client.get(PAGE).status_code == 404
    assert "Ticket classifier" not in text(client.get("/prompts/"))
    assert "Ticket classifier" not in text(client.get("/"))


def test_a_former_address_leads_to_the_current_one(client, people, prompt):
    services.update_prompt(people["ed"], prompt, slug="classifier")
    response = page_of(client, people, "vic", PAGE)
    assert response.status_code == 302
    assert response["Location"] == "/p/support/classifier/"


# ---------------------------------------------------------------------- the prompt page


def test_the_prompt_page_shows_what_the_prompt_is(client, people, prompt):
    html = text(page_of(client, people, "vic", PAGE))
    assert "Sorts tickets" in html
    assert 'class="tag"' in html and "triage" in html
    # variables of the latest version: declared product with its default, detected ticket_text
    assert "<code>product</code>" in html and "<code>Acme</code>" in html
    assert "<code>ticket_text</code>" in html and "required" in html


def text_panel(response) -> str:
    """The panel of the prompt page that shows the prompt's text."""
    html = text(response)
    start = html.index('aria-labelledby="text"')
    return html[start : html.index("</section>", start)]


def test_the_prompt_page_shows_the_text_live_in_the_default_environment(client, people, prompt):
    release(people, prompt, prompt.latest_version)
    services.add_version(people["ed"], prompt, template="Newer wording {{ ticket_text }}")
    panel = text_panel(page_of(client, people, "vic", PAGE))
    assert "Classify: {{ ticket_text }} for {{ product }}" in panel
    assert "Newer wording" not in panel
    assert "v1" in panel and "live in Development, Production" in panel


def test_the_prompt_page_shows_the_latest_text_when_nothing_is_live_by_default(
    client, people, prompt
):
    services.add_version(people["ed"], prompt, template="Newer wording {{ ticket_text }}")
    panel = text_panel(page_of(client, people, "vic", PAGE))
    assert "Newer wording {{ ticket_text }}" in panel
    assert "Classify:" not in panel
    assert "v2" in panel and "latest" in panel and "not live anywhere" in panel


def test_the_prompt_page_shows_each_chat_message_with_its_role(client, people):
    services.create_prompt(
        people["ed"],
        people["support"],
        name="Persona",
        messages=[
            {"role": "system", "content": "You play {{ persona }}."},
            {"role": "user", "content": f"Ask {XSS}"},
        ],
        deploy_to="development",
    )
    panel = text_panel(page_of(client, people, "vic", "/p/support/persona/"))
    assert panel.index("system") < panel.index("You play {{ persona }}.")
    assert panel.index("You play") < panel.index("user") < panel.index(f"Ask {XSS_ESCAPED}")
    assert XSS not in panel
    assert "v1" in panel and "live in Development" in panel


def test_the_prompt_text_is_escaped(client, people, prompt):
    services.add_version(people["ed"], prompt, template=f"{XSS} {{{{ ticket_text }}}}")
    response = page_of(client, people, "vic", PAGE)
    assert XSS not in text(response)
    assert f"{XSS_ESCAPED} {{{{ ticket_text }}}}" in text_panel(response)


def test_the_prompt_page_shows_live_protected_and_planned_versions(client, people, prompt):
    v1 = prompt.latest_version
    release(people, prompt, v1)
    v2 = services.add_version(people["ed"], prompt, template="Two {{ x }}", change_note="two")
    deployments.deploy(
        people["ed"],
        prompt,
        environment(prompt.team, "staging"),
        v2,
        when=timezone.now() + timedelta(days=2),
    )
    html = text(page_of(client, people, "vic", PAGE))
    assert "v1 live" in html  # development and production
    assert html.count("v1 live") == 2
    assert "protected" in html
    assert "v2 planned" in html
    assert "nothing live" in html  # staging, until its planned time


def test_the_versions_table_links_each_version_and_its_comparison(client, people, prompt):
    v2 = ask_review(people, prompt)
    html = text(page_of(client, people, "vic", PAGE))
    assert f'href="{PAGE}v/1/"' in html and f'href="{PAGE}v/2/"' in html
    assert f'href="{PAGE}compare/?from=1&amp;to=2"' in html
    assert "compare/?from=0" not in html
    assert "sharper" in html and "first" in html
    assert "In review" in html and "Draft" in html
    assert v2.number == 2


def test_the_versions_table_is_paged(client, people, prompt):
    for i in range(50):
        services.add_version(people["ed"], prompt, template=f"T{i} {{{{ x }}}}")
    client.force_login(people["vic"])
    first = text(client.get(PAGE))
    assert f'href="{PAGE}v/51/">v51</a>' in first and f'href="{PAGE}v/1/">v1</a>' not in first
    second = text(client.get(PAGE + "?versions_page=2"))
    assert f'href="{PAGE}v/1/">v1</a>' in second
    assert client.get(PAGE + "?versions_page=x").status_code == 200
    assert client.get(PAGE + "?versions_page=9").status_code == 404


def test_the_prompt_page_shows_who_fetches_it(client, people, prompt):
    token, _ = tokens.issue(people["vic"], scopes=["read"], name="checkout-service")
    Usage.objects.create(
        prompt=prompt,
        version=prompt.latest_version,
        environment="development",
        kind="resolve",
        caller=f"token:{token.pk}",
        token=token,
        user=people["vic"],
        day=timezone.now().date(),
        count=42,
        last_seen=timezone.now(),
    )
    html = text(page_of(client, people, "vic", PAGE))
    assert "checkout-service" in html
    assert "<td>42</td>" in html
    assert "No service has fetched this prompt yet." not in html


def test_a_prompt_nobody_fetches_says_so(client, people, prompt):
    assert "No service has fetched this prompt yet." in text(page_of(client, people, "vic", PAGE))


# ---------------------------------------------------------------------- the list


def listing(client, people, username: str, query: str = "") -> str:
    client.force_login(people[username])
    response = client.get("/prompts/" + query)
    assert response.status_code == 200
    return text(response)


def test_the_list_shows_the_visible_prompts_with_their_live_versions(
    client, people, prompt, billing_prompt
):
    html = listing(client, people, "vic")
    assert "Ticket classifier" in html
    assert "development v1" in html
    assert "triage" in html
    assert "Invoice reminder" not in html and "billing" not in html


def test_the_outsider_lists_only_their_own_team(client, people, prompt, billing_prompt):
    html = listing(client, people, "oscar")
    assert "Invoice reminder" in html
    assert "Ticket classifier" not in html
    assert 'value="support"' not in html  # not even as a team to filter by


def test_someone_without_a_team_sees_the_empty_state(client, people, prompt, billing_prompt):
    html = listing(client, people, "gina")
    assert "No prompts yet." in html
    assert "Ticket classifier" not in html and "Invoice reminder" not in html
    assert 'value="support"' not in html and 'value="billing"' not in html


def make_prompts(people, n: int, start: int = 0, **extra):
    return [
        services.create_prompt(
            people["ed"],
            people["support"],
            name=f"Bulk {i:03d}",
            tags=["bulk"] + (["odd"] if i % 2 else []),
            template=f"Body {i} {{{{ x }}}}",
            deploy_to="development",
            **extra,
        )
        for i in range(start, start + n)
    ]


def test_the_list_searches_by_words(client, people, prompt, billing_prompt):
    make_prompts(people, 3)
    html = listing(client, people, "vic", "?q=classif")
    assert "Ticket classifier" in html and "Bulk 000" not in html
    assert "Body 1 " not in html
    assert "Bulk 001" in listing(client, people, "vic", "?q=body 1")
    # billing's template holds "secret": searching never reaches another team's prompts
    html = listing(client, people, "vic", "?q=secret")
    assert "Invoice reminder" not in html
    assert "No prompts match." in html


def test_the_list_filters_by_team_within_what_one_may_see(client, people, prompt, billing_prompt):
    assert "Ticket classifier" in listing(client, people, "vic", "?team=support")
    html = listing(client, people, "vic", "?team=billing")
    assert "Invoice reminder" not in html and "No prompts match." in html
    html = listing(client, people, "oscar", "?team=support")
    assert "Ticket classifier" not in html and "No prompts match." in html


def test_the_list_filters_by_tag(client, people, prompt):
    make_prompts(people, 4)
    html = listing(client, people, "vic", "?tag=odd")
    assert "Bulk 001" in html and "Bulk 003" in html
    assert "Bulk 000" not in html and "Ticket classifier" not in html
    html = listing(client, people, "vic", "?tag=triage")
    assert "Ticket classifier" in html and "Bulk 001" not in html


def test_the_list_sorts_by_name_or_by_last_change(client, people, prompt):
    first, second = make_prompts(people, 2)
    services.add_version(people["ed"], first, template="newer {{ x }}")
    by_name = listing(client, people, "vic", "?sort=name")
    assert by_name.index("Bulk 000") < by_name.index("Bulk 001") < by_name.index("Ticket classif")
    by_change = listing(client, people, "vic", "?sort=-updated")
    assert by_change.index("Bulk 000") < by_change.index("Bulk 001")
    assert by_change.index("Bulk 001") < by_change.index("Ticket classif")
    assert listing(client, people, "vic", "?sort=nonsense")  # falls back to by name


def test_the_list_has_pages_of_25(client, people, prompt):
    make_prompts(people, 30)
    html = listing(client, people, "vic", "?tag=bulk")
    assert "Bulk 024" in html and "Bulk 025" not in html
    assert "Page 1 of 2" in html
    assert "tag=bulk&amp;page=2" in html
    html = listing(client, people, "vic", "?tag=bulk&page=2")
    assert "Bulk 025" in html and "Bulk 029" in html and "Bulk 024" not in html


def test_a_searched_list_pages_its_matches_in_name_order(client, people, prompt):
    # Made in shuffled order and mixed case: each page holds the next names, every row
    # with its team, latest version and author.
    names = [f"{'Bulk' if i % 2 else 'bulk'} {i:03d}" for i in range(30)]
    for i in [7, 29, 0, 13, 21, 2, 28, 14, 5, 19, 1, 26, 9, 24, 3, 17, 11, 27, 6, 22, 4, 15,
              25, 8, 20, 10, 16, 12, 23, 18]:  # fmt: skip
        services.create_prompt(
            people["ed"], people["support"], name=names[i], template=f"matches {i} {{{{ x }}}}"
        )
    first = listing(client, people, "vic", "?q=matches")
    second = listing(client, people, "vic", "?q=matches&page=2")
    assert "30 prompts match" in first and "Page 1 of 2" in first
    shown = [n for n in names if f"<strong>{n}</strong>" in first]
    assert shown == names[:25]
    assert [first.index(f"<strong>{n}</strong>") for n in shown] == sorted(
        first.index(f"<strong>{n}</strong>") for n in shown
    )
    assert [n for n in names if f"<strong>{n}</strong>" in second] == names[25:]
    assert first.count("support/") >= 25 and first.count('<small class="muted">ed</small>') == 25


def test_a_long_list_shows_the_databases_estimate_on_postgresql(
    client, people, prompt, monkeypatch
):
    # Above ESTIMATE_ABOVE, PostgreSQL's planner gives the count ("About ...") instead of
    # a second pass over every match; a page that is not full knows the count exactly.
    from django.db import connection

    from prompts import listing as prompt_listing

    monkeypatch.setattr(prompt_listing, "ESTIMATE_ABOVE", 0)
    make_prompts(people, 30)
    first = listing(client, people, "vic", "?tag=bulk")
    last = listing(client, people, "vic", "?tag=bulk&page=2")
    assert "Bulk 024" in first and "Bulk 029" in last
    assert "30 prompts match" in last and "Page 2 of 2" in last
    if connection.vendor == "postgresql":
        assert "About " in first and "of about " in first and "30 prompts" not in first
    else:
        assert "30 prompts match" in first and "Page 1 of 2" in first
    assert client.get("/prompts/?tag=bulk&page=3").status_code == 404


@pytest.mark.parametrize("page", ["0", "-3", "abc", "1.5", "", "9" * 5000])
def test_a_malformed_page_number_shows_page_one(client, people, prompt, page):
    html = listing(client, people, "vic", f"?page={page}")
    assert "Ticket classifier" in html


@pytest.mark.parametrize("page", ["2", "99999999999999999999"])
def test_a_page_past_the_end_is_a_404(client, people, prompt, page):
    client.force_login(people["vic"])
    assert client.get(f"/prompts/?page={page}").status_code == 404


def test_the_list_answers_htmx_with_its_rows_only(client, people, prompt):
    client.force_login(people["vic"])
    response = client.get(
        "/prompts/?q=ticket", headers={"HX-Request": "true", "HX-Target": "prompt-results"}
    )
    html = text(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="prompt-results"')
    assert "Ticket classifier" in html and "<html" not in html
    assert "HX-Request" in response["Vary"]
    assert "<html" in text(client.get("/prompts/?q=ticket"))


def test_the_list_works_without_javascript(client, people, prompt):
    html = listing(client, people, "vic")
    assert 'method="get" action="/prompts/"' in html
    assert 'type="submit"' in html


# ---------------------------------------------------------------------- home


def test_home_shows_my_teams_with_my_role(client, people, prompt):
    html = text(page_of(client, people, "vic", "/"))
    assert "Support" in html and "Viewer" in html
    client.logout()
    html = text(page_of(client, people, "oscar", "/"))
    assert "Billing" in html and "Admin" in html and 'href="/teams/support/"' not in html


def test_home_shows_prompts_changed_lately_that_i_may_see(client, people, prompt, billing_prompt):
    make_prompts(people, 12)
    html = text(page_of(client, people, "vic", "/"))
    assert "Bulk 011" in html and "Bulk 002" in html
    assert "Bulk 001" not in html  # ten only, the newest first
    assert "Invoice reminder" not in html
    client.logout()
    html = text(page_of(client, people, "oscar", "/"))
    assert "Invoice reminder" in html and "Bulk 011" not in html


def test_home_shows_what_went_live_in_production(client, people, prompt, billing_prompt):
    release(people, prompt, prompt.latest_version)
    planned = services.add_version(people["ed"], prompt, template="later {{ ticket_text }}")
    review.add_comment(people["rita"], planned, body="ok", verdict="approve")
    deployments.deploy(
        people["rita"],
        prompt,
        environment(prompt.team, "production"),
        planned,
        when=timezone.now() + timedelta(hours=3),
    )
    html = text(page_of(client, people, "vic", "/"))
    section = html[html.index("Live in production lately") :]
    assert "Ticket classifier" in section and "rita" in section
    assert "/v/1/" in section and "/v/2/" not in section  # planned is not live yet
    client.logout()
    html = text(page_of(client, people, "oscar", "/"))
    assert "Ticket classifier" not in html
    assert "Nothing went live in production yet." in html


@pytest.mark.parametrize(
    ("username", "sees"),
    [("rita", True), ("alice", True), ("ed", False), ("vic", False), ("oscar", False)],
)
def test_home_lists_versions_waiting_for_my_review(client, people, prompt, username, sees):
    ask_review(people, prompt)
    html = text(page_of(client, people, username, "/"))
    section = html[html.index("Waiting for my review") : html.index("Changed lately")]
    assert (f'href="{PAGE}v/2/"' in section) is sees
    assert ("Nothing waits for your review." in section) is not sees


def test_home_leaves_out_my_own_versions_from_my_review_queue(client, people, prompt):
    version = services.add_version(people["rita"], prompt, template="mine {{ x }}")
    review.request_review(people["rita"], version)
    html = text(page_of(client, people, "rita", "/"))
    assert "Nothing waits for your review." in html


def test_home_for_someone_without_a_team(client, people, prompt, billing_prompt):
    html = text(page_of(client, people, "gina", "/"))
    assert "You are not a member of any team yet." in html
    assert "No prompts you can see yet." in html
    assert "Ticket classifier" not in html and "Invoice reminder" not in html


# ---------------------------------------------------------------------- escaping


def test_user_text_is_escaped_everywhere(client, people, prompt):
    evil = services.create_prompt(
        people["ed"],
        people["support"],
        name=f"Evil {XSS}",
        slug="evil",
        description=f"Described {XSS}",
        template="Hi {{ who }}",
        variables=[{"name": "who", "description": XSS, "default": XSS}],
        change_note=f"note {XSS}",
        deploy_to="development",
    )
    release(people, evil, evil.latest_version)
    review.request_review(people["ed"], evil.latest_version)
    client.force_login(people["rita"])
    for url in ["/", "/prompts/", "/prompts/?q=evil", "/p/support/evil/"]:
        html = text(client.get(url))
        assert XSS not in html, url
        assert XSS_ESCAPED in html, url
    html = text(client.get("/p/support/evil/"))
    assert html.count(XSS_ESCAPED) >= 5  # name, description, variable, default, note


def test_a_search_for_markup_is_escaped(client, people, prompt):
    html = listing(client, people, "vic", "?q=" + XSS)
    assert XSS not in html
    assert XSS_ESCAPED in html


# ---------------------------------------------------------------------- cost


def queries_of(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


def grow(people, prompt, n: int, start: int) -> None:
    """More of everything a page lists: prompts, versions, deployments live and planned,
    reviews waiting and usage."""
    production = environment(people["support"], "production")
    for p in make_prompts(people, n, start):
        version = services.add_version(people["ed"], p, template="v2 {{ x }}", deploy_to="staging")
        review.request_review(people["ed"], version)
        review.add_comment(people["rita"], version, body="ok", verdict="approve")
        deployments.deploy(people["rita"], p, production, version)
        deployments.deploy(
            people["rita"], p, production, version, when=timezone.now() + timedelta(days=1)
        )
        ask_review(people, p, template="v3 {{ x }}")
    for i in range(n):
        ask_review(people, prompt, template=f"more {start + i} {{{{ x }}}}")
        Usage.objects.create(
            prompt=prompt,
            version=prompt.latest_version,
            environment="staging",
            kind="resolve",
            caller=f"user:{start + i}",
            day=timezone.now().date(),
            count=i + 1,
            last_seen=timezone.now(),
        )


COSTED = {
    "rita": [
        "/",
        "/prompts/",
        "/prompts/?q=bulk&tag=bulk&team=support&sort=-updated",
        "/prompts/?page=2",
        PAGE,
    ],
    "gina": ["/", "/prompts/", PAGE],  # granted the one prompt
}


def test_the_prompt_page_costs_the_same_when_an_older_version_is_live(client, people, prompt):
    """The text shown is then not the latest's, which the page has anyway: one more
    query, whatever the number of versions and deployments."""
    release(people, prompt, prompt.latest_version)
    grow(people, prompt, 3, 0)
    client.force_login(people["vic"])
    client.get(PAGE)
    small = queries_of(client, PAGE)
    grow(people, prompt, 6, 3)
    assert queries_of(client, PAGE) == small <= 13  # 13: the prompts that include it
    assert "v1" in text_panel(client.get(PAGE))


@pytest.mark.parametrize("username", COSTED)
def test_pages_cost_the_same_at_any_size(client, people, prompt, username):
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "viewer")
    grow(people, prompt, 26, 0)
    client.force_login(people[username])
    for url in COSTED[username]:
        client.get(url)  # the caller's rights are cached from now on
    small = {url: queries_of(client, url) for url in COSTED[username]}
    grow(people, prompt, 20, 26)
    assert {url: queries_of(client, url) for url in COSTED[username]} == small
    assert max(small.values()) <= 13, small  # the prompt page: 12, and who includes it


def test_the_prompt_page_reads_a_fixed_number_of_tables(
    client, people, prompt, django_assert_max_num_queries
):
    grow(people, prompt, 3, 0)
    client.force_login(people["vic"])
    client.get(PAGE)
    with django_assert_max_num_queries(12):
        assert client.get(PAGE).status_code == 200


def test_an_estimate_that_falls_short_still_leads_to_the_next_page():
    from prompts.listing import ListPaginator

    paginator = ListPaginator(list(range(80)), 25)
    paginator.count, paginator.estimated = 10, True  # the planner expected 10 rows
    page = paginator.page(3)
    assert list(page.object_list) == list(range(50, 75))
    paginator.settle(page)
    assert paginator.estimated and page.has_next() and paginator.num_pages == 4
    last = paginator.page(4)
    paginator.settle(last)
    assert not paginator.estimated and paginator.count == 80 and not last.has_next()
