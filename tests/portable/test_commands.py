"""export_prompts and import_prompts: a deterministic tree, a byte-identical round trip,
safe repeats, conflicts that change nothing, and dry runs that write nothing."""

import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portable.disk import read_tree
from prompts.models import Prompt, Version
from releases.models import Deployment


def export(directory: Path, *options: str) -> dict[str, bytes]:
    call_command("export_prompts", str(directory), *options, stdout=StringIO())
    return read_tree(directory)


def run_import(directory: Path, *options: str) -> str:
    out = StringIO()
    call_command("import_prompts", str(directory), *options, stdout=out)
    return out.getvalue()


def under(tree: dict[str, bytes], team: str) -> dict[str, bytes]:
    return {p.split("/", 1)[1]: data for p, data in tree.items() if p.startswith(f"{team}/")}


def state_of(team_slug: str) -> list:
    """Everything an import could touch in a team, to compare before and after."""
    prompts = list(
        Prompt.objects.filter(team__slug=team_slug)
        .order_by("slug")
        .values_list("slug", "name", "description", "tags", "latest_version_id", "updated_at")
    )
    versions = list(
        Version.objects.filter(prompt__team__slug=team_slug)
        .order_by("pk")
        .values_list("pk", "content_hash")
    )
    deployed = list(
        Deployment.objects.filter(prompt__team__slug=team_slug).order_by("pk").values_list("pk")
    )
    return [prompts, versions, deployed]


def test_the_tree_has_one_folder_per_prompt_and_one_file_per_version(library, tmp_path):
    tree = export(tmp_path / "out")
    assert sorted(under(tree, "support")) == [
        "old/prompt.yaml",
        "old/v0001.txt",
        "persona-chat/prompt.yaml",
        "persona-chat/v0001.chat.yaml",
        "raw-example/prompt.yaml",
        "raw-example/v0001.txt",
        "raw-example/v0002.txt",
        "reply-drafter/prompt.yaml",
        "reply-drafter/v0001.txt",
        "team.yaml",
        "ticket-classifier/prompt.yaml",
        "ticket-classifier/v0001.txt",
        "ticket-classifier/v0002.txt",
    ]
    prompt_yaml = tree["support/ticket-classifier/prompt.yaml"].decode()
    assert "environments:\n  development: 2\n  staging: 1\n" in prompt_yaml
    version = tree["support/ticket-classifier/v0001.txt"].decode()
    assert version.startswith("---\nauthor: ed\n")
    assert version.endswith("---\nClassify: {{ ticket_text }} for {{ product }}\n")
    assert "Signé : l’équipe" in tree["support/reply-drafter/v0001.txt"].decode()
    assert "former_slugs:\n  - persona-bot\n" in tree["support/persona-chat/prompt.yaml"].decode()
    assert all(b"\r\n" not in data and data.endswith(b"\n") for data in tree.values())


def test_exporting_twice_gives_identical_files(library, tmp_path):
    first = export(tmp_path / "a")
    second = export(tmp_path / "b")
    assert first == second
    again = StringIO()
    call_command("export_prompts", str(tmp_path / "a"), stdout=again)
    assert "written" in again.getvalue() and read_tree(tmp_path / "a") == first


def test_export_then_import_into_an_empty_team_then_export_is_byte_identical(library, tmp_path):
    first = export(tmp_path / "first")
    for team in ("support", "billing"):
        out = run_import(tmp_path / "first", "--team", team, "--into", f"{team}-copy")
        assert "0 conflict, 0 error" in out
    second = export(tmp_path / "second", "--team", "support-copy", "--team", "billing-copy")
    for team in ("support", "billing"):
        assert under(second, f"{team}-copy") == under(first, team)


def test_importing_twice_changes_nothing(library, tmp_path):
    export(tmp_path / "tree")
    run_import(tmp_path / "tree", "--team", "support", "--into", "copy")
    before = state_of("copy")
    out = run_import(tmp_path / "tree", "--team", "support", "--into", "copy")
    assert "0 created, 0 updated, 5 unchanged" in out
    assert state_of("copy") == before


def test_importing_the_export_of_the_same_team_is_a_no_op(library, tmp_path):
    export(tmp_path / "tree")
    before = state_of("support")
    out = run_import(tmp_path / "tree")
    assert "0 created, 0 updated, 6 unchanged, 0 conflict, 0 error" in out
    assert state_of("support") == before


