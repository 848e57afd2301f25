"""The audit trail: what each kind of change leaves in it, filters, paging, isolation
between teams, and the audit pages built on it."""

import datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as accounts
from accounts.models import Membership
from audit import trail as audit
from audit.trail import Filters, prompt_trail, team_trail
from prompts import services
from releases import services as deployments
from reviews.services import add_comment, request_review, set_thread_resolved

P = "/p/support/ticket-classifier"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def actions(page) -> list[tuple[str | None, str, str]]:
    return [(entry.actor, entry.action, entry.reason) for entry in page.entries]


def staging_of(prompt):
    return prompt.team.environments.get(slug="staging")


# ---------------------------------------------------------------------- what is recorded


def test_creating_a_prompt_shows_its_creation_and_version_1(people, prompt):
    found = actions(prompt_trail(prompt))
    assert ("ed", "created prompt ticket-classifier", "first") in found
    assert ("ed", "added version 1 of ticket-classifier", "first") in found
    assert ("ed", "deployed version 1 to development", "deploy version 1 to development") in found


def test_a_version_addition_is_listed_once_with_its_change_note(people, prompt):
    services.add_version(people["ed"], prompt, template="B {{ x }}", change_note="tone down")
    found = actions(prompt_trail(prompt))
    assert found[0] == ("ed", "added version 2 of ticket-classifier", "tone down")
    # The prompt's own history record of that addition is not listed a second time.
    assert not [action for _, action, _ in found if "changed the details" in action]


def test_renames_archiving_and_detail_changes_read_as_what_they_were(people, prompt):
    services.update_prompt(people["ed"], prompt, description="d", reason="docs")
    services.update_prompt(people["ed"], prompt, slug="triage")
    services.archive_prompt(people["alice"], prompt, reason="unused")
    services.restore_prompt(people["alice"], prompt)
    found = actions(prompt_trail(prompt))[:4]
    assert found == [
        ("alice", "restored prompt triage", "restored"),
        ("alice", "archived prompt triage", "unused"),
        ("ed", "renamed prompt ticket-classifier to triage", "renamed to triage"),
        ("ed", "changed the details of prompt ticket-classifier", "docs"),
    ]


def test_deployments_show_their_actor_and_note(people, prompt):
    staging = staging_of(prompt)
    v2 = services.add_version(people["ed"], prompt, template="B {{ ticket_text }}")
    deployments.deploy(people["rita"], prompt, staging, prompt.versions.get(number=1))
    deployments.deploy(people["rita"], prompt, staging, v2, note="ship it")
    deployments.rollback(people["ed"], prompt, staging)
    later = timezone.now() + datetime.timedelta(days=1)
    planned = deployments.deploy(people["ed"], prompt, staging, v2, when=later)
    deployments.cancel(people["ed"], planned)
    found = actions(prompt_trail(prompt, Filters(kind="deployment")))
    assert found[0] == (
        "ed",
        "cancelled the planned deployment of version 2 to staging",
        "planned deployment cancelled",
    )
    assert found[1][1].startswith("planned version 2 for staging at ")
    assert found[2] == ("ed", "rolled staging back to version 1", "rolled back from version 2")
    assert found[3] == ("rita", "deployed version 2 to staging", "ship it")


def test_comments_verdicts_and_review_status_are_listed(people, prompt):
    v2 = services.add_version(people["ed"], prompt, template="one\ntwo {{ x }}")
    request_review(people["ed"], v2, note="please")
    thread = add_comment(people["ed"], v2, body="Line two reads oddly", line=2)
    add_comment(people["rita"], v2, body="Agreed", parent=thread)
    set_thread_resolved(people["ed"], thread, True)
    add_comment(people["rita"], v2, body="Good now", verdict="approve")
    found = actions(prompt_trail(prompt, Filters(kind="review")))
    assert ("rita", "approved version 2", "Good now") in found
    assert ("rita", "set the review status of version 2 to approved", "approved version 2") in found
    assert ("ed", "resolved a thread on version 2", "thread resolved") in found
    assert ("rita", "replied on version 2", "Agreed") in found
    assert ("ed", "commented on line 2 of version 2", "Line two reads oddly") in found
    assert (
        "ed",
        "set the review status of version 2 to in review",
        "review requested: please",
    ) in (found)


