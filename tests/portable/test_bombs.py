"""Import bombs: files and archives that cost far more than their size are refused,
whole and within a bounded time, by the API (dry run or not) and by import_prompts,
and a worker importing all of them stays small."""

import json
import os
import subprocess
import sys
import tarfile
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portable.archive import pack
from prompts.models import Prompt, Version
from tests.portable.bombs import BOMBS, END, gzip_of, header, yaml_aliases
from tests.portable.test_api import upload

# Each bomb is refused in at most ~3 s on a busy two-core machine; read naively,
# the fastest of them took 26 s, the others killed the worker.
SECONDS = 8
MEMORY_MB = 200
ROOT = Path(__file__).resolve().parents[2]


def code_of(name: str) -> str:
    return "invalid" if name.startswith("yaml") else "bad_archive"


@pytest.mark.parametrize("dry_run", [None, "false"], ids=["dry-run", "import"])
@pytest.mark.parametrize("name", list(BOMBS))
def test_an_uploaded_bomb_is_a_clear_400_within_the_limit(people, as_user, name, dry_run):
    build, words = BOMBS[name]
    archive = build()
    admin = as_user("alice")
    before = Version.objects.count()
    started = time.monotonic()
    response = upload(admin, archive, dry_run=dry_run)
    elapsed = time.monotonic() - started
    assert response.status_code == 400, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == code_of(name)
    assert words in error["message"]
    assert elapsed < SECONDS, f"{name} took {elapsed:.1f} s"
    assert Version.objects.count() == before
    assert not Prompt.objects.filter(slug="bomb").exists()


def test_a_yaml_limit_is_named_in_the_details(people, as_user):
    error = upload(as_user("alice"), yaml_aliases()).json()["error"]
    assert error["details"] == {"path": "support/bomb/v0001.txt", "limit": "yaml_aliases"}


@pytest.mark.parametrize("name", list(BOMBS))
def test_a_bomb_given_to_the_command_fails_clearly_within_the_limit(people, tmp_path, name):
    build, words = BOMBS[name]
    archive = tmp_path / "bomb.archive"
    archive.write_bytes(build())
    started = time.monotonic()
    with pytest.raises(CommandError) as raised:
        call_command("import_prompts", str(archive), "--as", "alice", stdout=StringIO())
    elapsed = time.monotonic() - started
    assert words in str(raised.value)
    assert elapsed < SECONDS, f"{name} took {elapsed:.1f} s"
    assert not Prompt.objects.filter(slug="bomb").exists()


def test_an_alias_bomb_in_a_folder_fails_the_command_and_writes_nothing(people, tmp_path):
    folder = tmp_path / "tree" / "support" / "bomb"
    folder.mkdir(parents=True)
    (folder / "prompt.yaml").write_text("name: Bomb\n")
    (folder / "v0001.txt").write_text("---\nconfig:\n  a: &a [1, 2]\n  b: [*a, *a]\n---\nHi\n")
    with pytest.raises(CommandError, match="YAML aliases"):
        call_command("import_prompts", str(tmp_path / "tree"), "--as", "alice", stdout=StringIO())
    assert not Prompt.objects.filter(slug="bomb").exists()


def test_the_command_exits_non_zero_with_the_message(people, tmp_path):
    archive = tmp_path / "bomb.tar.gz"
    archive.write_bytes(BOMBS["pax-header"][0]())
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    done = subprocess.run(
        [sys.executable, "manage.py", "import_prompts", str(archive)],
        cwd=ROOT,
        env={**env, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    # The archive is read before anything else (this database has not even tables).
    assert done.returncode == 1
    assert "CommandError: The archive holds a tar extension header" in done.stderr


def test_a_worker_importing_every_bomb_stays_under_200_mb(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'worker.sqlite3'}",
        REGISTRY_VAR_DIR=str(tmp_path),
        DEBUG="true",
        HTTPS="false",
    )
    # Migrate in a process of its own: the worker's high-water mark is then its own.
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    done = subprocess.run(
        [sys.executable, "-m", "tests.portable.import_bombs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for name, (status, message) in report["results"].items():
        assert status == 400 and BOMBS[name][1] in message, (name, status, message)
    assert report["peak_mb"] < MEMORY_MB, report


# ---------------------------------------------------------------- what still passes


def test_an_archive_with_folder_entries_and_long_names_is_read(people, as_user):
    """What tar tools write: a folder entry per folder, GNU or PAX headers for long
    names; all within the budget."""
    slug = "a-" + "x" * 60
    files = {
        "support/team.yaml": b"name: Support\n",
        f"support/{slug}/prompt.yaml": b"name: Long\n",
        f"support/{slug}/v0001.txt": b"Hello {{ who }}\n",
    }
    parts = [header("support", tarfile.DIRTYPE), header(f"support/{slug}", tarfile.DIRTYPE)]
    for path, data in files.items():
        info = tarfile.TarInfo(path)
        info.size, info.mtime = len(data), 0
        block = info.tobuf(format=tarfile.GNU_FORMAT)  # a long-name header first
        parts.append(block + data + b"\0" * (-len(data) % 512))
    response = upload(as_user("alice"), gzip_of([*parts, END]))
    assert response.status_code == 200, response.content
    assert response.json()["totals"]["created"] == 1


def test_anchors_without_aliases_and_a_large_config_are_read(people, as_user):
    version = "---\nconfig:\n  x: &x [" + "1," * 5_000 + "1]\n---\nHi {{ who }}\n"
    tree = {"support/big/prompt.yaml": b"name: Big\n", "support/big/v0001.txt": version.encode()}
    body = upload(as_user("alice"), pack(tree), dry_run="false").json()
    assert body["totals"]["created"] == 1
    assert len(Prompt.objects.get(slug="big").latest_version.config["x"]) == 5_001


def test_an_integer_too_long_to_read_fails_its_prompt_not_the_server(people, as_user):
    version = "---\nconfig:\n  n: " + "9" * 5_000 + "\n---\nHi\n"
    tree = {"support/big/prompt.yaml": b"name: Big\n", "support/big/v0001.txt": version.encode()}
    response = upload(as_user("alice"), pack(tree))
    assert response.status_code == 200
    (outcome,) = response.json()["prompts"]
    assert outcome["status"] == "error" and "cannot be read" in outcome["notes"][0]