def test_a_conflicting_version_is_reported_and_nothing_of_that_prompt_changes(library, tmp_path):
    tree = tmp_path / "tree"
    export(tree)
    folder = tree / "support" / "ticket-classifier"
    first = folder / "v0001.txt"
    first.write_text(first.read_text().replace("Classify:", "Sort:"))
    (folder / "v0003.txt").write_text("---\nnote: new\n---\nThird {{ ticket_text }}\n")
    (tree / "support" / "fresh").mkdir()
    (tree / "support" / "fresh" / "prompt.yaml").write_text("name: Fresh\n")
    (tree / "support" / "fresh" / "v0001.txt").write_text("Hello {{ who }}\n")
    before = Version.objects.filter(prompt__slug="ticket-classifier").count()
    with pytest.raises(CommandError, match="1 prompt"):
        run_import(tree, "--team", "support")
    assert Version.objects.filter(prompt__slug="ticket-classifier").count() == before
    # The other prompts are imported: each prompt is all or nothing on its own.
    fresh = Prompt.objects.get(team__slug="support", slug="fresh")
    assert fresh.latest_version.template == "Hello {{ who }}"


def test_the_conflict_is_named_in_the_summary(library, tmp_path):
    tree = tmp_path / "tree"
    export(tree)
    first = tree / "support" / "ticket-classifier" / "v0001.txt"
    first.write_text(first.read_text().replace("Classify:", "Sort:"))
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_prompts", str(tree), stdout=out)
    assert re.search(
        r"support/ticket-classifier +conflict +version 1 here has other content", out.getvalue()
    )


def test_append_conflicts_adds_the_differing_version_once(library, tmp_path):
    tree = tmp_path / "tree"
    export(tree)
    first = tree / "support" / "ticket-classifier" / "v0001.txt"
    first.write_text(first.read_text().replace("Classify:", "Sort:"))
    run_import(tree, "--team", "support", "--append-conflicts")
    classifier = Prompt.objects.get(team__slug="support", slug="ticket-classifier")
    assert classifier.latest_version.number == 3
    assert classifier.latest_version.template.startswith("Sort:")
    # Imported as the first superuser; the files' author is kept as provenance.
    assert classifier.latest_version.author.username == "root"
    assert classifier.latest_version.imported_author == "ed"
    out = run_import(tree, "--team", "support", "--append-conflicts")
    assert "0 updated" in out
    assert classifier.versions.count() == 3


def test_a_dry_run_writes_nothing_and_says_what_would_change(library, tmp_path):
    export(tmp_path / "tree")
    out = run_import(tmp_path / "tree", "--team", "support", "--into", "copy", "--dry-run")
    assert "Dry run, nothing written: 5 created" in out
    assert not Prompt.objects.filter(team__slug="copy").exists()


def test_an_unknown_author_is_kept_as_provenance_and_the_importer_is_the_author(library, tmp_path):
    tree = tmp_path / "tree"
    export(tree)
    first = tree / "billing" / "invoice-reminder" / "v0001.txt"
    first.write_text(first.read_text().replace("author: oscar", "author: nobody"))
    run_import(tree, "--team", "billing", "--into", "billing-copy")
    copy = Prompt.objects.get(team__slug="billing-copy", slug="invoice-reminder")
    assert copy.latest_version.author.username == "root"
    assert copy.latest_version.imported_author == "nobody"


def test_a_team_admin_may_import_but_an_editor_may_not(library, tmp_path):
    export(tmp_path / "tree", "--team", "support")
    with pytest.raises(CommandError, match="Only team admins"):
        call_command("export_prompts", str(tmp_path / "x"), "--team", "support", "--as", "ed")
    with pytest.raises(CommandError):
        run_import(tmp_path / "tree", "--as", "ed")
    out = run_import(tmp_path / "tree", "--as", "alice")
    assert "5 unchanged" in out


def test_a_broken_file_fails_only_its_prompt(library, tmp_path):
    tree = tmp_path / "tree"
    export(tree)
    (tree / "support" / "raw-example" / "v0003.txt").write_text("Broken {{ x \n")
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("import_prompts", str(tree), stdout=out)
    assert re.search(r"support/raw-example +error +support/raw-example/v0003.txt", out.getvalue())
    assert Version.objects.filter(prompt__slug="raw-example").count() == 2