def test_the_team_trail_has_role_changes_and_environments(people, prompt):
    accounts.set_role(people["alice"], people["support"], "vic", "editor")
    accounts.remove_member(people["alice"], people["support"], "ed")
    found = actions(team_trail(people["support"]))
    assert found[0] == ("alice", "removed ed from the team", "removed from the team")
    assert found[1] == ("alice", "set the role of vic to editor", "role set to editor")
    assert ("alice", "added rita as reviewer", "role set to reviewer") in found
    assert (
        "stella",
        "created environment production (protected, 1 approval(s))",
        "default environment",
    ) in found
    # and everything the team's prompts went through
    assert ("ed", "added version 1 of ticket-classifier", "first") in found


def test_a_prompt_trail_has_no_team_events(people, prompt):
    accounts.set_role(people["alice"], people["support"], "vic", "editor")
    kinds = {entry.kind for entry in prompt_trail(prompt).entries}
    assert kinds <= set(audit.PROMPT_KINDS)


# ---------------------------------------------------------------------- isolation


def test_support_never_sees_billing_history(people, prompt, billing_prompt):
    billing = people["billing"]
    deployments.deploy(
        people["oscar"], billing_prompt, staging_of(billing_prompt), billing_prompt.latest_version
    )
    accounts.set_role(people["oscar"], billing, "gina", "viewer")
    for entry in team_trail(people["support"]).entries:
        assert entry.prompt != "invoice-reminder"
        assert entry.actor != "oscar"
        assert "gina" not in entry.action
    html = signed_in(people["alice"]).get("/teams/support/audit/").content.decode()
    for secret in ("invoice-reminder", "oscar", "added gina", "secret billing"):
        assert secret not in html
    assert "ticket-classifier" in html


# ---------------------------------------------------------------------- filters


def test_filtering_by_actor(people, prompt):
    accounts.set_role(people["alice"], people["support"], "vic", "editor")
    page = team_trail(people["support"], Filters(actor="alice"))
    assert page.entries and {entry.actor for entry in page.entries} == {"alice"}
    assert not team_trail(people["support"], Filters(actor="nobody")).entries


def test_filtering_by_kind(people, prompt):
    for kind in audit.TEAM_KINDS:
        page = team_trail(people["support"], Filters(kind=kind))
        assert {entry.kind for entry in page.entries} == ({kind} if kind != "review" else set())


def test_filtering_by_date(people, prompt):
    membership = Membership.objects.get(team=people["support"], user=people["vic"])
    Membership.history.filter(id=membership.pk).update(
        history_date=timezone.make_aware(datetime.datetime(2020, 6, 1, 12))
    )
    today = timezone.localdate()
    old = team_trail(people["support"], Filters(until=datetime.date(2020, 6, 1)))
    assert actions(old) == [("alice", "added vic as viewer", "role set to viewer")]
    day = team_trail(
        people["support"], Filters(since=datetime.date(2020, 6, 1), until=datetime.date(2020, 6, 1))
    )
    assert len(day.entries) == 1
    recent = team_trail(people["support"], Filters(since=today))
    assert recent.entries and "added vic as viewer" not in [a for _, a, _ in actions(recent)]
    assert not team_trail(
        people["support"], Filters(since=today + datetime.timedelta(days=1))
    ).entries


# ---------------------------------------------------------------------- paging


def test_pages_hold_fifty_entries_newest_first_without_gaps(people, prompt):
    version = prompt.latest_version
    for i in range(60):
        add_comment(people["ed"], version, body=f"comment {i}")
    first, second = prompt_trail(prompt, page=1), prompt_trail(prompt, page=2)
    assert len(first.entries) == audit.PAGE_SIZE and first.has_next and not first.has_previous
    assert second.has_previous and not second.has_next
    everything = first.entries + second.entries
    assert (
        len({entry.key for entry in everything}) == len(everything) == 63
    )  # 60 comments, creation, v1, deployment
    assert [e.key for e in everything] == sorted((e.key for e in everything), reverse=True)
    assert everything[0].reason == "comment 59"


# ---------------------------------------------------------------------- pages


def test_the_prompt_audit_page_lists_versions_and_deployments(people, prompt):
    v2 = services.add_version(people["ed"], prompt, template="B {{ x }}", change_note="tone down")
    deployments.deploy(people["rita"], prompt, staging_of(prompt), v2, note="ship it")
    html = signed_in(people["vic"]).get(f"{P}/audit/").content.decode()
    assert "added version 2 of ticket-classifier" in html and "tone down" in html
    assert "deployed version 2 to staging" in html and "<td>rita</td>" in html
    assert f'href="{P}/v/2/"' in html


