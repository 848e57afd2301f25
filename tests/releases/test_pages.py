"""Release pages: the deploy form, rollback and cancel buttons, the release log, the team's
board and the environments page.

vic views, ed edits, rita reviews and alice administers "support"; oscar is an outsider.
The fixture's version 1 is live in development.
"""

from __future__ import annotations

import re
from datetime import UTC, timedelta

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as accounts
from prompts import services
from releases import services as deployments
from releases.live import live_deployment
from releases.models import Deployment, Environment
from reviews import services as review

BASE = "/p/support/ticket-classifier/"
DEPLOY = f"{BASE}deploy/"
XSS = "<script>alert(1)</script>"


def signed_in(people, username: str) -> Client:
    client = Client()
    client.force_login(people[username])
    return client


def html_of(response) -> str:
    return response.content.decode()


def said(response) -> str:
    """The message the response flashed last (earlier ones wait for a page to show them)."""
    return [str(m) for m in get_messages(response.wsgi_request)][-1]


def env(team, slug: str) -> Environment:
    return Environment.objects.get(team=team, slug=slug)


def live_number(prompt, slug: str) -> int | None:
    live = live_deployment(prompt, env(prompt.team, slug))
    return live.version.number if live else None


def v2_of(people, prompt):
    return services.add_version(people["ed"], prompt, template="v2 {{ ticket_text }}")


def approve(people, version) -> None:
    review.add_comment(people["rita"], version, body="Looks right", verdict="approve")


# ---------------------------------------------------------------- who is offered what


@pytest.mark.parametrize(
    ("username", "offered"), [("vic", False), ("ed", True), ("rita", True), ("alice", True)]
)
def test_the_deploy_form_is_offered_to_those_who_may_deploy(people, prompt, username, offered):
    client = signed_in(people, username)
    for url in [BASE, f"{BASE}v/1/"]:
        html = html_of(client.get(url))
        assert (f'action="{DEPLOY}"' in html) is offered, url
        assert 'href="/p/support/ticket-classifier/releases/"' in html


def test_a_grant_on_the_prompt_decides_the_form_too(people, prompt):
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "viewer")
    assert f'action="{DEPLOY}"' not in html_of(signed_in(people, "gina").get(BASE))
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "editor")
    assert f'action="{DEPLOY}"' in html_of(signed_in(people, "gina").get(BASE))


def test_editors_are_not_offered_the_form_where_every_environment_is_protected(people, prompt):
    Environment.objects.filter(team=people["support"]).update(protected=True)
    assert f'action="{DEPLOY}"' not in html_of(signed_in(people, "ed").get(BASE))
    assert signed_in(people, "ed").get(DEPLOY).status_code == 403
    assert f'action="{DEPLOY}"' in html_of(signed_in(people, "rita").get(BASE))


def test_the_version_page_deploys_its_own_version(people, prompt):
    v2_of(people, prompt)
    html = html_of(signed_in(people, "ed").get(f"{BASE}v/1/"))
    assert '<input type="hidden" name="version" value="1">' in html
    assert "Deploy v1" in html


def test_outsiders_get_404_and_viewers_403(people, prompt):
    oscar = signed_in(people, "oscar")
    assert oscar.get(DEPLOY).status_code == 404
    assert oscar.post(DEPLOY, {"environment": "staging", "version": "1"}).status_code == 404
    assert oscar.post(f"{BASE}rollback/", {"environment": "development"}).status_code == 404
    assert oscar.get(f"{BASE}releases/").status_code == 404
    assert signed_in(people, "vic").get(DEPLOY).status_code == 403
    assert Client().get(DEPLOY).status_code == 302  # to the sign-in page


def test_forms_need_the_csrf_token(people, prompt):
    client = Client(enforce_csrf_checks=True)
    client.force_login(people["ed"])
    assert client.post(DEPLOY, {"environment": "staging", "version": "1"}).status_code == 403
    assert client.post(f"{BASE}rollback/", {"environment": "development"}).status_code == 403
    assert live_number(prompt, "staging") is None


