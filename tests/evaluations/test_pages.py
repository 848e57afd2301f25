"""The dataset and evaluation pages: editors write and start, viewers read, outsiders
get a 404; an evaluation shows its progress, its rows (failed only on demand) and
compares with another of the same dataset."""

from __future__ import annotations

import pytest
from django.test import Client

from evaluations.models import Dataset, Evaluation
from evaluations.services import start_evaluation
from prompts import samples
from prompts import services as prompts
from tests.evaluations.conftest import work

P = "/p/support/ticket-classifier"


@pytest.fixture
def browse(people):
    def as_(username: str) -> Client:
        client = Client()
        client.force_login(people[username])
        return client

    return as_


def test_an_editor_creates_a_dataset_from_json_lines(browse, prompt):
    response = browse("ed").post(
        f"{P}/datasets/",
        {
            "name": "golden",
            "rows_format": "jsonl",
            "rows": '{"variables": {"ticket_text": "refund"}, "expected": "billing"}\n',
            "checks": '[{"type": "equals"}]',
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{P}/datasets/golden/"
    revision = Dataset.objects.get(name="golden").revisions.get()
    assert revision.rows == [{"variables": {"ticket_text": "refund"}, "expected": "billing"}]
    assert revision.checks[0]["type"] == "equals"


def test_csv_rows_make_a_new_revision(browse, golden):
    response = browse("ed").post(
        f"{P}/datasets/golden/",
        {"rows_format": "csv", "rows": "ticket_text,expected\nhi,other\n", "checks": "[]"},
    )
    assert response.status_code == 302
    latest = golden.dataset.revisions.order_by("-number").first()
    assert latest.number == 2
    assert latest.rows == [{"variables": {"ticket_text": "hi"}, "expected": "other"}]


def test_a_bad_check_is_shown_on_the_form_and_nothing_is_saved(browse, golden):
    response = browse("ed").post(
        f"{P}/datasets/golden/",
        {"rows_format": "jsonl", "rows": "", "checks": '[{"type": "regex", "value": "("}]'},
    )
    assert response.status_code == 400
    assert golden.dataset.revisions.count() == 1


def test_sample_inputs_fill_the_rows(browse, people, prompt):
    samples.save_sample(people["ed"], prompt, "double", {"ticket_text": "charged twice"})
    response = browse("ed").get(f"{P}/datasets/?from=samples")
    assert "charged twice" in response.content.decode()


def test_a_viewer_reads_but_may_not_write(browse, golden):
    viewer = browse("vic")
    page = viewer.get(f"{P}/datasets/golden/")
    assert page.status_code == 200
    assert "Save revision" not in page.content.decode()
    refused = viewer.post(f"{P}/datasets/golden/", {"rows_format": "jsonl", "rows": ""})
    assert refused.status_code == 403
    assert golden.dataset.revisions.count() == 1


def test_an_outsider_gets_a_404(browse, golden):
    assert browse("oscar").get(f"{P}/datasets/golden/").status_code == 404
    assert browse("oscar").get(f"{P}/datasets/").status_code == 404


def test_an_editor_starts_an_evaluation_and_watches_it_finish(browse, golden, connection):
    editor = browse("ed")
    response = editor.post(
        f"{P}/datasets/golden/evaluate/", {"source": "v:1", "connection": "local", "model": ""}
    )
    assert response.status_code == 302
    evaluation = Evaluation.objects.get()
    assert response["Location"] == f"{P}/evaluations/{evaluation.pk}/"
    polled = editor.get(f"{P}/evaluations/{evaluation.pk}/progress/", HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 2s"' in polled.content.decode()
    assert "HX-Refresh" not in polled

    work()
    polled = editor.get(f"{P}/evaluations/{evaluation.pk}/progress/", HTTP_HX_REQUEST="true")
    assert "hx-trigger" not in polled.content.decode()
    assert polled["HX-Refresh"] == "true"
    # "app crashes" and "login broken" answer "other" as expected; all four pass.
    page = editor.get(f"{P}/evaluations/{evaluation.pk}/").content.decode()
    assert page.count('class="evaluation-row"') == 4
    failed = editor.get(f"{P}/evaluations/{evaluation.pk}/?failed=1").content.decode()
    assert failed.count('class="evaluation-row"') == 0


def test_failed_only_lists_failed_rows_with_each_verdict(
    browse, people, prompt, golden, connection, fake
):
    fake.answers["refund please"] = "a long answer about refunds"
    evaluation = start_evaluation(people["ed"], prompt, dataset="golden", connection="local")
    work()
    page = browse("vic").get(f"{P}/evaluations/{evaluation.pk}/?failed=1").content.decode()
    assert page.count('class="evaluation-row"') == 1
    assert "a long answer about refunds" in page
    assert "max_chars" in page and "equals" in page


def test_a_viewer_may_not_start_one(browse, golden, connection):
    response = browse("vic").post(
        f"{P}/datasets/golden/evaluate/", {"source": "latest", "connection": "local"}
    )
    assert response.status_code == 403
    assert not Evaluation.objects.exists()


def test_two_evaluations_compare_with_a_word_diff(browse, people, prompt, golden, connection, fake):
    first = start_evaluation(people["ed"], prompt, dataset="golden", connection="local")
    work()
    prompts.add_version(
        people["ed"],
        prompt,
        template="Classify: {{ ticket_text }} for {{ product }}!",
        variables=[{"name": "product", "default": "Acme"}],
    )
    fake.answers["login broken"] = "other maybe"
    second = start_evaluation(people["ed"], prompt, dataset="golden", connection="local")
    work()
    page = browse("vic").get(f"{P}/evaluations/compare/?a={first.pk}&b={second.pk}")
    assert page.status_code == 200
    assert "<ins>" in page.content.decode() and "maybe" in page.content.decode()
    version_page = browse("vic").get(f"{P}/v/2/").content.decode()
    assert f"evaluations/{second.pk}/" in version_page
    assert f"evaluations/{first.pk}/" not in version_page


def test_only_evaluations_of_one_dataset_compare(browse, people, prompt, golden, connection):
    first = start_evaluation(people["ed"], prompt, dataset="golden", connection="local")
    from evaluations import datasets

    datasets.create_dataset(people["ed"], prompt, name="other", rows=[], checks=[])
    second = start_evaluation(people["ed"], prompt, dataset="other", connection="local")
    response = browse("vic").get(f"{P}/evaluations/compare/?a={first.pk}&b={second.pk}")
    assert response.status_code == 404