def test_the_team_audit_page_lists_role_changes(people, prompt):
    accounts.set_role(people["alice"], people["support"], "vic", "editor")
    html = signed_in(people["vic"]).get("/teams/support/audit/").content.decode()
    assert "set the role of vic to editor" in html and "<td>alice</td>" in html


def test_the_page_filters_by_actor_kind_and_date(people, prompt):
    accounts.set_role(people["alice"], people["support"], "vic", "editor")
    alice = signed_in(people["alice"])
    html = alice.get("/teams/support/audit/?actor=alice&kind=membership").content.decode()
    assert "set the role of vic to editor" in html
    assert "added version 1" not in html and "<td>stella</td>" not in html
    html = alice.get("/teams/support/audit/?until=2000-01-01").content.decode()
    assert "Nothing recorded matches these filters." in html


@pytest.mark.parametrize(
    "query, message",
    [
        ("since=2024-13-01", "Enter the since date as YYYY-MM-DD."),
        ("until=yesterday", "Enter the until date as YYYY-MM-DD."),
        ("since=0001-01-01", "Pick a since date between 1900 and 9998."),
        ("until=9999-12-31", "Pick a until date between 1900 and 9998."),
        ("since=2024-05-02&until=2024-05-01", "The until date is before the since date."),
        ("kind=bogus", "Select a valid choice."),
        ("page=abc", "A page is a number."),
        ("page=0", "Pages start at 1."),
        ("page=100000", "narrow the dates"),
        (f"actor={'x' * 200}", "at most 150 characters"),
    ],
)
def test_bad_filters_are_messages_not_errors(people, prompt, query, message):
    for url in (f"{P}/audit/?{query}", f"/teams/support/audit/?{query}"):
        response = signed_in(people["alice"]).get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "Some filters were not applied" in html and message in html
        assert "created prompt ticket-classifier" in html  # the valid filters still apply


def test_team_kinds_are_not_offered_on_a_prompt_audit(people, prompt):
    html = signed_in(people["alice"]).get(f"{P}/audit/?kind=membership").content.decode()
    assert "Select a valid choice." in html


def test_the_page_links_to_older_entries(people, prompt):
    for i in range(55):
        add_comment(people["ed"], prompt.latest_version, body=f"comment {i}")
    alice = signed_in(people["alice"])
    html = alice.get(f"{P}/audit/?kind=review").content.decode()
    assert 'href="?kind=review&amp;page=2"' in html
    html = alice.get(f"{P}/audit/?kind=review&page=2").content.decode()
    assert "comment 0" in html and "comment 54" not in html
    assert 'href="?kind=review&amp;page=1"' in html


def test_an_archived_prompt_keeps_its_audit_page(people, prompt):
    services.archive_prompt(people["alice"], prompt, reason="unused")
    html = signed_in(people["vic"]).get(f"{P}/audit/").content.decode()
    assert "archived prompt ticket-classifier" in html


# ---------------------------------------------------------------------- cost


def grow(people, prompt, n: int) -> None:
    staging = staging_of(prompt)
    for i in range(n):
        version = services.add_version(people["ed"], prompt, template=f"v{i} {{{{ x }}}}")
        deployments.deploy(people["ed"], prompt, staging, version, note=f"n{i}")
        add_comment(people["rita"], version, body=f"c{i}", verdict="approve")
        services.update_prompt(people["ed"], prompt, description=f"d{i}")
        accounts.set_role(people["alice"], prompt.team, "vic", "editor" if i % 2 else "viewer")


def count_queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def test_a_trail_costs_one_query_per_source_whatever_its_length(people, prompt):
    grow(people, prompt, 3)
    small = (
        count_queries(lambda: team_trail(people["support"])),
        count_queries(lambda: prompt_trail(prompt, page=2)),
    )
    grow(people, prompt, 30)
    large = (
        count_queries(lambda: team_trail(people["support"])),
        count_queries(lambda: prompt_trail(prompt, page=2)),
    )
    assert small == large == (len(audit.SOURCES), len(audit.SOURCES) - 2)


@pytest.mark.parametrize("url", [f"{P}/audit/", f"{P}/audit/?page=2", "/teams/support/audit/"])
def test_audit_pages_cost_the_same_with_more_history(people, prompt, url):
    alice = signed_in(people["alice"])
    grow(people, prompt, 3)
    alice.get(url)  # warms the cached rights
    small = count_queries(lambda: alice.get(url))
    grow(people, prompt, 30)
    assert count_queries(lambda: alice.get(url)) == small
