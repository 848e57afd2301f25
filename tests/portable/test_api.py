"""GET /api/v1/teams/{team}/export and POST /api/v1/teams/{team}/import: team admins
only, a dry run by default, and a clear 400 for any bad archive."""

import io
import tarfile
import zipfile

import pytest

from portable.archive import MAX_FILES, pack, unpack
from prompts.models import Prompt, Version
from tests.conftest import client_with

EXPORT = "/api/v1/teams/support/export"
IMPORT = "/api/v1/teams/support/import"


def upload(client, data: bytes, dry_run: str | None = None, path: str = IMPORT):
    query = f"?dry_run={dry_run}" if dry_run is not None else ""
    return client.post(path + query, data, content_type="application/gzip")


def tar_of(entries: list[tarfile.TarInfo], contents: dict | None = None) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for info in entries:
            data = (contents or {}).get(info.name, b"")
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return raw.getvalue()


def file_entry(name: str, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    return info


@pytest.mark.parametrize(
    ("who", "status"),
    [("admin", 200), ("reviewer", 403), ("editor", 403), ("viewer", 403), ("outsider", 404)],
)
def test_only_team_admins_download_the_archive(library, as_user, who, status):
    username = {"admin": "alice", "reviewer": "rita", "editor": "ed", "viewer": "vic"}
    response = as_user(username.get(who, "oscar")).get(EXPORT)
    assert response.status_code == status
    if status == 200:
        assert response["Content-Type"] == "application/gzip"
        tree = unpack(response.content)
        assert "support/ticket-classifier/v0002.txt" in tree
        assert not any(path.startswith("billing/") for path in tree)


def test_anonymous_callers_get_401(library):
    assert client_with(None).get(EXPORT).status_code == 401
    assert upload(client_with(None), b"x").status_code == 401


@pytest.mark.parametrize(("who", "status"), [("ed", 403), ("vic", 403), ("oscar", 404)])
def test_only_team_admins_upload(library, as_user, who, status):
    archive = as_user("alice").get(EXPORT).content
    response = upload(as_user(who), archive, dry_run="false")
    assert response.status_code == status
    assert response.json()["error"]["code"] in ("forbidden", "not_found")


def test_an_upload_is_a_dry_run_unless_told_otherwise(library, as_user, people):
    admin = as_user("alice")
    tree = unpack(admin.get(EXPORT).content)
    tree["support/fresh/prompt.yaml"] = b"name: Fresh\n"
    tree["support/fresh/v0001.txt"] = b"Hello {{ who }}\n"
    response = upload(admin, pack(tree))
    assert response.status_code == 200
    body = response.json()
    assert body["dry_run"] is True and body["ok"] is True
    assert body["totals"] == {"created": 1, "updated": 0, "unchanged": 5, "conflict": 0, "error": 0}
    assert not Prompt.objects.filter(slug="fresh").exists()
    response = upload(admin, pack(tree), dry_run="false")
    assert response.json()["dry_run"] is False
    assert Prompt.objects.get(team__slug="support", slug="fresh").latest_version.number == 1


def test_an_archive_is_imported_into_the_team_of_the_address(library, as_user, people):
    """Moving a team: billing's archive uploaded into support."""
    tree = unpack(as_user("oscar").get("/api/v1/teams/billing/export").content)
    response = upload(as_user("alice"), pack(tree), dry_run="false")
    assert response.json()["totals"]["created"] == 1
    assert Prompt.objects.filter(team__slug="support", slug="invoice-reminder").exists()


def test_a_conflict_is_reported_per_prompt_and_changes_nothing(library, as_user):
    admin = as_user("alice")
    tree = unpack(admin.get(EXPORT).content)
    path = "support/ticket-classifier/v0001.txt"
    tree[path] = tree[path].replace(b"Classify:", b"Sort:")
    before = Version.objects.count()
    body = upload(admin, pack(tree), dry_run="false").json()
    (conflicted,) = [p for p in body["prompts"] if p["status"] == "conflict"]
    assert conflicted["slug"] == "ticket-classifier"
    assert conflicted["conflicts"] == [{"version": 1, "reason": "version 1 here has other content"}]
    assert body["ok"] is False and Version.objects.count() == before


def test_a_zip_upload_as_a_multipart_field_works(library, as_user):
    admin = as_user("alice")
    tree = unpack(admin.get(EXPORT).content)
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        for path, data in tree.items():
            archive.writestr(path, data)
    raw.seek(0)
    raw.name = "support.zip"
    response = admin.post(IMPORT, {"archive": raw}, format="multipart")
    assert response.status_code == 200
    assert response.json()["totals"]["unchanged"] == 5


def _symlink() -> bytes:
    link = tarfile.TarInfo("support/x/prompt.yaml")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    return tar_of([link])


def _zip_symlink() -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as archive:
        info = zipfile.ZipInfo("support/x/prompt.yaml")
        info.external_attr = 0o120777 << 16
        archive.writestr(info, "/etc/passwd")
    return raw.getvalue()


@pytest.mark.parametrize(
    ("archive", "words"),
    [
        (b"not an archive at all", "Not a readable"),
        (b"", "no archive"),
        (b"\x1f\x8b\x08\x00garbage", "Not a readable"),
        (tar_of([file_entry("../../etc/cron.d/x", 1)], {"../../etc/cron.d/x": b"x"}), "outside"),
        (tar_of([file_entry("/etc/x", 1)], {"/etc/x": b"x"}), "outside"),
        (_symlink(), "link"),
        (_zip_symlink(), "link"),
        (tar_of([file_entry(f"support/p{i}/v0001.txt") for i in range(MAX_FILES + 1)]), "files"),
        (b"\x00" * (10 * 1024 * 1024 + 1), "larger"),
    ],
    # Named, not shown: a gzip archive's bytes hold its time, and test ids must be the
    # same in every worker process.
    ids=[
        "not-an-archive",
        "empty",
        "broken-gzip",
        "parent-path",
        "absolute-path",
        "tar-link",
        "zip-link",
        "too-many-files",
        "too-large",
    ],
)
def test_a_bad_archive_is_a_clear_400(library, as_user, archive, words):
    response = upload(as_user("alice"), archive)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_archive" and words in error["message"]


def test_a_bad_dry_run_flag_is_a_400(library, as_user):
    response = upload(as_user("alice"), pack({"support/team.yaml": b"name: S\n"}), "maybe")
    assert response.status_code == 400


def test_an_archive_of_two_teams_is_a_400(library, as_user):
    archive = pack({"support/team.yaml": b"name: S\n", "billing/team.yaml": b"name: B\n"})
    response = upload(as_user("alice"), archive)
    assert response.status_code == 400


def test_the_archive_of_a_team_is_the_same_bytes_each_time(library, as_user):
    admin = as_user("alice")
    assert admin.get(EXPORT).content == admin.get(EXPORT).content
