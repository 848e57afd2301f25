"""Imported authors and times are provenance, never identity: whoever imports is the
author of every imported version for every rule, so files naming a reviewer (or
anyone at all) as the author cannot get around the four-eyes rule."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.utils import timezone

from audit import trail as audit
from portable.archive import pack, unpack
from prompts.models import Prompt
from tests.portable.test_api import upload

P = "/api/v1/prompts/support/forged"
FORGED = (
    "---\nauthor: {author}\ncreated_at: '2020-03-04T05:06:07Z'\nnote: looks old\n---\n"
    "Reply to {{{{ name }}}}\n"
)


def forged_archive(author: str = "rita") -> bytes:
    return pack(
        {
            "support/forged/prompt.yaml": b"name: Forged\n",
            "support/forged/v0001.txt": FORGED.format(author=author).encode(),
        }
    )


def imported(as_user, author: str = "rita") -> Prompt:
    response = upload(as_user("alice"), forged_archive(author), dry_run="false")
    assert response.json()["totals"]["created"] == 1, response.content
    return Prompt.objects.get(team__slug="support", slug="forged")


@pytest.mark.parametrize("author", ["rita", "root"])
def test_an_admin_cannot_approve_and_release_a_version_imported_under_another_name(
    people, as_user, author
):
    """The forged flow: alice imports a version "by rita" (or by root, no member at
    all), approves it herself and releases it to production. Both are refused."""
    imported(as_user, author)
    alice = as_user("alice")
    verdict = alice.post(
        f"{P}/versions/1/comments", {"body": "fine", "verdict": "approve"}, format="json"
    )
    assert verdict.status_code == 403, verdict.content
    assert verdict.json()["error"]["details"]["reason"] == "self_review"
    release = alice.post(
        f"{P}/deployments", {"environment": "production", "version": 1}, format="json"
    )
    assert release.status_code == 403, release.content
    assert release.json()["error"]["details"]["reason"] == "approvals_required"


def test_a_reviewer_named_by_the_files_may_still_approve_it(people, as_user):
    """rita did not write what alice imported: her approval is a second pair of eyes."""
    imported(as_user)
    verdict = as_user("rita").post(
        f"{P}/versions/1/comments", {"body": "ok", "verdict": "approve"}, format="json"
    )
    assert verdict.status_code == 201, verdict.content


def test_the_importer_is_the_author_and_the_files_are_provenance(people, as_user):
    before = timezone.now()
    version = imported(as_user).latest_version
    assert version.author == people["alice"]
    assert version.created_at >= before
    assert version.imported_author == "rita"
    assert version.imported_at == datetime(2020, 3, 4, 5, 6, 7, tzinfo=UTC)


def test_the_version_body_shows_the_provenance(people, as_user, prompt):
    imported(as_user)
    body = as_user("vic").get(f"{P}/versions/1").json()
    assert body["author"] == "alice"
    assert body["imported_author"] == "rita"
    assert body["imported_at"] == "2020-03-04T05:06:07Z"
    native = as_user("vic").get("/api/v1/prompts/support/ticket-classifier/versions/1").json()
    assert (native["imported_author"], native["imported_at"]) == (None, None)


def test_the_schema_documents_the_provenance(people):
    schema = Client().get("/api/schema/", {"format": "json"}).json()
    fields = schema["components"]["schemas"]["VersionOut"]["properties"]
    assert fields["imported_author"]["nullable"] is True
    assert fields["imported_at"]["format"] == "date-time"
    assert "files" in fields["imported_author"]["description"]


def test_the_version_page_says_it_was_imported_and_from_whom(people, as_user):
    imported(as_user)
    client = Client()
    client.force_login(people["vic"])
    html = client.get("/p/support/forged/v/1/").content.decode()
    assert "imported, originally by rita on" in html
    assert "2020-03-04 05:06" in html


def test_the_audit_trail_says_it_was_imported_by_whom_and_from_whom(people, as_user):
    prompt = imported(as_user)
    entries = audit.prompt_trail(prompt, audit.Filters()).entries
    (version,) = [e for e in entries if e.kind == "version"]
    assert version.actor == "alice"
    assert version.action == "imported version 1 of forged (originally by rita on 2020-03-04)"
    assert version.when > timezone.now() - timedelta(minutes=5)
    (created,) = [e for e in entries if e.kind == "prompt"]
    assert created.reason == "imported, originally by rita"


def test_exporting_an_imported_version_writes_its_original_author_and_time(people, as_user):
    """So that export, import into an empty team, export gives the same bytes (the
    round trip of test_commands)."""
    imported(as_user)
    exported = unpack(as_user("alice").get("/api/v1/teams/support/export").content)
    text = exported["support/forged/v0001.txt"].decode()
    assert text.startswith("---\nauthor: rita\ncreated_at: '2020-03-04T05:06:07Z'\n")


def test_the_provenance_of_a_version_cannot_be_changed_in_the_database(people, as_user):
    version = imported(as_user).latest_version
    with (
        pytest.raises(DatabaseError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE prompts_version SET imported_author = 'alice' WHERE id = %s", [version.pk]
        )