# ---------------------------------------------------------------- deploy


def test_deploying_now_from_the_prompt_page(people, prompt):
    v2_of(people, prompt)
    response = signed_in(people, "ed").post(
        DEPLOY, {"environment": "staging", "version": "2", "note": "ready"}
    )
    assert (response.status_code, response["Location"]) == (302, f"{BASE}#live")
    assert said(response) == "Deployed v2 to Staging: it is live now."
    live = live_deployment(prompt, env(prompt.team, "staging"))
    assert (live.version.number, live.note, live.actor) == (2, "ready", people["ed"])


def test_planning_and_cancelling_from_the_pages(people, prompt):
    v2_of(people, prompt)
    ed = signed_in(people, "ed")
    when = (timezone.now() + timedelta(hours=2)).astimezone(UTC)
    typed = when.strftime("%Y-%m-%dT%H:%M")
    response = ed.post(
        DEPLOY, {"environment": "development", "version": "2", "scheduled_for": typed}
    )
    assert response.status_code == 302
    planned = Deployment.objects.get(prompt=prompt, version__number=2)
    assert planned.effective_at == when.replace(second=0, microsecond=0)  # read as UTC
    assert said(response) == f"Planned v2 to Development for {typed.replace('T', ' ')} UTC."
    assert live_number(prompt, "development") == 1
    html = html_of(ed.get(BASE))
    cancel = f'action="{BASE}deployments/{planned.pk}/cancel/"'
    assert "v2 planned" in html and cancel in html
    assert cancel not in html_of(signed_in(people, "vic").get(BASE))
    refused = signed_in(people, "vic").post(f"{BASE}deployments/{planned.pk}/cancel/")
    assert said(refused) == "Only editors deploy."
    done = ed.post(f"{BASE}deployments/{planned.pk}/cancel/")
    assert said(done) == "Cancelled the planned release of v2 to Development."
    planned.refresh_from_db()
    assert planned.cancelled_at is not None
    again = ed.post(f"{BASE}deployments/{planned.pk}/cancel/")
    assert said(again) == "Only a planned deployment can be cancelled."


def test_a_deployment_of_another_prompt_cannot_be_cancelled_here(people, prompt, billing_prompt):
    later = timezone.now() + timedelta(hours=1)
    theirs = deployments.deploy(
        people["oscar"],
        billing_prompt,
        env(people["billing"], "staging"),
        billing_prompt.latest_version,
        when=later,
    )
    response = signed_in(people, "alice").post(f"{BASE}deployments/{theirs.pk}/cancel/")
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.cancelled_at is None


@pytest.mark.parametrize(
    ("data", "field_error"),
    [
        ({"version": "99"}, "support/ticket-classifier has no version 99."),
        ({"version": "two"}, "Give a version number."),
        ({"environment": "moon"}, "Select a valid choice."),
        ({"scheduled_for": "tomorrow"}, "Enter the time as YYYY-MM-DD HH:MM (UTC)."),
        ({"scheduled_for": "2001-01-01T10:00"}, "That time has passed"),
        ({"scheduled_for": "2030-02-30T10:00"}, "Enter the time as YYYY-MM-DD HH:MM (UTC)."),
    ],
)
def test_bad_input_comes_back_with_everything_typed(people, prompt, data, field_error):
    form = {"environment": "staging", "version": "1", "note": f"kept {XSS}", **data}
    response = signed_in(people, "ed").post(DEPLOY, form)
    html = html_of(response)
    assert response.status_code == 200
    assert field_error in html
    assert "kept &lt;script&gt;" in html and XSS not in html
    assert Deployment.objects.filter(prompt=prompt).count() == 1


# ---------------------------------------------------------------- rollback


