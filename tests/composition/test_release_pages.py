"""The release log (page and API) and the version page show each deployment's recorded
snippet versions; the board marks a parent whose snippet moved on since its deployment,
in a number of queries that does not grow with the prompts or their snippets."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from releases import services as releasing
from releases.environments import find_environment
from releases.models import Deployment
from tests.composition.conftest import add, deploy, make

P = "/p/support/parent"


@pytest.fixture
def rita(people):
    client = Client()
    client.force_login(people["rita"])
    return client


@pytest.fixture
def moved(people):
    """support/parent v1 (follows support/snippet) live in development with snippet v1;
    then snippet v2 deployed there: parent's live text changed."""
    ed = people["ed"]
    snippet = make(ed, people["support"], "snippet", "Be brief.", deploy_to="development")
    template = 'A {% include "support/snippet" %}'
    parent = make(ed, people["support"], "parent", template, deploy_to="development")
    deploy(ed, snippet, "development", add(ed, snippet, "Be very brief."))
    return parent, snippet


def cell(html: str, prompt_slug: str, env: str) -> str:
    row = html.split(f'<code class="muted">{prompt_slug}</code>')[1].split("</tr>")[0]
    return row.split(f'data-environment="{env}"')[1].split("</td>")[0]


def test_the_release_log_page_shows_the_snippet_versions(people, rita, moved):
    parent, snippet = moved
    ed = people["ed"]
    deploy(ed, parent, "development", add(ed, parent, 'B {% include "support/snippet" %}'))
    releasing.rollback(ed, parent, find_environment(parent.team, "development"))
    Deployment.objects.filter(prompt=parent, version__number=1, kind="deploy").update(
        graph=None, dependencies=[]
    )  # as an older deployment, from before graphs were kept
    html = rita.get(f"{P}/releases/").content.decode()
    rows = html.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    rollback, second, first = rows
    assert 'href="/p/support/snippet/v/1/">support/snippet v1</a>' in rollback
    assert '<span class="badge exact"' in rollback
    v2 = '/v/2/">support/snippet v2</a> <small class="muted">from development'
    assert v2 in second
    assert "badge exact" not in second
    assert "not recorded" in first


def test_a_planned_release_says_when_its_graph_is_recorded(people, rita, moved):
    parent, _ = moved
    when = timezone.now() + timedelta(days=1)
    env = find_environment(parent.team, "development")
    releasing.deploy(people["ed"], parent, env, parent.latest_version, when=when, force=True)
    html = rita.get(f"{P}/releases/").content.decode()
    assert "recorded when announced" in html


def test_the_version_page_shows_the_snippet_versions(people, rita, moved):
    html = rita.get(f"{P}/v/1/").content.decode()
    deployments = html.split('id="deployments"')[1]
    assert 'href="/p/support/snippet/v/1/">support/snippet v1</a>' in deployments


def test_the_release_log_api_gives_the_snippet_versions(people, as_user, moved):
    parent, _ = moved
    ed = people["ed"]
    deploy(ed, parent, "development", add(ed, parent, 'B {% include "support/snippet" %}'))
    back = as_user("ed").post(
        "/api/v1/prompts/support/parent/deployments/rollback",
        {"environment": "development"},
        format="json",
    )
    assert back.status_code == 201
    assert back.json()["exact"] is True
    assert back.json()["dependencies"] == [
        {"address": "support/snippet", "version": 1, "environment": "development"}
    ]
    log = as_user("vic").get("/api/v1/prompts/support/parent/deployments").json()["results"]
    assert [(d["version"], d["exact"], d["dependencies"]) for d in log] == [
        (1, True, [{"address": "support/snippet", "version": 1, "environment": "development"}]),
        (2, False, [{"address": "support/snippet", "version": 2, "environment": "development"}]),
        (1, False, [{"address": "support/snippet", "version": 1, "environment": "development"}]),
    ]
    Deployment.objects.filter(prompt=parent).update(graph=None)
    log = as_user("vic").get("/api/v1/prompts/support/parent/deployments").json()["results"]
    assert {d["dependencies"] for d in log} == {None}


def test_the_board_marks_a_parent_whose_snippet_moved_on(people, rita, moved):
    parent, snippet = moved
    html = rita.get("/teams/support/board/").content.decode()
    marked = cell(html, "parent", "development")
    assert "support/snippet v1 → v2 in development since deployed" in marked
    row = html.split('<code class="muted">parent</code>')[0].rsplit("<tr", 1)[1]
    assert "snippet-changed" in row
    # The snippet itself, and a parent whose deployment took the live version, are not.
    assert "since deployed" not in cell(html, "snippet", "development")
    deploy(people["ed"], parent, "development", parent.latest_version)
    html = rita.get("/teams/support/board/").content.decode()
    assert "since deployed" not in cell(html, "parent", "development")


def test_the_board_does_not_mark_an_exact_deployment(people, rita, moved):
    parent, snippet = moved
    ed = people["ed"]
    deploy(ed, parent, "development", add(ed, parent, 'B {% include "support/snippet" %}'))
    releasing.rollback(ed, parent, find_environment(parent.team, "development"))
    deploy(ed, snippet, "development", add(ed, snippet, "Be terse."))
    html = rita.get("/teams/support/board/").content.decode()
    assert "since deployed" not in cell(html, "parent", "development")


def test_the_board_does_not_judge_a_deployment_without_a_graph(people, rita, moved):
    parent, _ = moved
    Deployment.objects.filter(prompt=parent).update(graph=None, dependencies=[])
    html = rita.get("/teams/support/board/").content.decode()
    assert "since deployed" not in cell(html, "parent", "development")


def test_the_board_marks_nothing_live_any_more(people, rita, moved):
    parent, snippet = moved
    Deployment.objects.filter(prompt=snippet).update(cancelled_at=timezone.now())
    html = rita.get("/teams/support/board/").content.decode()
    assert "support/snippet v1 → nothing live in development" in cell(html, "parent", "development")


def grow(people, i: int) -> None:
    """A snippet and two parents following it (one in another team's board: not shown),
    the snippet moved on in development since."""
    ed = people["ed"]
    snippet = make(ed, people["support"], f"snip-{i}", "S1.", deploy_to="development")
    for j in range(2):
        make(
            ed,
            people["support"],
            f"uses-{i}-{j}",
            f'{{% include "support/snip-{i}" %}} {{% include "support/snippet@1" %}}',
            deploy_to="development",
        )
    deploy(ed, snippet, "development", add(ed, snippet, "S2."))


def test_the_board_queries_do_not_grow_with_snippets(people, rita, moved):
    def count() -> int:
        rita.get("/teams/support/board/")
        with CaptureQueriesContext(connection) as captured:
            response = rita.get("/teams/support/board/")
        assert response.status_code == 200
        assert response.content.decode().count("since deployed") == marked[0]
        return len(captured.captured_queries)

    marked = [1]
    grow(people, 0)
    marked[0] = 3
    small = count()
    for i in range(1, 5):
        grow(people, i)
    marked[0] = 11
    assert count() == small
