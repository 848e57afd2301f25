"""Export keeps references as written; import creates snippets before the prompts
that include them, across teams; a reference to a prompt neither in the files nor
here refuses the whole import."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts import services as accounts
from accounts.models import Team
from composition.errors import BadReference
from composition.models import Reference
from portable.disk import read_tree
from portable.importing import import_tree
from prompts import services
from prompts.models import Prompt
from tests.composition.conftest import add, deploy, make
from tests.conftest import make_user


@pytest.fixture
def root(db):
    return make_user("root", is_superuser=True, is_staff=True)


@pytest.fixture
def shared(people, root):
    """support/welcome follows support/safety, then pins safety@1 and takes
    billing/legal@development; billing/invoice pins support/safety@2; support/a-intro
    includes support/zz-outro (a snippet after its dependent by address)."""
    ed, oscar = people["ed"], people["oscar"]
    support, billing = people["support"], people["billing"]
    safety = make(ed, support, "safety", "Be safe, {{ name }}.", deploy_to="development")
    add(ed, safety, "Be very safe, {{ name }}!")
    legal = make(oscar, billing, "legal", "Legal: {{ clause }}", deploy_to="development")
    accounts.grant_on_prompt(people["alice"], safety, "oscar", "viewer")
    accounts.grant_on_prompt(oscar, legal, "ed", "viewer")
    welcome = make(ed, support, "welcome", 'Hi.\n{% include "support/safety" %}')
    deploy(ed, welcome, "development", welcome.latest_version)
    add(
        ed,
        welcome,
        'Hi.\n{%- include "support/safety@1" %}\n{% include "billing/legal@development" -%}\n',
    )
    invoice = make(oscar, billing, "invoice", "Pay. {% include 'support/safety@2' %}")
    deploy(oscar, invoice, "development", invoice.latest_version)
    make(ed, support, "zz-outro", "Bye.")
    make(ed, support, "a-intro", '{% include "support/zz-outro" %} and more')
    # An archived snippet that an old version still includes (archived with force).
    retired = make(ed, support, "retired", "Old words.")
    make(ed, support, "keeps", '{% include "support/retired@1" %}', deploy_to="development")
    services.archive_prompt(people["alice"], retired, force=True)


def export(directory: Path) -> dict[str, bytes]:
    call_command("export_prompts", str(directory), stdout=StringIO())
    return read_tree(directory)


def move_everything_away() -> None:
    """Versions are never deleted: the teams move to other addresses instead, so no
    prompt, team or environment of the files exists here any more."""
    for team in Team.objects.all():
        Team.objects.filter(pk=team.pk).update(slug=f"old-{team.slug}")


def under(tree: dict[str, bytes], team: str) -> dict[str, bytes]:
    return {p: data for p, data in tree.items() if p.startswith(f"{team}/")}


def test_export_keeps_references_as_written(shared, tmp_path):
    tree = export(tmp_path / "out")
    assert (
        tree["support/welcome/v0001.txt"]
        .decode()
        .endswith('---\nHi.\n{% include "support/safety" %}\n')
    )
    assert (
        '{%- include "support/safety@1" %}\n{% include "billing/legal@development" -%}\n'
        in tree["support/welcome/v0002.txt"].decode()
    )
    assert "{% include 'support/safety@2' %}" in tree["billing/invoice/v0001.txt"].decode()


def test_export_import_into_an_empty_instance_export_is_byte_identical(shared, tmp_path):
    first = export(tmp_path / "first")
    assert sorted({p.split("/")[0] for p in first}) == ["billing", "support"]
    move_everything_away()
    out = StringIO()
    call_command("import_prompts", str(tmp_path / "first"), stdout=out)
    assert "8 created, 0 updated, 0 unchanged, 0 conflict, 0 error" in out.getvalue()
    second = export(tmp_path / "second")
    assert under(second, "support") | under(second, "billing") == first
    # The references were written again, pinned where they pin.
    new = Reference.objects.exclude(version__prompt__team__slug__startswith="old-")
    pinned = new.get(written="support/safety@2")
    assert (pinned.target.address, pinned.pinned.number) == ("support/safety", 2)
    assert new.get(written="billing/legal@development").target.team.slug == "billing"
    assert new.get(written="support/retired@1").target.is_archived


def test_a_reference_to_a_prompt_in_neither_place_refuses_everything(people, root, tmp_path):
    files = {
        "support/aaa/prompt.yaml": b"name: A\n",
        "support/aaa/v0001.txt": b"Plain.\n",
        "support/zzz/prompt.yaml": b"name: Z\n",
        "support/zzz/v0001.txt": b'Hi {% include "billing/nowhere@3" %}\n',
    }
    with pytest.raises(BadReference) as refused:
        import_tree(root, files)
    assert refused.value.details == {
        "path": "support/zzz/v0001.txt",
        "reference": "billing/nowhere@3",
        "why": "not_found",
        "line": 1,
    }
    assert "billing/nowhere" in refused.value.message
    assert not Prompt.objects.filter(slug__in=["aaa", "zzz"]).exists()


def test_a_reference_to_a_prompt_the_importer_may_not_see_is_refused_alike(people, root, tmp_path):
    make(people["oscar"], people["billing"], "secret", "Hidden.")
    files = {
        "support/zzz/prompt.yaml": b"name: Z\n",
        "support/zzz/v0001.txt": b'Hi {% include "billing/secret" %}\n',
    }
    with pytest.raises(BadReference):
        import_tree(people["alice"], files)
    assert not Prompt.objects.filter(slug="zzz").exists()


def test_a_reference_to_a_prompt_here_imports(people, root):
    make(people["ed"], people["support"], "tone", "Kind.")
    files = {
        "support/zzz/prompt.yaml": b"name: Z\n",
        "support/zzz/v0001.txt": b'Hi {% include "support/tone" %}\n',
    }
    report = import_tree(people["alice"], files)
    assert report.ok, report.as_dict()
    assert Reference.objects.get(written="support/tone").version.prompt.slug == "zzz"


def test_the_api_answers_400_bad_reference_and_writes_nothing(people, as_user):
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in {
            "support/aaa/prompt.yaml": b"name: A\n",
            "support/aaa/v0001.txt": b"Plain.\n",
            "support/zzz/prompt.yaml": b"name: Z\n",
            "support/zzz/v0001.txt": b'{% include "support/gone" %}\n',
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    answer = as_user("alice").post(
        "/api/v1/teams/support/import",
        buffer.getvalue(),
        content_type="application/gzip",
    )
    assert answer.status_code == 400, answer.content
    assert answer.json()["error"]["code"] == "bad_reference"
    assert not Prompt.objects.filter(slug__in=["aaa", "zzz"]).exists()