def test_rolling_back_from_the_live_panel(people, prompt):
    deployments.deploy(people["ed"], prompt, env(prompt.team, "development"), v2_of(people, prompt))
    ed = signed_in(people, "ed")
    html = html_of(ed.get(BASE))
    assert "Roll back to v1" in html
    assert 'aria-label="Roll back to v1 in Development"' in html
    assert "Roll back to" not in html_of(signed_in(people, "vic").get(BASE))
    response = ed.post(f"{BASE}rollback/", {"environment": "development"})
    assert response.status_code == 302
    assert said(response) == "Rolled back Development: v1 is live again."
    assert live_number(prompt, "development") == 1
    # and now the button offers the way back to v2
    assert "Roll back to v2" in html_of(ed.get(BASE))


def test_a_rollback_refused_by_the_rules_says_which(people, prompt):
    production = env(prompt.team, "production")
    approve(people, prompt.latest_version)
    deployments.deploy(people["rita"], prompt, production, prompt.latest_version)
    v2 = v2_of(people, prompt)
    approve(people, v2)
    deployments.deploy(people["rita"], prompt, production, v2)
    assert "Roll back to v1 in Production" not in html_of(signed_in(people, "ed").get(BASE))
    assert "Roll back to v1 in Production" in html_of(signed_in(people, "rita").get(BASE))
    response = signed_in(people, "ed").post(f"{BASE}rollback/", {"environment": "production"})
    assert said(response) == "Only reviewers deploy to production, a protected environment."
    assert live_number(prompt, "production") == 2
    nothing = signed_in(people, "ed").post(f"{BASE}rollback/", {"environment": "staging"})
    assert said(nothing) == "Nothing is live in staging to roll back."
    assert signed_in(people, "ed").post(f"{BASE}rollback/", {"environment": "x"}).status_code == 404


# ---------------------------------------------------------------- release log


def test_the_release_log_tells_who_when_which_and_why(people, prompt):
    dev = env(prompt.team, "development")
    v2 = v2_of(people, prompt)
    deployments.deploy(people["ed"], prompt, dev, v2, note=f"because {XSS}")
    deployments.rollback(people["rita"], prompt, dev)
    later = timezone.now() + timedelta(days=1)
    deployments.deploy(people["ed"], prompt, env(prompt.team, "staging"), v2, when=later)
    html = html_of(signed_in(people, "vic").get(f"{BASE}releases/"))
    rows = re.findall(r'<tr class="release-(\w+)">(.*?)</tr>', html, re.S)
    states = [state for state, _ in rows]
    assert states == ["planned", "active", "superseded", "superseded"]
    assert (
        "Rollback" in rows[1][1]
        and "rita" in rows[1][1]
        and "rolled back from version 2" in rows[1][1]
    )
    assert "because &lt;script&gt;" in rows[2][1] and XSS not in html
    only_dev = html_of(signed_in(people, "vic").get(f"{BASE}releases/?environment=development"))
    assert len(re.findall(r'<tr class="release-', only_dev)) == 3
    unknown = html_of(signed_in(people, "vic").get(f"{BASE}releases/?environment=moon"))
    assert "There is no such environment" in unknown


def test_the_release_log_is_paged_and_costs_the_same_at_any_size(people, prompt):
    dev = env(prompt.team, "development")
    client = signed_in(people, "vic")

    def grow(n: int) -> None:
        for _ in range(n):
            deployments.deploy(people["ed"], prompt, dev, prompt.latest_version)

    def cost() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"{BASE}releases/?environment=development").status_code == 200
        return len(captured.captured_queries)

    client.get(f"{BASE}releases/")
    small = cost()
    grow(60)
    assert cost() == small
    assert "Page 1 of 2" in html_of(client.get(f"{BASE}releases/"))
    page2 = html_of(client.get(f"{BASE}releases/?environment=development&page=2"))
    assert len(re.findall(r'<tr class="release-', page2)) == 11
    assert client.get(f"{BASE}releases/?page=9").status_code == 404


# ---------------------------------------------------------------- board


