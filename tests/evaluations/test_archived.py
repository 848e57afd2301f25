"""Datasets and evaluations of an archived prompt: read on their pages like its other
pages, never changed or started (409 with the reason) until it is restored."""

from __future__ import annotations

import pytest
from django.test import Client

from evaluations import datasets, services
from evaluations.models import DatasetRevision, Evaluation
from prompts import services as prompts
from registry_site.errors import Conflict
from tests.evaluations.conftest import golden_rows, work

P = "/p/support/ticket-classifier"
NOTICE = "support/ticket-classifier is archived: its datasets and evaluations are read-only"


@pytest.fixture
def evaluated(people, prompt, golden, connection, fake):
    evaluation = services.start_evaluation(
        people["ed"], prompt, dataset="golden", connection="local"
    )
    work()
    prompts.archive_prompt(people["alice"], prompt)
    return evaluation


def page(people, username: str, url: str, data: dict | None = None):
    client = Client()
    client.force_login(people[username])
    return client.post(url, data) if data is not None else client.get(url)


@pytest.mark.parametrize("username", ["vic", "ed"])
def test_its_dataset_and_evaluation_pages_are_read(people, evaluated, username):
    for url in [f"{P}/datasets/", f"{P}/datasets/golden/", f"{P}/evaluations/{evaluated.pk}/"]:
        response = page(people, username, url)
        assert response.status_code == 200, url
    listing = page(people, username, f"{P}/datasets/").content.decode()
    assert NOTICE in listing and "Create dataset" not in listing
    one = page(people, username, f"{P}/datasets/golden/").content.decode()
    assert NOTICE in one
    assert "Save revision" not in one and "Start evaluation" not in one
    assert "refund please" in one


def test_an_outsider_still_finds_nothing(people, evaluated):
    assert page(people, "oscar", f"{P}/datasets/").status_code == 404
    assert page(people, "oscar", f"{P}/evaluations/{evaluated.pk}/").status_code == 404


def test_writing_is_refused_with_the_reason(people, evaluated):
    form = {"rows_format": "jsonl", "rows": "", "checks": "[]"}
    saved = page(people, "ed", f"{P}/datasets/golden/", form)
    created = page(people, "ed", f"{P}/datasets/", {**form, "name": "more"})
    started = page(
        people, "ed", f"{P}/datasets/golden/evaluate/", {"source": "latest", "connection": "local"}
    )

    for refused in (saved, created, started):
        assert refused.status_code == 409
        assert NOTICE in refused.content.decode()
    assert DatasetRevision.objects.count() == 1
    assert Evaluation.objects.count() == 1
    prompt = evaluated.prompt
    prompt.refresh_from_db()
    with pytest.raises(Conflict) as refusal:
        datasets.save_revision(people["ed"], prompt, "golden", rows=golden_rows())
    assert refusal.value.details == {"reason": "archived"}


def test_once_restored_it_is_written_again(people, evaluated):
    prompt = evaluated.prompt
    prompts.restore_prompt(people["alice"], prompt)
    form = {"rows_format": "jsonl", "rows": "", "checks": "[]"}
    assert page(people, "ed", f"{P}/datasets/golden/", form).status_code == 302