def cells(html: str, slug: str) -> dict[str, str]:
    """{environment slug: the classes of its cell} in the row of prompt ``slug``."""
    start = html.index(f'<code class="muted">{slug}</code>')
    row = html[start : html.index("</tr>", start)]
    found = re.findall(r'<td class="([^"]*)" data-environment="([^"]+)">', row)
    return {environment: classes for classes, environment in found}


def make(people, name: str, template: str = "Hi {{ name }}"):
    return services.create_prompt(people["ed"], people["support"], name=name, template=template)


def test_the_board_shows_live_versions_and_marks_drift(people, prompt, billing_prompt):
    dev, staging = env(people["support"], "development"), env(people["support"], "staging")
    production = env(people["support"], "production")
    behind = make(people, "Behind")
    deployments.deploy(people["ed"], behind, staging, behind.latest_version)
    v2 = services.add_version(people["ed"], behind, template="Hi again {{ name }}")
    deployments.deploy(people["ed"], behind, dev, v2)
    deployments.deploy(people["ed"], behind, staging, v2, when=timezone.now() + timedelta(hours=1))
    level = make(people, "Level")
    approve(people, level.latest_version)
    for environment in (dev, staging, production):
        deployments.deploy(people["rita"], level, environment, level.latest_version)
    archived = make(people, "Archived")
    services.archive_prompt(people["alice"], archived)

    html = html_of(signed_in(people, "vic").get("/teams/support/board/"))
    assert cells(html, "ticket-classifier") == {
        "development": "board-cell",
        "staging": "board-cell drift drift-missing",
        "production": "board-cell drift drift-missing",
    }
    assert cells(html, "behind") == {
        "development": "board-cell",
        "staging": "board-cell drift drift-behind has-planned",
        "production": "board-cell drift drift-missing",
    }
    assert cells(html, "level") == {
        e: "board-cell" for e in ("development", "staging", "production")
    }
    assert "behind v2" in html and "v2 planned" in html and " UTC</time>" in html
    assert 'href="/p/support/behind/v/2/"' in html
    assert "Invoice reminder" not in html and '<code class="muted">archived</code>' not in html
    assert '<ul class="board-legend" aria-label="Legend">' in html


@pytest.mark.parametrize("username", ["oscar", "gina"])
def test_the_board_of_another_team_is_a_404(people, prompt, username):
    assert signed_in(people, username).get("/teams/support/board/").status_code == 404


def test_a_grant_on_one_prompt_shows_that_prompt_alone(people, prompt):
    make(people, "Secret")
    accounts.grant_on_prompt(people["alice"], prompt, "gina", "viewer")
    html = html_of(signed_in(people, "gina").get("/teams/support/board/"))
    assert "ticket-classifier" in html and "secret" not in html


def test_the_board_costs_the_same_at_any_size_and_has_pages_of_50(people, prompt):
    dev, staging = env(people["support"], "development"), env(people["support"], "staging")

    def grow(start: int, n: int) -> None:
        for i in range(start, start + n):
            p = make(people, f"Bulk {i:03d}")
            deployments.deploy(people["ed"], p, dev, p.latest_version)
            deployments.deploy(
                people["ed"], p, staging, p.latest_version, when=timezone.now() + timedelta(days=1)
            )

    client = signed_in(people, "vic")

    def cost() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/teams/support/board/").status_code == 200
        return len(captured.captured_queries)

    grow(0, 3)
    client.get("/teams/support/board/")
    small = cost()
    grow(3, 50)
    assert cost() == small
    assert small <= 10
    assert "Page 1 of 2" in html_of(client.get("/teams/support/board/"))
    assert "Bulk 052" in html_of(client.get("/teams/support/board/?page=2"))


# ---------------------------------------------------------------- environments page

ENVS = "/teams/support/environments/"


def rules(**changes) -> dict:
    form = {"name": "Staging", "order": "1", "required_approvals": "0"}
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


@pytest.mark.parametrize(
    ("username", "status"),
    [("rita", 403), ("ed", 403), ("vic", 403), ("oscar", 404), ("gina", 404)],
)
def test_only_admins_manage_environments(people, username, status):
    client = signed_in(people, username)
    assert client.get(ENVS).status_code == status
    assert client.post(f"{ENVS}staging/", rules(protected="on")).status_code == status
    assert client.post(f"{ENVS}staging/delete/").status_code == status
    new = {"slug": "canary", "name": "Canary", "required_approvals": "0"}
    assert client.post(ENVS, new).status_code == status
    assert [e.slug for e in Environment.objects.filter(team=people["support"])] == [
        "development",
        "staging",
        "production",
    ]
    assert env(people["support"], "staging").protected is False
    assert signed_in(people, "alice").get(ENVS).status_code == 200


def test_the_team_page_links_the_board_and_admins_to_the_environments(people):
    for username in ["alice", "vic"]:
        html = html_of(signed_in(people, username).get("/teams/support/"))
        assert 'href="/teams/support/board/"' in html
        assert (f'href="{ENVS}"' in html) is (username == "alice")


def test_an_admin_adds_changes_and_deletes_environments(people):
    alice = signed_in(people, "alice")
    added = alice.post(
        ENVS, {"slug": "canary", "name": "Canary", "required_approvals": "2", "protected": "on"}
    )
    assert said(added) == "Added the environment Canary (canary)."
    canary = env(people["support"], "canary")
    assert (canary.order, canary.protected, canary.required_approvals) == (3, True, 2)
    moved = alice.post(f"{ENVS}staging/", rules(is_default="on", requires_previous="on"))
    assert said(moved) == "Saved the rules of Staging."
    assert list(Environment.objects.filter(is_default=True, team=people["support"])) == [
        env(people["support"], "staging")
    ]
    assert env(people["support"], "staging").requires_previous is True
    deleted = alice.post(f"{ENVS}canary/delete/")
    assert said(deleted) == "Deleted the environment Canary (canary)."
    assert not Environment.objects.filter(slug="canary").exists()


def test_refusals_come_back_on_the_form_with_what_was_typed(people, prompt):
    alice = signed_in(people, "alice")
    unmark = alice.post(f"{ENVS}production/", rules(name="Prod typed", order="2"))
    html = html_of(unmark)
    assert "make another one the default instead" in html
    assert 'value="Prod typed"' in html
    assert env(people["support"], "production").name == "Production"
    bad = html_of(alice.post(f"{ENVS}staging/", rules(required_approvals="-1")))
    assert "Ensure this value is greater than or equal to 0." in bad
    taken = html_of(
        alice.post(ENVS, {"slug": "staging", "name": "Again", "required_approvals": "0"})
    )
    assert "support already has an environment staging." in taken and 'value="Again"' in taken
    used = alice.post(f"{ENVS}development/delete/")
    assert "it cannot be deleted" in said(used)
    assert Environment.objects.filter(team=people["support"]).count() == 3


def test_the_environments_page_marks_what_can_be_deleted(people, prompt):
    html = html_of(signed_in(people, "alice").get(ENVS))
    assert f'action="{ENVS}staging/delete/"' in html
    assert f'action="{ENVS}development/delete/"' not in html  # it has deployments
    assert f'action="{ENVS}production/delete/"' not in html  # the default


# ---------------------------------------------------------------- the editor's save and deploy


def test_save_and_deploy_of_a_breaking_version_points_to_the_deploy_page(people, prompt):
    from tests.prompts.test_editor_pages import VERSION_NEW, version_data

    data = version_data(template="{{ ticket_text }} for {{ customer }}", action="deploy")
    response = signed_in(people, "ed").post(VERSION_NEW, data)
    html = html_of(response).replace("&#x27;", "'")
    assert response.status_code == 200
    assert "Version 2 requires customer" in html and "Deploy anyway" in html
    assert prompt.versions.count() == 1
